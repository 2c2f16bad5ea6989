"""Liv3Stroke nodes: Load Posed Video, Synthetic 3D Scene, Reconstruct 3D Sketch (core.pipelines.reconstruct3d)."""

from __future__ import annotations

import os

from comfy_api.latest import io

from ._types import CATEGORY_3D, Cameras, PosedVideo, SketchAnimation

FRAME_LOSS_CHOICES = ["auto", "lpips", "vgg", "l2_blur", "l2", "l1"]
STROKE_MOTION_CHOICES = ["warp", "heads"]  # core.pipelines.reconstruct3d.STROKE_MOTIONS (a test keeps both equal)
STROKE_MOTION_TOOLTIP = ("How the strokes move. warp: by the stage-1 deformation field itself (one 3D motion seen "
                         "from every view; only the canonical strokes are fitted, to every frame through it). heads: "
                         "the paper's per-stroke rotation / translation / offset networks, distilled from the field "
                         "and then fitted frame by frame (freer, but a single view can pull a stroke alone).")
ClipVision = io.Custom("CLIP_VISION")  # the output type of ComfyUI's Load CLIP Vision
DEPTH_TOOLTIP = ("Depth maps (IMAGE, one per frame; bright = near, e.g. from a depth-estimation node): they seed the "
                 "points at their depth and constrain stage 1. A fixed camera sees no parallax: without depth the "
                 "shape in depth and any motion towards or away from the camera are not observable (points start in "
                 "a thin slab at the look-at depth and move as rigidly as the frames allow); the motion across the "
                 "image is recovered either way. A moving camera (orbit / posed video) observes depth by itself.")


def _clip_encoder(clip_vision):
    """A gradient-capable copy of a ComfyUI CLIP vision model as core.metrics_clip.ClipImageEncoder (its
    projected image embedding). Loader weights are inference tensors: deepcopy outside inference mode."""
    import copy

    import torch

    from ..core.metrics_clip import ClipImageEncoder

    class Tower(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def encode_image(self, x):
            return self.m(x)[2]  # ComfyUI's CLIPVisionModelProjection: (hidden, intermediate, image_embeds, ...)

    device = getattr(clip_vision, "load_device", None) or torch.device("cpu")
    with torch.inference_mode(False):
        module = copy.deepcopy(clip_vision.model).to(device=device, dtype=torch.float32).eval().requires_grad_(False)
    return ClipImageEncoder(Tower(module), clip_vision.image_size, clip_vision.image_mean, clip_vision.image_std,
                            name=f"ComfyUI CLIP_VISION {type(clip_vision.model).__name__}")
VIDEO_OUTPUTS = [
    PosedVideo.Output(display_name="posed_video", tooltip="Frames + one camera and one time per frame, for "
                      "Reconstruct 3D Sketch."),
    io.Image.Output(display_name="frames", tooltip="The frames as images, to preview."),
    Cameras.Output(display_name="cameras", tooltip="One camera per frame (Render 3D Sketch can reuse them)."),
]


def _video_outputs(video):
    return io.NodeOutput(video, video.frames.clone(), video.cameras)


def _fresh(video):
    """A copy whose tensors are ordinary (not inference) tensors, so autograd may save them."""
    from dataclasses import replace

    c = video.cameras
    cams = replace(c, c2w=c.c2w.clone(), fx=c.fx.clone(), fy=c.fy.clone(), cx=c.cx.clone(), cy=c.cy.clone())
    cl = lambda x: None if x is None else x.clone()  # noqa: E731
    return replace(video, frames=video.frames.clone(), cameras=cams, times=video.times.clone(),
                   masks=cl(video.masks), depth=cl(video.depth))


class LoadPosedVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionLoadPosedVideo",
            display_name="Load Posed Video (D-NeRF)",
            category=CATEGORY_3D,
            description="Reads a D-NeRF-format folder (transforms_*.json with camera_angle_x or fl_x, frames "
            "composited on white, a time per frame): frames ordered by time, one camera per frame, and the alpha as "
            "masks when the frames have one. Frames may be PNG, JPEG, WebP, BMP or TIFF, named with or without their extension; "
            "times given as frame numbers or seconds are rescaled onto 0..1 over every split.",
            inputs=[
                io.String.Input("folder", default="", tooltip="A folder inside ComfyUI's input folder, e.g. dnerf/lego "
                                "for input/dnerf/lego (copy or symlink the dataset there)."),
                io.Combo.Input("split", options=["train", "val", "test"], default="train",
                               tooltip="Which transforms_<split>.json to read."),
                io.Int.Input("size", default=0, min=0, max=4096, tooltip="Resize frames and cameras (0: as stored)."),
                io.Int.Input("max_frames", default=0, min=0, max=10000, tooltip="Keep this many frames (0: all)."),
            ],
            outputs=VIDEO_OUTPUTS,
        )

    @classmethod
    def execute(cls, folder: str, split: str, size: int, max_frames: int) -> io.NodeOutput:
        import folder_paths

        from ..core.posed_video import load_dnerf

        from ..core.errors import SketchError

        base = os.path.abspath(folder_paths.get_input_directory())
        path = os.path.abspath(os.path.join(base, folder.strip()))
        if not folder.strip() or os.path.isabs(folder.strip()) or os.path.commonpath([base, path]) != base:
            raise SketchError(f"'{folder}' is not a folder inside ComfyUI's input folder ({base}). Copy or symlink the "
                              "D-NeRF dataset there (e.g. input/dnerf/lego) and enter its relative path (dnerf/lego).")
        return _video_outputs(load_dnerf(path, split, size or None, max_frames or None))


class Synthetic3DScene(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        from ..core.options import SCENE_NAMES

        return io.Schema(
            node_id="SketchMotionSynthetic3DScene",
            display_name="Synthetic 3D Scene",
            category=CATEGORY_3D,
            description="A small dynamic 3D stroke scene with known motion, rendered as a posed video (written as a "
            "D-NeRF folder in the temp folder): for demos and for checking Reconstruct 3D Sketch.",
            inputs=[
                io.Combo.Input("scene", options=list(SCENE_NAMES), default="stick_figure",
                               tooltip="Which moving 3D stroke scene to film (a stick figure waving, a walker, a bird, "
                               "a rotating box, ...)."),
                io.Combo.Input("camera", options=["moving", "fixed"], default="moving",
                               tooltip="moving: a new pose every frame (D-NeRF style); fixed: one pose."),
                io.Int.Input("frames", default=24, min=2, max=240, tooltip="Frames of the video (time runs 0..1)."),
                io.Int.Input("size", default=64, min=16, max=1024,
                             tooltip="Frame width and height in pixels (small is fast on CPU)."),
                io.Boolean.Input("depth_maps", default=False,
                                 tooltip="Attach metric depth maps of the strokes (what a depth sensor would give)."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Seeds the moving camera path."),
            ],
            outputs=VIDEO_OUTPUTS,
        )

    @classmethod
    def execute(cls, scene: str, camera: str, frames: int, size: int, depth_maps: bool, seed: int) -> io.NodeOutput:
        from dataclasses import replace

        import folder_paths

        from ..core.posed_video import load_dnerf
        from ..core.scenes3d import get_scene, load_ground_truth, render_depth, render_dnerf_folder

        folder = os.path.join(folder_paths.get_temp_directory(), "sketchmotion",
                              f"{scene}_{camera}_{frames}_{size}_{seed}")
        if not os.path.isfile(os.path.join(folder, "ground_truth.npz")):
            render_dnerf_folder(scene, folder, num_frames=frames, size=size, camera_mode=camera, seed=seed)
        video = load_dnerf(folder)
        if depth_maps:
            up = load_ground_truth(folder)["scene"].get("up", "+z")
            video = replace(video, depth=render_depth(get_scene(scene, up=up), video.times, video.cameras),
                            depth_mode="metric")
        return _video_outputs(video)


CANONICAL_TIME_TOOLTIP = (
    "Time (0..1) of the canonical frame, the pose the strokes are fitted in and the motion is measured from. -1 "
    "(default): automatic. Moving camera: t = 0 unless the neighbouring views of another frame see the object hold "
    "still with its parts apart. Fixed camera: the middle of the clip (with depth maps the start), unless the first "
    "frame hides part of the object (then the frame that shows most of it) or the middle one does (then the nearest "
    "frame that does not). "
    "Set it when that misses: pick a moment when the parts are apart and slow (a door closed inside "
    "its frame or a pendulum at its fastest loses most of its motion; the door open or the pendulum at the end of its "
    "swing recovers it).")


class Reconstruct3DSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionReconstruct3DSketch",
            display_name="Reconstruct 3D Sketch",
            category=CATEGORY_3D,
            description="Liv3Stroke: recovers moving 3D strokes from a posed video. Stage 1 fits points and a "
            "deformation field (motion guidance), stage 2 fits deformable 3D Bezier strokes seeded from them.",
            inputs=[
                PosedVideo.Input("posed_video", optional=True, tooltip="Or give frames + cameras."),
                io.Image.Input("frames", optional=True, tooltip="Instead of posed_video: frames of a dark sketch on a "
                               "light background (with cameras)."),
                Cameras.Input("cameras", optional=True, tooltip="With frames: one camera, or one per frame."),
                io.Int.Input("strokes", default=32, min=1, max=1024,
                             tooltip="3D Bezier strokes to fit; more draws finer detail and takes longer."),
                io.Int.Input("iterations_stage1", default=600, min=0, max=100000, tooltip="Motion-guidance steps."),
                io.Int.Input("iterations_stage2", default=1000, min=0, max=100000, tooltip="Stroke-fitting steps."),
                io.Int.Input("points", default=2000, min=16, max=200000, tooltip="Stage-1 points (paper: ~10k)."),
                io.Int.Input("render_size", default=256, min=16, max=2048, tooltip="Longest side used for fitting."),
                io.Combo.Input("frame_loss", options=FRAME_LOSS_CHOICES, default="auto",
                               tooltip="auto: LPIPS when torchvision's VGG16 ImageNet weights are in models/lpips or "
                               "torch's cache (or may be downloaded), else blurred L2 (with a warning)."),
                io.Image.Input("depth", optional=True, tooltip=DEPTH_TOOLTIP),
                io.Float.Input("clip_weight", default=0.0, min=0.0, max=10.0, step=0.05, optional=True,
                               tooltip="Stroke stage: weight of the paper's CLIP term 1 - cos(CLIP(frame), "
                               "CLIP(render)); needs clip_vision (or open_clip ViT-B-32 in models/open_clip). "
                               "0 = off (fast on CPU)."),
                ClipVision.Input("clip_vision", optional=True, tooltip="The CLIP vision model for clip_weight > 0 "
                                 "(Load CLIP Vision)."),
                io.Boolean.Input("allow_download", default=False, optional=True,
                                 tooltip="Let torchvision download the LPIPS trunk weights (VGG16, ~530 MB) into "
                                 "torch's cache when they are not on disk."),
                io.Combo.Input("stroke_motion", options=STROKE_MOTION_CHOICES, default="warp", optional=True,
                               tooltip=STROKE_MOTION_TOOLTIP),
                io.Float.Input("canonical_time", default=-1.0, min=-1.0, max=1.0, step=0.05, optional=True,
                               tooltip=CANONICAL_TIME_TOOLTIP),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1,
                             tooltip="Seeds the initial points, strokes and sampling: same seed, same result."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation",
                                            tooltip="Moving 3D strokes (render or export them with the 3D nodes)."),
                     io.Image.Output(display_name="rendered", tooltip="The strokes seen through the input cameras.")],
        )

    @classmethod
    def execute(cls, strokes: int, iterations_stage1: int, iterations_stage2: int, points: int, render_size: int,
                frame_loss: str, seed: int, posed_video=None, frames=None, cameras=None, depth=None,
                clip_weight: float = 0.0, clip_vision=None, allow_download: bool = False,
                stroke_motion: str = "warp", canonical_time: float = -1.0) -> io.NodeOutput:
        import torch

        from ..core.errors import SketchError
        from ..core.guidance.perceptual import FrameLossConfig
        from ..core.pipelines.reconstruct3d import MotionGuidanceConfig, Reconstruct3DConfig, StrokeConfig, reconstruct3d
        from ..core.render3d import render_3d
        from ..core.posed_video import from_frames, with_depth
        from ._common import model_dirs
        from ._progress import comfy_callbacks

        if posed_video is None:
            if frames is None or cameras is None:
                raise SketchError("Connect a posed_video, or frames together with cameras.")
            posed_video = from_frames(frames, camera=cameras)
        if depth is not None:
            posed_video = with_depth(posed_video, depth, "relative")
        loss = FrameLossConfig(frame_loss, search_dirs=tuple(model_dirs("lpips")), allow_download=allow_download)
        clip = _clip_encoder(clip_vision) if clip_vision is not None and clip_weight > 0 else "ViT-B-32:openai"
        cfg = Reconstruct3DConfig(
            MotionGuidanceConfig(iterations=iterations_stage1, num_points=points, frame_loss=loss, seed=seed,
                                 render_size=render_size, canonical_time=canonical_time if canonical_time >= 0 else None),
            StrokeConfig(num_strokes=strokes, iterations=iterations_stage2, frame_loss=loss, seed=seed,
                         render_size=render_size, clip_weight=clip_weight, clip_model=clip, motion=stroke_motion,
                         clip_search_dirs=tuple(model_dirs("open_clip")), stroke_width=None))  # as the frames' lines
        with torch.inference_mode(False), torch.enable_grad():
            video = _fresh(posed_video)
            anim, _ = reconstruct3d(video, cfg, comfy_callbacks(max(iterations_stage1 + iterations_stage2, 1)))
        with torch.no_grad():
            images = render_3d(anim, anim.cameras).float().cpu()  # the input views, strokes depth-sorted
        return io.NodeOutput(anim, images)


NODES = [LoadPosedVideo, Synthetic3DScene, Reconstruct3DSketch]
