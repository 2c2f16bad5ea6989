"""The command line: real runs in a subprocess, from a folder outside the repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "sketches" / "cat.svg"


def run(args, cwd):
    return subprocess.run([sys.executable, "-m", "sketchmotion", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_render_info_normalize_from_any_folder(tmp_path):
    r = run(["render", str(EXAMPLE), "--out", "out/cat.png", "--size", "300"], tmp_path)
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(tmp_path / "out" / "cat.png"))
    assert img.shape[1] == 300 and (img < 128).any() and (img > 250).mean() > 0.5  # ink on white

    r = run(["info", str(EXAMPLE), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["paths"] > 0 and info["segments"] >= info["paths"]

    r = run(["normalize", str(EXAMPLE), "--out", "n.svg", "--size", "128"], tmp_path)
    assert r.returncode == 0, r.stderr
    r = run(["info", "n.svg", "--json"], tmp_path)
    info = json.loads(r.stdout)
    assert info["canvas"] == [128, 128]
    lo, hi = np.array(info["bounds"])
    assert lo.min() >= 0 and hi.max() <= 128


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.svg").write_text("<svg><path d='M 0 0 L")
    for args in (["render", "missing.svg", "--out", "x.png"], ["info", "bad.svg"]):
        r = run(args, tmp_path)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:")


# ------------------------------------------------------------------ preview-motion + export
def total_ms(im) -> int:
    total = 0
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        im.load()
        total += im.info["duration"]
    return total


def test_preview_motion_then_export_every_kind_of_format(tmp_path):
    from safetensors import safe_open

    from sketchmotion.core.animation_io import load_animation
    from sketchmotion.core.svg import loads

    r = run(["preview-motion", str(EXAMPLE), "--kind", "sway", "--amplitude", "10", "--frames", "6",
             "--out", "anim/cat.safetensors"], tmp_path)
    assert r.returncode == 0, r.stderr
    anim_file = tmp_path / "anim" / "cat.safetensors"
    with safe_open(str(anim_file), "pt") as f:  # a plain safetensors file
        assert f.get_tensor("frames").shape[0] == 6 and json.loads(f.metadata()["animation"])["fps"] == 8.0
    anim = load_animation(anim_file)

    r = run(["export", str(anim_file), "--out", "out/cat.svg"], tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "cat.svg").read_text()
    assert text.count("<animate ") == anim.sketch.num_paths
    assert np.allclose(loads(text).points.numpy(), anim.frames[0].numpy(), atol=0.02)  # static attributes: frame 0

    r = run(["export", str(anim_file), "--out", "cat.gif", "--fps", "16", "--size", "128", "--pingpong"], tmp_path)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "cat.gif") as im:  # 6 frames at 8 fps -> 12 at 16 fps, ping-pong 12 + 10
        assert im.size == (128, 128) and total_ms(im) == 22 * 60 and im.info.get("loop") == 0

    r = run(["export", str(anim_file), "--format", "mp4", "--out", "cat.video", "--no-loop"], tmp_path)
    assert r.returncode == 0, r.stderr
    import av

    with av.open(str(tmp_path / "cat.video")) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        assert s.codec_context.name == "h264" and float(s.average_rate) == 8.0
    assert len(frames) == 6 and frames[0].shape == (256, 256, 3)

    r = run(["export", str(anim_file), "--out", "cat.json", "--fps", "4"], tmp_path)
    assert r.returncode == 0, r.stderr
    lottie = json.loads((tmp_path / "cat.json").read_text())
    assert lottie["fr"] == 4 and lottie["op"] - lottie["ip"] == 3 and lottie["w"] == 256

    r = run(["export", str(EXAMPLE), "--out", "still.webp", "--size", "100x50"], tmp_path)  # a static .svg
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "still.webp") as im:
        assert im.size == (100, 50) and getattr(im, "n_frames", 1) == 1


def test_export_user_errors_are_one_line(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04\x95 a pickle, not an animation")
    cases = {
        ("export", "bad.safetensors", "--out", "x.gif"): "not a SketchMotion animation",
        ("export", str(EXAMPLE), "--out", "x.gif", "--format", "bmp"): "Unknown export format",
        ("export", "missing.safetensors", "--out", "x.gif"): "does not exist",
    }
    for args, message in cases.items():
        r = run(list(args), tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not (tmp_path / "x.gif").exists()
