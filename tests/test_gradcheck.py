"""torch.autograd.gradcheck on the custom autograd functions and the differentiable renderers.

Double precision, tiny cases (a few control points, images of a few pixels), so the finite
differences are exact to ~1e-7 and the whole file runs in about a second.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from sketchmotion.core.guidance.frame_rules import resample_frames
from sketchmotion.core.guidance.sds import inject_gradient
from sketchmotion.core.raster import render
from sketchmotion.core.raster.points import splat
from sketchmotion.core.sketch import sketch_from_paths


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resample_frames_gradcheck_when_every_frame_is_used_once(seed):
    frames = torch.rand(3, 2, 2, 3, generator=_gen(seed), dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda f: resample_frames(f, [2, 0, 1]), (frames,), eps=1e-6, atol=1e-8)


def test_resample_frames_backward_is_the_documented_scatter_mean():
    # with repeats the backward is the mean (not the sum) of a frame's copies, by design:
    # check it against the sum-gradient of index_select divided by the copy counts
    frames = torch.rand(3, 2, 2, 3, generator=_gen(5), dtype=torch.float64, requires_grad=True)
    index = [0, 0, 1, 2, 2, 2]
    w = torch.rand(6, 2, 2, 3, generator=_gen(6), dtype=torch.float64)
    (g,) = torch.autograd.grad((resample_frames(frames, index) * w).sum(), frames)
    (ref,) = torch.autograd.grad((frames[index] * w).sum(), frames)
    counts = torch.tensor([2.0, 1.0, 3.0], dtype=torch.float64).view(3, 1, 1, 1)
    assert torch.allclose(g, ref / counts, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_inject_gradient_is_the_gradient_of_the_stop_gradient_loss(dtype):
    # gradcheck does not apply: the value (0.5 ||grad||^2) does not depend on z while its gradient
    # is `grad` by construction. The contract is the stop-gradient loss's gradient, exactly:
    z = torch.randn(2, 3, 4, generator=_gen(0), dtype=torch.float64).to(dtype).requires_grad_(True)
    grad = torch.randn(2, 3, 4, generator=_gen(1), dtype=torch.float64)
    (ours,) = torch.autograd.grad(inject_gradient(z, grad.to(dtype)) * 3.0, z)
    z64 = z.detach().double().requires_grad_(True)
    (ref,) = torch.autograd.grad(3.0 * 0.5 * ((z64 - (z64 - grad).detach()) ** 2).sum(), z64)
    assert ours.dtype == dtype
    assert torch.allclose(ours.double(), ref, atol=0 if dtype == torch.float64 else 1e-2)


def _stroke_sketch():
    ctrl = torch.tensor([[1.5, 2.0], [3.0, 6.5], [6.0, 1.0], [8.5, 5.5]], dtype=torch.float64)
    return sketch_from_paths([ctrl], closed=[False], stroke_width=2.0, canvas=(10, 8))


def _fill_sketch():
    ctrl = torch.tensor([[2.0, 1.5], [8.0, 1.0], [8.5, 6.5], [2.0, 6.0]], dtype=torch.float64)
    seg = torch.stack([ctrl, ctrl.roll(-1, 0)], 1)  # closed polygon of cubic segments with straight handles
    pts = torch.cat([torch.stack([a, a + (b - a) / 3, a + 2 * (b - a) / 3]) for a, b in seg])
    return sketch_from_paths([pts], closed=[True], stroke_width=0.0, fill_color=(0.2, 0.4, 0.8, 1.0), canvas=(10, 8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_renderer_gradcheck_stroke_points_width_and_colour(seed):
    sk = _stroke_sketch()
    jitter = 0.3 * torch.randn(sk.points.shape, generator=_gen(seed), dtype=torch.float64)
    pts = (sk.points.double() + jitter).requires_grad_(True)
    width = torch.tensor([1.7], dtype=torch.float64, requires_grad=True)
    colour = torch.tensor([[0.1, 0.5, 0.9, 0.8]], dtype=torch.float64, requires_grad=True)

    def f(p, w, c):
        return render(sk, p, stroke_width=w, stroke_color=c, background=(1.0, 1.0, 1.0))

    assert render(sk, pts.detach()).dtype == torch.float64
    assert gradcheck(f, (pts, width, colour), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_renderer_gradcheck_filled_shape_transparent(seed):
    sk = _fill_sketch()
    jitter = 0.2 * torch.randn(sk.points.shape, generator=_gen(seed), dtype=torch.float64)
    pts = (sk.points.double() + jitter).requires_grad_(True)
    assert gradcheck(lambda p: render(sk, p, background=None), (pts,), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_splat_gradcheck(seed):
    pixels = (torch.rand(2, 3, 2, generator=_gen(seed), dtype=torch.float64) * 6 + 1).requires_grad_(True)
    opacity = torch.full((2, 3), 0.6, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda p, o: splat(p, (8, 8), sigma=1.0, opacity=o), (pixels, opacity), eps=1e-6, atol=1e-6)
