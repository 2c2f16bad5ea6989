"""Save Animation File and Load Animation File: the .safetensors animation file (core.animation_io)."""

from __future__ import annotations

import folder_paths
from comfy_api.latest import io, ui

from . import _files
from ._common import animation_input, save_target
from ._types import CATEGORY_EXPORT, SketchAnimation


class SaveAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSaveAnimation",
            display_name="Save Animation File",
            category=CATEGORY_EXPORT,
            description="Saves the animation (strokes, every frame, fps, settings) as a .safetensors file in the "
            "output folder; Load Animation File and `python -m sketchmotion export` read it back.",
            inputs=[
                animation_input(),
                io.String.Input("filename_prefix", default="sketchmotion/animation",
                                tooltip="Relative to the output folder; may contain a subfolder."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, animation, filename_prefix: str) -> io.NodeOutput:
        from ..core.animation_io import as_animation, save_animation

        anim = as_animation(animation)
        path, file, subfolder = save_target(filename_prefix, anim, 0, _files.ANIMATION_EXT,
                                             folder_paths.get_output_directory())
        save_animation(anim, path)
        saved = ui.SavedResult(file, subfolder, io.FolderType.output)
        name = f"{subfolder}/{file}".lstrip("/") + " [output]"  # what Load Animation File lists
        return io.NodeOutput(ui={"files": [saved], "text": [name]})


class LoadAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionLoadAnimation",
            display_name="Load Animation File",
            category=CATEGORY_EXPORT,
            description="Reads a .safetensors animation file saved by Save Animation File or the command line.",
            inputs=[
                io.Combo.Input("animation_file", options=_files.list_animations(),
                               tooltip=f"Files in the input folder (and its {_files.ANIMATION_SUBFOLDER}/ subfolder) "
                               "and, marked [output], in the output folder."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation", tooltip="The animation stored in the file.")],
        )

    @classmethod
    def execute(cls, animation_file: str) -> io.NodeOutput:
        from ..core.animation_io import load_animation
        from ..core.errors import SketchError

        path = _files.resolve_animation(animation_file)
        if path is None:
            raise SketchError(_files.missing_animation_message(animation_file))
        return io.NodeOutput(load_animation(path))

    @classmethod
    def validate_inputs(cls, animation_file: str):
        return True if _files.resolve_animation(animation_file) else _files.missing_animation_message(animation_file)

    @classmethod
    def fingerprint_inputs(cls, animation_file: str):
        path = _files.resolve_animation(animation_file)
        return _files.file_digest(path) if path else animation_file


NODES = [SaveAnimation, LoadAnimation]
