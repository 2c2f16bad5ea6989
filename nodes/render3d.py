"""3D sketch nodes: Camera, Render 3D Sketch, Export 3D Sketch (core.render3d, core.export 3D formats)."""

from __future__ import annotations

import folder_paths
from comfy_api.latest import io, ui

from ._common import BACKGROUND_TOOLTIP, BACKGROUNDS, background_rgb, save_target
from ._types import CATEGORY_3D, CATEGORY_EXPORT, Cameras, SketchAnimation

UP_AXES = ["+z", "+y", "-z", "-y", "+x", "-x"]

CAMERA_PATHS = ["turntable", "orbit", "fixed"]
# combo label -> core.export format name (the labels are what workflows store)
EXPORT_3D_FORMATS = {
    "glTF binary (GLB)": "glb",
    "glTF (JSON)": "gltf",
    "HTML viewer": "html",
    "stroke JSON": "strokes_json",
    "PLY polylines": "ply",
}
PREVIEW_SIZE = 256


class Camera(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionCamera",
            display_name="Camera (3D)",
            category=CATEGORY_3D,
            description="A camera path about the origin (world up +z): a turntable (full circle), an orbit (an arc) "
            "or a fixed camera, one camera per frame.",
            inputs=[
                io.Combo.Input("mode", options=CAMERA_PATHS, default="turntable",
                               tooltip="turntable: a full circle over the frames; orbit: an arc of orbit_degrees; "
                               "fixed: the same view every frame."),
                io.Combo.Input("projection", options=["perspective", "orthographic"], default="perspective",
                               tooltip="perspective: far strokes look smaller; orthographic: sizes kept (technical views)."),
                io.Float.Input("fov", default=40.0, min=1.0, max=170.0, step=0.5,
                               tooltip="Horizontal field of view in degrees (orthographic: the same view width at "
                               "the target)."),
                io.Float.Input("distance", default=4.0, min=0.01, max=1000.0, step=0.1,
                               tooltip="Camera distance from the origin, in world units."),
                io.Float.Input("elevation", default=20.0, min=-89.0, max=89.0, step=1.0, tooltip="Degrees above the ground."),
                io.Float.Input("azimuth", default=0.0, min=-360.0, max=360.0, step=1.0,
                               tooltip="(Start) angle about the vertical axis in degrees; 0 looks along +y."),
                io.Float.Input("orbit_degrees", default=90.0, min=-360.0, max=360.0, step=1.0,
                               tooltip="orbit: the arc travelled over the frames."),
                io.Int.Input("size", default=512, min=8, max=4096, tooltip="Image width and height in pixels."),
                io.Int.Input("frames", default=24, min=1, max=1000, tooltip="Number of cameras (one per frame)."),
                io.Combo.Input("up", options=UP_AXES, default="+z", optional=True,
                               tooltip="The world's up axis: +z (Blender) or +y (D-NeRF, Synthetic 3D Scene, "
                               "Load Posed Video). Render 3D Sketch without cameras derives it from the animation."),
            ],
            outputs=[Cameras.Output(display_name="cameras", tooltip="One camera per frame, for Render 3D Sketch.")],
        )

    @classmethod
    def execute(cls, mode: str, projection: str, fov: float, distance: float, elevation: float, azimuth: float,
                orbit_degrees: float, size: int, frames: int, up: str = "+z") -> io.NodeOutput:
        from ..core.render3d import camera_path

        return io.NodeOutput(camera_path(mode, frames, size=size, fov=fov, distance=distance, elevation=elevation,
                                         azimuth=azimuth, span=orbit_degrees, target=(0.0, 0.0, 0.0),
                                         projection=projection, up=up))


class Render3DSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionRender3DSketch",
            display_name="Render 3D Sketch",
            category=CATEGORY_3D,
            description="Renders a 3D sketch animation through cameras (default: a turntable fitted to the sketch) "
            "to IMAGE frames + MASK; far strokes are painted first.",
            inputs=[
                SketchAnimation.Input("animation", tooltip="A 3D sketch animation (Reconstruct 3D Sketch, or a "
                                      "loaded 3D animation file)."),
                Cameras.Input("cameras", optional=True, tooltip="A camera path (Camera node); empty = a turntable."),
                io.Boolean.Input("use_animation_cameras", default=False,
                                 tooltip="Render through the cameras stored with the animation (e.g. the input video's)."),
                io.Int.Input("size", default=512, min=0, max=4096,
                             tooltip="Longer side in pixels; 0 = the cameras' size."),
                io.Int.Input("frames", default=0, min=0, max=1000,
                             tooltip="0 = one per camera (turntable: one per animation frame)."),
                io.Float.Input("freeze_time", default=-1.0, min=-1.0, max=1.0, step=0.01,
                               tooltip="-1 plays the motion over the camera path; 0..1 freezes it at that moment."),
                io.Float.Input("width_scale", default=1.0, min=0.05, max=20.0, step=0.05,
                               tooltip="Multiplies every stroke width."),
                io.Combo.Input("background", options=BACKGROUNDS, default="white", tooltip=BACKGROUND_TOOLTIP),
                io.String.Input("custom_color", default="#ffffff", tooltip="Background when background is 'custom'."),
                io.Combo.Input("up", options=["auto", *UP_AXES], default="auto", optional=True,
                               tooltip="The axis the default turntable circles: auto = the one the animation's "
                               "cameras agree on (+y for D-NeRF data), else +z."),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="[frames, H, W, 3] in 0..1."),
                io.Mask.Output(display_name="mask", tooltip="Stroke coverage per frame: 1 where the sketch draws."),
            ],
        )

    @classmethod
    def execute(cls, animation, size: int, frames: int, freeze_time: float, width_scale: float, background: str,
                custom_color: str = "#ffffff", cameras=None, use_animation_cameras: bool = False,
                up: str = "auto") -> io.NodeOutput:
        import torch

        from ..core.raster import composite
        from ..core.render3d import render_3d, resolve_cameras

        cams = resolve_cameras(animation, cameras, use_animation_cameras, frames, up=up)
        times = None if freeze_time < 0 else torch.full((len(cams),), float(freeze_time))
        rgba = render_3d(animation, cams, times, size or None, background=None, width_scale=width_scale)
        image = composite(rgba, background_rgb(background, custom_color))
        return io.NodeOutput(image.clamp(0, 1).contiguous(), rgba[..., 3].clamp(0, 1).contiguous())


class Export3DSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionExport3DSketch",
            display_name="Export 3D Sketch",
            category=CATEGORY_EXPORT,
            description="Saves a 3D sketch animation into the output folder as glTF / GLB (stroke tubes, morph-target "
            "motion), a self-contained HTML viewer, stroke JSON or PLY polylines; previews a turntable.",
            inputs=[
                SketchAnimation.Input("animation", tooltip="A 3D sketch animation."),
                io.Combo.Input("format", options=list(EXPORT_3D_FORMATS), default="glTF binary (GLB)",
                               tooltip="GLB / glTF: stroke tubes with morph-target motion (Blender, three.js, "
                               "ComfyUI's 3D preview); HTML viewer: one self-contained page; stroke JSON: control "
                               "points per frame; PLY: polylines."),
                io.Float.Input("fps", default=0.0, min=0.0, max=240.0, step=0.5,
                               tooltip="0 = the animation's own; other rates re-sample the motion (same duration)."),
                io.Boolean.Input("loop", default=True, tooltip="The last frame blends back into the first."),
                io.Boolean.Input("pingpong", default=False, tooltip="Play forwards, then backwards."),
                io.String.Input("filename_prefix", default="sketchmotion/sketch3d",
                                tooltip="Relative to the output folder; may contain a subfolder."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, animation, format: str, fps: float, loop: bool, pingpong: bool, filename_prefix: str) -> io.NodeOutput:
        import torch

        from ..core.errors import SketchError
        from ..core.export import FORMATS, export
        from ..core.render3d import render_3d, save_images

        if format not in EXPORT_3D_FORMATS:
            raise SketchError(f"Unknown format {format!r}; choose one of: {', '.join(EXPORT_3D_FORMATS)}.")
        fmt = EXPORT_3D_FORMATS[format]
        path, file, subfolder = save_target(filename_prefix, animation, 0, FORMATS[fmt].extensions[0],
                                             folder_paths.get_output_directory())
        export(animation, path, format=fmt, fps=fps or None, loop=loop, pingpong=pingpong)
        images = render_3d(animation, "turntable", size=PREVIEW_SIZE)
        ppath, pfile, psub = save_target("sketchmotion_preview3d", animation, PREVIEW_SIZE, ".webp",
                                          folder_paths.get_temp_directory())
        save_images((images * 255 + 0.5).to(torch.uint8).numpy(), ppath, animation.fps)
        preview = ui.SavedImages([ui.SavedResult(pfile, psub, io.FolderType.temp)], is_animated=len(images) > 1)
        saved = ui.SavedResult(file, subfolder, io.FolderType.output)
        return io.NodeOutput(ui={**preview.as_dict(), "files": [saved], "text": [f"{subfolder}/{file}".lstrip("/")]})


NODES = [Camera, Render3DSketch, Export3DSketch]
