"""Camera conventions against hand-computed cases (D-NeRF / OpenGL and OpenCV)."""

import math

import pytest
import torch

from sketchmotion.core.camera import (Cameras, fixed, focal_from_fov, look_at, opencv_to_opengl, opengl_to_opencv,
                                      orbit, turntable)
from sketchmotion.core.errors import SketchError


def front_camera(size=100, fov=90.0):
    # at (0, -4, 0) looking at the origin: camera x = world x, camera y = world z
    return Cameras.perspective(look_at([0.0, -4.0, 0.0]), size, fov_x_deg=fov)


def test_look_at_axes_are_opengl():
    c2w = look_at([0.0, -4.0, 0.0])
    assert torch.allclose(c2w[:3, 0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-6)  # x right
    assert torch.allclose(c2w[:3, 1], torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)  # y up = world z
    assert torch.allclose(c2w[:3, 2], torch.tensor([0.0, -1.0, 0.0]), atol=1e-6)  # looks down -z (towards +y)


def test_point_on_axis_projects_to_centre():
    cams = orbit(7, radius=3.0, elevation=35.0, fov=50.0, size=(64, 48))
    pix, depth = cams.project(torch.zeros(1, 3))
    assert torch.allclose(pix, torch.tensor([32.0, 24.0]).expand_as(pix), atol=1e-4)
    assert torch.allclose(depth, torch.full_like(depth, 3.0), atol=1e-5)
    ortho = orbit(3, radius=3.0, fov=50.0, size=64, projection="orthographic")
    assert torch.allclose(ortho.project(torch.zeros(1, 3))[0], torch.full((3, 1, 2), 32.0), atol=1e-4)


def test_hand_computed_pixel():
    cam = front_camera(100, 90.0)  # focal = 0.5 * 100 / tan(45 deg) = 50
    assert abs(float(cam.fx[0]) - 50.0) < 1e-4
    pix, depth = cam.project(torch.tensor([[1.0, 0.0, 0.5]]))
    # u = 50 + 50 * 1 / 4 = 62.5 ; v = 50 - 50 * 0.5 / 4 = 43.75 (v grows downwards)
    assert torch.allclose(pix[0, 0], torch.tensor([62.5, 43.75]), atol=1e-4)
    assert abs(float(depth[0, 0]) - 4.0) < 1e-5
    ortho = Cameras.orthographic(look_at([0.0, -4.0, 0.0]), 100, half_width=2.0)  # 25 px per unit
    assert torch.allclose(ortho.project(torch.tensor([[1.0, 0.0, 0.5]]))[0][0, 0], torch.tensor([75.0, 37.5]))


def test_camera_angle_x_matches_dnerf_formula():
    cam = Cameras.perspective(torch.eye(4), 800, fov_x_deg=math.degrees(0.6911112070083618))
    assert abs(float(cam.fx[0]) - 0.5 * 800 / math.tan(0.5 * 0.6911112070083618)) < 1e-3
    assert abs(float(cam.camera_angle_x[0]) - 0.6911112070083618) < 1e-6
    assert abs(focal_from_fov(math.pi / 2, 100) - 50.0) < 1e-9


def test_opengl_opencv_round_trip_and_projection_agree():
    cams = orbit(5, radius=4.0, elevation=25.0, fov=40.0, size=(80, 60), azimuth_start=10.0)
    c2w = cams.c2w
    assert torch.allclose(opencv_to_opengl(opengl_to_opencv(c2w)), c2w)
    pts = torch.randn(20, 3, generator=torch.Generator().manual_seed(0)) * 0.5
    pix, depth = cams.project(pts)
    # the OpenCV way: x_cv = inverse(c2w_cv) p, pixel = K x_cv / z
    w2c_cv = torch.linalg.inv(cams.opencv_c2w())
    xc = (torch.cat([pts, torch.ones(20, 1)], 1) @ w2c_cv.transpose(1, 2))[..., :3]
    assert torch.allclose(xc[..., 2], depth, atol=1e-5)  # +z forward = depth
    uv = xc @ cams.intrinsics().transpose(1, 2)
    assert torch.allclose(uv[..., :2] / uv[..., 2:], pix, atol=1e-3)
    back = Cameras.from_opencv(cams.opencv_c2w(), cams.intrinsics(), (80, 60))
    assert torch.allclose(back.project(pts)[0], pix, atol=1e-4)


def test_unproject_inverts_project():
    cams = orbit(4, radius=4.0, elevation=30.0, size=64)
    pts = torch.rand(4, 10, 3, generator=torch.Generator().manual_seed(1)) - 0.5
    pix, depth = cams.project(pts)
    assert torch.allclose(cams.unproject(pix, depth), pts, atol=1e-4)
    o, d = cams.rays(pix)
    t = ((pts - o) * d).sum(-1, keepdim=True)
    assert torch.allclose(o + t * d, pts, atol=1e-4)


def test_paths():
    tt = turntable(8, radius=3.0, elevation=20.0, size=32)
    assert len(tt) == 8
    assert torch.allclose(tt.centers.norm(dim=-1), torch.full((8,), 3.0), atol=1e-5)
    assert torch.allclose(tt.centers[:, 2], torch.full((8,), 3.0 * math.sin(math.radians(20.0))), atol=1e-5)
    az = torch.atan2(tt.centers[:, 0], -tt.centers[:, 1])
    steps = torch.remainder(az[1:] - az[:-1], 2 * math.pi)
    assert torch.allclose(steps, torch.full((7,), 2 * math.pi / 8), atol=1e-5)
    fx = fixed(5, radius=2.0, azimuth=30.0, size=32)
    assert torch.equal(fx.c2w[0], fx.c2w[4])
    half = orbit(3, azimuth_span=90.0, size=32)
    az = torch.rad2deg(torch.atan2(half.centers[:, 0], -half.centers[:, 1]))
    assert torch.allclose(az, torch.tensor([0.0, 45.0, 90.0]), atol=1e-4)
    assert torch.allclose(tt.resize(64).project(torch.zeros(1, 3))[0], torch.full((8, 1, 2), 32.0), atol=1e-4)


def test_bad_cameras():
    bad = torch.eye(4)
    bad[0, 3] = float("nan")
    with pytest.raises(SketchError, match="NaN"):
        Cameras.perspective(bad, 32, fov_x_deg=40.0)
    with pytest.raises(SketchError, match="orthonormal"):
        Cameras.perspective(torch.eye(4) * 2, 32, fov_x_deg=40.0)
    with pytest.raises(SketchError, match="180"):
        Cameras.perspective(torch.eye(4), 32, fov_x_deg=200.0)
    with pytest.raises(SketchError):
        Cameras.perspective(torch.eye(4), 32)


def test_up_axis_paths_and_derivation():
    from sketchmotion.core.camera import parse_up, up_from_cameras, up_rotation

    assert torch.allclose(up_rotation("+y") @ torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(up_rotation("-z") @ torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, -1.0]))
    for up in ("+y", "+z", "-x", (1.0, 1.0, 0.0)):
        u = parse_up(up)
        tt = turntable(12, radius=3.0, elevation=20.0, size=32, up=up)
        height = tt.centers @ u  # every eye at the same height above the target along `up`
        assert torch.allclose(height, torch.full((12,), 3.0 * math.sin(math.radians(20.0))), atol=1e-5)
        assert torch.allclose(tt.c2w[:, :3, 0] @ u, torch.zeros(12), atol=1e-5)  # image x stays level
        assert float((tt.c2w[:, :3, 1] @ u).min()) > 0.9  # image up is world up
        assert torch.allclose(up_from_cameras(tt), u, atol=1e-4) or not isinstance(up, str)
        f = fixed(2, elevation=15.0, azimuth=20.0, size=32, up=up)
        if isinstance(up, str):
            assert torch.equal(up_from_cameras(f), u)  # a camera tilted 15 degrees down still says `up`
    # D-NeRF: the OpenGL default camera (at +z, looking -z, y up) is azimuth 0 of a +y turntable
    eye = orbit(1, radius=2.0, elevation=0.0, size=8, up="+y").centers[0]
    assert torch.allclose(eye, torch.tensor([0.0, 0.0, 2.0]), atol=1e-5)
    with pytest.raises(SketchError, match="up axis"):
        parse_up("sideways")
