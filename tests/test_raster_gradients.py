"""Gradient paint servers: reader (core.svg), data model (core.style.Gradient), renderer (core.raster.paint),
SVG writer. Known answers are analytic pictures of the gradients SVG defines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sketchmotion.core import svg
from sketchmotion.core.raster import render
from sketchmotion.core.sketch import Sketch
from sketchmotion.core.style import Gradient

NS = 'xmlns="http://www.w3.org/2000/svg"'
W = H = 64
BW = '<stop offset="0" stop-color="black"/><stop offset="1" stop-color="white"/>'


def doc(defs: str, body: str, size=(W, H)) -> str:
    return f'<svg {NS} width="{size[0]}" height="{size[1]}"><defs>{defs}</defs>{body}</svg>'


def grey(img: torch.Tensor) -> np.ndarray:
    return img.numpy().mean(-1)


def full_rect(paint="url(#g)") -> str:
    return f'<rect width="{W}" height="{H}" fill="{paint}"/>'


def centres() -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)  # x, y


def test_linear_gradient_matches_the_analytic_ramp():
    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="0" y1="0" x2="{W}" y2="0">{BW}'
                      "</linearGradient>", full_rect()))
    x, _ = centres()
    err = np.abs(grey(render(s)) - x / W)
    assert err.max() < 0.01, err.max()
    # the flat stand-in every other consumer sees: the ramp's mean colour
    np.testing.assert_allclose(s.fill_color[0].numpy(), [0.5, 0.5, 0.5, 1.0], atol=1e-6)


def test_object_bounding_box_units_equal_the_same_gradient_in_user_space():
    box = '<rect x="16" y="8" width="32" height="40" fill="url(#g)"/>'
    obb = svg.loads(doc(f'<linearGradient id="g" x2="0" y2="1">{BW}</linearGradient>', box))
    user = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="0" y1="8" x2="0" y2="48">{BW}'
                         "</linearGradient>", box))
    a, b = render(obb), render(user)
    assert float((a - b).abs().max()) < 1e-4
    _, y = centres()
    inside = grey(a)[12:44, 20:44]
    np.testing.assert_allclose(inside, ((y - 8) / 40)[12:44, 20:44], atol=0.01)


def test_radial_gradient_at_a_few_pixels_and_pad_outside():
    s = svg.loads(doc(f'<radialGradient id="g" gradientUnits="userSpaceOnUse" cx="32" cy="32" r="20">{BW}'
                      "</radialGradient>", full_rect()))
    img = grey(render(s))
    for px, py in ((31, 31), (40, 31), (31, 45), (20, 20), (45, 40)):
        d = math.hypot(px + 0.5 - 32, py + 0.5 - 32)
        assert img[py, px] == pytest.approx(min(d / 20, 1.0), abs=0.01), (px, py)
    assert img[2, 2] == pytest.approx(1.0, abs=1e-4)  # beyond r: the last stop (pad)


def test_radial_focal_point_is_the_first_stop():
    s = svg.loads(doc(f'<radialGradient id="g" gradientUnits="userSpaceOnUse" cx="32" cy="32" r="24" fx="24" fy="32">'
                      f"{BW}</radialGradient>", full_rect()))
    img = grey(render(s))
    assert img[31, 23] < 0.06 and img[31, 40] > img[31, 23]  # darkest at the focus, not at the centre
    # on the circle, t = 1 in every direction
    assert img[31, 32 + 23] == pytest.approx(1.0, abs=0.05) and img[31, 32 - 24] == pytest.approx(1.0, abs=0.05)


def test_gradient_transform_rotates_the_ramp():
    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="0" y1="0" x2="{W}" y2="0" '
                      f'gradientTransform="rotate(90 32 32)">{BW}</linearGradient>', full_rect()))
    _, y = centres()
    np.testing.assert_allclose(grey(render(s)), y / H, atol=0.01)


@pytest.mark.parametrize("spread", ["pad", "reflect", "repeat"])
def test_spread_methods(spread):
    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="0" y1="0" x2="16" y2="0" '
                      f'spreadMethod="{spread}">{BW}</linearGradient>', full_rect()))
    x, _ = centres()
    t = x / 16
    want = {"pad": np.clip(t, 0, 1), "repeat": t - np.floor(t), "reflect": 1 - np.abs(np.mod(t, 2) - 1)}[spread]
    err = np.abs(grey(render(s)) - want)
    # a repeat's wrap is a hard edge inside one pixel: SVG does not anti-alias it either; skip those columns
    ok = np.abs(np.mod(x, 16)) > 1 if spread == "repeat" else np.ones_like(x, dtype=bool)
    assert err[ok].max() < 0.01, err[ok].max()


def test_href_inherits_stops_and_attributes_and_opacities_multiply():
    defs = (f'<linearGradient id="a" gradientUnits="userSpaceOnUse" x2="{W}" spreadMethod="reflect">{BW}</linearGradient>'
            '<linearGradient id="g" href="#a" x2="32"/>')
    s = svg.loads(doc(defs, full_rect().replace("/>", ' fill-opacity="0.5"/>')))
    g = s.style.paints[s.style.fill_paint[0]]
    assert g.spread == "reflect" and g.geometry == (0.0, 0.0, 32.0, 0.0)
    np.testing.assert_allclose(g.colors[:, 3].numpy(), [0.5, 0.5])
    img = grey(render(s))
    assert img[5, 31] == pytest.approx(1.0, abs=0.02) and img[5, 63] == pytest.approx(0.5, abs=0.02)


def test_stroke_gradient_and_single_stop_and_missing_stops():
    defs = (f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x2="{W}">{BW}</linearGradient>'
            '<linearGradient id="one"><stop offset="0.3" stop-color="#ff0000"/></linearGradient>'
            '<linearGradient id="none"/>')
    s = svg.loads(doc(defs, '<path d="M0 32 L64 32" stroke="url(#g)" stroke-width="8"/>'
                            '<rect width="8" height="8" fill="url(#one)"/><rect x="20" width="8" height="8" '
                            'fill="url(#none) #0000ff"/>'))
    assert s.style.stroke_paint[0] >= 0 and s.style.fill_paint[1:] == (-1, -1)
    np.testing.assert_allclose(s.fill_color[1].numpy(), [1, 0, 0, 1])  # one stop: a flat colour
    np.testing.assert_allclose(s.fill_color[2].numpy(), [0, 0, 1, 1])  # no stops: the fallback
    img = grey(render(s))
    assert img[32, 8] == pytest.approx(8.5 / 64, abs=0.02) and img[32, 56] == pytest.approx(56.5 / 64, abs=0.02)


def test_object_bounding_box_on_a_shape_without_area_uses_the_fallback():
    s = svg.loads(doc(f'<linearGradient id="g">{BW}</linearGradient>',
                      '<path d="M10 32 L50 32" stroke="url(#g) #00ff00" stroke-width="4"/>'
                      '<path d="M32 10 L32 50" stroke="url(#g)" stroke-width="4"/><rect width="1" height="1"/>'))
    assert s.style.stroke_paint[:2] == (-1, -1)
    np.testing.assert_allclose(s.stroke_color[0].numpy(), [0, 1, 0, 1])
    assert float(s.stroke_width[1]) == 0.0  # no fallback: not painted (SVG)


def test_mean_colour_is_the_ramp_integral():
    g = Gradient("linear", (0, 0, 1, 0), (1, 0, 0, 1, 0, 0), "pad", (0.0, 0.5),
                 torch.tensor([[1.0, 0, 0, 1], [0, 0, 1.0, 1]]))
    np.testing.assert_allclose(g.mean_color().numpy(), [0.25, 0, 0.75, 1], atol=1e-6)


def test_svg_round_trip_keeps_the_gradient(tmp_path):
    s = svg.loads(doc(f'<radialGradient id="g" cx="0.4" cy="0.5" r="0.6" fx="0.3" gradientTransform="rotate(20)" '
                      f'spreadMethod="repeat">{BW}</radialGradient>', '<rect x="4" y="6" width="50" height="40" '
                      'fill="url(#g)" fill-opacity="0.7"/>'))
    text = svg.dumps(s)
    assert "<radialGradient" in text and 'spreadMethod="repeat"' in text
    back = svg.loads(text)
    g0, g1 = s.style.paints[0], back.style.paints[0]
    assert g1.kind == "radial" and g1.spread == "repeat"
    np.testing.assert_allclose(g1.transform, g0.transform, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(g1.geometry, g0.geometry, atol=1e-4)
    np.testing.assert_allclose(g1.colors.numpy(), g0.colors.numpy(), atol=1 / 255)
    assert float((render(s) - render(back)).abs().max()) < 0.01


def test_json_round_trip_and_normalize_move_the_gradient():
    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="10" x2="50">{BW}</linearGradient>',
                      '<rect x="10" y="10" width="40" height="40" fill="url(#g)"/>'))
    back = Sketch.from_state_dict(s.state_dict())
    assert back.style.paints[0].geometry == s.style.paints[0].geometry
    assert float((render(back) - render(s)).abs().max()) < 1e-6
    n = svg.normalize(s, 128, margin=0.0)  # the rect fills the canvas; the ramp spans it left to right
    x = np.arange(128) + 0.5
    np.testing.assert_allclose(grey(render(n))[64, 2:-2], (x / 128)[2:-2], atol=0.01)


def test_gradients_are_differentiable_and_cost_nothing_without_them(monkeypatch):
    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x2="{W}">{BW}</linearGradient>',
                      full_rect()))
    cols = s.style.paints[0].colors.clone().requires_grad_(True)
    object.__setattr__(s.style.paints[0], "colors", cols)
    fill = s.fill_color.clone().requires_grad_(True)
    render(s, fill_color=fill).sum().backward()
    assert float(cols.grad.abs().sum()) > 0 and float(fill.grad.abs().sum()) > 0
    # the flat-colour override shifts the gradient (zero shift by default)
    shifted = render(s, fill_color=s.fill_color + torch.tensor([0.1, 0, 0, 0]))
    assert float((shifted - render(s)).detach()[..., 0].mean()) > 0.05
    # a sketch without gradients never reaches the paint module
    import sketchmotion.core.raster.paint as paint

    monkeypatch.setattr(paint, "paint_colors", lambda *a, **k: (_ for _ in ()).throw(AssertionError("called")))
    render(svg.loads(doc("", full_rect("#808080"))))


def test_gradient_tables_are_built_once_per_style_and_device(monkeypatch):
    """The gradient table and the per-path paint indices live on the renderer's per-style cache: a second
    render (any dtype) rebuilds neither and draws the same picture."""
    import sketchmotion.core.raster.paint as paint

    s = svg.loads(doc(f'<linearGradient id="g" gradientUnits="userSpaceOnUse" x2="{W}">{BW}</linearGradient>',
                      full_rect()))
    first = render(s)
    tables, indices = [], []
    real_table, real_tensor = paint._table, torch.tensor
    monkeypatch.setattr(paint, "_table", lambda *a: tables.append(1) or real_table(*a))
    monkeypatch.setattr(torch, "tensor", lambda data, *a, **k: (
        indices.append(1) if data is s.style.fill_paint or data is s.style.stroke_paint else None,
        real_tensor(data, *a, **k))[1])
    again = render(s)
    double = render(s, points=s.points.double(), fill_color=s.fill_color.double())
    assert tables == [] and indices == [] and torch.equal(first, again)
    assert float((double.float() - first).abs().max()) < 1e-5


def test_nothing_is_rebuilt_on_a_second_render_with_many_clips_gradients_and_groups(monkeypatch):
    """Ten clip regions, a gradient and opacity groups: the second render of the same style at the same
    size rebuilds no clip mask, gradient table or group table (each kind has its own few cache slots)."""
    import sketchmotion.core.raster.groups as groups
    import sketchmotion.core.raster.paint as paint
    import sketchmotion.core.raster.strokes as strokes

    clips = "".join(f'<clipPath id="c{i}"><rect x="{i}" y="{i}" width="40" height="40"/></clipPath>' for i in range(10))
    rects = "".join(f'<rect x="{2 * i}" y="{3 * i}" width="30" height="20" fill="url(#g)" stroke="black" opacity="0.5" '
                    f'clip-path="url(#c{i})"/>' for i in range(10))
    s = svg.loads(doc(clips + f'<linearGradient id="g" x2="1">{BW}</linearGradient>', f'<g opacity="0.8">{rects}</g>'))
    assert len(s.style.clips) == 10 and s.style.has_paints and len(s.style.opacity_groups) == 11
    first = render(s)
    built = []
    for mod, name in ((strokes, "_clip_mask"), (paint, "_table"), (groups, "nesting_depths")):
        real = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    assert torch.equal(render(s), first) and built == []


# ------------------------------------------------------------------ group opacity (composited as SVG does)
def test_group_opacity_composites_the_group_first():
    body = ('<g opacity="0.5"><rect width="40" height="40" fill="#ff0000"/>'
            '<rect x="20" y="20" width="40" height="40" fill="#0000ff"/></g>')
    s = svg.loads(doc("", body))
    assert s.style.opacity_groups == ((0, 2, 0.5),)
    img = render(s).numpy()
    np.testing.assert_allclose(img[30, 30], [0.5, 0.5, 1.0], atol=1e-3)  # overlap: only the top rect, faded
    np.testing.assert_allclose(img[10, 10], [1.0, 0.5, 0.5], atol=1e-3)
    # without the group record the same file draws SVG's per-shape approximation (red shows through)
    from dataclasses import replace

    approx = render(replace(s, style=replace(s.style, opacity_groups=()))).numpy()
    assert approx[30, 30, 1] < 0.3  # (0.25 green where the exact answer is 0.5)


def test_shape_opacity_with_fill_and_stroke_hides_the_fill_under_the_stroke():
    s = svg.loads(doc("", '<rect x="10" y="10" width="40" height="40" fill="#ff0000" stroke="#0000ff" '
                          'stroke-width="8" opacity="0.5"/>'))
    assert s.style.opacity_groups == ((0, 1, 0.5),)
    np.testing.assert_allclose(render(s).numpy()[10, 30], [0.5, 0.5, 1.0], atol=1e-3)  # stroke over fill


def test_nested_groups_and_selection_keep_what_stays_one_run():
    body = ('<g opacity="0.5"><rect width="30" height="30" fill="red"/><g opacity="0.5">'
            '<rect x="10" y="10" width="30" height="30" fill="lime"/><rect x="20" y="20" width="30" height="30" '
            'fill="blue"/></g></g>')
    s = svg.loads(doc("", body))
    assert set(s.style.opacity_groups) == {(1, 3, 0.5), (0, 3, 0.5)}
    img = render(s).numpy()
    # blue on top of the inner group (0.5 blue), then the outer group over white at 0.5: 0.25 blue
    np.testing.assert_allclose(img[35, 35], [0.75, 0.75, 1.0], atol=1e-3)
    assert s.select_paths([1, 2]).style.opacity_groups == ((0, 2, 0.5), (0, 2, 0.5))
    assert s.select_paths([1, 0, 2]).style.opacity_groups == ((0, 3, 0.5),)  # the inner run is broken
    back = Sketch.from_state_dict(s.state_dict())
    assert float((render(back) - render(s)).abs().max()) < 1e-6


def test_opacity_group_nesting_check_matches_the_pairwise_rule():
    """PathStyle's nested-or-disjoint check (one sort and a stack) agrees with the pairwise definition on
    random range sets, and each range's depth is the number of ranges around it (equal ones: the earlier)."""
    import random
    from dataclasses import replace

    from sketchmotion.core.errors import SketchError
    from sketchmotion.core.style import PathStyle, nesting_depths

    rng = random.Random(0)
    crossing = 0
    for _ in range(3000):
        P = rng.randint(1, 9)
        groups = []
        for _ in range(rng.randint(0, 6)):
            a = rng.randrange(P)
            groups.append((a, rng.randint(a + 1, P), 0.5))
        crosses = any(a < c < b < d or c < a < d < b for i, (a, b, _) in enumerate(groups) for c, d, _ in groups[i + 1:])
        depths = nesting_depths(groups)
        assert (depths is None) == crosses, groups
        crossing += crosses
        if depths is not None:
            around = [sum(1 for j, (c, d, _) in enumerate(groups) if c <= a and b <= d and ((c, d) != (a, b) or j < i))
                      for i, (a, b, _) in enumerate(groups)]
            assert depths == around, groups
        try:
            replace(PathStyle.default(P), opacity_groups=tuple(groups))
            assert not crosses
        except SketchError:
            assert crosses
    assert 300 < crossing < 2700, crossing  # both kinds of set were drawn


def _composite_group_by_group(style, P, pixel, layer, alpha, rgb):
    """Reference: each opacity group on its own, smallest first, over a scan of every entry."""
    path = layer // 2
    factor = torch.ones(P, dtype=alpha.dtype)
    for a, b, o in style.opacity_groups:
        factor[a:b] *= o
    f = factor[path]
    alpha = torch.where(f > 0, alpha / f.clamp_min(1e-12), torch.zeros_like(alpha))
    for a, b, o in sorted(style.opacity_groups, key=lambda g: g[1] - g[0]):
        idx = torch.nonzero((path >= a) & (path < b), as_tuple=True)[0]
        if idx.numel() == 0:
            continue
        alpha, rgb = alpha.clone(), rgb.clone()
        for px in torch.unique(pixel[idx]).tolist():
            i = idx[pixel[idx] == px]
            C, A = torch.zeros(3, dtype=rgb.dtype), torch.zeros((), dtype=alpha.dtype)
            for j in i.tolist():  # "over", bottom to top
                C, A = rgb[j] * alpha[j] + C * (1 - alpha[j]), alpha[j] + A * (1 - alpha[j])
            alpha[i] = 0
            alpha[i[0]], rgb[i[0]] = o * A, C / A.clamp_min(1e-12)
    return alpha, rgb


@pytest.mark.parametrize("seed", range(4))
def test_group_compositing_matches_one_group_at_a_time(seed):
    """Groups of one nesting depth are composited in one pass; the same as one group at a time over
    random entries and random nested / disjoint / equal groups."""
    from dataclasses import replace

    from sketchmotion.core.raster.groups import composite_groups
    from sketchmotion.core.style import PathStyle, nesting_depths

    g = torch.Generator().manual_seed(seed)
    P = 12
    groups = []
    while len(groups) < 7:
        a = int(torch.randint(0, P, (1,), generator=g))
        b = int(torch.randint(a + 1, P + 1, (1,), generator=g))
        if nesting_depths(groups + [(a, b, 0.0)]) is not None:
            groups.append((a, b, round(float(torch.rand(1, generator=g)), 3)))
    groups.append(groups[0])  # an equal range: one inside the other
    style = replace(PathStyle.default(P), opacity_groups=tuple(groups))
    keep = torch.rand(40, 2 * P, generator=g) < 0.4  # 40 pixels, each with a random set of layers
    pixel, layer = torch.nonzero(keep, as_tuple=True)  # sorted by pixel, then layer
    carried = torch.ones(P, dtype=torch.float64)
    for a, b, o in groups:
        carried[a:b] *= o
    alpha = torch.rand(pixel.numel(), generator=g, dtype=torch.float64) * 0.9 * carried[layer // 2]
    rgb = torch.rand(pixel.numel(), 3, generator=g, dtype=torch.float64)
    got = composite_groups(style, P, pixel, layer, alpha, rgb)
    want = _composite_group_by_group(style, P, pixel, layer, alpha, rgb)
    for x, y in zip(got, want):
        torch.testing.assert_close(x, y, atol=1e-9, rtol=1e-7)


def test_group_opacity_is_differentiable():
    s = svg.loads(doc("", '<g opacity="0.5"><rect width="40" height="40" fill="red"/>'
                          '<rect x="20" y="20" width="40" height="40" fill="blue"/></g>'))
    pts = s.points.clone().requires_grad_(True)
    col = s.fill_color.clone().requires_grad_(True)
    render(s, points=pts, fill_color=col).sum().backward()
    assert torch.isfinite(pts.grad).all() and float(pts.grad.abs().sum()) > 0
    assert torch.isfinite(col.grad).all() and float(col.grad.abs().sum()) > 0


# ------------------------------------------------------------------ against resvg, and through the animated SVG
RESVG_CASE = doc(
    '<linearGradient id="l" x1="0.1" y1="0" x2="0.9" y2="0.3" spreadMethod="reflect">'
    '<stop offset="0" stop-color="#d02020"/><stop offset="0.6" stop-color="#2040d0" stop-opacity="0.6"/>'
    '<stop offset="1" stop-color="#20a040"/></linearGradient>'
    '<radialGradient id="r" gradientUnits="userSpaceOnUse" cx="44" cy="40" r="18" fx="38" fy="36" '
    'gradientTransform="rotate(15 44 40)"><stop offset="0" stop-color="white"/><stop offset="1" stop-color="#303030"/>'
    '</radialGradient>',
    '<rect x="4" y="4" width="36" height="28" fill="url(#l)" stroke="url(#r)" stroke-width="4"/>'
    '<g opacity="0.6"><circle cx="44" cy="40" r="16" fill="url(#r)"/>'
    '<path d="M6 58 C 20 30 40 70 60 44" fill="none" stroke="url(#l)" stroke-width="6"/></g>')


def _resvg(text: str) -> torch.Tensor:
    import io

    from PIL import Image

    resvg_py = pytest.importorskip("resvg_py", reason="resvg-py (requirements-dev.txt) renders the file")
    png = bytes(resvg_py.svg_to_bytes(svg_string=text, background="#ffffff"))
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255)


def test_gradients_and_group_opacity_match_resvg():
    ours = render(svg.loads(RESVG_CASE))
    err = float((ours - _resvg(RESVG_CASE)).abs().mean())
    assert err < 0.01, err


def test_animated_svg_writes_the_gradients():
    from sketchmotion.core.export.animated_svg import animated_svg
    from sketchmotion.core.sketch import SketchAnimation

    sk = svg.loads(RESVG_CASE)
    anim = SketchAnimation(sketch=sk, frames=torch.stack([sk.points, sk.points + 2]), fps=4.0)
    text = animated_svg(anim)
    assert text.count("Gradient id=") >= len(sk.style.paints)
    first = svg.loads(text)
    assert first.style.fill_paint == sk.style.fill_paint and first.style.stroke_paint == sk.style.stroke_paint
    assert first.style.opacity_groups == sk.style.opacity_groups  # written as <g opacity>
    assert float((render(first) - render(sk)).abs().mean()) < 0.005


def test_svg_writer_keeps_opacity_groups_with_object_groups_and_gradients():
    body = ('<g data-object="1"><rect width="9" height="9" fill="blue"/></g>'
            '<g opacity="0.5"><g data-object="2"><rect x="4" y="4" width="30" height="30" fill="url(#l)"/>'
            '<rect x="20" y="20" width="30" height="30" fill="red" stroke="black" stroke-width="3" opacity="0.5"/></g>'
            '<g data-object="3"><circle cx="40" cy="12" r="9" fill="lime" stroke="url(#l)" stroke-width="4"/></g></g>')
    defs = f'<linearGradient id="l" gradientUnits="userSpaceOnUse" x2="{W}">{BW}</linearGradient>'
    s = svg.loads(doc(defs, body))
    text = svg.dumps(s)
    back = svg.loads(text)
    assert back.style.opacity_groups == s.style.opacity_groups and back.group.tolist() == s.group.tolist()
    np.testing.assert_allclose(back.fill_color.numpy(), s.fill_color.numpy(), atol=1 / 255)
    assert float((render(back) - render(s)).abs().max()) < 0.02
    assert '<g opacity="0.5">' in text and 'id="paint0_' in text  # the gradient's copy under the 0.5 group
