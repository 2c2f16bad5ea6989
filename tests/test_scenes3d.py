"""Synthetic dynamic 3D scenes, 3D-stroke projection and the D-NeRF folder round trip."""

import json
import math
import os

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core.camera import Cameras, look_at, orbit
from sketchmotion.core.errors import SketchError
from sketchmotion.core.posed_video import from_frames, load_dnerf
from sketchmotion.core.scenes3d import (SCENES, bezier_points, get_scene, load_ground_truth, project_sketch,
                                        render_dnerf_folder, split_cubic)


@pytest.mark.parametrize("name", sorted(SCENES))
def test_scene_motion_is_known_and_rigid_per_part(name):
    sc = get_scene(name)
    cp = sc.control_points(torch.linspace(0, 1, 5))
    assert cp.shape == (5, sc.sketch.num_points, 3)
    assert torch.allclose(cp[0], sc.sketch.points, atol=1e-6)  # t = 0 is the canonical sketch
    assert float(cp.abs().max()) < 1.3 * sc.radius
    assert float((cp[1:] - cp[:1]).norm(dim=-1).max()) > 0.1  # something moves
    for p in range(sc.sketch.num_paths):  # every path moves rigidly: its internal distances stay
        q = cp[:, sc.sketch.path_offsets[p] : sc.sketch.path_offsets[p + 1]]
        d = torch.cdist(q, q)
        assert torch.allclose(d, d[:1].expand_as(d), atol=1e-5)
    s = sc.sample_points(torch.linspace(0, 1, 3), num_samples=500)
    assert abs(s.shape[1] - 500) < 40 and s.shape[0] == 3


def test_split_cubic_traces_the_same_curve():
    P = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [3.0, -1.0, 1.0], [4.0, 0.5, 0.0]]])
    sub = split_cubic(P, 3)
    assert sub.shape == (3, 4, 3)
    seg = torch.tensor([[0, 1, 2, 3]])
    for k in range(3):  # the piece k at parameter s equals the original at (k + s) / 3
        s = torch.tensor([0.0, 0.3, 1.0])
        orig = bezier_points(P[0], seg, (k + s) / 3, torch.zeros(3, dtype=torch.long))
        piece = bezier_points(sub[k], seg, s, torch.zeros(3, dtype=torch.long))
        assert torch.allclose(orig, piece, atol=1e-5)


def test_projected_strokes_match_projected_curve_samples():
    sc = get_scene("flapping_wings")
    seg_of, params = sc.sample_params(300)
    pts = sc.sketch.points
    exact_world = bezier_points(pts, sc.sketch.segment_index, params, seg_of)
    ortho = Cameras.orthographic(look_at([1.0, -3.0, 1.5]), 128, half_width=1.2)
    sk2, pix = project_sketch(sc.sketch, pts, ortho)  # affine camera: control-point projection is exact
    drawn = bezier_points(pix[0], sk2.segment_index, params, seg_of)
    assert torch.allclose(drawn, ortho.project(exact_world)[0][0], atol=1e-3)
    persp = Cameras.perspective(look_at([1.0, -2.0, 1.0]), 128, fov_x_deg=60.0)
    errs = []
    for k in (1, 4):
        sk2, pix = project_sketch(sc.sketch, pts, persp, subdivide=k)
        sub_seg = seg_of * k + (params * k).floor().long().clamp(max=k - 1)
        sub_par = params * k - (params * k).floor().clamp(max=k - 1)
        drawn = bezier_points(pix[0], sk2.segment_index, sub_par, sub_seg)
        errs.append(float((drawn - persp.project(exact_world)[0][0]).norm(dim=-1).max()))
    assert errs[1] < errs[0] / 4  # perspective error shrinks ~quadratically with subdivision


def test_dnerf_round_trip(tmp_path):
    folder = str(tmp_path / "wings")
    out = render_dnerf_folder("flapping_wings", folder, num_frames=4, size=48, num_eval_frames=2)
    for split in ("train", "val", "test"):
        meta = json.load(open(os.path.join(folder, f"transforms_{split}.json")))
        assert 0.0 < meta["camera_angle_x"] < math.pi
        for fr in meta["frames"]:
            assert os.path.isfile(os.path.join(folder, fr["file_path"] + ".png"))
    # PNGs read back by Pillow: RGBA, dark strokes on transparent
    im = np.asarray(Image.open(os.path.join(folder, "train", "r_000.png")))
    assert im.shape == (48, 48, 4) and im[..., 3].max() > 200 and (im[..., 3] == 0).mean() > 0.7
    assert im[..., :3][im[..., 3] > 128].max() < 60
    v = load_dnerf(folder)
    assert v.frames.shape == (4, 48, 48, 3) and torch.allclose(v.times, torch.linspace(0, 1, 4))
    assert torch.allclose(v.cameras.c2w, out["train"]["cameras"].c2w, atol=1e-6)
    assert torch.allclose(v.cameras.fx, out["train"]["cameras"].fx, atol=1e-3)
    assert float(v.frames.min()) < 0.3 and float(v.frames.max()) == 1.0  # composited on white
    # ground-truth samples project onto drawn (opaque) pixels in the loaded frames
    gt = load_ground_truth(folder)
    pix, _ = v.cameras.project(gt["samples"])
    u = pix[..., 0].long().clamp(0, 47)
    w = pix[..., 1].long().clamp(0, 47)
    alpha = v.masks[torch.arange(4)[:, None], w, u]
    assert float((alpha > 0.3).float().mean()) > 0.9
    assert gt["scene"]["scene"] == "flapping_wings" and gt["control_points"].shape[0] == 4
    small = load_dnerf(folder, size=24, max_frames=2)
    assert small.frames.shape == (2, 24, 24, 3) and abs(float(small.cameras.fx[0]) - float(v.cameras.fx[0]) / 2) < 1e-4


def test_fixed_camera_folder(tmp_path):
    folder = str(tmp_path / "fixed")
    render_dnerf_folder("curve_set", folder, num_frames=3, size=32, camera_mode="fixed", num_eval_frames=2)
    v = load_dnerf(folder, "test")
    assert torch.equal(v.cameras.c2w[0], v.cameras.c2w[1])
    with pytest.raises(SketchError, match="camera_mode"):
        render_dnerf_folder("curve_set", folder, num_frames=3, size=32, camera_mode="wobbly")
    with pytest.raises(SketchError, match="Unknown synthetic scene"):
        get_scene("dragon")


def _write_min_folder(folder, matrix=None, n_images=2, times=True):
    os.makedirs(os.path.join(folder, "train"), exist_ok=True)
    frames = []
    for i in range(2):
        if i < n_images:
            Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(os.path.join(folder, "train", f"r_{i}.png"))
        fr = {"file_path": f"./train/r_{i}", "transform_matrix": matrix or look_at([0, -4.0, 0]).tolist()}
        if times:
            fr["time"] = float(i)
        frames.append(fr)
    json.dump({"camera_angle_x": 0.7, "frames": frames}, open(os.path.join(folder, "transforms_train.json"), "w"))


def test_bad_dnerf_inputs(tmp_path):
    with pytest.raises(SketchError, match="does not exist"):
        load_dnerf(str(tmp_path / "nowhere"))
    with pytest.raises(SketchError, match="transforms_train.json"):
        load_dnerf(str(tmp_path))
    _write_min_folder(str(tmp_path / "a"), n_images=1)
    with pytest.raises(SketchError, match="missing"):
        load_dnerf(str(tmp_path / "a"))
    nan = look_at([0, -4.0, 0]).tolist()
    nan[0][3] = float("nan")
    _write_min_folder(str(tmp_path / "b"), matrix=nan)
    with pytest.raises(SketchError, match="NaN"):
        load_dnerf(str(tmp_path / "b"))
    _write_min_folder(str(tmp_path / "c"))
    assert load_dnerf(str(tmp_path / "c")).frames.shape == (2, 8, 8, 3)


def test_from_frames_cameras_and_errors():
    frames = torch.ones(5, 16, 20, 3)
    v = from_frames(frames, "fixed", fov=50.0)
    assert len(v.cameras) == 5 and v.cameras.size == (20, 16) and torch.equal(v.cameras.c2w[0], v.cameras.c2w[4])
    assert torch.allclose(v.times, torch.linspace(0, 1, 5))
    o = from_frames(torch.ones(4, 16, 16, 4), "orbit", orbit_degrees=90.0)
    assert o.masks.shape == (4, 16, 16) and not torch.equal(o.cameras.c2w[0], o.cameras.c2w[3])
    with pytest.raises(SketchError, match="masks"):
        from_frames(frames, masks=torch.ones(4, 16, 20))
    with pytest.raises(SketchError, match="cameras"):
        from_frames(frames, orbit(3, size=(20, 16)))
    with pytest.raises(SketchError, match="times"):
        from_frames(frames, times=[0.0, 0.5, 2.0, 0.1, 0.2])
    with pytest.raises(SketchError, match="0..1"):
        from_frames(frames * 3)
    with pytest.raises(SketchError, match="fixed"):
        from_frames(frames, camera="dolly")


def test_foreground_from_alpha_or_background_difference(tmp_path):
    from sketchmotion.core.posed_video import foreground

    folder = str(tmp_path / "walker")
    render_dnerf_folder("walker", folder, num_frames=3, size=48, num_eval_frames=2)
    v = load_dnerf(folder)
    ink = v.frames.mean(-1) < 0.5
    assert float(v.masks[ink].mean()) > 0.6 and float(v.masks[~ink].mean()) < 0.05  # alpha
    # the same frames saved opaque (no transparency): the mask comes from the difference to white
    opaque = str(tmp_path / "opaque")
    render_dnerf_folder("walker", opaque, num_frames=3, size=48, num_eval_frames=2)
    for name in os.listdir(os.path.join(opaque, "train")):
        path = os.path.join(opaque, "train", name)
        im = Image.open(path).convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im)
        bg.save(path)
    o = load_dnerf(opaque)
    assert float((o.masks > 0.5).float().mean()) < 0.2  # not "everything is object"
    assert float(((o.masks > 0.5) == (v.masks > 0.5)).float().mean()) > 0.97
    # light strokes on a dark background: masked by difference, redrawn dark on white
    dark = 1.0 - v.frames
    m, fr = foreground(dark)
    assert float(((m > 0.5) == (v.masks > 0.5)).float().mean()) > 0.97
    assert float(fr[~ink].mean()) > 0.95 and float(fr[ink].mean()) < 0.5
    # from_frames (ComfyUI IMAGE): opaque RGB gets the same masks
    f = from_frames(v.frames)
    assert float(((f.masks > 0.5) == (v.masks > 0.5)).float().mean()) > 0.97


def test_scenes_are_written_y_up_like_dnerf(tmp_path):
    from sketchmotion.core.camera import up_from_cameras

    for mode in ("moving", "fixed"):
        folder = str(tmp_path / mode)
        render_dnerf_folder("walker", folder, num_frames=4, size=32, camera_mode=mode, num_eval_frames=2)
        gt = load_ground_truth(folder)
        assert gt["scene"]["up"] == "+y"
        assert torch.equal(up_from_cameras(load_dnerf(folder).cameras), torch.tensor([0.0, 1.0, 0.0]))
        pts = gt["samples"][0]
        assert float(pts[:, 1].max() - pts[:, 1].min()) > 1.5  # the figure stands along y
        assert torch.allclose(get_scene("walker", up="+y").sample_points(gt["times"], 2000), gt["samples"], atol=1e-5)


def test_with_depth_attaches_resized_maps_and_refuses_wrong_counts():
    from sketchmotion.core.posed_video import with_depth

    v = from_frames(torch.ones(3, 16, 24, 3))
    d = with_depth(v, torch.rand(3, 8, 12, 3))  # an IMAGE batch at half size: first channel, resized
    assert d.depth.shape == (3, 16, 24) and d.depth_mode == "relative"
    one = with_depth(v, torch.rand(16, 24), "metric")  # one map for every frame
    assert one.depth.shape == (3, 16, 24) and torch.equal(one.depth[0], one.depth[2])
    with pytest.raises(SketchError, match="one per frame"):
        with_depth(v, torch.rand(2, 16, 24))


def test_scene_names_for_node_schemas_match_the_builders():
    from sketchmotion.core.options import SCENE_NAMES
    from sketchmotion.core.scenes3d import SCENES

    assert tuple(SCENES) == SCENE_NAMES


HELD_OUT = ("pendulum", "hopper", "door")  # scenes unlike the bench's, not in BENCH_SCENES


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_scenes_respect_up_and_move_plausibly(name):
    from sketchmotion.core.camera import up_rotation
    from sketchmotion.core.scenes3d import BENCH_SCENES

    assert name in SCENES and name not in BENCH_SCENES
    times = torch.linspace(0, 1, 24)
    z_up = get_scene(name).control_points(times)
    for up in ("+y", "-x"):  # the same scene turned so that `up` is the world's up axis
        R = up_rotation(up)
        world = get_scene(name, up=up).control_points(times)
        assert torch.allclose(world, z_up @ R.T, atol=1e-5)
        assert torch.allclose(world @ R[:, 2], z_up[..., 2], atol=1e-5)  # height is measured along `up`
    extent = z_up.amax((0, 1)) - z_up.amin((0, 1))
    assert 0.6 < float(extent.norm()) < 3.0 and float(z_up.abs().max()) < 1.3  # fits the unit ball's cameras
    speed = (z_up[1:] - z_up[:-1]).norm(dim=-1)  # [T-1, N] per control point per frame
    moving = speed.max(0).values > 1e-4
    assert 0.2 < float(moving.float().mean()) <= 1.0  # a real part moves ...
    assert float(speed[:, moving].mean()) > 0.02  # ... at least ~2 px a frame at 96 px
    if name == "pendulum":  # the bob swings mostly in depth (y for a camera in front)
        travel = z_up[:, moving].amax(0) - z_up[:, moving].amin(0)
        assert float(travel[:, 1].max()) > 2 * float(travel[:, 0].max())
    if name == "hopper":  # it travels across the floor, leaves it and lands back
        centre = z_up.mean(1)
        assert float((centre[-1, :2] - centre[0, :2]).norm()) > 0.8
        assert float(centre[:, 2].max() - centre[0, 2]) > 0.25 and abs(float(centre[-1, 2] - centre[0, 2])) < 1e-4
    if name == "door":  # the frame stays; the door's free edge opens monotonically towards -y
        assert float(moving.float().mean()) < 0.9
        y = z_up[:, moving, 1].min(1).values
        assert bool((y[1:] <= y[:-1] + 1e-6).all()) and float(y[-1]) < -0.5
