"""The animation file format (core/animation_io.py) and procedural motion (core/procedural.py)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch

from sketchmotion.core.animation_io import (
    FORMAT_VERSION,
    as_animation,
    load_animation,
    load_motion,
    save_animation,
)
from sketchmotion.core.errors import SketchError
from sketchmotion.core.procedural import procedural_motion
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths

ROOT = Path(__file__).resolve().parents[1]
CAT = ROOT / "sketches" / "cat.svg"


def varied_sketch():
    """Open and closed paths, a compound (hole), groups, colours, fills, a non-square canvas."""
    square = torch.tensor([[10.0, 10], [20, 10], [30, 10], [40, 10], [40, 25], [40, 40], [40, 50], [25, 50],
                           [10, 50], [10, 40], [10, 25], [10, 15]])
    hole = square * 0.5 + 12.5
    line = torch.tensor([[50.0, 5], [60, 20], [70, 20], [80.5, 5.25]])
    return sketch_from_paths(
        [square, hole, line], closed=[True, True, False], stroke_width=[1.5, 0.0, 3.25],
        stroke_color=torch.tensor([[0, 0, 0, 1.0], [0, 0, 0, 1], [0.2, 0.4, 0.6, 0.8]]),
        fill_color=torch.tensor([[1, 0.5, 0, 1.0], [1, 0.5, 0, 1], [0, 0, 0, 0]]),
        fill_rule=["evenodd", "evenodd", "nonzero"], group=[1, 1, 0], compound=[0, 0, 1], canvas=(96, 64))


@pytest.fixture
def anim():
    sk = varied_sketch()
    t = torch.arange(5, dtype=torch.float32)[:, None, None]
    frames = sk.points[None] + torch.cat([t * 0.37, torch.sin(t) * 1e-3], dim=2)
    return SketchAnimation(sketch=sk, frames=frames, fps=12.5,
                           settings={"prompt": "a cat", "steps": 3, "seed": 7, "nested": {"lr": (5e-3, 1e-4)}})


def test_round_trip_is_exact(anim, tmp_path):
    path = tmp_path / "a.safetensors"
    assert save_animation(anim, path) == str(path)
    back = load_animation(path)
    a, b = anim.sketch, back.sketch
    for name in ("points", "stroke_width", "stroke_color", "fill_color", "group", "compound"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
    assert (b.num_segments, b.closed, b.fill_rule, b.canvas) == (a.num_segments, a.closed, a.fill_rule, a.canvas)
    assert torch.equal(back.frames, anim.frames) and back.fps == 12.5
    assert back.settings == {"prompt": "a cat", "steps": 3, "seed": 7, "nested": {"lr": [5e-3, 1e-4]}}
    assert load_motion(path) == ({}, None)
    assert not list(tmp_path.glob("*.part"))  # written through a temporary name, then renamed


def test_file_is_plain_safetensors_readable_without_sketchmotion(anim, tmp_path):
    from safetensors import safe_open

    path = tmp_path / "a.safetensors"
    save_animation(anim, path, motion_state={"local.weight": torch.arange(6.0).reshape(2, 3)},
                   motion_config={"hidden": 128, "frames": 5})
    data = path.read_bytes()
    # safetensors layout, no pickle: u64 little-endian header size, then a JSON header
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    assert data[8:9] == b"{" and b"\x80\x04" not in data[:2] and "frames" in header
    assert header["frames"] == {"dtype": "F32", "shape": [5, 28, 2], "data_offsets": header["frames"]["data_offsets"]}

    with safe_open(str(path), "np") as f:
        meta = f.metadata()
        assert meta["format"] == "sketchmotion.animation" and meta["format_version"] == str(FORMAT_VERSION)
        info = json.loads(meta["animation"])
        assert info["num_segments"] == [4, 4, 1] and info["closed"] == [True, True, False]
        assert info["canvas"] == [96, 64] and info["fps"] == 12.5 and info["motion"] == {"hidden": 128, "frames": 5}
        frames = f.get_tensor("frames")
        assert frames.shape == (5, 28, 2) and abs(float(frames[3, 27, 0]) - (80.5 + 3 * 0.37)) < 1e-5
        assert f.get_tensor("sketch.compound").tolist() == [0, 0, 1]
        assert f.get_tensor("motion.local.weight").tolist() == [[0, 1, 2], [3, 4, 5]]
    state, config = load_motion(path)
    assert torch.equal(state["local.weight"], torch.arange(6.0).reshape(2, 3)) and config["hidden"] == 128


def test_corrupt_and_foreign_files_give_clear_errors(anim, tmp_path):
    good = tmp_path / "good.safetensors"
    save_animation(anim, good)
    data = good.read_bytes()

    cases = {
        "empty.safetensors": b"",
        "text.safetensors": b"hello, this is not a tensor file at all",
        "pickle.safetensors": b"\x80\x04\x95" + b"\x00" * 64,  # what torch.save would start with
        "truncated.safetensors": data[: len(data) - 40],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(SketchError, match="not a SketchMotion animation|damaged"):
            load_animation(tmp_path / name)

    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(2)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(SketchError, match="not a SketchMotion animation"):
        load_animation(tmp_path / "model.safetensors")
    with pytest.raises(SketchError, match="does not exist"):
        load_animation(tmp_path / "missing.safetensors")


def _rewrite_metadata(src: Path, dst: Path, **changes):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = {**f.metadata(), **changes}
    save_file(tensors, str(dst), metadata=meta)


def test_newer_version_and_broken_metadata_are_refused(anim, tmp_path):
    good = tmp_path / "good.safetensors"
    save_animation(anim, good)
    _rewrite_metadata(good, tmp_path / "v9.safetensors", format_version=str(FORMAT_VERSION + 8))
    with pytest.raises(SketchError, match="newer.*update SketchMotion"):
        load_animation(tmp_path / "v9.safetensors")
    _rewrite_metadata(good, tmp_path / "nojson.safetensors", animation="{not json")
    with pytest.raises(SketchError, match="metadata"):
        load_animation(tmp_path / "nojson.safetensors")
    info = json.loads(json.dumps({"num_segments": [4, 4], "closed": [True, True], "fill_rule": ["nonzero"] * 2,
                                  "canvas": [96, 64], "fps": 8}))  # one path short of the tensors
    _rewrite_metadata(good, tmp_path / "short.safetensors", animation=json.dumps(info))
    with pytest.raises(SketchError):
        load_animation(tmp_path / "short.safetensors")


def test_unsaveable_settings_are_refused(anim, tmp_path):
    bad = SketchAnimation(sketch=anim.sketch, frames=anim.frames, settings={"latent": torch.zeros(3)})
    with pytest.raises(SketchError, match="settings.latent"):
        save_animation(bad, tmp_path / "x.safetensors")
    with pytest.raises(SketchError, match="finite"):
        save_animation(SketchAnimation(sketch=anim.sketch, frames=anim.frames, settings={"lr": math.nan}),
                       tmp_path / "x.safetensors")
    with pytest.raises(SketchError, match="does not exist"):
        save_animation(anim, tmp_path / "no" / "such" / "x.safetensors")


def test_3d_animation_with_cameras_round_trips(tmp_path):
    from sketchmotion.core.camera import Cameras

    sk = sketch_from_paths([torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]])], canvas=(64, 64))
    frames = sk.points[None] + torch.linspace(0, 1, 3)[:, None, None]
    c2w = torch.eye(4).repeat(3, 1, 1)
    c2w[:, 2, 3] = torch.tensor([4.0, 5.0, 6.0])
    cams = Cameras.perspective(c2w, (64, 48), fov_x_deg=50.0)
    anim = SketchAnimation(sketch=sk, frames=frames, fps=24, cameras=cams)
    save_animation(anim, tmp_path / "d3.safetensors")
    back = load_animation(tmp_path / "d3.safetensors")
    assert back.dim == 3 and torch.equal(back.frames, frames)
    assert torch.equal(back.cameras.c2w, cams.c2w) and torch.equal(back.cameras.fx, cams.fx)
    assert back.cameras.size == (64, 48) and back.cameras.projection == "perspective"


def test_svg_loads_as_one_frame_animation():
    from sketchmotion.core.svg import load

    anim = load_animation(CAT)
    sketch = load(CAT)
    assert anim.num_frames == 1 and anim.fps == 8.0 and torch.equal(anim.frames[0], sketch.points)
    assert as_animation(anim) is anim
    with pytest.raises(SketchError, match="sketch"):
        as_animation("cat.svg")


# ------------------------------------------------------------------ procedural motion
def test_sway_known_answer():
    """Frame T/4 is the sketch rotated by +amplitude degrees about its centre of mass; 3T/4 by -amplitude."""
    sk = sketch_from_paths([torch.tensor([[0.0, 0], [10, 0], [20, 0], [30, 0]])], canvas=(64, 64))
    anim = procedural_motion(sk, num_frames=8, kind="sway", amplitude=90.0)
    centre = torch.tensor([15.0, 0.0])
    # +90 degrees in canvas coordinates (y down) maps (dx, dy) -> (-dy, dx): the line turns vertical
    expected = torch.tensor([[15.0, -15], [15, -5], [15, 5], [15, 15]])
    assert torch.allclose(anim.frames[2], expected, atol=1e-4)
    assert torch.allclose(anim.frames[6], 2 * centre - expected, atol=1e-4)
    assert torch.equal(anim.frames[0], sk.points) and torch.allclose(anim.frames[4], sk.points, atol=1e-4)
    assert anim.fps == 8.0 and anim.settings["kind"] == "sway"


def test_wiggle_is_a_smooth_seeded_loop():
    from sketchmotion.core.svg import load

    cat = load(CAT)
    a = procedural_motion(cat, 24, "wiggle", amplitude=2.0, seed=3)
    assert torch.equal(a.frames, procedural_motion(cat, 24, "wiggle", amplitude=2.0, seed=3).frames)
    assert not torch.equal(a.frames, procedural_motion(cat, 24, "wiggle", amplitude=2.0, seed=4).frames)
    d = (a.frames - cat.points[None]).double()
    assert d.mean(dim=0).abs().max() < 1e-4  # the rest pose is the time average
    assert 0.6 < float(d.pow(2).mean().sqrt()) < 1.4  # RMS per axis ~ amplitude / 2
    double = procedural_motion(cat, 24, "wiggle", amplitude=4.0, seed=3).frames - cat.points[None]
    assert torch.allclose(double, 2 * d.float(), atol=1e-4)  # linear in the amplitude

    # a field over positions: points at the same place move together, close neighbours move alike
    # (independent noise per point would give neighbour differences ~1.4x the displacement itself)
    line = torch.stack([torch.arange(40, 202.5, 2.0), torch.full((82,), 128.0)], dim=1)  # 2 px apart
    field = procedural_motion(sketch_from_paths([line, line[:4]], canvas=(256, 256)), 24, "wiggle", 2.0, seed=3)
    fd = field.frames - field.sketch.points[None]
    assert torch.allclose(fd[:, :4], fd[:, -4:], atol=1e-5)
    step = (fd[:, 1:81] - fd[:, :80]).norm(dim=-1).mean()
    assert float(step) < 0.2 * float(fd[:, :81].norm(dim=-1).mean())


def test_none_and_bad_arguments():
    sk = sketch_from_paths([torch.tensor([[0.0, 0], [1, 0], [2, 0], [3, 0]])])
    still = procedural_motion(sk, 3, "none")
    assert still.num_frames == 3 and torch.equal(still.frames, sk.points[None].expand(3, -1, -1))
    for kwargs, match in (({"kind": "dance"}, "wiggle"), ({"num_frames": 0}, "num_frames"),
                          ({"amplitude": -1.0}, "amplitude"), ({"amplitude": math.inf}, "amplitude")):
        with pytest.raises(SketchError, match=match):
            procedural_motion(sk, **{"num_frames": 4, **kwargs})
