"""The SVG reader's stroke styles, clip paths, viewports, display/visibility, CSS transform and
!important, and the list of what it cannot draw; renders are checked against resvg."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core import svg
from sketchmotion.core.errors import SketchError
from sketchmotion.core.raster import render

resvg_py = pytest.importorskip("resvg_py", reason="resvg-py is a dev dependency (requirements-dev.txt)")
NS = 'xmlns="http://www.w3.org/2000/svg"'


def doc(body: str, attrs: str = 'width="200" height="200"') -> str:
    return f"<svg {NS} {attrs}>{body}</svg>"


def resvg_render(text: str) -> torch.Tensor:
    png = bytes(resvg_py.svg_to_bytes(svg_string=text, background="#ffffff"))
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255)


def err_vs_resvg(text: str) -> float:
    return (render(svg.loads(text)) - resvg_render(text)).abs().mean().item()


def test_stroke_styles_are_read_with_svg_defaults_inheritance_and_scaling():
    s = svg.loads(doc(
        '<g stroke="black" stroke-width="4" stroke-linecap="square" stroke-dasharray="5, 3 2" stroke-dashoffset="1">'
        '<path d="M10 10 L 100 10"/><path d="M10 20 L 100 20" stroke-linejoin="bevel" stroke-dasharray="none"/>'
        '<g transform="scale(2)"><path d="M5 20 L 50 20" stroke-miterlimit="7"/></g></g>'
        '<path d="M10 90 L 100 90" stroke="red" stroke-linecap="nonsense" stroke-miterlimit="0.5" stroke-dasharray="4 -1"/>'
    ))
    st = s.style
    assert st.cap == ("square", "square", "square", "butt")  # invalid values fall back to SVG's initial ones
    assert st.join == ("miter", "bevel", "miter", "miter")
    assert st.miterlimit == (4.0, 4.0, 7.0, 4.0)
    assert st.dash[0] == (5.0, 3.0, 2.0, 5.0, 3.0, 2.0) and st.dash_offset[0] == 1.0  # odd lists repeat
    assert st.dash[1] == () and st.dash[3] == ()
    assert st.dash[2] == (10.0, 6.0, 4.0, 10.0, 6.0, 4.0) and st.dash_offset[2] == 2.0  # scaled with the drawing
    # normalize scales dashes with the widths
    n = svg.normalize(s, 400)
    ratio = float(n.stroke_width[0] / s.stroke_width[0])
    assert n.style.dash[0][0] == pytest.approx(5.0 * ratio, rel=1e-5)


@pytest.mark.parametrize("body", [
    # caps, joins and dashes on real SVG markup
    '<polyline points="20,150 60,40 100,150 140,40 180,150" fill="none" stroke="navy" stroke-width="14" '
    'stroke-linejoin="miter" stroke-miterlimit="3" stroke-linecap="square"/>'
    '<path d="M20 180 C 60 120 140 240 180 170" fill="none" stroke="teal" stroke-width="8" '
    'stroke-dasharray="16 6 2 6" stroke-dashoffset="5" stroke-linecap="round"/>',
    # nested clips, clip-rule, objectBoundingBox units, a transformed clipPath
    '<defs><clipPath id="a" clip-rule="evenodd"><path d="M20 20 H180 V180 H20 Z M60 60 H140 V140 H60 Z"/></clipPath>'
    '<clipPath id="b" clipPathUnits="objectBoundingBox" transform="rotate(5)"><circle cx="0.5" cy="0.5" r="0.5"/></clipPath></defs>'
    '<g clip-path="url(#a)"><rect x="0" y="0" width="200" height="200" fill="orange" clip-path="url(#b)"/>'
    '<path d="M0 100 L 200 100" stroke="black" stroke-width="20"/></g>',
    # nested svg viewports are clipped; use sizes a symbol and an svg
    '<defs><symbol id="s" viewBox="0 0 10 10"><circle cx="5" cy="5" r="7" fill="green"/></symbol>'
    '<svg id="v" viewBox="0 0 10 10" width="50" height="50"><rect x="-5" y="-5" width="20" height="8" fill="red"/></svg></defs>'
    '<use href="#s" x="10" y="10" width="80" height="80"/><use href="#v" x="100" y="100" width="90" height="90"/>'
    '<svg x="110" y="10" width="60" height="60" viewBox="0 0 6 6"><line x1="0" y1="0" x2="9" y2="9" stroke="blue"/></svg>',
    # CSS transform property + transform-origin, !important, display/visibility
    '<style>#r { fill: blue !important }</style>'
    '<rect transform="rotate(30)" transform-origin="100 100" x="60" y="60" width="80" height="80" fill="purple"/>'
    '<rect id="r" x="10" y="10" width="30" height="30" style="fill: red"/>'
    '<g visibility="hidden"><rect x="150" y="10" width="30" height="30"/><rect x="150" y="150" width="30" height="30" '
    'visibility="visible" fill="olive"/></g><g display="none"><rect width="200" height="200"/></g>',
])
def test_real_svg_features_render_like_resvg(body):
    assert err_vs_resvg(doc(body)) <= 0.01


def test_css_transform_property_with_origin():
    s = svg.loads(doc('<style>.t { transform: rotate(90deg); transform-origin: 100px 100px }</style>'
                      '<rect class="t" x="150" y="100" width="10" height="10"/>'))
    np.testing.assert_allclose(s.points[0].numpy(), [100, 150], atol=1e-4)  # (150, 100) turned about (100, 100)
    s = svg.loads(doc('<rect style="transform: translateX(10px) scale(2)" width="10" height="10" transform="scale(5)"/>'))
    np.testing.assert_allclose(s.points[3].numpy(), [30, 0], atol=1e-4)  # the CSS property wins over the attribute


def test_root_display_opacity_and_transform():
    with pytest.raises(SketchError, match="display:none"):
        svg.loads(doc('<rect width="10" height="10"/>', 'width="20" height="20" display="none"'))
    s = svg.loads(doc('<rect width="10" height="10" fill="black"/>', 'width="20" height="20" opacity="0.5"'))
    assert float(s.fill_color[0, 3]) == pytest.approx(0.5)
    s = svg.loads(doc('<rect width="10" height="10"/>', 'width="20" height="20" style="transform: translate(5px, 2px)"'))
    np.testing.assert_allclose(s.points[0].numpy(), [5, 2])


def test_what_cannot_be_drawn_is_listed():
    s = svg.loads(doc(
        '<defs><pattern id="g" width="5" height="5"><rect width="2" height="2"/></pattern>'
        '<filter id="f"/><mask id="m"><rect width="9" height="9" fill="gray"/></mask><marker id="k"/></defs>'
        '<rect width="50" height="50" fill="url(#g)" filter="url(#f)"/><text>hi</text>'
        '<path d="M0 0 L 50 50" stroke="black" mask="url(#m)"/><rect width="9" height="9" marker-end="url(#k)"/>'
        '<image href="x.png" width="5" height="5"/><g opacity="0.5"><rect width="5" height="5"/><rect width="6" height="6"/></g>'
    ))
    text = " ".join(s.dropped)
    for word in ("patterns", "filters", "masks", "markers", "text", "images"):
        assert word in text, (word, s.dropped)
    assert svg.loads(doc('<rect width="5" height="5"/>')).dropped == ()
    # the list survives the sketch's own copies
    assert s.select_paths([0]).dropped == s.dropped


def test_styles_and_clips_round_trip_through_the_svg_writer(tmp_path):
    text = doc(
        '<defs><clipPath id="c"><circle cx="100" cy="100" r="70"/></clipPath></defs>'
        '<g clip-path="url(#c)"><path d="M10 100 L 190 100 L 100 20" fill="none" stroke="black" stroke-width="12" '
        'stroke-linecap="square" stroke-linejoin="bevel" stroke-dasharray="20 5" stroke-dashoffset="3"/>'
        '<path d="M10 150 L 190 160" stroke="red" stroke-width="6" stroke-miterlimit="9"/></g>'
    )
    s = svg.loads(text)
    back = svg.loads(svg.dumps(s))
    for name in ("cap", "join", "miterlimit", "dash", "dash_offset", "clip"):
        assert getattr(back.style, name) == pytest.approx(getattr(s.style, name)) if name in ("miterlimit", "dash_offset") \
            else getattr(back.style, name) == getattr(s.style, name), name
    assert len(back.style.clips) == len(s.style.clips) == 1
    assert (render(back) - render(s)).abs().mean() < 1e-3
    assert (render(s) - resvg_render(text)).abs().mean() < 0.01
    # the state dict (animation files, node caches) keeps them too
    from sketchmotion.core.sketch import Sketch

    again = Sketch.from_state_dict(s.state_dict())
    assert again.style.to_json() == s.style.to_json()
