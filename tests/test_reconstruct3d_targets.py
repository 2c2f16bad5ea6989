"""Issue 11's motion targets for reconstruct3d, measured against the synthetic scenes' ground truth.

CI (slow, ~75 CPU s in all): one scene per camera kind at reduced settings (64 px, fewer points, strokes and steps),
seeds 0 and 1, against bounds that hold with margin over those seeds (measured values in REDUCED), and the rotating
box with a fixed camera at README's settings (~90 CPU s a seed).
The complete scene x camera x seed matrix at README's settings (documented_config: 96 px, 800 + 300
steps; ~45 CPU s a case, ~20 CPU-minutes in all) asserts the issue's targets themselves
(testing.reconstruct3d_cases.TARGETS) and runs with SKETCHMOTION_RECONSTRUCT3D_MATRIX=1; bench/reconstruct3d.py
prints the same numbers as a table.
"""

from __future__ import annotations

import os

import pytest

from sketchmotion.core.scenes3d import BENCH_SCENES
from sketchmotion.testing.reconstruct3d_cases import CAMERAS, TARGETS, misses, run_case

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

matrix = pytest.mark.skipif(not os.environ.get("SKETCHMOTION_RECONSTRUCT3D_MATRIX"),
                            reason="set SKETCHMOTION_RECONSTRUCT3D_MATRIX=1 for the full reconstruct3d target matrix")

# camera kind -> (scene, bounds on the strokes' report at the reduced settings). Measured (seeds 0 / 1, one thread):
# walker moving 1.16 / 0.83 %, velocity 0.40 / 0.43x, tracking 0.50 / 0.37x (carve from 6 views, no harder smoothing of
# still strokes: 1.27 / 0.84 %, 0.39 / 0.40x, 0.40 / 0.33x; plain temporal term: 1.30 / 0.91 %, 0.43 / 0.44x, 0.43 /
# 0.33x); walker fixed + depth 1.44 / 1.33 %, 0.32 / 0.30x (rigid-fit term off: 1.46 / 1.35 %,
# 0.34 / 0.30x); walker fixed, image-plane velocity by paths 0.30 / 0.28x (frame-0 pairs 0.30 / 0.29x; without the
# track-rank term 0.26 / 0.27x, plain temporal term, before FIXED_CAMERA_TEMP_SCALE); 10.5-13
# CPU s a case. (The rotating box with
# depth needs README's settings: 4.5-4.7 % and 0.71-0.86x here, 1.6-1.7 % and 0.32-0.34x there.)
REDUCED = {
    "moving": ("walker", {"chamfer_pct": 2.0, "velocity_ratio": 0.6, "tracking_ratio": 0.6}),
    "fixed+depth": ("walker", {"chamfer_pct": 2.5, "velocity_ratio": 0.5}),
    "fixed": ("walker", {"image_velocity_ratio_paths": 0.45}),
}
# Scene x camera pairs that miss a target at README's settings, with the matrix's measurements (issue 11 is open
# for them): xfail, not strict, so that the matrix reports them and notices when one starts to pass. None now.
# The stick figure with a moving camera passes since the carve from 3 views (CARVE_VIEWS_FRACTION) and the harder
# smoothing of near-still strokes (StrokeConfig.smooth_still): velocity 0.32 / 0.34 / 0.37 / 0.33 / 0.31x on seeds
# 0-4 (before 0.43 / 0.33 / 0.40 / 0.36 / 0.39x); with other optimiser seeds (200-204) 0.33-0.38x, so its margin is
# the smallest of the passing cases (single runs swing +-0.04).
KNOWN_MISSES: dict = {}
# (The rotating box with a fixed camera and no depth maps missed 0.5x (0.54 / 0.67 / 0.56x, seeds 0-2): points slid
# along its straight edges, which no frame shows (the aperture problem), until the image-track rank term
# (FIXED_CAMERA_TRACK_RANK; README's settings, seeds 0-4: 0.24 / 0.21 / 0.23 / 0.23 / 0.31x).)


def _rounded(report: dict) -> dict:
    """A report's numbers to 3 decimals for the log (image_split is a dict of them)."""
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 3) for k, v in report.items()}


def reduced_config(seed: int):
    from sketchmotion.core.pipelines.reconstruct3d import documented_config

    cfg = documented_config(seed=seed, device="cpu", size=64)
    cfg.motion.num_points, cfg.motion.iterations = 1000, 400
    cfg.strokes.num_strokes, cfg.strokes.iterations = 16, 100
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("camera", list(REDUCED))
def test_motion_targets_at_reduced_settings(camera, seed):
    scene, bounds = REDUCED[camera]
    r = run_case(scene, camera, seed, reduced_config(seed), size=64)
    s = r["strokes"]
    print(camera, scene, seed, _rounded(s), f"{r['seconds']:.0f} CPU s")
    bad = [f"{k} {s[k]:.3f} > {v}" for k, v in bounds.items() if s[k] > v]
    assert not bad, f"{scene} {camera} seed {seed}: {bad}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_rotating_box_fixed_camera_meets_the_image_plane_target(seed):
    """The aperture problem's case at README's settings (~90 CPU s a seed): with one view and no depth maps, points
    used to slide along the box's straight edges (0.54 / 0.67x); the image-track rank term ties them to the corners
    (0.24 / 0.21x, seeds 0-4 at most 0.31x). The reduced settings are too coarse to show it."""
    r = run_case("rotating_box", "fixed", seed)
    s = r["strokes"]
    print("rotating_box fixed", seed, _rounded({k: v for k, v in s.items() if k != "diagonal"}),
          f"{r['seconds']:.0f} CPU s")
    assert not misses("fixed", s), f"rotating_box fixed seed {seed}: {misses('fixed', s)}"


def _matrix_cases():
    for scene in BENCH_SCENES:
        for camera in CAMERAS:
            for seed in (0, 1, 2):
                why = KNOWN_MISSES.get((scene, camera))
                marks = [pytest.mark.xfail(reason=f"issue 11: {why}", strict=False)] if why else []
                yield pytest.param(scene, camera, seed, marks=marks, id=f"{scene}-{camera}-{seed}")


@matrix
@pytest.mark.slow
@pytest.mark.parametrize("scene, camera, seed", list(_matrix_cases()))
def test_motion_targets_full_matrix(scene, camera, seed):
    r = run_case(scene, camera, seed)
    s = r["strokes"]
    print(scene, camera, seed, _rounded({k: v for k, v in s.items() if k != "diagonal"}), f"{r['seconds']:.0f} CPU s")
    assert not misses(camera, s), f"{scene} {camera} seed {seed}: {misses(camera, s)} (targets {TARGETS[camera]})"
