"""The built-in renderer against resvg (a real SVG renderer), gradients, memory, fills."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core import sketch_from_paths
from sketchmotion.core.raster import diffvg_available, render
from sketchmotion.core.raster.torch_backend import ink
from sketchmotion.core.synthetic import random_sketch, random_strokes

ROOT = Path(__file__).resolve().parents[1]
resvg_py = pytest.importorskip("resvg_py", reason="resvg-py is a dev dependency (requirements-dev.txt)")


def resvg_render(svg_text: str) -> torch.Tensor:
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg_text, background="#ffffff"))
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(rgb)


def assert_matches_resvg(sketch, svg_text=None):
    from sketchmotion.core.svg import dumps

    ref = resvg_render(svg_text if svg_text is not None else dumps(sketch))
    ours = render(sketch)
    assert ours.shape == ref.shape
    mae = (ours - ref).abs().mean().item()
    ink_ratio = (ink(ours) / ink(ref)).item()
    assert mae <= 0.01, f"mean abs error {mae:.4f} vs resvg"
    assert abs(ink_ratio - 1) <= 0.02, f"ink ratio {ink_ratio:.4f} vs resvg"
    return mae, ink_ratio


@pytest.mark.parametrize("seed", range(4))
def test_random_strokes_match_resvg(seed):
    assert_matches_resvg(random_strokes(16, 256, seed=seed, width=(1.0, 6.0)))


@pytest.mark.parametrize("seed", range(3))
def test_random_fills_and_strokes_match_resvg(seed):
    assert_matches_resvg(random_sketch(18, 256, seed=seed))


def test_example_sketches_match_resvg():
    from sketchmotion.core.svg import load

    files = sorted((ROOT / "sketches").glob("*.svg"))
    assert files, "sketches/*.svg are bundled with the pack"
    for f in files:
        sketch = load(f)
        # resvg renders the ORIGINAL file, so this also checks the SVG reader
        ref = resvg_render(f.read_text())
        ours = render(sketch, size=(ref.shape[1], ref.shape[0]))
        mae = (ours - ref).abs().mean().item()
        ratio = (ink(ours) / ink(ref)).item()
        assert mae <= 0.01 and abs(ratio - 1) <= 0.02, f"{f.name}: MAE {mae:.4f}, ink ratio {ratio:.4f}"


def square(x0, y0, s, clockwise=True):
    """A closed square as a 4-segment cubic chain (straight segments)."""
    corners = [(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s)]
    if not clockwise:
        corners = corners[::-1]
    pts = []
    for i, c in enumerate(corners):
        n = corners[(i + 1) % 4]
        c, n = torch.tensor(c, dtype=torch.float32), torch.tensor(n, dtype=torch.float32)
        pts += [c, c + (n - c) / 3, c + 2 * (n - c) / 3]
    return torch.stack(pts)


@pytest.mark.parametrize("rule,same_orientation,hole_filled", [
    ("evenodd", True, False), ("nonzero", True, True), ("nonzero", False, False), ("evenodd", False, False),
])
def test_compound_fill_rules_known_answers(rule, same_orientation, hole_filled):
    # one SVG element with two subpaths: an outer square and an inner one (the "hole")
    outer = square(8, 8, 48)
    inner = square(24, 24, 16, clockwise=same_orientation)
    sk = sketch_from_paths([outer, inner], closed=[True, True], stroke_width=0.0, fill_color=(0, 0, 0, 1),
                           fill_rule=[rule, rule], compound=[0, 0], canvas=(64, 64))
    img = render(sk)
    assert img[12, 12].max() < 0.01 and img[2, 2].min() > 0.99  # ring filled, outside white
    centre = img[32, 32].mean().item()
    assert (centre < 0.01) if hole_filled else (centre > 0.99)


@pytest.mark.parametrize("rule", ["evenodd", "nonzero"])
def test_self_intersecting_star(rule):
    import math

    star = [torch.tensor([32 + 26 * math.sin(4 * math.pi * i / 5), 32 - 26 * math.cos(4 * math.pi * i / 5)])
            for i in range(5)]
    pts = []
    for i in range(5):
        c, n = star[i], star[(i + 1) % 5]
        pts += [c, c + (n - c) / 3, c + 2 * (n - c) / 3]
    sk = sketch_from_paths([torch.stack(pts)], closed=[True], stroke_width=0.0, fill_color=(0, 0, 0, 1),
                           fill_rule=[rule], canvas=(64, 64))
    centre = render(sk)[32, 32].mean().item()  # winding number 2 at the centre
    assert (centre > 0.99) if rule == "evenodd" else (centre < 0.01)


def test_partial_coverage_is_area_of_a_half_plane():
    # a filled rectangle whose left edge sits at x = 10.25 covers 75% of pixel column 10
    x0 = 10.25
    sk = sketch_from_paths([square(x0, 4, 20)], closed=[True], stroke_width=0.0, fill_color=(0, 0, 0, 1),
                           canvas=(32, 32))
    img = render(sk)
    assert img[10, 10, 0].item() == pytest.approx(0.25, abs=1e-4)
    assert img[10, 11, 0].item() == pytest.approx(0.0, abs=1e-4)


def test_transparent_background_gives_premultiplied_rgba():
    sk = random_sketch(6, 64, seed=1)
    rgba = render(sk, background=None)
    rgb = render(sk)
    assert rgba.shape == (64, 64, 4)
    recon = rgba[..., :3] + (1 - rgba[..., 3:4])  # premultiplied over white
    assert torch.allclose(recon, rgb, atol=1e-5)
    assert rgba[..., 3].min() >= 0 and rgba[..., 3].max() <= 1


def test_batch_equals_single_frames_and_size_scales():
    sk = random_strokes(5, 64, seed=2)
    pts = torch.stack([sk.points, sk.points + 3.0])
    batch = render(sk, pts)
    assert batch.shape == (2, 64, 64, 3)
    assert torch.allclose(batch[1], render(sk, pts[1]), atol=1e-6)
    big = render(sk, size=128)
    assert big.shape == (128, 128, 3)
    assert ink(big).item() == pytest.approx(4 * ink(batch[0]).item(), rel=0.03)  # widths scale too


def test_gradients_match_finite_differences():
    sk = random_sketch(5, 48, seed=4, width=(2.0, 4.0)).to(dtype=torch.float64)
    w = torch.rand(48, 48, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = sk.points.clone().requires_grad_(True)
    widths = sk.stroke_width.clone().requires_grad_(True)
    colors = sk.stroke_color.clone().requires_grad_(True)

    def f(p, wd, c):
        return (render(sk, p, stroke_width=wd, stroke_color=c) * w).sum()

    f(pts, widths, colors).backward()
    eps = 1e-4  # coverage is piecewise linear: keep the step inside one linear piece
    rng = np.random.default_rng(0)
    for i in rng.choice(sk.num_points, 6, replace=False):
        for k in range(2):
            dp = torch.zeros_like(sk.points)
            dp[i, k] = eps
            num = (f(sk.points + dp, sk.stroke_width, sk.stroke_color)
                   - f(sk.points - dp, sk.stroke_width, sk.stroke_color)) / (2 * eps)
            assert pts.grad[i, k].item() == pytest.approx(num.item(), rel=0.05, abs=0.02)
    dw = torch.zeros_like(sk.stroke_width)
    dw[1] = eps
    num = (f(sk.points, sk.stroke_width + dw, sk.stroke_color) - f(sk.points, sk.stroke_width - dw, sk.stroke_color)) / (2 * eps)
    assert widths.grad[1].item() == pytest.approx(num.item(), rel=0.05, abs=0.02)
    assert colors.grad.abs().sum() > 0


def _blur(x, sigma):
    k = int(3 * sigma) * 2 + 1
    ax = torch.arange(k, dtype=x.dtype) - k // 2
    g = torch.exp(-ax**2 / (2 * sigma**2))
    g = g / g.sum()
    x = x.permute(0, 3, 1, 2)
    C = x.shape[1]
    x = torch.nn.functional.conv2d(x, g.view(1, 1, 1, k).repeat(C, 1, 1, 1), padding=(0, k // 2), groups=C)
    return torch.nn.functional.conv2d(x, g.view(1, 1, k, 1).repeat(C, 1, 1, 1), padding=(k // 2, 0), groups=C)


def test_inverse_rendering_recovers_perturbed_control_points():
    sk = random_strokes(8, 128, seed=3, width=4.0, length=30.0)
    target = render(sk)[None]
    g = torch.Generator().manual_seed(5)
    start = sk.points + (torch.rand(sk.points.shape, generator=g) * 2 - 1) * 3.0
    assert (start - sk.points).norm(dim=-1).mean() > 2.0
    p = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=0.2)
    for _ in range(400):
        img = render(sk, p[None])
        loss = sum(((_blur(img, s) - _blur(target, s)) ** 2).mean() for s in (4, 2, 1)) + ((img - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    err = (p.detach() - sk.points).norm(dim=-1).mean().item()
    assert err < 0.5, f"mean control-point error {err:.3f} px"


def test_memory_24_frames_64_strokes_512_forward_backward_under_4gb():
    code = r"""
import resource, json, torch
from sketchmotion.core.raster import render
from sketchmotion.core.synthetic import random_strokes
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = random_strokes(64, 512, length=80.0, width=(1.0, 6.0))
pts = (s.points[None] + torch.randn(24, *s.points.shape) * 2).requires_grad_(True)
render(s, pts).mean().backward()
assert torch.isfinite(pts.grad).all()
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "base_mb": base / 1024}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]
    assert peak < 4096, f"peak RSS {peak:.0f} MB"


def test_nothing_visible_renders_background():
    sk = sketch_from_paths([torch.tensor([[-50.0, -50], [-40, -50], [-30, -50], [-20, -50]])], canvas=(16, 16))
    img = render(sk, background=(0.2, 0.4, 0.6))
    assert torch.allclose(img, torch.tensor([0.2, 0.4, 0.6]).expand(16, 16, 3))


@pytest.mark.skipif(not diffvg_available(), reason="pydiffvg is not installed (not on PyPI; optional backend)")
def test_diffvg_parity():
    sk = random_strokes(16, 256, seed=0)
    a = render(sk)
    b = render(sk, backend="diffvg")
    assert (a - b).abs().mean().item() < 0.01
