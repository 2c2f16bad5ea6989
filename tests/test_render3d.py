"""Any-view rendering of 3D sketch animations (core/render3d.py) and the render3d command.

Known answers: a straight stroke seen head-on lands on the pixels the pinhole formula
gives; of two overlapping strokes the nearer one covers the overlap from either side;
a fractional time renders exactly the blended control points; a fitted camera path keeps
every frame's control points inside the image; the animation's own cameras are used.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core import camera
from sketchmotion.core.cli import main
from sketchmotion.core.errors import SketchError
from sketchmotion.core.render3d import (
    camera_path,
    fit_view,
    frames_at,
    paint_order,
    render_3d,
    resolve_cameras,
    save_images,
)
from sketchmotion.core.animation_io import save_animation
from sketchmotion.core.scenes3d import get_scene, line3, render_scene
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths

RED, BLUE = (1.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.0)


@pytest.fixture(scope="module")
def wings():
    return get_scene("flapping_wings").animation(5)


def still(paths, colors=None, width=4.0) -> SketchAnimation:
    sk = sketch_from_paths(paths, stroke_width=width, stroke_color=colors if colors is not None else (0, 0, 0, 1))
    return SketchAnimation(sk, sk.points[None])


def test_frames_at_blends_neighbouring_frames(wings):
    fr = wings.frames
    out = frames_at(wings, [0.0, 1.0, 0.5, 0.375])
    torch.testing.assert_close(out[0], fr[0])
    torch.testing.assert_close(out[1], fr[4])
    torch.testing.assert_close(out[2], fr[2])
    torch.testing.assert_close(out[3], 0.5 * fr[1] + 0.5 * fr[2])  # t = 0.375 is frame 1.5 of 0..4
    for bad in ([-0.1], [1.2], [float("nan")]):
        with pytest.raises(SketchError, match=r"\[0, 1\]"):
            frames_at(wings, bad)


def test_head_on_stroke_lands_where_the_pinhole_formula_says():
    anim = still([line3((-0.5, 0.0, 0.0), (0.5, 0.0, 0.0))], width=2.0)
    cam = camera.fixed(1, radius=4.0, elevation=0.0, azimuth=0.0, fov=40.0, size=128)  # on -y, looking +y
    img = render_3d(anim, cam)[0]
    ink = (1 - img.mean(-1)).numpy()
    rows, cols = np.nonzero(ink > 0.5)
    f = 64 / math.tan(math.radians(20))
    half = f * 0.5 / 4.0  # 21.97 px either side of the centre
    assert cols.min() == pytest.approx(64 - half, abs=1.5) and cols.max() == pytest.approx(64 + half, abs=1.5)
    assert set(rows.tolist()) <= {63, 64}  # a 2 px line centred on v = 64
    # orthographic with the same view width at the target: the same footprint
    ortho = camera.fixed(1, radius=4.0, elevation=0.0, fov=40.0, size=128, projection="orthographic")
    ink_o = (1 - render_3d(anim, ortho)[0].mean(-1)).numpy()
    np.testing.assert_allclose(ink_o, ink, atol=0.05)


def test_nearer_stroke_covers_the_overlap_from_both_sides():
    # red at y = -0.3 (near a camera on the -y side), blue at y = +0.3; red comes first in paint order
    anim = still([line3((-0.5, -0.3, 0.0), (0.5, -0.3, 0.0)), line3((0.0, 0.3, -0.5), (0.0, 0.3, 0.5))],
                 colors=torch.tensor([RED, BLUE]), width=6.0)
    front = camera.fixed(1, radius=4.0, azimuth=0.0, size=96)
    back = camera.fixed(1, radius=4.0, azimuth=180.0, size=96)
    c = 48
    assert render_3d(anim, front)[0, c, c].tolist() == pytest.approx([1.0, 0.0, 0.0], abs=0.02)
    assert render_3d(anim, back)[0, c, c].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=0.02)
    assert paint_order(anim.sketch, anim.frames, front) == [(1, 0)]  # far (blue) first
    assert paint_order(anim.sketch, anim.frames, back) == [(0, 1)]


def test_fractional_time_renders_the_blended_frame(wings):
    cam = camera.fixed(1, radius=4.0, elevation=30.0, azimuth=20.0, size=80)
    img = render_3d(wings, cam, times=[0.375])
    mid = SketchAnimation(wings.sketch, (0.5 * (wings.frames[1] + wings.frames[2]))[None])
    torch.testing.assert_close(img, render_3d(mid, cam), atol=1e-5, rtol=0)
    assert (img - render_3d(wings, cam, times=[0.25])).abs().mean() > 0.002  # and it is not just frame 1


def test_matches_the_scene_renderer_along_a_turntable(wings):
    scene = get_scene("flapping_wings")
    cams = camera.turntable(5, size=64)
    ours = render_3d(wings, cams)  # 5 cameras, 5 frames: camera i sees frame i
    ref = render_scene(scene, scene.times(5), cams, stroke_width=2.0)
    ref = ref[..., :3] + (1 - ref[..., 3:])  # premultiplied over white
    assert (ours - ref).abs().mean() < 1e-3


def test_strokes_behind_the_camera_are_left_out():
    anim = still([line3((-0.5, 0.0, 0.0), (0.5, 0.0, 0.0)), line3((-0.5, -6.0, 0.0), (0.5, -6.0, 0.0))])
    cam = camera.fixed(1, radius=4.0, size=64)  # at y = -4: the second stroke is 2 units behind it
    assert paint_order(anim.sketch, anim.frames, cam) == [(0,)]
    only_first = still([line3((-0.5, 0.0, 0.0), (0.5, 0.0, 0.0))])
    torch.testing.assert_close(render_3d(anim, cam), render_3d(only_first, cam))
    nothing = still([line3((-0.5, -6.0, 0.0), (0.5, -6.0, 0.0))])
    assert bool((render_3d(nothing, cam) == 1).all())


@pytest.mark.parametrize("name", ["stick_figure", "curve_set", "flapping_wings"])
def test_fitted_camera_paths_keep_every_frame_in_view(name):
    anim = get_scene(name).animation(6)
    for mode, size in (("turntable", 64), ("orbit", (96, 48)), ("fixed", (48, 96))):
        cams = camera_path(mode, 6, size=size, elevation=35.0, anim=anim)
        pix, depth = cams.project(anim.frames.reshape(-1, 3))
        W, H = cams.size
        assert bool((depth > 0).all())
        assert float(pix[..., 0].min()) > 0 and float(pix[..., 0].max()) < W
        assert float(pix[..., 1].min()) > 0 and float(pix[..., 1].max()) < H
    target, dist = fit_view(anim)
    assert dist > 1.0 and bool(torch.isfinite(target).all())


def test_size_time_and_camera_broadcasting(wings):
    cams = camera.turntable(3, size=(80, 40))
    assert render_3d(wings, cams, size=40).shape == (3, 20, 40, 3)  # longer side, aspect kept
    assert render_3d(wings, cams[0], times=[0.0, 0.5, 1.0]).shape == (3, 40, 80, 3)
    frozen = render_3d(wings, camera.fixed(1, size=32).repeat(3), times=[0.5])
    assert frozen.shape == (3, 32, 32, 3) and bool((frozen[0] == frozen[2]).all())
    rgba = render_3d(wings, cams, background=None)
    assert rgba.shape == (3, 40, 80, 4) and float(rgba[..., 3].max()) > 0.9 and float(rgba[..., 3].min()) == 0.0
    with pytest.raises(SketchError, match="do not match"):
        render_3d(wings, cams, times=[0.0, 1.0])


def test_the_animation_cameras_and_clear_errors(wings):
    own = camera.fixed(5, radius=3.0, elevation=50.0, azimuth=70.0, size=48)
    withcams = replace(wings, cameras=own)
    torch.testing.assert_close(render_3d(withcams), render_3d(wings, own))
    assert len(resolve_cameras(withcams, use_animation_cameras=True)) == 5
    assert len(resolve_cameras(wings, own[0], num_frames=4)) == 4
    assert len(resolve_cameras(wings)) == wings.num_frames  # a fitted turntable
    with pytest.raises(SketchError, match="carries no cameras"):
        resolve_cameras(wings, use_animation_cameras=True)
    with pytest.raises(SketchError, match="5 cameras but 3 frames"):
        resolve_cameras(wings, own, num_frames=3)
    flat = SketchAnimation(sketch_from_paths([torch.tensor([[0.0, 0], [1, 1], [2, 2], [3, 3]])]),
                           torch.zeros(2, 4, 2))
    with pytest.raises(SketchError, match="2D animation"):
        render_3d(flat)
    with pytest.raises(SketchError, match="Unknown camera mode"):
        camera_path("spiral", 3, anim=wings)


def test_save_images_formats(tmp_path):
    frames = np.zeros((3, 8, 10, 3), np.uint8)
    frames[1] += 100
    gif = save_images(frames, str(tmp_path / "a.gif"), fps=10)[0]
    with Image.open(gif) as im:
        assert im.n_frames == 3 and im.size == (10, 8) and im.info["duration"] == 100
    pngs = save_images(frames, str(tmp_path / "b.png"), fps=10)
    assert [p.rsplit("/", 1)[1] for p in pngs] == ["b_000.png", "b_001.png", "b_002.png"]
    assert np.asarray(Image.open(pngs[1]))[0, 0].tolist() == [100, 100, 100]
    with pytest.raises(SketchError, match=".gif"):
        save_images(frames, str(tmp_path / "c.mp4"), fps=10)


# ------------------------------------------------------------------ CLI
def test_cli_render3d_turntable_input_and_errors(wings, tmp_path, capsys):
    path = tmp_path / "wings.safetensors"
    save_animation(wings, path)
    out = tmp_path / "out" / "turn.gif"
    assert main(["render3d", str(path), "--out", str(out), "--size", "48", "--frames", "4"]) == 0
    with Image.open(out) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB"), dtype=np.float32) / 255)
    assert len(frames) == 4 and frames[0].shape == (48, 48, 3)
    ref = render_3d(wings, camera_path("turntable", 4, size=48, anim=wings)).numpy()
    assert max(np.abs(f - r).mean() for f, r in zip(frames, ref)) < 0.01  # GIF palette of black strokes on white
    assert "4 frames 48x48, camera turntable, 6.4 fps" in capsys.readouterr().out  # 8 fps * 4 / 5: same duration
    # a still pose from a fixed camera: every frame the same
    assert main(["render3d", str(path), "--out", str(tmp_path / "f.png"), "--camera", "fixed", "--frames", "2",
                 "--size", "32", "--time", "0.5"]) == 0
    a, b = (np.asarray(Image.open(tmp_path / f"f_00{i}.png")) for i in range(2))
    assert (a == b).all() and (a < 128).any()
    # the animation's own cameras
    own = tmp_path / "own.safetensors"
    save_animation(replace(wings, cameras=camera.fixed(5, elevation=40, size=(40, 30))), own)
    assert main(["render3d", str(own), "--out", str(tmp_path / "own.webp"), "--camera", "input", "--size", "40"]) == 0
    with Image.open(tmp_path / "own.webp") as im:
        assert im.n_frames == 5 and im.size == (40, 30)
    capsys.readouterr()
    assert main(["render3d", str(path), "--out", str(tmp_path / "x.webp"), "--camera", "input"]) == 2
    assert "carries no cameras" in capsys.readouterr().err
    assert main(["render3d", str(path), "--out", str(tmp_path / "x.mp4")]) == 2
    assert ".gif, .webp, .png" in capsys.readouterr().err


def test_turntable_circles_the_up_axis_of_the_input_cameras(tmp_path):
    from sketchmotion.core.camera import up_from_cameras
    from sketchmotion.core.export.html_viewer import html_viewer, viewer_cameras
    from sketchmotion.core.posed_video import load_dnerf
    from sketchmotion.core.render3d import animation_up, camera_path
    from sketchmotion.core.scenes3d import render_dnerf_folder

    folder = str(tmp_path / "w")
    render_dnerf_folder("walker", folder, num_frames=4, size=32, num_eval_frames=2)
    v = load_dnerf(folder)
    anim = replace(get_scene("walker", up="+y").animation(4), cameras=v.cameras)
    assert torch.equal(animation_up(anim), torch.tensor([0.0, 1.0, 0.0]))
    for mode in ("turntable", "orbit", "fixed"):
        cams = camera_path(mode, 8, size=32, anim=anim)
        assert torch.equal(up_from_cameras(cams), torch.tensor([0.0, 1.0, 0.0]))
    tall = render_3d(anim, "turntable", size=48)  # the figure stands: taller than wide in every view
    for img in tall:
        ys, xs = torch.nonzero(img.mean(-1) < 0.5, as_tuple=True)
        assert float(ys.max() - ys.min()) > 1.3 * float(xs.max() - xs.min())
    side = render_3d(anim, camera_path("fixed", 1, size=48, anim=anim, up="+z", azimuth=90.0, elevation=0.0))
    ys, xs = torch.nonzero(side[0].mean(-1) < 0.5, as_tuple=True)  # an explicit up wins: the figure lies down
    assert float(xs.max() - xs.min()) > float(ys.max() - ys.min())
    assert '"up":[0.0,1.0,0.0]' in html_viewer(anim, size=32)
    assert torch.equal(up_from_cameras(viewer_cameras(anim, size=32)), torch.tensor([0.0, 1.0, 0.0]))
