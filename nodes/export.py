"""Animation nodes: Export Animation, Animation to Frames, Save / Load Animation File, Sketch to Animation.

Every node that takes an animation also takes a static SKETCH (a one-frame animation).
"""

from __future__ import annotations

import os

import folder_paths
from comfy_api.latest import io, ui

from . import _files
from ._common import BACKGROUND_TOOLTIP, BACKGROUNDS, background_rgb, save_target
from ._types import CATEGORY_ANIMATE, CATEGORY_EXPORT, Sketch, SketchAnimation

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
ANIMATION_EXT = ".safetensors"
ANIMATION_SUBFOLDER = "animations"


def _animation_input():
    return io.MultiType.Input("animation", types=[SketchAnimation, Sketch],
                              tooltip="A sketch animation, or a static sketch (exported as one frame).")


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
                _animation_input(),
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
                _animation_input(),
                *_timing_inputs(),
                io.Combo.Input("background", options=BACKGROUNDS, default="white", tooltip=BACKGROUND_TOOLTIP),
                io.String.Input("custom_color", default="#ffffff",
                                tooltip="Background colour when background is 'custom' (any CSS colour)."),
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
                _animation_input(),
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
        path, file, subfolder = save_target(filename_prefix, anim, 0, ANIMATION_EXT, folder_paths.get_output_directory())
        save_animation(anim, path)
        saved = ui.SavedResult(file, subfolder, io.FolderType.output)
        name = f"{subfolder}/{file}".lstrip("/") + " [output]"  # what Load Animation File lists
        return io.NodeOutput(ui={"files": [saved], "text": [name]})


def _animation_files() -> list[str]:
    """Combo options: input/*.safetensors, input/animations/**, then output/** as 'x [output]'."""
    def walk(folder: str, recursive: bool) -> list[str]:
        found = []
        for root, dirs, files in os.walk(folder) if os.path.isdir(folder) else ():
            rel = os.path.relpath(root, folder).replace(os.sep, "/")
            found += [f if rel == "." else f"{rel}/{f}" for f in files if f.lower().endswith(ANIMATION_EXT)]
            if not recursive:
                dirs.clear()
        return sorted(found)

    inp = folder_paths.get_input_directory()
    user = walk(inp, False) + [f"{ANIMATION_SUBFOLDER}/{f}" for f in walk(os.path.join(inp, ANIMATION_SUBFOLDER), True)]
    return user + [f"{f} [output]" for f in walk(folder_paths.get_output_directory(), True)]


def _resolve_animation(name: str) -> str | None:
    rel, base = folder_paths.annotated_filepath(name.strip())
    if not rel.lower().endswith(ANIMATION_EXT):
        return None
    return _files.inside(base or folder_paths.get_input_directory(), rel)


class LoadAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionLoadAnimation",
            display_name="Load Animation File",
            category=CATEGORY_EXPORT,
            description="Reads a .safetensors animation file saved by Save Animation File or the command line.",
            inputs=[
                io.Combo.Input("animation_file", options=_animation_files(),
                               tooltip=f"Files in the input folder (and its {ANIMATION_SUBFOLDER}/ subfolder) "
                               "and, marked [output], in the output folder."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation", tooltip="The animation stored in the file.")],
        )

    @classmethod
    def execute(cls, animation_file: str) -> io.NodeOutput:
        from ..core.animation_io import load_animation
        from ..core.errors import SketchError

        path = _resolve_animation(animation_file)
        if path is None:
            raise SketchError(cls._missing(animation_file))
        return io.NodeOutput(load_animation(path))

    @staticmethod
    def _missing(name: str) -> str:
        return (f"Animation file '{name}' was not found. Put the {ANIMATION_EXT} file in ComfyUI's input folder "
                f"({folder_paths.get_input_directory()}) or its '{ANIMATION_SUBFOLDER}' subfolder, or pick a file "
                "marked [output].")

    @classmethod
    def validate_inputs(cls, animation_file: str):
        return True if _resolve_animation(animation_file) else cls._missing(animation_file)

    @classmethod
    def fingerprint_inputs(cls, animation_file: str):
        path = _resolve_animation(animation_file)
        return _files.file_digest(path) if path else animation_file


class SketchToAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSketchToAnimation",
            display_name="Sketch to Animation (procedural)",
            category=CATEGORY_ANIMATE,
            description="Animates a sketch without a model: a looping hand-drawn wiggle, a sway about its centre, "
            "or no motion. For previews and for testing exports.",
            inputs=[
                Sketch.Input("sketch", tooltip="The sketch to move."),
                io.Combo.Input("motion", options=["wiggle", "sway", "none"], default="wiggle",
                               tooltip="wiggle: every control point jitters smoothly (hand-drawn 'line boil'); sway: "
                               "the whole sketch rocks about its centre; none: a still animation."),
                io.Int.Input("num_frames", default=24, min=1, max=480, tooltip="Frames of the animation."),
                io.Float.Input("fps", default=8.0, min=0.5, max=240.0, step=0.5, tooltip="Playback frame rate."),
                io.Float.Input("amplitude", default=2.0, min=0.0, max=180.0, step=0.1,
                               tooltip="wiggle: typical displacement in canvas pixels; sway: largest angle in degrees."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Random pattern of the wiggle."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation", tooltip="The sketch over time (a looping motion).")],
        )

    @classmethod
    def execute(cls, sketch, motion: str, num_frames: int, fps: float, amplitude: float, seed: int) -> io.NodeOutput:
        from ..core.procedural import procedural_motion

        return io.NodeOutput(procedural_motion(sketch, num_frames, motion, amplitude, seed, fps=fps))


NODES = [ExportAnimation, AnimationFrames, SaveAnimation, LoadAnimation, SketchToAnimation]
