"""Load Posed Video, Synthetic 3D Scene, Reconstruct 3D Sketch (nodes/reconstruct3d.py) through the V3 contract.

Real ComfyUI API with COMFYUI_PATH, else the stand-in in tests/comfy_stub.
"""

from __future__ import annotations

import os

import pytest

from node_testing import node, run

from sketchmotion.core.errors import SketchError
from sketchmotion.core.scenes3d import render_dnerf_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module", autouse=True)
def _fresh_nodes_package():
    """Forget sketchmotion.nodes before and after (see tests/test_export_nodes.py)."""
    import sketchmotion

    sketchmotion.__dict__.pop("nodes", None)
    yield
    sketchmotion.__dict__.pop("nodes", None)


def test_load_posed_video_from_the_input_folder(comfy, tmp_path):
    import folder_paths

    folder = os.path.join(folder_paths.get_input_directory(), "scene_a")
    render_dnerf_folder("curve_set", folder, num_frames=6, size=32)
    video, frames, cams = run(node(comfy, "SketchMotionLoadPosedVideo"), folder="scene_a", split="train", size=0,
                              max_frames=4).result
    assert frames.shape == (4, 32, 32, 3) and len(cams) == 4 and video.num_frames == 4
    assert float(frames.min()) < 0.5 and float(frames.max()) == 1.0  # dark strokes on white
    with pytest.raises(SketchError, match="does not exist"):
        run(node(comfy, "SketchMotionLoadPosedVideo"), folder="nope", split="train", size=0, max_frames=0)
    for outside in ("/etc", "../x", ""):
        with pytest.raises(SketchError, match="inside ComfyUI's input folder"):
            run(node(comfy, "SketchMotionLoadPosedVideo"), folder=outside, split="train", size=0, max_frames=0)


def test_synthetic_scene_to_reconstructed_sketch(comfy):
    video, frames, cams = run(node(comfy, "SketchMotionSynthetic3DScene"), scene="stick_figure", camera="moving",
                              frames=8, size=48, depth_maps=False, seed=0).result
    assert frames.shape == (8, 48, 48, 3) and len(cams) == 8
    args = dict(strokes=6, iterations_stage1=20, iterations_stage2=10, points=300, render_size=48,
                frame_loss="l2_blur", seed=0)
    anim, rendered = run(node(comfy, "SketchMotionReconstruct3DSketch"), posed_video=video, **args).result
    assert anim.dim == 3 and anim.frames.shape == (8, 24, 3) and len(anim.cameras) == 8
    assert rendered.shape == (8, 48, 48, 3) and float(rendered.min()) < 0.6  # strokes drawn through the cameras
    # the same from IMAGE frames + a CAMERAS socket
    quick = {**args, "iterations_stage1": 3, "iterations_stage2": 2}
    anim2, _ = run(node(comfy, "SketchMotionReconstruct3DSketch"), frames=frames, cameras=cams, **quick).result
    assert anim2.frames.shape == anim.frames.shape and anim2.settings["stage2.motion"] == "warp"
    assert anim2.settings["stage2.stroke_width"] is None  # drawn as wide as the frames' lines, as the CLI does
    assert 0 < anim2.settings["stage2.stroke_width_used"] < 10
    # -1 (default): automatic (canonical_frame), one of the frames' times
    assert min(abs(anim2.settings["stage1.canonical_time"] - float(t)) for t in video.times) < 1e-6
    late, _ = run(node(comfy, "SketchMotionReconstruct3DSketch"), frames=frames, cameras=cams, canonical_time=0.75,
                  **quick).result
    assert abs(late.settings["stage1.canonical_time"] - 0.75) < 1e-6 and late.frames.shape == anim.frames.shape
    heads, _ = run(node(comfy, "SketchMotionReconstruct3DSketch"), frames=frames, cameras=cams, stroke_motion="heads",
                   **quick).result
    assert heads.settings["stage2.motion"] == "heads" and heads.frames.shape == anim.frames.shape
    with pytest.raises(SketchError, match="posed_video, or frames"):
        run(node(comfy, "SketchMotionReconstruct3DSketch"), frames=frames, **quick)
    # depth maps (an IMAGE batch, bright = near, any size) and the CLIP term through a CLIP_VISION-like model
    import torch

    class Vision(torch.nn.Module):  # ComfyUI's CLIPVisionModelProjection returns (hidden, intermediate, embeds)
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3 * 16 * 16, 8)

        def forward(self, x):
            e = self.proj(torch.nn.functional.interpolate(x, (16, 16)).flatten(1))
            return None, None, e

    clip_vision = type("ClipVision", (), {"model": Vision(), "image_size": 32, "image_mean": [0.5] * 3,
                                          "image_std": [0.5] * 3, "load_device": torch.device("cpu")})()
    depth = torch.rand(8, 24, 24, 3)
    anim3, _ = run(node(comfy, "SketchMotionReconstruct3DSketch"), frames=frames, cameras=cams, depth=depth,
                   clip_weight=0.5, clip_vision=clip_vision, **quick).result
    assert anim3.frames.shape == anim.frames.shape and "CLIP_VISION" in str(anim3.settings.get("stage2.clip_model"))
    assert anim3.settings["stage2.clip_weight"] == 0.5


def test_stroke_motion_choices_match_the_pipeline():
    from sketchmotion.core.pipelines.reconstruct3d import STROKE_MOTIONS
    from sketchmotion.nodes.reconstruct3d import STROKE_MOTION_CHOICES

    assert tuple(STROKE_MOTION_CHOICES) == STROKE_MOTIONS
