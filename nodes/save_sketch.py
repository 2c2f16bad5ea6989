"""Save Sketch SVG: writes a SKETCH as an .svg into ComfyUI's output folder (output node)."""

from __future__ import annotations

import os

import folder_paths
from comfy_api.latest import io, ui

from ._types import CATEGORY_SKETCH, Sketch


class SaveSketchSVG(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSaveSketchSVG",
            display_name="Save Sketch (SVG)",
            category=CATEGORY_SKETCH,
            description="Saves the sketch as an SVG file in ComfyUI's output folder and shows a preview.",
            inputs=[
                Sketch.Input("sketch", tooltip="The sketch to write as an .svg file."),
                io.String.Input("filename_prefix", default="sketchmotion/sketch",
                                tooltip="Relative to the output folder; may contain a subfolder and %year%-style dates."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, sketch, filename_prefix: str) -> io.NodeOutput:
        from ..core import svg as core_svg
        from ..core.raster import render

        output_dir = folder_paths.get_output_directory()
        w, h = sketch.canvas
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, output_dir, w, h)
        file = f"{name}_{counter:05}_.svg"
        core_svg.save(sketch, os.path.join(folder, file))
        preview = ui.PreviewImage(render(sketch, points=sketch.points[None]).detach().float().cpu(), cls=cls)
        saved = ui.SavedResult(file, subfolder, io.FolderType.output)
        return io.NodeOutput(ui={**preview.as_dict(), "svg": [saved]})
