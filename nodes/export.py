"""Export Animation (files in the output folder, with a preview) and Animation to Frames (IMAGE + MASK + fps).

Both take an animation or a static SKETCH (a one-frame animation); the .safetensors animation file
is nodes/animation_file.py, the model-free Sketch to Animation nodes/procedural.py.
"""

from __future__ import annotations

import folder_paths
from comfy_api.latest import io, ui

from ._common import animation_input, background_inputs, background_rgb, save_target
from ._types import CATEGORY_EXPORT

# combo label -> core.export format name (the labels are what workflows store)
EXPORT_FORMATS = {
    "animated SVG": "svg",
    "Lottie JSON": "lottie",
    "GIF": "gif",
    "animated WebP": "webp",
    "MP4 (H.264)": "mp4",
    "WebM (VP9)": "webm",
    "PNG+SVG frames (zip)": "frames_zip",
}
PLAYABLE = ("gif", "webp", "mp4", "webm")  # the saved file itself is the UI preview
PREVIEW_MAX_SIZE = 512


def _timing_inputs():
    return [
        io.Float.Input("fps", default=0.0, min=0.0, max=240.0, step=0.5,
                       tooltip="Output frame rate; 0 = the animation's own. Other rates re-sample the motion "
                       "(same duration)."),
        io.Int.Input("size", default=0, min=0, max=4096, tooltip="Longer side in pixels (aspect kept); 0 = the canvas."),
        io.Boolean.Input("loop", default=True, tooltip="Repeat forever (and re-sample the motion as a loop)."),
        io.Boolean.Input("pingpong", default=False, tooltip="Play forwards, then backwards."),
    ]


class ExportAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionExportAnimation",
            display_name="Export Animation",
            category=CATEGORY_EXPORT,
            description="Saves the animation into ComfyUI's output folder as animated SVG, Lottie, GIF, WebP, MP4, "
            "WebM or a zip of per-frame PNG + SVG, and previews it.",
            inputs=[
                animation_input(),
                io.Combo.Input("format", options=list(EXPORT_FORMATS), default="animated SVG",
                               tooltip="animated SVG and Lottie stay vector (web pages, After Effects); GIF / WebP / "
                               "MP4 / WebM are pixels; the zip holds one PNG and one SVG per frame."),
                *_timing_inputs(),
                io.String.Input("filename_prefix", default="sketchmotion/animation",
                                tooltip="Relative to the output folder; may contain a subfolder."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, animation, format: str, fps: float, size: int, loop: bool, pingpong: bool,
                filename_prefix: str) -> io.NodeOutput:
        from ..core.animation_io import as_animation
        from ..core.errors import SketchError
        from ..core.export import FORMATS, export

        if format not in EXPORT_FORMATS:
            raise SketchError(f"Unknown format {format!r}; choose one of: {', '.join(EXPORT_FORMATS)}.")
        anim, fmt = as_animation(animation), EXPORT_FORMATS[format]
        timing = {"fps": fps or None, "loop": loop, "pingpong": pingpong}
        path, file, subfolder = save_target(filename_prefix, anim, size, FORMATS[fmt].extensions[0],
                                             folder_paths.get_output_directory())
        export(anim, path, format=fmt, size=size or None, **timing)
        saved = ui.SavedResult(file, subfolder, io.FolderType.output)
        if fmt in PLAYABLE:
            return io.NodeOutput(ui=ui.SavedImages([saved], is_animated=True).as_dict())
        preview_size = min(size or max(anim.sketch.canvas), PREVIEW_MAX_SIZE)
        ppath, pfile, psub = save_target("sketchmotion_preview", anim, preview_size, ".webp",
                                          folder_paths.get_temp_directory())
        export(anim, ppath, format="webp", size=preview_size, **timing)
        preview = ui.SavedImages([ui.SavedResult(pfile, psub, io.FolderType.temp)], is_animated=anim.num_frames > 1)
        return io.NodeOutput(ui={**preview.as_dict(), "files": [saved], "text": [f"{subfolder}/{file}".lstrip("/")]})


class AnimationFrames(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionAnimationFrames",
            display_name="Animation to Frames",
            category=CATEGORY_EXPORT,
            description="Renders the animation to IMAGE frames + MASK + fps, ready for CreateVideo / SaveVideo, "
            "SaveAnimatedWEBP or Video Combine.",
            inputs=[
                animation_input(),
                *_timing_inputs(),
                *background_inputs(),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="[frames, H, W, 3] in 0..1."),
                io.Mask.Output(display_name="mask", tooltip="Stroke coverage (alpha) per frame: 1 where the sketch draws."),
                io.Float.Output(display_name="fps", tooltip="Frame rate of the frames (a video node's frame_rate / fps)."),
            ],
        )

    @classmethod
    def execute(cls, animation, fps: float, size: int, loop: bool, pingpong: bool, background: str,
                custom_color: str = "#ffffff") -> io.NodeOutput:
        from ..core.animation_io import as_animation
        from ..core.export.timeline import make_timeline, render_timeline
        from ..core.raster import composite

        bg = background_rgb(background, custom_color)
        tl = make_timeline(as_animation(animation), fps=fps or None, loop=loop, pingpong=pingpong, size=size or None)
        rgba = render_timeline(tl, background=None).float()
        image = composite(rgba, bg).clamp(0, 1).contiguous()
        return io.NodeOutput(image, rgba[..., 3].clamp(0, 1).contiguous(), float(tl.fps))


NODES = [ExportAnimation, AnimationFrames]
