"""`python -m sketchmotion animate` end to end with a tiny random text-to-video model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest

from sketchmotion.core import svg
from sketchmotion.core.animation_io import load_animation
from sketchmotion.testing.tiny_models import build_tiny_text_to_video

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_text_to_video(tmp_path_factory.mktemp("models") / "tiny-t2v")


def animate(args, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sketchmotion", "animate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_animate_writes_files_other_tools_read_and_resumes(tiny, tmp_path):
    args = [str(ROOT / "sketches" / "cat.svg"), "--prompt", "a cat walking", "--model", str(tiny), "--frames", "4",
            "--steps", "2", "--size", "64", "--out", "out"]
    r = animate(args, tmp_path)
    assert r.returncode == 0, r.stderr
    anim = load_animation(tmp_path / "out" / "animation.safetensors")
    assert anim.num_frames == 4 and anim.settings["steps_done"] == 2
    assert svg.loads((tmp_path / "out" / "animation.svg").read_text()).num_paths == anim.sketch.num_paths
    assert iio.imread(tmp_path / "out" / "animation.gif", index=None).shape[0] == 4
    assert iio.improps(tmp_path / "out" / "animation.mp4", plugin="pyav").shape[0] >= 4
    frames = sorted((tmp_path / "out" / "frames").glob("frame_*.svg"))  # one SVG per frame, as LiveSketch writes
    assert [f.name for f in frames] == [f"frame_{i:04d}.svg" for i in range(4)]
    for i in (0, 3):  # read back by the SVG reader: the frame's control points
        back = svg.loads(frames[i].read_text())
        assert back.num_paths == anim.sketch.num_paths and (back.points - anim.frames[i]).abs().max() < 1e-3
    assert "prior: " in r.stderr and "default preset" in r.stderr
    again = animate(args, tmp_path)  # same run: the finished checkpoint is picked up, nothing retrained
    assert again.returncode == 0 and "resuming from step 2 of 2" in again.stderr
    changed = animate(args[:2] + ["a cat jumping"] + args[3:], tmp_path)
    assert changed.returncode == 0 and "not resuming" in changed.stderr


def test_animate_objects_from_the_command_line(tiny, tmp_path):
    r = animate([str(ROOT / "sketches" / "two_objects.svg"), "--prompt", "a bird passes a tree", "--objects-prompts",
                 "a bird flaps; a tree sways", "--model", str(tiny), "--frames", "4", "--steps", "1", "--size", "64",
                 "--out", "o"], tmp_path)
    assert r.returncode == 0, r.stderr
    anim = load_animation(tmp_path / "o" / "animation.safetensors")
    assert anim.settings["steps_done"] == 3 and sorted(set(anim.sketch.group.tolist())) == [0, 1]


def test_missing_model_is_one_line_exit_2(tmp_path):
    r = animate([str(ROOT / "sketches" / "cat.svg"), "--prompt", "x", "--model", str(tmp_path / "nope"), "--out", "o"],
                tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


def test_a_bad_svg_fails_before_any_model_is_looked_for(tmp_path, monkeypatch, capsys):
    """A missing, malformed or empty SVG is reported (one line, exit 2) before the prior is looked for or
    loaded (a video model takes minutes to load), and nothing is written. In process, ~0 s."""
    import sketchmotion.core.guidance.diffusers_prior as diffusers_prior
    from sketchmotion.core.cli import main

    def no_model(*a, **k):
        raise AssertionError("the prior was looked for before the SVG was read")

    monkeypatch.setattr(diffusers_prior, "find_model", no_model)  # --model auto looks here first
    monkeypatch.setattr(diffusers_prior, "load_diffusers_prior", no_model)
    (tmp_path / "broken.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><path d=')
    (tmp_path / "empty.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    for name, why in (("missing.svg", "SVG file not found"), ("broken.svg", "not well-formed"),
                      ("empty.svg", "no drawable paths")):
        assert main(["animate", str(tmp_path / name), "--prompt", "x", "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and why in err, err
    assert not (tmp_path / "o").exists()


def test_the_svg_error_wins_over_a_bad_model(tmp_path):
    """End to end (one process start, a few s): a missing SVG and a --model path that does not exist."""
    r = animate([str(tmp_path / "missing.svg"), "--prompt", "x", "--model", str(tmp_path / "nope"), "--out", "o"],
                tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: SVG file not found") and "Traceback" not in r.stderr


def test_resample_uses_the_trained_continuous_field(tiny, tmp_path):
    r = animate([str(ROOT / "sketches" / "cat.svg"), "--prompt", "a cat", "--model", str(tiny), "--frames", "4",
                 "--steps", "3", "--size", "64", "--out", "out"], tmp_path)
    assert r.returncode == 0, r.stderr
    src = tmp_path / "out" / "animation.safetensors"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "sketchmotion", "resample", str(src), "--frames", "7", "--out", "r.safetensors"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "trained motion model" in r.stdout, r.stderr
    a, b = load_animation(src), load_animation(tmp_path / "r.safetensors")
    assert b.num_frames == 7 and b.fps == pytest.approx(a.fps * 7 / 4)
    # times 0, 1/3, 2/3, 1 of the original are frames 0, 2, 4, 6 of the re-sampled one: exactly the same field
    assert (b.frames[::2] - a.frames).abs().max() < 1e-4
    linear = a.resample(7)
    assert (b.frames[1::2] - linear.frames[1::2]).abs().max() > 1e-3  # not a linear blend: the field itself


def test_zero_steps_is_a_one_line_user_error(tiny, tmp_path):
    r = animate([str(ROOT / "sketches" / "cat.svg"), "--prompt", "x", "--model", str(tiny), "--steps", "0",
                 "--frames", "4", "--size", "64", "--out", "o"], tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: steps must be >= 1")
    assert "Traceback" not in r.stderr


def test_auto_falls_back_to_the_learned_prior_and_says_so(tmp_path):
    """No large model on the machine (empty HF cache): `--model auto` runs the committed learned prior at its
    own 8 frames x 64 px through the real score-distillation path, and says which prior ran and how to use
    ModelScope / Wan instead; a rotation prompt with few steps gets a note that turns build up more slowly."""
    from sketchmotion.core.errors import SketchError
    from sketchmotion.core.guidance.learned_prior import bundled_motion_prior_path

    try:
        bundled_motion_prior_path("modelscope")
    except SketchError:
        pytest.skip("the learned prior is not committed yet")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    r = subprocess.run([sys.executable, "-m", "sketchmotion", "animate", str(ROOT / "sketches" / "cat.svg"), "--prompt",
                        "rotating clockwise", "--steps", "2", "--out", "o"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "no large text-to-video model on this machine" in r.stderr and "learned motion prior" in r.stderr
    assert "follows only 'moving left'" in r.stderr and "'rotating clockwise'," in r.stderr
    assert "a turn ('rotating clockwise') builds up more slowly" in r.stderr and "use 500 or more" in r.stderr
    assert "ModelScope" in r.stderr and "Wan 2.1" in r.stderr
    anim = load_animation(tmp_path / "o" / "animation.safetensors")
    assert anim.num_frames == 8 and anim.sketch.canvas == (64, 64) and anim.settings["steps_done"] == 2


def test_frames_and_size_left_out_are_the_models_own():
    """--frames / --size not given: None in the config (the loaded prior's hints fill them); --size takes
    one number or width height."""
    from sketchmotion.core.cli import build_parser
    from sketchmotion.core.cli.animate import build_config
    from sketchmotion.core.errors import SketchError

    def cfg(*extra):
        return build_config(build_parser().parse_args(["animate", "s.svg", "--prompt", "p", "--out", "o", *extra]))

    assert (cfg().num_frames, cfg().render_size) == (None, None)
    assert (cfg("--frames", "8", "--size", "64").num_frames, cfg("--size", "64").render_size) == (8, 64)
    assert cfg("--size", "576", "320").render_size == (576, 320)
    assert cfg("--size", "64", "64").render_size == 64
    with pytest.raises(SketchError, match="--size"):
        cfg("--size", "1", "2", "3")
