"""Exports keep caps, joins, miter limits, dashes (and, for SVG, clip paths): read back by our
reader, by resvg (animated SVG's first frame) and by python-lottie; animation files keep them."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core import svg
from sketchmotion.core.animation_io import load_animation, save_animation
from sketchmotion.core.export.animated_svg import animated_svg
from sketchmotion.core.export.lottie import lottie
from sketchmotion.core.raster import render
from sketchmotion.core.sketch import SketchAnimation

NS = 'xmlns="http://www.w3.org/2000/svg"'
TEXT = (
    f'<svg {NS} width="160" height="120"><defs><clipPath id="c"><rect x="10" y="10" width="130" height="90"/></clipPath></defs>'
    '<g clip-path="url(#c)"><polyline points="20,100 60,20 100,100 140,20" fill="none" stroke="black" stroke-width="9" '
    'stroke-linecap="square" stroke-linejoin="miter" stroke-miterlimit="6" stroke-dasharray="25 6" stroke-dashoffset="4"/></g>'
    '<path d="M20 110 Q 80 60 150 110" fill="none" stroke="#c00" stroke-width="5" stroke-linecap="butt" stroke-linejoin="bevel"/>'
    '</svg>'
)


@pytest.fixture(scope="module")
def anim() -> SketchAnimation:
    sk = svg.loads(TEXT)
    shift = torch.tensor([[0.0, 0.0], [3.0, -2.0], [6.0, -4.0]])
    return SketchAnimation(sketch=sk, frames=sk.points[None] + shift[:, None], fps=6.0)


def test_animated_svg_keeps_styles_and_clips(anim):
    text = animated_svg(anim)
    first = svg.loads(text)
    st, ref = first.style, anim.sketch.style
    assert (st.cap, st.join, st.miterlimit, st.dash, st.clip) == (ref.cap, ref.join, ref.miterlimit, ref.dash, ref.clip)
    assert st.dash_offset == pytest.approx(ref.dash_offset)
    resvg_py = pytest.importorskip("resvg_py", reason="resvg-py (requirements-dev.txt) renders the file")
    png = bytes(resvg_py.svg_to_bytes(svg_string=text, background="#ffffff"))
    theirs = torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255)
    assert (render(anim.sketch, anim.frames[0]) - theirs).abs().mean() < 0.01


def test_lottie_keeps_caps_joins_miter_limits_and_dashes(anim):
    data = lottie(anim)
    strokes = [it for layer in data["layers"] for it in layer["shapes"][0]["it"] if it["ty"] == "st"]
    # layers are listed top-most first: reversed paint order
    st = anim.sketch.style
    expect = [(st.cap[p], st.join[p], st.miterlimit[p], st.dash[p], st.dash_offset[p])
              for p in reversed(range(anim.sketch.num_paths)) if anim.sketch.has_stroke[p]]
    got = []
    for s in strokes:
        d = s.get("d", [])
        dash = tuple(e["v"]["k"] for e in d if e["n"] in ("d", "g"))
        off = next((e["v"]["k"] for e in d if e["n"] == "o"), 0.0)
        got.append(({1: "butt", 2: "round", 3: "square"}[s["lc"]], {1: "miter", 2: "round", 3: "bevel"}[s["lj"]],
                    s["ml"], dash, off))
    assert [(c, j, m) for c, j, m, _, _ in got] == [(c, j, m) for c, j, m, _, _ in expect]
    for (_, _, _, d, o), (_, _, _, de, oe) in zip(got, expect):
        assert d == pytest.approx(de, abs=1e-3) and o == pytest.approx(oe, abs=1e-3)
    lottie_mod = pytest.importorskip("lottie", reason="python-lottie (requirements-dev.txt) is the independent reader")
    la = lottie_mod.objects.Animation.load(json.loads(json.dumps(data)))
    dashed = [s for layer in la.layers for s in layer.shapes[0].shapes if type(s).__name__ == "Stroke" and s.dashes]
    assert len(dashed) == sum(1 for e in expect if e[3])
    parsed = [(s.line_cap.name, s.line_join.name) for layer in la.layers for s in layer.shapes[0].shapes
              if type(s).__name__ == "Stroke"]
    assert parsed == [(c.capitalize(), j.capitalize()) for c, j, _, _, _ in expect]


def test_animation_files_keep_styles_clips_and_the_dropped_list(anim, tmp_path):
    path = save_animation(anim, tmp_path / "a.safetensors")
    back = load_animation(path)
    assert back.sketch.style.to_json() == anim.sketch.style.to_json()
    assert back.sketch.dropped == anim.sketch.dropped
    assert (render(back.sketch, back.frames[1]) - render(anim.sketch, anim.frames[1])).abs().max() < 1e-5
