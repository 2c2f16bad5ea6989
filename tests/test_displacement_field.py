import math

import pytest
import torch

from sketchmotion.core.errors import SketchError
from sketchmotion.core.motion.displacement_field import (
    DisplacementField,
    FieldConfig,
    affine_matrices,
    parameter_counts,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def sketch_points(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 40 + 170 * torch.rand(n, 2, generator=g)


def set_global(field, translation=(0.0, 0.0), rotation=0.0, shear=(0.0, 0.0), scale=(0.0, 0.0)):
    """Make the continuous global path output constant raw head values."""
    heads = field.global_heads
    with torch.no_grad():
        for head, val in ((heads.translation, translation), (heads.rotation, (rotation,)),
                          (heads.shear, shear), (heads.scale, scale)):
            head[-1].weight.zero_()
            head[-1].bias.copy_(torch.tensor(val))


@pytest.mark.parametrize("arch", ["continuous", "paper"])
def test_starts_at_input_sketch(arch):
    pts = sketch_points()
    f = DisplacementField(pts, canvas=(256, 256), architecture=arch, num_frames=6, seed=1)
    out = f()
    assert out.shape == (6, 64, 2)
    assert torch.allclose(out, pts.expand(6, -1, -1), atol=1e-4)
    dl, dg = f.displacements()
    assert dl.abs().max() == 0 and dg.abs().max() < 1e-4


def test_global_path_is_the_documented_affine_about_the_centre():
    pts = sketch_points()
    f = DisplacementField(pts, canvas=(256, 256), use_local=False, seed=0)
    theta, sh, sc, d = 0.3, (0.2, -0.1), (0.1, -0.2), (5.0, -3.0)
    cfg = f.config
    set_global(f, translation=[v / cfg.lambda_t for v in d], rotation=theta / cfg.lambda_r,
               shear=[v / cfg.lambda_sh for v in sh], scale=[v / cfg.lambda_s for v in sc])
    # hand-built matrices
    c, s = math.cos(theta), math.sin(theta)
    R = torch.tensor([[c, -s], [s, c]])
    H = torch.tensor([[1.0, sh[0]], [sh[1], 1.0]])
    S = torch.diag(torch.tensor([1 + sc[0], 1 + sc[1]]))
    A = R @ H @ S
    com = pts.mean(0)
    expected = (pts - com) @ A.T + com + torch.tensor(d)
    out = f(torch.tensor([0.0, 0.5, 1.0]))
    for k in range(3):
        assert torch.allclose(out[k], expected, atol=1e-3)
    # pure rotation keeps every point's distance to the centre of mass
    set_global(f, rotation=0.5 / cfg.lambda_r)
    out = f(torch.tensor([0.2]))[0]
    assert torch.allclose((out - com).norm(dim=1), (pts - com).norm(dim=1), atol=1e-3)
    scale = torch.tensor([[1 + sc[0], 1 + sc[1]]])
    assert torch.allclose(affine_matrices(torch.tensor([theta]), torch.tensor([sh]), scale)[0], A)


def test_parameter_groups_split_exactly():
    f = DisplacementField(sketch_points(), canvas=(256, 256), seed=0)
    loc = {id(p) for p in f.local_parameters()}
    glo = {id(p) for p in f.global_parameters()}
    assert not loc & glo
    assert loc | glo == {id(p) for p in f.parameters()}
    # local optimiser steps leave the global path untouched and vice versa
    opt = torch.optim.Adam(f.local_parameters(), lr=1e-2)
    g0 = f.global_offsets().detach().clone()
    for _ in range(3):
        opt.zero_grad()
        (f() - 100).pow(2).mean().backward()
        opt.step()
    assert torch.equal(f.global_offsets().detach(), g0)
    assert f.local_offsets().abs().max() > 0.01


def test_paper_groups_share_only_the_projection():
    f = DisplacementField(sketch_points(16), architecture="paper", num_frames=4, seed=0)
    loc = {id(p) for p in f.local_parameters()}
    glo = {id(p) for p in f.global_parameters()}
    assert loc & glo == {id(p) for p in f.projection.parameters()}
    assert loc | glo == {id(p) for p in f.parameters()}


def test_parameter_counts():
    counts = parameter_counts(num_points=64, num_frames=24, hidden=128)
    flat = 24 * 64 * 128
    assert flat == 196_608
    # paper: the two flatten layers dominate (the reference reports ~51M in all)
    assert counts["paper"] > 2 * (flat * 128 + 128)
    assert 50e6 < counts["paper"] < 51.5e6
    # continuous: small and independent of point and frame count
    assert counts["continuous"] < 250_000
    assert parameter_counts(num_points=640, num_frames=97)["continuous"] == counts["continuous"]


def test_continuous_time_resampling_generalises_between_frames():
    """Fit a known smooth per-frame affine motion at 24 frames (global path alone);
    sampling 97 frames must follow the true motion between the training frames."""
    pts = sketch_points(32)
    com = pts.mean(0)

    def truth(t):
        ang = 0.2 * torch.sin(math.pi * t)
        c, s = torch.cos(ang), torch.sin(ang)
        R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        d = torch.stack([12 * torch.sin(math.pi * t), 6 * t], -1)
        return torch.einsum("tij,nj->tni", R, pts - com) + com + d[:, None]

    f = DisplacementField(pts, canvas=(256, 256), use_local=False, seed=0)
    opt = torch.optim.Adam(f.global_parameters(), lr=3e-3)
    t24 = f.frame_times(24)
    target = truth(t24)
    for _ in range(400):
        opt.zero_grad()
        (f(t24) - target).pow(2).mean().backward()
        opt.step()
    t93 = f.frame_times(93)  # 4x denser; every 4th time is a training time
    err = (f(t93) - truth(t93)).norm(dim=-1)
    assert err.mean() < 0.5, err.mean()
    assert torch.allclose(f(t93)[::4], f(t24), atol=1e-3)


def test_paper_interpolates_between_fixed_frames():
    f = DisplacementField(sketch_points(8), architecture="paper", num_frames=5, zero_init=False, seed=3)
    grid = f()
    assert grid.shape == (5, 8, 2)
    assert torch.allclose(f(torch.tensor([0.25, 0.75])), grid[[1, 3]], atol=1e-5)
    # between frames: local offsets and affine parameters are interpolated linearly
    half = torch.tensor([0.125])
    dl = f.local_offsets()
    assert torch.allclose(f.local_offsets(half)[0], 0.5 * (dl[0] + dl[1]), atol=1e-4)
    _, d = f.global_transforms()
    assert torch.allclose(f.global_transforms(half)[1][0], 0.5 * (d[0] + d[1]), atol=1e-5)


def test_seed_determinism_and_global_rng_untouched():
    pts = sketch_points()
    state = torch.get_rng_state()
    a = DisplacementField(pts, seed=7, zero_init=False)
    assert torch.equal(torch.get_rng_state(), state)
    b = DisplacementField(pts, seed=7, zero_init=False)
    c = DisplacementField(pts, seed=8, zero_init=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a(), c())


@pytest.mark.parametrize("arch", ["continuous", "paper"])
def test_state_dict_round_trip(arch):
    f = DisplacementField(sketch_points(16), canvas=(256, 256), architecture=arch, num_frames=4, seed=0)
    opt = torch.optim.Adam(f.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        f().sum().backward()
        opt.step()
    g = DisplacementField.from_state_dict(f.state_dict(), f.config_dict())
    assert torch.equal(f(), g())
    assert g.config == f.config


def test_canonical_base_receives_gradient():
    pts = sketch_points(16)
    f = DisplacementField(pts, canvas=(256, 256), seed=0)
    base = pts.clone().requires_grad_(True)
    out = f(torch.tensor([0.0, 1.0]), base=base)
    assert torch.allclose(out, base.expand(2, -1, -1), atol=1e-4)
    out.sum().backward()
    assert torch.allclose(base.grad, torch.full_like(base, 2.0), atol=1e-4)


def test_bad_inputs():
    with pytest.raises(SketchError):
        DisplacementField(torch.zeros(5, 3))
    with pytest.raises(SketchError):
        DisplacementField(sketch_points(), architecture="transformer")
    with pytest.raises(SketchError):
        DisplacementField(sketch_points(), use_local=False, use_global=False)
    f = DisplacementField(sketch_points())
    with pytest.raises(SketchError):
        f(torch.tensor([0.5, 1.5]))
    with pytest.raises(SketchError):
        FieldConfig.from_dict({"hidden": 64, "bogus": 1})
