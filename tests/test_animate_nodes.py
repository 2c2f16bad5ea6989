"""Diffusers Video Prior + Animate Sketch nodes through the V3 contract, with a tiny random
text-to-video model loaded from ComfyUI's models/diffusers folder by the node itself."""

from __future__ import annotations

import os

import pytest
import torch

from node_testing import LINE_SVG, node, run

from sketchmotion.testing.tiny_models import build_tiny_text_to_video

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def prior(comfy, tmp_path_factory):  # noqa: F811
    try:  # a real ComfyUI (COMFYUI_PATH): run it on the CPU, as `main.py --cpu` would
        import comfy.cli_args as cli_args

        cli_args.args.cpu = True  # before comfy.model_management is first imported
    except ImportError:
        pass  # the CI stand-in is CPU-only
    models = tmp_path_factory.mktemp("models")
    build_tiny_text_to_video(models / "tiny-t2v")
    comfy.folder_paths.add_model_folder_path("diffusers", str(models), is_default=True)
    cls = node(comfy, "SketchMotionDiffusersVideoPrior")
    assert "tiny-t2v" in cls.define_schema().inputs[0].options
    out = run(cls, model="tiny-t2v", precision="fp32", t_min=50, t_max=948, allow_download=False)
    return out.args[0]


def sketch(comfy):  # noqa: F811
    out = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=LINE_SVG, normalize=64)
    return out.args[0]


def animate_inputs(comfy, prior, **kw):  # noqa: F811
    base = dict(sketch=sketch(comfy), video_prior=prior, prompt="a line waving", frames=4, steps=2, fps=8.0, seed=0,
                guidance_local=30.0, guidance_global=40.0, motion="local + global", render_size=64)
    return {**base, **kw}


def test_animate_sketch_node_trains_on_the_tiny_model(comfy, prior):  # noqa: F811
    out = run(node(comfy, "SketchMotionAnimateSketch"), **animate_inputs(comfy, prior))
    anim, frames, fps = out.args
    assert fps == anim.fps
    assert anim.num_frames == 4 and anim.settings["steps_done"] == 2
    assert torch.isfinite(anim.frames).all()
    assert anim.settings["skipped_steps"] == 0  # fp32 tiny model: every step had a finite gradient and trained
    assert not torch.equal(anim.frames[1], anim.frames[0])  # the frames move
    assert frames.shape == (4, 64, 64, 3) and frames.dtype == torch.float32 and frames.device.type == "cpu"
    assert not os.listdir(os.path.join(comfy.folder_paths.get_temp_directory(), "sketchmotion"))  # cleaned up


def test_cancel_keeps_progress_and_a_rerun_resumes(comfy, prior, monkeypatch):  # noqa: F811
    import comfy.utils as cu  # the real one under COMFYUI_PATH, else the stand-in

    class Interrupted(Exception):
        pass

    calls = {"n": 0}
    original = cu.ProgressBar.update_absolute

    def cancel_at_step_2(self, value, total=None, preview=None):
        calls["n"] += 1
        if value == 2:
            raise Interrupted()  # what ComfyUI's hook raises on Cancel
        return original(self, value, total, preview)

    monkeypatch.setattr(cu.ProgressBar, "update_absolute", cancel_at_step_2)
    cls = node(comfy, "SketchMotionAnimateSketch")
    with pytest.raises(Interrupted):
        run(cls, **animate_inputs(comfy, prior, steps=3, seed=5))
    ckpt_dir = os.path.join(comfy.folder_paths.get_temp_directory(), "sketchmotion")
    assert len(os.listdir(ckpt_dir)) == 1
    state = torch.load(os.path.join(ckpt_dir, os.listdir(ckpt_dir)[0]), weights_only=True)
    assert state["step"] == 2
    monkeypatch.setattr(cu.ProgressBar, "update_absolute", original)
    resumed = run(cls, **animate_inputs(comfy, prior, steps=3, seed=5))
    anim = resumed.args[0]
    assert anim.settings["steps_done"] == 3
    straight = run(cls, **animate_inputs(comfy, prior, steps=3, seed=5))
    ref = straight.args[0]
    assert torch.allclose(anim.frames, ref.frames, atol=1e-5)


def test_animate_objects_node_runs_the_paper_schedule(comfy, prior):  # noqa: F811
    from sketchmotion.core import svg

    grouped = svg.load(os.path.join(os.path.dirname(__file__), "..", "sketches", "two_objects.svg"), normalize=64)
    assert sorted(set(grouped.group.tolist())) == [0, 1]
    out = run(node(comfy, "SketchMotionAnimateObjects"), sketch=grouped, video_prior=prior,
              scene_prompt="a bird flies past a tree", object_prompts="a bird flaps\na tree sways", schedule="paper",
              others="hidden", frames=4, steps=1, fps=8.0, seed=0, guidance_local=30.0, guidance_global=40.0,
              render_size=64)
    anim, frames, fps = out.args
    assert fps == anim.fps
    assert anim.settings["steps_done"] == 3 and len(anim.settings["stages"]) == 3
    assert frames.shape == (4, 64, 64, 3)
    assert torch.equal(anim.sketch.group, grouped.group)


def test_animate_objects_node_needs_groups(comfy, prior):  # noqa: F811
    from sketchmotion.core.errors import SketchError

    with pytest.raises(SketchError, match="Group Strokes"):
        run(node(comfy, "SketchMotionAnimateObjects"), sketch=sketch(comfy), video_prior=prior, scene_prompt="x",
            object_prompts="x", schedule="paper", others="hidden", frames=4, steps=1, fps=8.0, seed=0,
            guidance_local=30.0, guidance_global=40.0, render_size=64)


def test_advanced_inputs_reach_the_trainer(comfy, prior):  # noqa: F811
    out = run(node(comfy, "SketchMotionAnimateSketch"),
              **animate_inputs(comfy, prior, lambda_t=0.5, lr_global=3e-4, augment=False, canonical_lr=0.05))
    anim = out.args[0]
    cfg = anim.settings["config"]
    assert cfg["field"]["lambda_t"] == 0.5 and cfg["lr_global"] == 3e-4
    assert cfg["augment"]["enabled"] is False and cfg["canonical_lr"] == 0.05


def test_sample_animation_node_uses_the_trained_field(comfy, prior):  # noqa: F811
    out = run(node(comfy, "SketchMotionAnimateSketch"), **animate_inputs(comfy, prior, steps=3))
    anim = out.args[0]
    assert anim.motion is not None
    res = run(node(comfy, "SketchMotionSampleAnimation"), animation=anim, frames=7)
    dense, fps = res.args
    assert dense.num_frames == 7 and fps == pytest.approx(anim.fps * 7 / 4)
    assert (dense.frames[::2] - anim.frames).abs().max() < 1e-4  # the same field at the shared times


def test_frames_and_render_size_zero_are_the_priors_own(comfy):  # noqa: F811
    from sketchmotion.nodes.animate import _config

    auto = _config(prompt="p", frames=0, render_size=0, advanced={})
    assert (auto.num_frames, auto.render_size) == (None, None)  # filled from the prior by the trainer
    given = _config(prompt="p", frames=12, render_size=128, advanced={})
    assert (given.num_frames, given.render_size) == (12, 128)
