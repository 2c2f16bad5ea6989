"""SVG <-> Sketch: known control points, transforms, units, styles, round trips,
bad input, and renders by resvg (a renderer nobody here wrote)."""

import gzip
import io
import math
import os

import numpy as np
import pytest
import torch

from sketchmotion.core import svg
from sketchmotion.core.errors import SketchError
from sketchmotion.core.sketch import Sketch, sketch_from_paths

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
EXAMPLES = os.path.join(os.path.dirname(HERE), "sketches")


def doc(body: str, attrs: str = 'width="100" height="100"') -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}>{body}</svg>'


def one(body: str, **kw):
    """Load a document and return its single path's points as a numpy array."""
    s = svg.loads(doc(body), **kw)
    assert s.num_paths == 1, s
    return s.points.double().numpy(), s


def line_cubic(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return [a, a + (b - a) / 3, a + 2 * (b - a) / 3, b]


def read(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def render(text: str, width: int | None = None) -> np.ndarray:
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image

    png = resvg_py.svg_to_bytes(svg_string=text, background="#ffffff", skip_system_fonts=True, width=width, dpi=96)
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"), dtype=np.float64) / 255.0


# --------------------------------------------------------------- path data
def test_line_is_an_exact_cubic():
    p, s = one('<path d="M10 20 L30 40" stroke="black" fill="none"/>')
    np.testing.assert_allclose(p, line_cubic((10, 20), (30, 40)), atol=1e-5)
    assert s.num_segments == (1,) and s.closed == (False,)


def test_h_v_absolute_and_relative():
    pa, _ = one('<path d="M0 0 H10 V5 H6 V0" stroke="black" fill="none"/>')
    pr, _ = one('<path d="m0 0 h10 v5 h-4 v-5" stroke="black" fill="none"/>')
    np.testing.assert_allclose(pa, pr, atol=1e-6)
    np.testing.assert_allclose(pa[0::3], [[0, 0], [10, 0], [10, 5], [6, 5], [6, 0]], atol=1e-6)


def test_cubic_and_smooth_cubic_reflect_the_control_point():
    p, _ = one('<path d="M0 0 C0 10 10 10 10 0 S20 -10 20 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(p, [[0, 0], [0, 10], [10, 10], [10, 0], [10, -10], [20, -10], [20, 0]], atol=1e-6)
    pr, _ = one('<path d="M0 0 c0 10 10 10 10 0 s10 -10 10 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(pr, p, atol=1e-6)
    # S after a non-C command: the first control point is the current point
    p2, _ = one('<path d="M0 0 L5 0 S10 5 15 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(p2[4], [5, 0], atol=1e-6)


def test_quadratic_and_smooth_quadratic_are_exact_cubics():
    p, _ = one('<path d="M0 0 Q5 10 10 0 T20 0" stroke="black" fill="none"/>')
    # Q: c1 = p0 + 2/3 (q - p0), c2 = p3 + 2/3 (q - p3); T reflects q=(5,10) about (10,0) -> (15,-10)
    expect = [[0, 0], [10 / 3, 20 / 3], [20 / 3, 20 / 3], [10, 0], [40 / 3, -20 / 3], [50 / 3, -20 / 3], [20, 0]]
    np.testing.assert_allclose(p, expect, atol=1e-5)
    pr, _ = one('<path d="m0 0 q5 10 10 0 t10 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(pr, p, atol=1e-5)


def test_arc_semicircle_uses_four_cubics_on_the_circle():
    p, s = one('<path d="M0 0 A5 5 0 0 1 10 0" stroke="black" fill="none"/>')
    assert s.num_segments == (4,)  # 180 deg / 45 deg
    ends = p[0::3]
    np.testing.assert_allclose(np.hypot(ends[:, 0] - 5, ends[:, 1]), 5.0, atol=1e-5)
    np.testing.assert_allclose(ends[2], [5, -5], atol=1e-5)  # sweep=1 turns through -y (clockwise on screen)
    # every cubic stays on the circle to well under 0.01% of r
    for j in range(4):
        c = p[3 * j : 3 * j + 4]
        for t in (0.25, 0.5, 0.75):
            q = (1 - t) ** 3 * c[0] + 3 * (1 - t) ** 2 * t * c[1] + 3 * (1 - t) * t**2 * c[2] + t**3 * c[3]
            assert abs(math.hypot(q[0] - 5, q[1]) - 5) < 5e-4
    pr, _ = one('<path d="m0 0 a5 5 0 0 1 10 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(pr, p, atol=1e-5)


def test_arc_flags_packed_large_arc_and_degenerate_arcs():
    a, _ = one('<path d="M0 0 a5 5 0 1 0 10 0" stroke="black" fill="none"/>')
    b, _ = one('<path d="M0 0a5,5,0,1010,0" stroke="black" fill="none"/>')  # flags written without separators
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a[6], [5, 5], atol=1e-5)  # sweep=0: through +y
    # radii too small are scaled up (half circle); zero radius -> straight line; arc to itself -> omitted
    c, s = one('<path d="M0 0 A1 1 0 0 1 10 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(c[6], [5, -5], atol=1e-5)
    d, _ = one('<path d="M0 0 A0 5 0 0 1 10 0" stroke="black" fill="none"/>')
    np.testing.assert_allclose(d, line_cubic((0, 0), (10, 0)), atol=1e-6)
    e, s = one('<path d="M0 0 L10 0 A5 5 0 0 1 10 0" stroke="black" fill="none"/>')
    assert s.num_segments == (1,)


def test_subpaths_close_and_implicit_commands():
    s = svg.loads(doc('<path d="M0 0 10 0 10 10 z m 20 0 l 5 0 M50 50 L60 60 L50 50 Z" stroke="black" fill="none"/>'))
    assert s.num_paths == 3
    assert s.closed == (True, False, True)
    # implicit L after M; Z adds the closing line (10,10)->(0,0): 3 segments, 9 points
    assert s.num_segments[0] == 3 and len(s.path_points(0)) == 9
    np.testing.assert_allclose(s.path_points(0)[0::3].numpy(), [[0, 0], [10, 0], [10, 10]], atol=1e-6)
    # 'm' after 'z' is relative to the closed subpath's start (0,0)
    np.testing.assert_allclose(s.path_points(1)[0].numpy(), [20, 0])
    # the last subpath already ends on its start: no extra closing segment
    assert s.num_segments[2] == 2 and len(s.path_points(2)) == 6


def test_command_after_close_starts_a_new_subpath_at_the_old_start():
    s = svg.loads(doc('<path d="M10 10 L20 10 L20 20 Z L0 30" stroke="black" fill="none"/>'))
    assert s.num_paths == 2
    np.testing.assert_allclose(s.path_points(1).numpy(), line_cubic((10, 10), (0, 30)), atol=1e-5)


# ------------------------------------------------------------------ shapes
def test_line_polyline_polygon():
    p, s = one('<line x1="1" y1="2" x2="7" y2="8" stroke="red"/>')
    np.testing.assert_allclose(p, line_cubic((1, 2), (7, 8)), atol=1e-6)
    assert s.fill_color[0, 3] == 0  # a line never fills
    p, s = one('<polyline points="0,0 10,0 10,10" fill="none" stroke="black"/>')
    assert s.closed == (False,) and s.num_segments == (2,)
    p, s = one('<polygon points="0,0 10,0 10,10" fill="blue"/>')
    assert s.closed == (True,) and s.num_segments == (3,)
    np.testing.assert_allclose(p[0::3], [[0, 0], [10, 0], [10, 10]], atol=1e-6)
    np.testing.assert_allclose(s.fill_color[0].numpy(), [0, 0, 1, 1])


def test_rect_and_rounded_rect():
    p, s = one('<rect x="10" y="20" width="30" height="40" fill="black"/>')
    assert s.closed == (True,) and s.num_segments == (4,)
    np.testing.assert_allclose(p[0::3], [[10, 20], [40, 20], [40, 60], [10, 60]], atol=1e-6)
    # rx only: ry = rx; each corner is a 90 deg arc = 2 cubics -> 4 sides + 8 corner cubics
    p, s = one('<rect x="0" y="0" width="40" height="20" rx="5" fill="black"/>')
    assert s.num_segments == (12,)
    ends = p[0::3]
    np.testing.assert_allclose(ends[0], [5, 0], atol=1e-6)
    np.testing.assert_allclose(ends[1], [35, 0], atol=1e-6)
    np.testing.assert_allclose(ends[3], [40, 5], atol=1e-6)  # after the first corner
    mid = ends[2]  # half way round the corner centred at (35, 5)
    np.testing.assert_allclose(mid, [35 + 5 / math.sqrt(2), 5 - 5 / math.sqrt(2)], atol=1e-5)
    # rx larger than half the width is clamped; a fully round rect is an ellipse (no straight sides)
    p, s = one('<rect width="20" height="10" rx="50" ry="50" fill="black"/>')
    assert s.num_segments == (8,)
    ends = p[0::3]
    np.testing.assert_allclose(((ends[:, 0] - 10) / 10) ** 2 + ((ends[:, 1] - 5) / 5) ** 2, 1.0, atol=1e-6)


def test_circle_and_ellipse():
    p, s = one('<circle cx="50" cy="40" r="10" fill="black"/>')
    assert s.closed == (True,) and s.num_segments == (8,)
    np.testing.assert_allclose(p[0], [60, 40], atol=1e-6)
    np.testing.assert_allclose(np.hypot(p[0::3, 0] - 50, p[0::3, 1] - 40), 10, atol=1e-5)
    p, s = one('<ellipse cx="0" cy="0" rx="20" ry="5" fill="black"/>')
    np.testing.assert_allclose(p[0::3][[0, 2, 4, 6]], [[20, 0], [0, 5], [-20, 0], [0, -5]], atol=1e-5)
    # zero radius renders nothing
    with pytest.raises(SketchError, match="no drawable paths"):
        svg.loads(doc('<circle cx="5" cy="5" r="0"/>'))


# -------------------------------------------------------------- transforms
def test_nested_transforms_against_hand_computed_points():
    body = (
        '<g transform="translate(100,50)"><g transform="rotate(90)">'
        '<path d="M10 0 L20 0" transform="scale(2)" stroke="black" stroke-width="3" fill="none"/></g></g>'
    )
    p, s = one(body)
    # scale(2): (20,0),(40,0); rotate 90 (x,y)->(-y,x): (0,20),(0,40); translate: (100,70),(100,90)
    np.testing.assert_allclose(p[[0, 3]], [[100, 70], [100, 90]], atol=1e-5)
    assert s.stroke_width[0].item() == pytest.approx(6.0)  # sqrt(|det|) = 2


def test_matrix_transform_and_width_under_nonuniform_scale():
    body = '<path d="M1 1 L2 3" transform="matrix(2,1,0,3,5,7)" stroke="black" stroke-width="2" fill="none"/>'
    p, s = one(body)
    # x' = 2x + 0y + 5, y' = 1x + 3y + 7
    np.testing.assert_allclose(p[[0, 3]], [[7, 11], [9, 18]], atol=1e-5)
    assert s.stroke_width[0].item() == pytest.approx(2 * math.sqrt(6), rel=1e-6)


def test_rotate_about_a_point_and_skew():
    p, _ = one('<path d="M20 10 L30 10" transform="rotate(180 10 10)" stroke="black" fill="none"/>')
    np.testing.assert_allclose(p[[0, 3]], [[0, 10], [-10, 10]], atol=1e-5)
    p, _ = one('<path d="M0 10 L0 20" transform="skewX(45)" stroke="black" fill="none"/>')
    np.testing.assert_allclose(p[[0, 3]], [[10, 10], [20, 20]], atol=1e-5)


# --------------------------------------------------------- canvas and units
@pytest.mark.parametrize(
    "w,h,canvas",
    [("2in", "1in", (192, 96)), ("127mm", "63.5mm", (480, 240)), ("72pt", "36pt", (96, 48)),
     ("6pc", "3pc", (96, 48)), ("5.08cm", "2.54cm", (192, 96)), ("200px", "100", (200, 100))],
)
def test_units(w, h, canvas):
    s = svg.loads(doc('<path d="M10 5 L20 10" stroke="black" fill="none"/>', f'width="{w}" height="{h}" viewBox="0 0 20 10"'))
    assert s.canvas == canvas
    np.testing.assert_allclose(s.points[-1].numpy(), [canvas[0], canvas[1]], atol=1e-3)


def test_viewbox_mapping_and_preserve_aspect_ratio():
    body = '<path d="M0 0 L100 50" stroke="black" fill="none"/>'
    attrs = 'width="200" height="200" viewBox="0 0 100 50"'
    ends = lambda s: s.points[[0, -1]].numpy()  # noqa: E731
    np.testing.assert_allclose(ends(svg.loads(doc(body, attrs))), [[0, 50], [200, 150]], atol=1e-4)  # xMidYMid meet
    s = svg.loads(doc(body, attrs + ' preserveAspectRatio="xMinYMax meet"'))
    np.testing.assert_allclose(ends(s), [[0, 100], [200, 200]], atol=1e-4)
    s = svg.loads(doc(body, attrs + ' preserveAspectRatio="none"'))
    np.testing.assert_allclose(ends(s), [[0, 0], [200, 200]], atol=1e-4)
    s = svg.loads(doc(body, attrs + ' preserveAspectRatio="xMidYMid slice"'))  # scale 4, centred in x
    np.testing.assert_allclose(ends(s), [[-100, 0], [300, 200]], atol=1e-4)
    s = svg.loads(doc(body, 'viewBox="-50 -25 100 50"'))  # no size: the viewBox size, origin shifted
    assert s.canvas == (100, 50)
    np.testing.assert_allclose(ends(s), [[50, 25], [150, 75]], atol=1e-4)


def test_percent_size_falls_back_to_viewbox_and_one_side_keeps_the_aspect():
    s = svg.loads(doc('<path d="M0 0 L10 10" stroke="black"/>', 'width="100%" height="100%" viewBox="0 0 300 150"'))
    assert s.canvas == (300, 150)
    s = svg.loads(doc('<path d="M0 0 L10 10" stroke="black"/>', 'width="600" viewBox="0 0 300 150"'))
    assert s.canvas == (600, 300)
    s = svg.loads('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L30.5 20" stroke="black"/></svg>')
    assert s.canvas == (31, 20)  # no size information: the drawing's extent


def test_missing_xmlns_works():
    s = svg.loads('<svg width="10" height="10"><path d="M0 0 L5 5" stroke="black"/></svg>')
    assert s.num_paths == 1


# ------------------------------------------------------------------ styles
def test_style_precedence_attribute_sheet_inline():
    css = "<style>.c{stroke:#00ff00} path{stroke-width:7} #p2{stroke:blue} .a,.b{fill:red}</style>"
    body = (
        css
        + '<path d="M0 0 L9 9" stroke="red" class="c"/>'  # sheet beats attribute
        + '<path id="p2" class="c" d="M0 0 L9 9"/>'  # id beats class
        + '<path class="c" d="M0 0 L9 9" style="stroke:rgb(0,0,255);stroke-width:2"/>'  # inline beats sheet
        + '<rect class="b" width="5" height="5"/>'  # comma list
    )
    s = svg.loads(doc(body))
    np.testing.assert_allclose(s.stroke_color[:3].numpy(), [[0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_allclose(s.stroke_width.numpy(), [7, 7, 2, 0])
    np.testing.assert_allclose(s.fill_color[3].numpy(), [1, 0, 0, 1])
    # closed=False paths have no fill; a filled open path is closed (SVG fills it as if closed)
    assert s.closed[:3] == (True, True, True)


def test_inheritance_defaults_and_opacity():
    body = (
        '<g stroke="#ff0000" stroke-width="4" fill="none" opacity="0.5">'
        '<g opacity="0.5" stroke-opacity="0.8"><path d="M0 0 L9 9"/></g>'
        '<path d="M0 0 L9 9" stroke="inherit" stroke-width="inherit" fill="#000"/>'
        "</g>"
        '<path d="M0 0 L9 0 L9 9 Z"/>'  # SVG defaults: fill black, no stroke
    )
    s = svg.loads(doc(body))
    np.testing.assert_allclose(s.stroke_color[0].numpy(), [1, 0, 0, 0.5 * 0.5 * 0.8], atol=1e-6)
    assert s.stroke_width[0] == 4 and s.fill_color[0, 3] == 0
    np.testing.assert_allclose(s.fill_color[1].numpy(), [0, 0, 0, 0.5])
    assert s.stroke_width[2] == 0 and s.stroke_color[2, 3] == 0
    np.testing.assert_allclose(s.fill_color[2].numpy(), [0, 0, 0, 1])


@pytest.mark.parametrize(
    "value,rgba",
    [("red", (1, 0, 0, 1)), ("#0f0", (0, 1, 0, 1)), ("#0000FF", (0, 0, 1, 1)), ("rgb(255, 128, 0)", (1, 128 / 255, 0, 1)),
     ("rgba(0,0,255,0.25)", (0, 0, 1, 0.25)), ("rgb(100%,0%,50%)", (1, 0, 0.5, 1)), ("rgb(0 0 255 / 50%)", (0, 0, 1, 0.5)),
     ("#ff000080", (1, 0, 0, 128 / 255)), ("transparent", (0, 0, 0, 0)), ("currentColor", (0, 128 / 255, 0, 1)),
     ("cornflowerblue", (100 / 255, 149 / 255, 237 / 255, 1))],
)
def test_colours(value, rgba):
    body = f'<path d="M0 0 L9 9" color="green" stroke="{value}" fill="none"/><path d="M0 0 L9 9" stroke="black"/>'
    s = svg.loads(doc(body))
    np.testing.assert_allclose(s.stroke_color[0].numpy(), rgba, atol=1e-6)


def test_fill_rule_fill_opacity_and_stroke_none():
    s = svg.loads(doc('<g fill-rule="evenodd"><path d="M0 0 L9 0 L9 9 Z" fill="#8000ff" fill-opacity="0.5" stroke="none"/></g>'))
    assert s.fill_rule == ("evenodd",)
    np.testing.assert_allclose(s.fill_color[0].numpy(), [128 / 255, 0, 1, 0.5], atol=1e-6)
    assert s.stroke_width[0] == 0


def test_gradient_paint_becomes_its_mean_stop_colour():
    body = (
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#ff0000"/>'
        '<stop offset="1" style="stop-color:#0000ff;stop-opacity:0.5"/></linearGradient>'
        '<linearGradient id="h" href="#g"/></defs>'
        '<rect width="5" height="5" fill="url(#h)"/><rect width="5" height="5" fill="url(#missing) #00ff00"/>'
    )
    s = svg.loads(doc(body))
    np.testing.assert_allclose(s.fill_color[0].numpy(), [0.5, 0, 0.5, 0.75], atol=1e-6)
    np.testing.assert_allclose(s.fill_color[1].numpy(), [0, 1, 0, 1])


def test_skipped_and_hidden_elements():
    body = (
        '<defs><path d="M0 0 L1 1" stroke="black"/></defs><clipPath><rect width="5" height="5"/></clipPath>'
        '<mask><rect width="5" height="5"/></mask><symbol id="s"><rect width="5" height="5"/></symbol>'
        "<metadata/><title>t</title><desc>d</desc><text>hi</text>"
        '<g display="none"><path d="M0 0 L1 1" stroke="black"/></g>'
        '<g style="visibility:hidden"><path d="M0 0 L1 1" stroke="black"/>'
        '<path id="shown" d="M0 0 L2 2" stroke="black" fill="none" visibility="visible"/></g>'
        '<foo:bar xmlns:foo="urn:x"><path d="M0 0 L1 1" stroke="black"/></foo:bar>'
    )
    s = svg.loads(doc(body))
    assert s.num_paths == 1
    np.testing.assert_allclose(s.points[-1].numpy(), [2, 2])


def test_use_symbol_nested_svg_and_switch():
    body = (
        '<defs><path id="p" d="M0 0 L10 0" stroke="black"/>'
        '<symbol id="sym" viewBox="0 0 10 10"><path d="M0 0 L10 10" stroke="black"/></symbol></defs>'
        '<use href="#p" x="5" y="7" stroke-width="3"/>'
        '<use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="#sym" x="10" y="10" width="20" height="20"/>'
        '<svg x="50" y="50" width="20" height="10" viewBox="0 0 2 1"><path d="M0 0 L2 1" stroke="black"/></svg>'
        '<switch><foreignObject requiredExtensions="x"/><path d="M1 1 L3 3" stroke="black"/><path d="M0 0 L9 9"/></switch>'
    )
    s = svg.loads(doc(body))
    assert s.num_paths == 4
    np.testing.assert_allclose(s.path_points(0)[[0, 3]].numpy(), [[5, 7], [15, 7]], atol=1e-5)
    assert s.stroke_width[0] == 3  # inherited from the <use>
    np.testing.assert_allclose(s.path_points(1)[[0, 3]].numpy(), [[10, 10], [30, 30]], atol=1e-5)
    np.testing.assert_allclose(s.path_points(2)[[0, 3]].numpy(), [[50, 50], [70, 60]], atol=1e-5)
    np.testing.assert_allclose(s.path_points(3)[[0, 3]].numpy(), [[1, 1], [3, 3]], atol=1e-5)


def test_filled_compound_path_keeps_its_hole():
    text = doc(
        '<path fill="#000" fill-rule="evenodd" d="M10 10 H90 V90 H10 Z M30 30 H70 V70 H30 Z"/>'
        '<path fill="#000" d="M110 10 H190 V90 H110 Z M130 30 V70 H170 V30 Z"/>',
        'width="200" height="100"',
    )
    s = svg.loads(text)
    assert s.num_paths == 4 and all(s.closed)  # every subpath is a path ...
    assert s.compound.tolist() == [0, 0, 1, 1]  # ... and each element one compound shape
    assert svg.dumps(s).count("<path") == 2  # written back as two compound <path>s
    from sketchmotion.core.raster import render as our_render

    ours = our_render(s).numpy()
    assert ours[50, 50].min() > 0.99 and ours[50, 150].min() > 0.99  # our renderer keeps the holes too
    img = render(svg.dumps(s))
    assert img[50, 50].min() > 0.99 and img[50, 150].min() > 0.99  # holes stay empty
    assert img[20, 20].max() < 0.01 and img[20, 120].max() < 0.01
    assert np.abs(img - render(text)).mean() < 1e-3


def test_open_filled_subpath_is_closed():
    s = svg.loads(doc('<path d="M0 0 L10 0 L10 10" fill="red" stroke="black"/>'))
    assert s.closed == (True,) and s.num_segments == (3,)


# -------------------------------------------------------- groups and output
def test_data_object_groups():
    body = (
        '<g data-object="1"><path d="M0 0 L1 1" stroke="black"/></g>'
        '<g data-object="0"><g><path d="M0 0 L2 2" stroke="black"/></g></g>'
        '<path d="M0 0 L3 3" stroke="black"/>'
    )
    assert svg.loads(doc(body)).group.tolist() == [1, 0, 2]  # outside any object: a group of its own
    named = doc('<g data-object="dog"><path d="M0 0 L1 1" stroke="black"/></g><g data-object="ball"><path d="M0 0 L1 1" stroke="black"/></g>')
    assert svg.loads(named).group.tolist() == [0, 1]
    assert svg.loads(doc('<path d="M0 0 L1 1" stroke="black"/>')).group.tolist() == [0]


def random_sketch(seed=0):
    g = torch.Generator().manual_seed(seed)
    paths, closed = [], []
    for i in range(7):
        k = 1 + i % 3
        c = i % 2 == 1
        paths.append(torch.rand(3 * k + (0 if c else 1), 2, generator=g) * 250 + 3)
        closed.append(c)
    return sketch_from_paths(
        paths,
        closed=closed,
        stroke_width=torch.rand(7, generator=g) * 5 + 0.5,
        stroke_color=torch.cat([torch.rand(7, 3, generator=g), torch.rand(7, 1, generator=g) * 0.5 + 0.5], 1),
        fill_color=torch.tensor([[0.2, 0.4, 0.6, 0.7 * (i % 2)] for i in range(7)]),
        fill_rule=["evenodd" if i == 3 else "nonzero" for i in range(7)],
        group=[0, 0, 2, 1, 1, 0, 2],
        canvas=(256, 200),
    )


def test_round_trip_load_save_load(tmp_path):
    a = random_sketch()
    f = tmp_path / "a.svg"
    svg.save(a, f)
    b = svg.load(f)
    svg.save(b, tmp_path / "b.svg")
    c = svg.load(tmp_path / "b.svg")
    for x in (b, c):
        assert x.num_segments == a.num_segments and x.closed == a.closed and x.canvas == a.canvas
        assert (x.points - a.points).abs().max() < 1e-4
        assert (x.stroke_width - a.stroke_width).abs().max() < 1e-4
        assert (x.stroke_color - a.stroke_color).abs().max() <= 0.5 / 255 + 1e-6
        filled = torch.tensor(a.closed)
        assert (x.fill_color[filled] - a.fill_color[filled]).abs().max() <= 0.5 / 255 + 1e-6
        assert x.fill_rule == a.fill_rule and x.group.tolist() == a.group.tolist()
    assert (tmp_path / "a.svg").read_text() != "" and (tmp_path / "b.svg").read_text() == (tmp_path / "a.svg").read_text()


def test_dumps_format_and_render():
    a = random_sketch(1)
    text = svg.dumps(a)
    assert 'xmlns="http://www.w3.org/2000/svg"' in text and 'viewBox="0 0 256 200"' in text
    assert text.count("<path ") == a.num_paths and text.count('data-object="') == 5  # runs: 0,2,1,0,2
    assert 'stroke-linecap="round"' in text and 'fill-rule="evenodd"' in text
    assert render(text).shape == (200, 256, 3)
    with pytest.raises(SketchError, match="2D"):
        svg.dumps(a.with_points(torch.zeros(a.num_points, 3)))


def test_writer_work_per_shape_is_constant_with_opacity_groups_and_gradients(monkeypatch):
    """Shapes with fill, stroke and opacity (an opacity group each) painted with a gradient at several
    opacities, inside a clip: the writer sorts the group opacities once per sketch, not once per shape,
    writes one <defs> holding the clip and every gradient copy, and every reference resolves."""
    import re

    shapes = "".join(f'<rect x="{i}" y="{i}" width="20" height="20" fill="url(#g)" stroke="black" '
                     f'opacity="{(1, 0.5, 0.25)[i % 3]}"/>' for i in range(60))
    defs = ('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue"/>'
            '</linearGradient><clipPath id="c"><rect width="90" height="90"/></clipPath></defs>')
    s = svg.loads(doc(defs + f'<g clip-path="url(#c)">{shapes}</g>'))
    calls = []
    monkeypatch.setattr(svg, "sorted", lambda *a, **k: calls.append(1) or sorted(*a, **k), raising=False)
    text = svg.dumps(s)
    assert len(calls) < 10, len(calls)
    assert text.count("<defs>") == 1 and text.count("</defs>") == 1
    inside = text[text.index("<defs>"):text.index("</defs>")]
    ids = set(re.findall(r'id="([^"]+)"', inside))
    assert "clip0" in ids and {re.sub(r"^paint\d+", "", i) for i in ids if i.startswith("paint")} == {"", "_0", "_1"}
    assert set(re.findall(r'url\(#([^)]+)\)', text)) <= ids
    back = svg.loads(text)
    assert back.style.opacity_groups == s.style.opacity_groups


@pytest.mark.parametrize("clip,gradient", [(False, False), (True, False), (False, True), (True, True)])
def test_written_defs_hold_clips_and_gradients_alone_or_together(clip, gradient):
    import re

    defs = ('<clipPath id="c"><circle cx="50" cy="50" r="40"/></clipPath>' * clip
            + '<linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue"/>'
            '</linearGradient>' * gradient)
    fill = "url(#g)" if gradient else "red"
    clipped = ' clip-path="url(#c)"' if clip else ""
    s = svg.loads(doc(f'<defs>{defs}</defs><rect width="80" height="80" fill="{fill}"{clipped}/>'))
    text = svg.dumps(s)
    assert text.count("<defs>") == text.count("</defs>") == (clip or gradient)
    assert text.count("<clipPath") == clip and text.count("<linearGradient") == gradient
    ids = set(re.findall(r'id="([^"]+)"', text))
    assert set(re.findall(r'url\(#([^)]+)\)', text)) <= ids
    if clip or gradient:
        assert text.index("<defs>") < min(text.index(t) for t in ("<clipPath", "<linearGradient") if t in text)
        assert text.index("</defs>") < text.rindex("<path ")  # the drawn shape comes after the defs


@pytest.mark.parametrize("name", ["illustrator.svg", "inkscape.svg"])
def test_editor_files_render_the_same_after_conversion(name):
    text = read(os.path.join(DATA, name))
    s = svg.loads(text)
    diff = np.abs(render(text, 400) - render(svg.dumps(s), 400))
    assert diff.mean() < 2e-4 and (diff.max(-1) > 0.25).mean() < 1e-3


def test_illustrator_file_contents():
    s = svg.load(os.path.join(DATA, "illustrator.svg"))
    assert s.canvas == (500, 400) and s.num_paths == 9  # the compound path with a hole: two subpaths ...
    assert s.compound.tolist() == [0, 1, 2, 3, 4, 5, 5, 6, 7]  # ... of one compound shape
    np.testing.assert_allclose(s.stroke_width.numpy(), [6, 6, 0, 4, 4, 0, 0, 0, 6])
    np.testing.assert_allclose(s.fill_color[2].numpy(), [0xF2 / 255, 0xC9 / 255, 0x4C / 255, 1], atol=1e-6)
    np.testing.assert_allclose(s.fill_color[7, 3].item(), 0.5)  # .st3 opacity
    assert s.closed == (False, False, True, True, True, True, True, True, False)


def test_inkscape_file_contents():
    s = svg.load(os.path.join(DATA, "inkscape.svg"))
    assert s.canvas == (480, 288) and s.num_paths == 6  # text skipped, namedview ignored
    k = 480 / 127  # px per user unit
    np.testing.assert_allclose(s.path_points(0)[0].numpy(), [(20 - 10.5) * k, (35 - 20.25) * k], atol=1e-3)
    np.testing.assert_allclose(s.stroke_width[0].item(), 0.8 * k, rtol=1e-5)
    np.testing.assert_allclose(s.stroke_width[3].item(), 1.5 * 0.8 * k, rtol=1e-5)
    np.testing.assert_allclose(s.stroke_color[4].numpy(), [0xAA / 255, 0, 0, 0.5], atol=1e-6)


def test_load_without_the_canvas_check_then_normalize_is_load_normalized(tmp_path):
    """What the animate CLI does (read the SVG before the model load, fit it once the size is known) gives
    exactly the sketch `load(normalize=n)` gives, also for a canvas over MAX_CANVAS."""
    big = tmp_path / "big.svg"
    big.write_text(doc('<path d="M100 100 C 5000 300 9000 9000 20000 100" stroke="black" stroke-width="40"/>'
                       '<rect x="3000" y="4000" width="5000" height="2000" fill="red" stroke-dasharray="10 5" stroke="blue"/>',
                       'width="20000" height="12000"'))
    with pytest.raises(SketchError, match="larger than"):
        svg.load(big)
    for path in (big, os.path.join(EXAMPLES, "cat.svg")):
        raw = svg.load(path, check_canvas=False)
        for n in (64, (96, 64)):
            a, b = svg.normalize(raw, n), svg.load(path, normalize=n)
            assert a.canvas == b.canvas and torch.equal(a.points, b.points) and torch.equal(a.stroke_width, b.stroke_width)
            assert a.style.dash == b.style.dash


# --------------------------------------------------------------- normalize
def test_normalize_fits_and_centres_with_margin():
    s = svg.loads(doc('<path d="M10 10 L30 20" stroke="black" stroke-width="2"/>', 'width="1000" height="1000"'))
    n = svg.normalize(s, 256, margin=0.1)
    # extent with half the stroke: 22 x 12 -> scale 204.8 / 22
    k = 204.8 / 22
    lo, hi = n.points.min(0).values.numpy(), n.points.max(0).values.numpy()
    np.testing.assert_allclose((lo + hi) / 2, [128, 128], atol=1e-3)
    np.testing.assert_allclose(hi - lo, [20 * k, 10 * k], atol=1e-3)
    assert n.canvas == (256, 256) and n.stroke_width[0].item() == pytest.approx(2 * k, rel=1e-5)
    m = svg.loads(doc('<path d="M10 10 L30 20" stroke="black"/>'), normalize=(300, 100), margin=0.0)
    assert m.canvas == (300, 100)
    assert m.points[:, 1].min().item() == pytest.approx(100 / 11 * 0.5, abs=1e-3)


def test_normalize_uses_the_curve_not_its_control_points():
    s = svg.loads(doc('<path d="M0 0 C0 100 100 100 100 0" stroke="black" stroke-width="0.01"/>'))
    n = svg.normalize(s, 100, margin=0.0)
    # the curve reaches y = 75 (3/4 of the control polygon), so x spans the full 100 px
    assert n.points[:, 0].max() - n.points[:, 0].min() == pytest.approx(100, abs=0.05)


def test_load_overrides_and_svgz(tmp_path):
    text = doc('<path d="M0 0 L9 9" stroke="red"/>')
    f = tmp_path / "a.svgz"
    f.write_bytes(gzip.compress(text.encode()))
    s = svg.load(f, stroke_width=3, stroke_color="black")
    assert s.stroke_width.tolist() == [3] and s.stroke_color[0].tolist() == [0, 0, 0, 1]
    s = svg.loads(text.encode(), stroke_color=(0, 0, 1))
    assert s.stroke_color[0].tolist() == [0, 0, 1, 1]


# ---------------------------------------------------------------- bad input
BAD = [
    ("<svg><path d='M0 0 L1 1'", "not well-formed"),
    ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "&b;&b;"><!ENTITY b "bb">]><svg>&a;</svg>', "entities"),
    ('<!DOCTYPE svg [<!ENTITY % p "x">]><svg/>', "entities"),
    ('<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>', "entities"),
    ('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "not <svg>"),
    ("", "empty"),
    (doc("<text>only text</text>"), "convert text to paths"),
    (doc(""), "no drawable paths"),
    (doc('<path d="M0 0 L1 1" stroke="none" fill="none"/>'), "invisible"),
    (doc('<path d="M0 0 L nan 1" stroke="black"/>'), "Malformed path data"),
    (doc('<path d="M0 0 L 1e999 1" stroke="black"/>'), "not finite"),
    (doc('<path d="M0 0 L10 0" transform="scale(1e300) scale(1e300)" stroke="black"/>'), "finite"),
    (doc('<path d="M0 0 L10 0" transform="scale(1e39)" stroke="black"/>'), "too large"),
    (doc('<path d="0 0 L1 1" stroke="black"/>'), "Malformed path data"),
    (doc('<path d="M0 0 A5 5 0 2 1 10 0" stroke="black"/>'), "arc flag"),
    (doc('<path d="M0 0 L1 1" stroke="black"/>', 'width="20000" height="10"'), "normalize"),
    (doc('<path d="M0 0 L1 1" stroke="black"/>', 'width="0" height="10"'), "must be positive"),
    (doc('<path d="M0 0 L1 1" stroke="black"/>', 'width="-5" height="10"'), "must be positive"),
    (doc('<path d="M0 0 L1 1" stroke="black"/>', 'viewBox="0 0 0 10"'), "non-positive size"),
    (doc('<path d="M0 0 L1 1" stroke="black"/>', 'width="10furlongs" height="10"'), "not a length"),
    (doc('<g id="a"><use href="#a"/></g>'), "cycle"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_input_raises_one_clear_error(text, message):
    with pytest.raises(SketchError, match=message):
        svg.loads(text)


def test_invalid_paint_and_transform_are_ignored_as_browsers_do_and_listed():
    s = svg.loads(doc('<g fill="#00ff00" stroke="black"><rect width="9" height="9" fill="#qqq" stroke="rgb(0, 50%, 0)" '
                      'transform="qwe"/><rect x="20" width="9" height="9" fill="red icc-color(a, 0.1)"/></g>'))
    np.testing.assert_allclose(s.fill_color[:, :3].numpy(), [[0, 1, 0], [0, 1, 0]])  # inherited, not an error
    np.testing.assert_allclose(s.stroke_color[0].numpy(), [0, 0, 0, 1])  # mixing numbers and % is invalid CSS
    assert float(s.points[:, 0].min()) == 0.0  # the transform was ignored
    assert "invalid paint values (ignored)" in s.dropped and "invalid transforms (ignored)" in s.dropped


def test_css_selectors_combinators_attributes_and_specificity():
    css = ("<style>g#a * g rect { fill: #00ff00 } g#a * rect { fill: red } svg > rect { fill: #0000ff } "
           "rect { stroke: black } [data-k='v'] { stroke: #ff0000 } rect + rect { stroke-width: 3 } circle:first-child { fill: #00ff00 } "
           "rect:hover { fill: red }</style>")
    body = ('<g id="a"><g><g><rect width="5" height="5"/></g></g></g><rect width="5" height="5"/>'
            '<rect width="5" height="5" data-k="v"/><g><circle r="2"/></g>')
    s = svg.loads(doc(css + body))
    fills = s.fill_color[:, :3].numpy()
    np.testing.assert_allclose(fills[0], [0, 1, 0])  # the more specific rule wins, although it comes first
    np.testing.assert_allclose(fills[1], [0, 0, 1])  # svg > rect; the :hover rule is ignored
    np.testing.assert_allclose(s.stroke_color[2].numpy(), [1, 0, 0, 1])
    assert float(s.stroke_width[2]) == 3.0 and float(s.stroke_width[1]) == 1.0  # rect + rect: only the third
    np.testing.assert_allclose(fills[-1], [0, 1, 0])  # circle:first-child


def test_path_data_without_moveto_is_not_drawn_but_the_rest_is():
    s = svg.loads(doc('<path d="A 5 5 0 0 1 50 50" fill="green"/><rect width="5" height="5"/>'))
    assert s.num_paths == 1 and "invalid path data (not drawn)" in s.dropped
    with pytest.raises(SketchError, match="moveto"):  # nothing else to draw: the path's own message
        svg.loads(doc('<path d="L 5 5" stroke="black"/>'))


def test_limits(tmp_path, monkeypatch):
    many = doc("".join(f'<path d="M0 0 L{i % 9} 1 M2 2 L3 3" stroke="black"/>' for i in range(60)))
    monkeypatch.setattr(svg, "MAX_PATHS", 100)
    with pytest.raises(SketchError, match="more than 100 paths"):
        svg.loads(many)
    monkeypatch.setattr(svg, "MAX_PATHS", 10_000)
    monkeypatch.setattr(svg, "MAX_SEGMENTS", 50)
    with pytest.raises(SketchError, match="more than 50 curve segments"):
        svg.loads(many)
    deep = doc("<g>" * 300 + '<path d="M0 0 L1 1" stroke="black"/>' + "</g>" * 300)
    with pytest.raises(SketchError, match="levels deep"):
        svg.loads(deep)
    monkeypatch.setattr(svg, "MAX_BYTES", 1000)
    with pytest.raises(SketchError, match="MB"):
        svg.loads(many)
    f = tmp_path / "big.svg"
    f.write_text(many)
    with pytest.raises(SketchError, match="MB"):
        svg.load(f)
    with pytest.raises(SketchError, match="not found"):
        svg.load(tmp_path / "missing.svg")


def test_use_expansion_bomb_is_stopped(monkeypatch):
    monkeypatch.setattr(svg, "MAX_ELEMENTS", 2_000)
    levels = ['<path id="l0" d="M0 0 L1 1" stroke="black"/>']
    for i in range(1, 8):
        levels.append(f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>")
    with pytest.raises(SketchError, match="more than 2000 elements"):
        svg.loads(doc("<defs>" + "".join(levels) + '</defs><use href="#l7"/>'))


def test_bad_normalize_arguments():
    s = svg.loads(doc('<path d="M0 0 L1 1" stroke="black"/>'))
    for size in (0, -5, 20000, "256", (256,)):
        with pytest.raises(SketchError, match="normalize size"):
            svg.normalize(s, size)
    with pytest.raises(SketchError, match="margin"):
        svg.normalize(s, 256, margin=0.5)
    # (an SVG of such points draws nothing, so the reader refuses it: the sketch is built here)
    dot = Sketch(points=torch.full((4, 2), 5.0), num_segments=(1,), closed=(False,), stroke_width=torch.zeros(1),
                 stroke_color=torch.zeros(1, 4), fill_color=torch.tensor([[1.0, 0, 0, 1]]))
    with pytest.raises(SketchError, match="no extent"):
        svg.normalize(dot, 256)
    with pytest.raises(SketchError, match="no drawable paths"):
        svg.loads(doc('<path d="M5 5 L5 5" stroke="black" stroke-width="0"/><path d="M5 5 L5 5 Z" fill="red"/>'))


# ----------------------------------------------------------------- examples
def test_examples_are_up_to_date_and_load(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", os.path.join(EXAMPLES, "make_examples.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--out", str(tmp_path)])
    expect = {"stick_figure": 1, "cat": 1, "two_objects": 2, "icon_filled": 1}
    for name, groups in expect.items():
        committed = read(os.path.join(EXAMPLES, f"{name}.svg"))
        assert (tmp_path / f"{name}.svg").read_text(encoding="utf-8") == committed, f"re-run make_examples.py ({name})"
        s = svg.loads(committed)
        assert s.canvas == (256, 256) and 8 <= s.num_paths <= 30 and s.num_groups == groups
        img = render(committed)
        ink = (img.min(-1) < 0.5).mean()
        assert 0.01 < ink < 0.6, (name, ink)  # something is drawn, not a blob
    icon = svg.loads(read(os.path.join(EXAMPLES, "icon_filled.svg")))
    assert "evenodd" in icon.fill_rule and bool(icon.has_fill.any()) and bool(icon.has_stroke.any())
