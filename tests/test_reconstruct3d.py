"""Liv3Stroke stage 1 (motion guidance): point splatting, deformation field, losses, the loop."""

import os

from dataclasses import replace

import pytest
import torch

from sketchmotion.core.camera import Cameras, look_at
from sketchmotion.core.errors import SketchError
from sketchmotion.core.metrics import motion_metrics
from sketchmotion.core.motion.point_field import DeformationField, frequency_window, positional_encoding
from sketchmotion.core.pipelines.reconstruct3d import (MotionGuidanceConfig, load_lpips, make_frame_loss,
                                                       motion_guidance, scene_bounds)
from sketchmotion.core.posed_video import load_dnerf
from sketchmotion.core.raster.points import render_points, splat
from sketchmotion.core.scenes3d import get_scene, load_ground_truth, render_depth, render_dnerf_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SMALL = dict(num_points=1000, frames_per_step=4, frame_loss="l2_blur", pos_freqs=4, time_freqs=3, mlp_depth=4,
             mlp_width=64, mlp_skip=2, lr_field=4e-3, lr_points=1e-2, device="cpu")


def test_splat_known_answers():
    img = splat(torch.tensor([[[10.5, 6.5]]]), (20, 12), sigma=1.0, opacity=0.8)
    assert img.shape == (1, 12, 20)
    assert abs(float(img[0, 6, 10]) - 0.2) < 1e-6  # the point's own pixel: 1 - opacity
    assert torch.allclose(img[0, 6, 11], img[0, 6, 9]) and torch.allclose(img[0, 5, 10], img[0, 7, 10])
    assert float(img[0, 6, 11]) == pytest.approx(1 - 0.8 * torch.exp(torch.tensor(-0.5)).item(), abs=1e-6)
    assert float(img[0, :, :5].min()) == 1.0  # outside the window: untouched background
    two = splat(torch.tensor([[[10.5, 6.5], [10.5, 6.5]]]), (20, 12), sigma=1.0, opacity=0.5)
    assert float(two[0, 6, 10]) == pytest.approx(0.25, abs=1e-6)  # transmittance multiplies
    hidden = splat(torch.tensor([[[10.5, 6.5]]]), (20, 12), valid=torch.tensor([[False]]))
    assert float(hidden.min()) == 1.0


def test_splat_gradient_pulls_point_to_ink():
    target = torch.ones(1, 16, 16)
    target[0, 8, 8] = 0.0
    p = torch.tensor([[[6.0, 8.5]]], requires_grad=True)
    ((splat(p, 16, sigma=1.0, opacity=0.9) - target) ** 2).sum().backward()
    assert float(p.grad[0, 0, 0]) < 0  # descending moves it right, towards x = 8.5
    assert abs(float(p.grad[0, 0, 1])) < 1e-6


def test_render_points_through_a_camera():
    cam = Cameras.perspective(look_at([0.0, -4.0, 0.0]), 32, fov_x_deg=40.0)
    img = render_points(torch.tensor([[0.0, 0.0, 0.0], [0.0, -5.0, 0.0]]), cam, sigma=0.5, opacity=0.9)
    assert img.shape == (1, 32, 32)
    # the origin lands on the image centre (16, 16), a corner shared by four pixels whose centres are
    # sqrt(0.5) px away: each gets 1 - 0.9 exp(-0.5 * 0.5 / 0.25); the point behind the camera draws nothing
    expect = 1 - 0.9 * torch.exp(torch.tensor(-1.0))
    assert torch.allclose(img[0, 15:17, 15:17], expect.expand(2, 2), atol=1e-5)
    assert float((img < 0.99).float().sum()) < 20


def test_deformation_field_identity_and_anchor():
    torch.manual_seed(0)
    f = DeformationField(center=(1.0, 0.0, 0.0), scale=2.0, pos_freqs=10, time_freqs=6)
    x = torch.randn(30, 3)
    t = torch.tensor([0.0, 0.3, 1.0])
    assert torch.equal(f(x, t), torch.zeros(3, 30, 3))  # zero-init output: identity at every t
    assert positional_encoding(torch.zeros(5, 3), 10).shape == (5, 63)
    with torch.no_grad():
        for p in f.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    with torch.no_grad():
        d = f(x, t)
    assert float(d[0].abs().max()) == 0.0 and float(d[1:].abs().max()) > 1e-3  # anchored at t = 0
    assert f.deform(x, t).shape == (3, 30, 3)


def test_frame_losses_are_zero_on_identical_images():
    a = torch.rand(2, 32, 32)
    for kind in ("l2", "l1", "l2_blur"):
        fn = make_frame_loss(kind, "cpu")
        assert fn(a, a).shape == (2,) and float(fn(a, a).max()) == 0.0 and float(fn(a, 1 - a).min()) > 0
    with pytest.raises(SketchError, match="Unknown frame loss"):
        make_frame_loss("ssim", "cpu")


def test_each_frame_loss_name_is_what_it_says():
    """One meaning per name, in both stages (issue 14 item 1): l1 != l2, l2_blur is the L2 of blurred images."""
    from sketchmotion.core.filters import gaussian_blur

    torch.manual_seed(0)
    r, g = torch.rand(3, 24, 24), torch.rand(3, 24, 24)
    l1, l2, lb = (make_frame_loss(k, "cpu", blur=1.5) for k in ("l1", "l2", "l2_blur"))
    assert torch.allclose(l1(r, g), (r - g).abs().mean((1, 2)))
    assert torch.allclose(l2(r, g), ((r - g) ** 2).mean((1, 2)))
    assert not torch.allclose(l1(r, g), l2(r, g), rtol=0.05)
    blur = lambda x: gaussian_blur(x[:, None], 1.5)[:, 0]  # noqa: E731
    assert torch.allclose(lb(r, g), ((blur(r) - blur(g)) ** 2).mean((1, 2)), atol=1e-7)
    assert float(lb(r, g).mean()) < 0.5 * float(l2(r, g).mean())  # blurring noise removes most of its L2
    assert torch.allclose(lb(r, g, blur=0.0), l2(r, g))  # blur 0 is plain L2
    rel = l1.relative(r, g)  # divided by the loss of a white render
    assert torch.allclose(rel, l1(r, g) / l1(torch.ones_like(g), g)) and float(l1.relative(g, g).max()) == 0.0
    # the stages take the same names through one sub-config; a wrong name fails before any work
    from sketchmotion.core.pipelines.reconstruct3d import FrameLossConfig, Reconstruct3DConfig, StrokeConfig, reconstruct3d

    assert MotionGuidanceConfig(frame_loss="l1").frame_loss == FrameLossConfig(name="l1")
    assert StrokeConfig(frame_loss=FrameLossConfig("l2_blur", blur=2.0)).validate().frame_loss.blur == 2.0
    bad = Reconstruct3DConfig(MotionGuidanceConfig(frame_loss="l1"), StrokeConfig(frame_loss="mse"))
    with pytest.raises(SketchError, match="Unknown frame loss 'mse'"):
        reconstruct3d(None, bad)  # validated up front: not even the video is looked at
    with pytest.raises(SketchError, match="clip_weight"):
        reconstruct3d(None, Reconstruct3DConfig(strokes=StrokeConfig(clip_weight=-1.0)))
    with pytest.raises(SketchError, match="xi_k"):
        StrokeConfig(xi_k=0.0).validate()
    with pytest.raises(SketchError, match="static_warmup"):
        MotionGuidanceConfig(static_warmup=1.5).validate()


def test_frequency_window_fades_bands_in():
    assert frequency_window(4, None) is None and frequency_window(4, 4.0) is None
    w = frequency_window(4, 1.5)
    assert torch.allclose(w, torch.tensor([1.0, 0.5, 0.0, 0.0]), atol=1e-6)
    x = torch.rand(5, 3)
    enc = positional_encoding(x, 4, alpha=0.0)
    assert torch.equal(enc[:, :3], x) and float(enc[:, 3:].abs().max()) == 0.0  # only the raw coordinates


def test_lpips_never_downloads(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    pytest.importorskip("lpips")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.warns(UserWarning, match="random-init"):  # only when a random trunk is allowed, and warned
        model, pre = load_lpips("alex", allow_random=True)
    assert pre is False
    with pytest.raises(SketchError, match="alexnet-owt-7be5be79.pth"):
        load_lpips("alex", allow_random=False)
    # plant a backbone file where torchvision caches it; the loader must use it
    torch.manual_seed(1)
    feats = {k: v for k, v in torchvision.models.alexnet(weights=None).state_dict().items() if k.startswith("features.")}
    ckpt = tmp_path / "torch" / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(feats, ckpt / "alexnet-owt-7be5be79.pth")
    model, pre = load_lpips("alex")
    assert pre is True
    assert torch.equal(model.net.slice1[0].weight, feats["features.0.weight"])
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert float(model(x, x)) == pytest.approx(0.0, abs=1e-6) and float(model(x, -x)) > 0
    fn = make_frame_loss("lpips", "cpu", net="alex")
    assert fn.description == "lpips-alex" and float(fn(torch.rand(1, 32, 32), torch.ones(1, 32, 32))[0]) > 0
    assert make_frame_loss("auto", "cpu", net="alex").name == "lpips"  # weights found: auto is LPIPS


def test_vgg_feature_loss_random_trunk(tmp_path, monkeypatch):
    pytest.importorskip("torchvision")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(SketchError, match="vgg16-397923af.pth"):  # no weights: a clear error, never silent
        make_frame_loss("vgg", "cpu")
    with pytest.warns(UserWarning, match="blurred L2"):  # auto says so when it cannot use LPIPS
        assert make_frame_loss("auto", "cpu").name == "l2_blur"
    with pytest.warns(UserWarning):
        fn = make_frame_loss("vgg", "cpu", allow_random=True)
    desc = fn.description
    a = torch.rand(1, 32, 32)
    assert "random" in desc and float(fn(a, a)[0]) == pytest.approx(0.0, abs=1e-6) and float(fn(a, 1 - a)[0]) > 0
    b = torch.rand(1, 32, 32, requires_grad=True)
    fn(b, a).sum().backward()
    assert b.grad is not None and bool(torch.isfinite(b.grad).all()) and float(b.grad.abs().sum()) > 0


@pytest.fixture(scope="module")
def stick24(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("stick"))
    render_dnerf_folder("stick_figure", folder, num_frames=24, size=64, camera_mode="moving")
    return folder


def test_scene_bounds_cover_the_scene(stick24):
    v = load_dnerf(stick24)
    c, r = scene_bounds(v.cameras)
    assert float(c.norm()) < 0.1 and 1.0 < r < 2.0  # cameras aim at the origin; view half-width ~ 4 tan 20deg


def test_callbacks_stop_and_determinism(stick24):
    from sketchmotion.core.callbacks import Callbacks

    v = load_dnerf(stick24, max_frames=6)
    calls, previews = [], []

    def progress(step, total, preview, stats):
        calls.append((step, total))
        assert {"frame", "temp", "rigid"} <= set(stats)
        if preview is not None:
            previews.append(preview)

    stops = iter([False, False, False, True])
    cfg = MotionGuidanceConfig(**{**SMALL, "num_points": 200, "iterations": 10})
    r = motion_guidance(v, cfg, Callbacks(progress, lambda: next(stops), preview_every=2))
    assert r.stopped and r.steps == 3 and calls == [(1, 10), (2, 10), (3, 10)]
    assert previews[0].shape[1:] == (64, 128, 3)  # frames of the step x (frame | render)
    a = motion_guidance(v, MotionGuidanceConfig(**{**SMALL, "num_points": 200, "iterations": 4}))
    b = motion_guidance(v, MotionGuidanceConfig(**{**SMALL, "num_points": 200, "iterations": 4}))
    assert torch.equal(a.canonical, b.canonical) and torch.equal(a.trajectories, b.trajectories)


@pytest.fixture
def one_thread():
    """The measured numbers below were taken single-threaded; other thread counts round differently and
    the optimisation then lands elsewhere (across seeds the moving-camera ratio spreads 0.48-0.68)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _frozen(r, T):
    """The result's canonical points with no motion: the baseline a motion model must beat."""
    return r.canonical[None].expand(T, -1, -1)


def test_motion_guidance_recovers_motion_moving_camera(stick24, one_thread):
    """Stage 1 recovers the stick figure's geometry AND motion from a moving camera.

    Scene: radius ~1 world unit, 24 frames at 64 px, a new camera pose every frame;
    one pixel at the scene centre is ~0.045 units. The initial cloud, carved from the
    views around t = 0, has Chamfer ~0.067 (rays through the frame-0 mask at random
    depth, the earlier start, had ~0.31). The motion test: velocity
    error (units per frame, tracking correspondence) against the FROZEN baseline,
    the same final points with zero motion (a result that only places points well
    scores exactly that). Measured: Chamfer 0.008, velocity error 0.0024 vs frozen
    0.0046 (ratio 0.52).
    """
    v = load_dnerf(stick24)
    gt = load_ground_truth(stick24)["samples"]
    init = motion_guidance(v, MotionGuidanceConfig(**{**SMALL, "iterations": 0, "prune_background": None}))
    before = motion_metrics(init.trajectories, gt)
    r = motion_guidance(v, MotionGuidanceConfig(**{**SMALL, "iterations": 400}))
    after = motion_metrics(r.trajectories, gt)
    frozen = motion_metrics(_frozen(r, len(v.times)), gt)
    print("before", before, "after", after, "frozen", frozen, "s/step", r.settings["seconds_per_step"])
    assert 0.03 < before["chamfer"] < 0.12  # carved: on the object from the start, but not the answer
    assert after["chamfer"] < 0.3 * before["chamfer"] and after["chamfer"] < 0.02  # < half a pixel at the centre
    # Across seeds and thread counts the ratio spreads 0.48-0.73 (0.72 in a fresh CI-like run): the bound
    # asserts clearly better than no motion, with margin, not the 0.4x target (see bench/reconstruct3d.py).
    assert after["velocity_error"] < 0.85 * frozen["velocity_error"]
    assert r.settings["weights_used"][1:3] == [1.0, 0.1] and r.settings["parallax"] is True


def test_motion_guidance_recovers_motion_fixed_camera(tmp_path, one_thread):
    """A fixed camera (the generated-video case) with metric depth maps for the first frame.

    Depth is unobservable from one viewpoint, so the points start on the frame-0
    depth map, and motion along the viewing direction is not observable either:
    even the exact image-plane motion with no depth motion scores 0.42 x the frozen
    baseline here. Measured: 3D velocity error 0.58 x frozen (600 steps; 0.64 before the depth fit was robust
    and motion in depth was left free with depth maps), image-plane
    velocity error (px per frame, what the camera sees) 0.45 x frozen; without
    depth maps the points start +-0.22 units deep about the look-at point.
    """
    render_dnerf_folder("stick_figure", str(tmp_path), num_frames=24, size=64, camera_mode="fixed")
    v = load_dnerf(str(tmp_path))
    gt = load_ground_truth(str(tmp_path))["samples"]
    v = replace(v, depth=render_depth(get_scene("stick_figure", up="+y"), v.times, v.cameras), depth_mode="metric")
    r = motion_guidance(v, MotionGuidanceConfig(**{**SMALL, "iterations": 600}))
    tr = r.trajectories
    after, frozen = motion_metrics(tr, gt), motion_metrics(_frozen(r, len(tr)), gt)
    p2, g2 = v.cameras.project(tr)[0], v.cameras.project(gt)[0]
    after2, frozen2 = motion_metrics(p2, g2), motion_metrics(p2[:1].expand_as(p2), g2)
    print("after", after, "frozen", frozen, "2D", after2, frozen2)
    # with depth maps, motion in depth is observable: nothing discourages it (nor without them: REGULARISER_WEIGHTS)
    assert r.settings["parallax"] is False and r.settings["weights_used"][1:] == [0.1, 0.01, 0.0]
    assert after["chamfer"] < 0.06  # depth-map start ~0.04; a volume start would be ~0.36
    assert after2["velocity_error"] < 0.6 * frozen2["velocity_error"]
    assert after["velocity_error"] < 0.75 * frozen["velocity_error"]


def test_bad_config():
    from sketchmotion.core.posed_video import from_frames

    v = from_frames(torch.ones(3, 16, 16, 3))
    with pytest.raises(SketchError, match="frame loss"):
        motion_guidance(v, MotionGuidanceConfig(frame_loss="mse", device="cpu"))
    with pytest.raises(SketchError, match="carve_keep"):  # every setting is checked before any work
        MotionGuidanceConfig(carve_keep=0.0).validate()
    with pytest.raises(SketchError, match="empty"):  # white frames: no ink to place points on
        motion_guidance(v, MotionGuidanceConfig(init="ink", num_points=10, iterations=1, frame_loss="l2",
                                                device="cpu"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_walker_motion_is_recovered_in_3d(tmp_path, one_thread, seed):
    """The figure whose limbs swing in depth, moving camera, end to end at README's settings (96 px, 800 + 300 steps).

    Stage 2 moves its strokes by the stage-1 field (StrokeConfig.motion "warp"), so the strokes keep the stage-1
    motion. Measured (seeds 0 / 1, output smoothed in time, stage 1's temporal term robust): strokes Chamfer 0.51 /
    0.53 % of the diagonal, velocity error 0.27 / 0.27x and tracking error 0.21 / 0.19x those of the same strokes held
    still (stage-1 points 0.49 / 0.63 %, 0.35 / 0.38x, 0.24 / 0.28x); with the plain temporal term the strokes had
    0.65 / 0.71 %, 0.35 / 0.36x, 0.28 / 0.25x. With 400 stage-1 steps and per-stroke motion heads the strokes had
    0.99-1.17 %, 0.51-0.56x, 0.30-0.39x. The issue's targets: 1.5 %, 0.4x, 0.5x.
    """
    from sketchmotion.core.metrics import motion_report
    from sketchmotion.core.pipelines.reconstruct3d import documented_config, reconstruct3d, stroke_samples

    render_dnerf_folder("walker", str(tmp_path), num_frames=24, size=128, camera_mode="moving", seed=seed)
    v = load_dnerf(str(tmp_path), size=96)
    gt = load_ground_truth(str(tmp_path))["samples"]
    anim, motion = reconstruct3d(v, documented_config(seed=seed, device="cpu"))
    pts = motion_report(motion.trajectories, gt)
    rep = motion_report(stroke_samples(anim.frames.reshape(anim.num_frames, -1, 4, 3)), gt)
    print("walker seed", seed, "points", pts, "strokes", rep)
    assert pts["chamfer_pct"] < 1.2 and pts["velocity_ratio"] < 0.55 and pts["tracking_ratio"] < 0.5
    assert rep["chamfer_pct"] < 1.2 and rep["velocity_ratio"] < 0.45 and rep["tracking_ratio"] < 0.4


def test_temporal_loss_robust_scale():
    """`temporal_loss` with a scale: small accelerations cost as before, large ones at most scale^2 (moving camera)."""
    from sketchmotion.core.pipelines.reconstruct3d import FramePick, temporal_loss

    fp = FramePick(pick=torch.tensor([1]), need=torch.tensor([0, 1, 2]), sel=torch.tensor([1]),
                   triples=torch.tensor([[0, 1, 2]]))
    x = torch.zeros(3, 2, 3)
    x[1, 0, 0], x[1, 1, 0] = -0.05, -5.0  # accelerations 0.1 and 10 (px / frame^2)
    small, large = x[:, :1], x[:, 1:]
    assert temporal_loss(small, fp).item() == pytest.approx(0.01)
    assert temporal_loss(small, fp, 0.5).item() == pytest.approx(0.01, rel=0.05)  # quadratic below the scale
    assert temporal_loss(large, fp).item() == pytest.approx(100.0)
    assert temporal_loss(large, fp, 0.5).item() < 0.25  # bounded by scale^2 above it
    both = (temporal_loss(small, fp, 0.5) + temporal_loss(large, fp, 0.5)) / 2
    assert temporal_loss(x, fp, 0.5).item() == pytest.approx(both.item())
