"""The README's 3D command-line route: `scene3d` writes a D-NeRF folder, `reconstruct3d` reads it back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "sketchmotion", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_scene3d_lists_scenes_and_refuses_unknown_ones(tmp_path):
    r = run(["scene3d", "--list"], tmp_path)
    assert r.returncode == 0 and "stick_figure" in r.stdout.split()
    r = run(["scene3d", "no_such_scene", "--out", "x"], tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "stick_figure" in r.stderr
    r = run(["scene3d"], tmp_path)
    assert r.returncode == 2 and "--out" in r.stderr


@pytest.mark.slow  # two subprocesses importing torch: ~15 s on a quiet 2-core machine
def test_scene3d_then_reconstruct3d(tmp_path):
    r = run(["scene3d", "stick_figure", "--out", "scene", "--frames", "6", "--size", "32"], tmp_path)
    assert r.returncode == 0, r.stderr
    transforms = json.loads((tmp_path / "scene" / "transforms_train.json").read_text())
    assert len(transforms["frames"]) == 6 and "camera_angle_x" in transforms
    assert (tmp_path / "scene" / "ground_truth.npz").is_file()

    r = run(["reconstruct3d", "scene", "--out", "s3d", "--size", "32", "--strokes", "4", "--points", "64",
             "--iters-stage1", "3", "--iters-stage2", "3", "--frame-loss", "l2_blur", "--device", "cpu"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("sketch3d.safetensors", "turntable.gif", "metrics.json"):
        assert (tmp_path / "s3d" / name).stat().st_size > 0
    metrics = json.loads((tmp_path / "s3d" / "metrics.json").read_text())
    assert metrics["strokes"] == 4 and "strokes.chamfer" in metrics  # ground truth found next to the frames


def test_reconstruct3d_on_a_missing_folder_says_so(tmp_path):
    r = run(["reconstruct3d", "missing_folder", "--out", "o"], tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "missing_folder" in r.stderr


def test_reconstruct3d_refuses_a_canonical_time_outside_the_clip(tmp_path):
    r = run(["reconstruct3d", "missing_folder", "--out", "o", "--canonical-time", "1.5"], tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--canonical-time" in r.stderr
