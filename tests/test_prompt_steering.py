"""The prompt steers the motion: `animate` (CLI and nodes) with the pack's learned motion prior.

The bundled prior (assets/motion_prior/modelscope_tiny, scripts/train_motion_prior.py) knows
eight motion captions. Animating sketches it never saw in training (drawn here) with one of
them must move the sketch the captioned way by a clear margin, measured from the animation's
control points (core.guidance.learned_prior.points_motion / matches: centroid shift >= 8 px
at 64 px, rotation >= 15 degrees, scale >= 1.15x); an empty prompt must not produce it.
8 frames at 64 px, as the prior was trained; 300 steps, and for the rotations the default preset's
500 (a turn builds up more slowly: learned_prior.SLOW_CAPTIONS). The complete caption x seed matrix
runs with SKETCHMOTION_STEERING_MATRIX=1 (and is marked slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from node_testing import node, run

from sketchmotion.core.animation_io import load_animation
from sketchmotion.core.guidance.learned_prior import (CAPTIONS, SLOW_CAPTION_STEPS, SLOW_CAPTIONS,
                                                     bundled_motion_prior_path, matches, points_motion)
from sketchmotion.testing.unseen_sketches import HOUSE, KITE_AND_BOAT

STEPS = 300  # the default preset's lr schedule gives short runs almost no global motion (REFERENCE.md section 7)
SIZE, FRAMES = 64, 8

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py
# The complete caption x seed matrix takes ~30 animate runs (~1-2 CPU-minutes each): too long for CI, where
# `slow` tests still run. It runs with SKETCHMOTION_STEERING_MATRIX=1.
matrix = pytest.mark.skipif(not os.environ.get("SKETCHMOTION_STEERING_MATRIX"),
                            reason="set SKETCHMOTION_STEERING_MATRIX=1 for the full prompt-steering matrix")


# Matrix cases that miss the check with the bundled prior (measured: rotation in degrees); xfail, not strict, so that
# the matrix notices when one starts to pass. Issue 10 is open for them.
KNOWN_MISSES = {
    ("rotating counterclockwise", 1): "turns the captioned way, but only -9.3 degrees at 500 steps (seed 0: -25.7)",
}


def matrix_cases(seeds) -> list:
    """(caption, seed) pairs, the known misses marked xfail."""
    return [pytest.param(c, s, marks=pytest.mark.xfail(reason=KNOWN_MISSES[c, s], strict=False))
            if (c, s) in KNOWN_MISSES else (c, s) for c in CAPTIONS for s in seeds]


def steps_for(caption: str) -> int:
    return SLOW_CAPTION_STEPS if caption in SLOW_CAPTIONS else STEPS


def still(m: dict, size: float = SIZE) -> bool:
    """No captioned motion at all (what an empty prompt must give)."""
    return not any(matches(c, m, size=size) for c in CAPTIONS)


def cli_animate(tmp_path: Path, svg: str, prompt: str, seed: int = 0, extra=()) -> dict:
    sketch = tmp_path / "sketch.svg"
    sketch.write_text(svg)
    out = tmp_path / f"out_{abs(hash((prompt, seed)))}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "sketchmotion", "animate", str(sketch), "--prompt", prompt,
                        "--model", str(bundled_motion_prior_path("modelscope")), "--frames", str(FRAMES),
                        "--size", str(SIZE), "--steps", str(steps_for(prompt)), "--seed", str(seed), "--out", str(out),
                        *extra],
                       env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    return load_animation(out / "animation.safetensors")


# --------------------------------------------------------------------- CLI
def check_cli(tmp_path, caption, seed):
    anim = cli_animate(tmp_path, HOUSE, caption, seed)
    assert anim.sketch.canvas == (SIZE, SIZE) and anim.num_frames == FRAMES
    m = points_motion(anim.frames)
    assert matches(caption, m), (caption, seed, m)
    return m


@pytest.mark.parametrize("caption", ["moving right", "rotating clockwise"])
def test_cli_prompt_moves_an_unseen_sketch(tmp_path, caption):
    check_cli(tmp_path, caption, 0)


@pytest.mark.slow
@matrix
@pytest.mark.parametrize("caption,seed", matrix_cases([0, 1]))
def test_cli_prompt_matrix(tmp_path, caption, seed):
    check_cli(tmp_path, caption, seed)


@pytest.mark.slow
@matrix
@pytest.mark.parametrize("seed", [0, 1])
def test_cli_empty_prompt_keeps_the_sketch_still(tmp_path, seed):
    m = points_motion(cli_animate(tmp_path, HOUSE, "", seed).frames)
    assert still(m), m


# ------------------------------------------------------------------- nodes
@pytest.fixture(scope="module")
def prior(comfy):  # noqa: F811
    try:  # a real ComfyUI (COMFYUI_PATH): run it on the CPU
        import comfy.cli_args as cli_args

        cli_args.args.cpu = True
    except ImportError:
        pass
    path = bundled_motion_prior_path("modelscope")
    comfy.folder_paths.add_model_folder_path("diffusers", str(path.parent), is_default=False)
    cls = node(comfy, "SketchMotionDiffusersVideoPrior")
    assert path.name in cls.define_schema().inputs[0].options
    return run(cls, model=path.name, precision="fp32", t_min=50, t_max=948, allow_download=False).args[0]


def node_sketch(comfy, svg):  # noqa: F811
    return run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=svg, normalize=SIZE).args[0]


def node_animate(comfy, prior, prompt, seed=0):  # noqa: F811
    inputs = dict(sketch=node_sketch(comfy, HOUSE), video_prior=prior, prompt=prompt, frames=FRAMES,
                  steps=steps_for(prompt), fps=8.0, seed=seed, guidance_local=30.0, guidance_global=40.0,
                  motion="local + global", render_size=SIZE)
    anim, frames, _ = run(node(comfy, "SketchMotionAnimateSketch"), **inputs).args
    assert frames.shape == (FRAMES, SIZE, SIZE, 3)
    return points_motion(anim.frames)


@pytest.mark.parametrize("caption", ["shrinking"])
def test_animate_sketch_node_follows_the_prompt(comfy, prior, caption):  # noqa: F811
    m = node_animate(comfy, prior, caption)
    assert matches(caption, m), (caption, m)


def test_animate_sketch_node_empty_prompt_stays_still(comfy, prior):  # noqa: F811
    m = node_animate(comfy, prior, "")
    assert still(m), m


@pytest.mark.slow
@matrix
@pytest.mark.parametrize("caption,seed", matrix_cases([1]))
def test_animate_sketch_node_matrix(comfy, prior, caption, seed):  # noqa: F811
    m = node_animate(comfy, prior, caption, seed=seed)
    assert matches(caption, m), (caption, m)


@pytest.mark.slow
@matrix
@pytest.mark.parametrize("seed", [0, 1])
def test_animate_objects_node_moves_each_object_its_own_way(comfy, prior, seed):  # noqa: F811
    # the scene prompt is empty, so the schedule is the two per-object stages (an empty-prompt scene stage
    # pulled the kite from dy -31 px back to -2.3 px: core.pipelines.multi_object)
    sk = node_sketch(comfy, KITE_AND_BOAT)
    prompts = ("moving up", "moving left")
    anim, _, _ = run(node(comfy, "SketchMotionAnimateObjects"), sketch=sk, video_prior=prior, scene_prompt="",
                     object_prompts="\n".join(prompts), schedule="paper", others="hidden", frames=FRAMES,
                     steps=STEPS, fps=8.0, seed=seed, guidance_local=30.0, guidance_global=40.0,
                     render_size=SIZE).args
    owner = anim.sketch.group[anim.sketch.point_path]
    for g, caption in enumerate(prompts):
        m = points_motion(anim.frames[:, owner == g])
        print(f"object {g} {caption!r} seed {seed}: {m}")
        assert matches(caption, m), (g, caption, m)
    assert torch.isfinite(anim.frames).all()
