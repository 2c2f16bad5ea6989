"""Caps, joins, miter limits, dashes and clip paths in the built-in renderer, against resvg
(a real SVG renderer), plus their gradients and the default (round) look."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core import sketch_from_paths
from sketchmotion.core.raster import render
from sketchmotion.core.style import ClipRegion, PathStyle, canonical_dash
from sketchmotion.core.svg import dumps, loads
from sketchmotion.core.synthetic import random_strokes

resvg_py = pytest.importorskip("resvg_py", reason="resvg-py is a dev dependency (requirements-dev.txt)")

CAPS = ("butt", "round", "square")
JOINS = ("miter", "round", "bevel")
DASHES = [(), (), (10, 5), (1, 6), (0, 8), (14, 4, 3, 4), (6, 3, 6)]
NS = 'xmlns="http://www.w3.org/2000/svg"'


def resvg_render(svg_text: str) -> torch.Tensor:
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg_text, background="#ffffff"))
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255)


def polylines(seed: int, n: int = 8, size: int = 256):
    """Random open and closed chains of straight and curved segments (sharp corners), widths 1-12 px."""
    g = torch.Generator().manual_seed(seed)
    paths, closed = [], []
    for _ in range(n):
        k = int(torch.randint(2, 5, (1,), generator=g))
        v = [torch.rand(2, generator=g) * size * 0.7 + size * 0.15]
        for _ in range(k):
            v.append(v[-1] + (torch.rand(2, generator=g) - 0.5) * 80)
        pts = []
        for j in range(k):
            a, b = v[j], v[j + 1]
            if j % 2 and torch.rand(1, generator=g) < 0.5:
                m = (a + b) / 2 + (torch.rand(2, generator=g) - 0.5) * 40
                pts += [a, m, m]
            else:
                pts += [a, a + (b - a) / 3, a + 2 * (b - a) / 3]
        c = bool(torch.rand(1, generator=g) < 0.25)
        if not c:
            pts.append(v[-1])
        paths.append(torch.stack(pts))
        closed.append(c)
    w = torch.rand(n, generator=g) * 11 + 1
    return sketch_from_paths(paths, closed=closed, stroke_width=w, canvas=(size, size))


def styled(sketch, cap, join, seed):
    g = torch.Generator().manual_seed(1000 + seed)
    P = sketch.num_paths
    dashes = [canonical_dash(DASHES[int(torch.randint(len(DASHES), (1,), generator=g))],
                             float(torch.rand(1, generator=g)) * 10) for _ in range(P)]
    limits = tuple(float(x) for x in 1 + torch.rand(P, generator=g) * 4)
    return replace(sketch, style=PathStyle((cap,) * P, (join,) * P, limits, tuple(d for d, _ in dashes),
                                           tuple(o for _, o in dashes), (-1,) * P))


@pytest.mark.parametrize("cap", CAPS)
@pytest.mark.parametrize("join", JOINS)
def test_every_cap_join_dash_combination_matches_resvg(cap, join):
    for seed in range(2):
        for base in (polylines(seed), random_strokes(10, 256, seed=seed, width=(1.0, 12.0))):
            sk = styled(base, cap, join, seed)
            err = (render(sk) - resvg_render(dumps(sk))).abs().mean().item()
            assert err <= 0.01, (cap, join, seed, err)


def test_caps_and_joins_change_the_picture_where_they_should():
    """A thick V: butt is shorter than round, square longer; miter reaches further than bevel."""
    v = torch.tensor([[40.0, 40], [60, 80], [80, 120], [100, 160], [120, 120], [140, 80], [160, 40]])
    base = sketch_from_paths([v], stroke_width=20.0, canvas=(200, 200))

    def ink(cap, join, limit=10.0):
        sk = replace(base, style=PathStyle((cap,), (join,), (limit,), ((),), (0.0,), (-1,)))
        return float((1 - render(sk)).sum())

    assert ink("butt", "round") < ink("round", "round") < ink("square", "round")
    assert ink("butt", "bevel") < ink("butt", "round") < ink("butt", "miter")
    assert ink("butt", "miter", limit=1.0) == pytest.approx(ink("butt", "bevel"), rel=1e-4)  # over the limit: bevel
    # without a style the renderer draws round caps and joins (the LiveSketch look), exactly as before
    assert ink("round", "round") == pytest.approx(float((1 - render(base)).sum()), rel=1e-6)


def test_dashes_follow_the_curve_and_are_differentiable():
    path = torch.tensor([[30.0, 60], [80, 20], [130, 100], [170, 60]])
    base = sketch_from_paths([path], stroke_width=5.0, canvas=(200, 120))
    st = PathStyle(("butt",), ("miter",), (4.0,), ((8.0, 6.0),), (3.0,), (-1,))
    sk = replace(base, style=st)
    img = render(sk)
    # the dashes translate with the points (not fixed in the image)
    moved = render(sk, points=sk.points + torch.tensor([10.0, 0.0]))
    assert (moved[:, 10:] - img[:, :-10]).abs().mean() < 0.003
    # ink is ~ on / (on + off) of the solid line
    solid = render(base.with_style())
    ratio = float((1 - img).sum() / (1 - render(replace(base, style=replace(st, dash=((),))))).sum())
    assert 0.5 < ratio < 0.65 and float((1 - solid).sum()) > 0
    # gradients w.r.t. points and widths: finite differences agree
    pts = sk.points.clone().requires_grad_(True)
    width = torch.tensor([5.0], requires_grad=True)
    target = render(replace(sk, points=sk.points + torch.tensor([1.5, -1.0])))
    loss = ((render(sk, points=pts, stroke_width=width) - target) ** 2).sum()
    loss.backward()
    assert pts.grad.abs().sum() > 0 and width.grad.abs() > 0

    def f(p, w):
        with torch.no_grad():
            return float(((render(sk, points=p, stroke_width=w) - target) ** 2).sum())

    eps = 0.05
    for i, j in ((1, 0), (2, 1)):
        dp = torch.zeros_like(sk.points)
        dp[i, j] = eps
        fd = (f(sk.points + dp, width.detach()) - f(sk.points - dp, width.detach())) / (2 * eps)
        assert fd == pytest.approx(float(pts.grad[i, j]), rel=0.25, abs=0.5)
    fd_w = (f(sk.points, width.detach() + eps) - f(sk.points, width.detach() - eps)) / (2 * eps)
    assert fd_w == pytest.approx(float(width.grad), rel=0.25, abs=0.5)


def test_styled_frames_batch_like_single_frames():
    sk = styled(polylines(3), "square", "miter", 3)
    # rigid motions keep every frame's flattening the same, so batch and single frames agree exactly
    c, s_ = np.cos(0.3), np.sin(0.3)
    rot = torch.tensor([[c, -s_], [s_, c]], dtype=torch.float32)
    frames = torch.stack([sk.points, sk.points + torch.tensor([7.0, -4.0]), (sk.points - 128) @ rot.T + 128])
    batch = render(sk, frames)
    for t in range(3):
        torch.testing.assert_close(batch[t], render(sk, frames[t]), atol=1e-5, rtol=0)
    half = render(sk, size=128)
    assert half.shape == (128, 128, 3)


def test_clip_paths_match_resvg():
    body = ('<path d="M20 20 L 180 180 M 20 180 L 180 20" stroke="black" stroke-width="12" fill="none" '
            'stroke-dasharray="20 6"/><rect x="30" y="60" width="140" height="80" fill="red"/>')
    clip = '<circle cx="100" cy="100" r="60"/><path d="M0 0 H 80 V 80 H 0 Z M 10 10 H 40 V 40 H 10 Z" clip-rule="evenodd"/>'
    inner = '<rect x="0" y="70" width="200" height="200"/>'
    svg = (f'<svg {NS} width="200" height="200"><defs><clipPath id="c">{clip}</clipPath>'
           f'<clipPath id="d">{inner}</clipPath></defs>'
           f'<g clip-path="url(#c)"><g clip-path="url(#d)">{body}</g></g></svg>')
    sk = loads(f'<svg {NS} width="200" height="200">{body}</svg>')
    c1 = loads(f'<svg {NS} width="200" height="200">{clip.replace("clip-rule", "fill-rule")}</svg>')
    c2 = loads(f'<svg {NS} width="200" height="200">{inner}</svg>')
    P = sk.num_paths
    sk = replace(sk, style=replace(PathStyle.svg_default(P), dash=((20.0, 6.0), (20.0, 6.0), ()), clip=(1,) * P,
                                   clips=(ClipRegion(c1, -1), ClipRegion(c2, 0))))
    err = (render(sk) - resvg_render(svg)).abs().mean().item()
    assert err <= 0.005, err
    # a clip keeps the gradient of what it clips
    pts = sk.points.clone().requires_grad_(True)
    render(sk, points=pts).sum().backward()
    assert pts.grad.abs().sum() > 0


@pytest.mark.parametrize("cap,corner,centre", [("square", 1.0, 1.0), ("round", 0.0, 1.0), ("butt", 0.0, 0.0)])
def test_zero_length_path_caps_are_axis_aligned(cap, corner, centre):
    """SVG: a zero-length subpath draws its caps aligned with the x axis: a square, a dot, or nothing."""
    s = loads(f'<svg {NS} width="64" height="64"><path d="M 32 32 L 32 32" fill="none" stroke="black" stroke-width="10" '
              f'stroke-linecap="{cap}"/></svg>')
    ink = 1 - render(s).mean(-1)
    assert float(ink[32, 32]) == pytest.approx(centre, abs=0.01)
    assert float(ink[27, 27]) == pytest.approx(corner, abs=0.01)  # inside the square, outside the dot
