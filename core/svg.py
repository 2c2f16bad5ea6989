"""SVG <-> Sketch.

`load` / `loads` read an SVG into a `Sketch`: every subpath of every drawable
element (path, line, polyline, polygon, rect, circle, ellipse; also reached
through `use`) becomes one cubic Bezier chain in paint (document) order, with
its transforms applied and its style resolved.

What is converted, and how:
- Lines and quadratics become cubics exactly; an arc becomes ceil(|sweep| / 45 deg)
  cubics. Circles and ellipses are four quarter arcs (8 cubics), rounded rects
  four straight sides plus four corner arcs.
- Transforms of nested groups, `use`, nested `svg` viewports and the root
  viewBox (with preserveAspectRatio) are applied to the control points (exact for
  affine maps); the `transform` attribute or CSS property (deg/rad/turn/px units,
  translateX...), with `transform-origin`. Stroke widths and dash lengths are
  scaled by sqrt(|det|) of the linear part.
- Style: presentation attributes < `<style>` rules in order of specificity (selectors:
  `*`, `tag`, `.cls`, `#id`, `[attr]`, `[attr=v]` (also ~= |= ^= $= *=), `:root`, `:first-child` and the
  other structural pseudo-classes (`:nth-child(2n+1)`, `:last-of-type`...), `:not(compound)`, user states
  (`:hover`, `:focus`...: never), compounds of them, the combinators descendant, `>`, `+` and `~`,
  comma lists; rules with other pseudo-classes are ignored; matching work is capped, MAX_CSS_WORK;
  @media blocks apply as in a plain
  browser on a screen (light colour scheme, no user preferences, not print), @supports and @layer
  blocks apply, other at-rules are skipped) < `style`
  attribute < `!important` rules < `!important` in `style`. CSS custom properties (`--name`, inherited) are
  substituted for var(--name[, fallback]). Paint, widths, opacities, fill/clip rules, colour,
  visibility, caps, joins, miter limits, dashes, markers and font-size inherit.
- Stroke styles (core.style.PathStyle, attached to every loaded sketch): SVG's
  defaults (butt caps, miter joins, miter limit 4, solid); stroke-linecap,
  -linejoin, -miterlimit, -dasharray, -dashoffset. Invalid values fall back to the
  initial ones, as browsers do. (A Sketch made in code has no PathStyle and draws
  round caps and joins, LiveSketch's look; so do files that say so, e.g. the
  bundled sketches.)
- Clipping: `clip-path="url(#id)"` on shapes, groups, `use`, nested `svg` and the
  root: the clipPath's shapes (and `use` of shapes) with their clip-rule, in
  userSpaceOnUse or objectBoundingBox units (hidden shapes count in the bounding box),
  its transform, a clip-path on the clipPath itself (nested clips intersect) and on
  its shapes (each counts only where its own clip lets it). Nested `svg` and `symbol` viewports
  clip their content unless overflow is visible. Clip regions are static (they do
  not move with an animation's frames).
- Opacity: `opacity` multiplies down the tree into each path's flat colours (the
  per-shape approximation every path-by-path consumer gets), and an element whose
  paths draw more than one layer (a group, a `use`, the root, a shape with fill and
  stroke) becomes an opacity group (`PathStyle.opacity_groups`): the renderer
  composites the group first and then fades it, as SVG does.
- Gradient paint (`url(#id)` to a linearGradient / radialGradient, fill and
  stroke): gradientUnits, gradientTransform (with transform-origin), spreadMethod,
  stops (offset, stop-color, stop-opacity), attributes and stops inherited through
  href, the focal point fx/fy/fr. Resolved per shape into a `core.style.Gradient` in
  canvas px (objectBoundingBox against the shape's own box; a shape without area
  takes the fallback colour or is not painted, as SVG says); the path's flat colour
  is the gradient's mean colour (its opacities included). A gradient without stops
  paints the fallback or nothing; one stop is a flat colour. Patterns and broken
  references paint the fallback colour or nothing.
- Invalid values are ignored as browsers do (named in `Sketch.dropped`): a paint, fill-rule,
  clip-rule, stroke-width or fill/stroke-opacity that does not parse keeps the inherited one, a
  transform that does not parse is the identity, an invalid viewBox is ignored; other invalid
  presentation values fall back to their initial ones.
- Markers (marker-start, -mid, -end, and the CSS `marker` shorthand) on path, line, polyline and
  polygon, as browsers draw them: the marker's content becomes paths at each vertex (not inside
  an arc), with markerUnits, viewBox / preserveAspectRatio, refX / refY, orient (auto,
  auto-start-reverse, angles), the viewport clip unless overflow is visible, and
  context-fill / context-stroke (the path's paints; Inkscape's arrowheads use them).
- Masks whose content is only opaque white shapes (opaque ones for mask-type alpha), as Sketch and
  Figma write them, are clips: the shapes (fill-rule) within the mask region (maskUnits,
  maskContentUnits); an empty mask hides the element. Other masks are not drawn.
- Conditional processing, for an English reader: an element (in a `switch` or not) whose
  systemLanguage names no en / en-* language, or that has requiredExtensions, is not drawn.
- A closed subpath (Z; polygons, rects, circles, ellipses) becomes a closed
  Sketch path. An open subpath with a visible fill is filled by SVG as if closed,
  so it is made closed here too; note that its stroke then also draws the closing
  segment, which SVG would not draw.
- Not drawn, and named in `Sketch.dropped` (`info` prints it, Load Sketch shows
  it; `dropped_note` adds what to do for text and images): patterns, filters, other masks,
  markers on rect / circle / ellipse (SVG 2 only) or inside markers, the root's background-color, text
  (convert text to paths in your editor), images, foreignObject, blend modes,
  <use> of other files, path data after an error (drawn up
  to it), invalid geometry attributes (ignored), recursive references. Skipped
  by design: defs, symbol (except through `use`), metadata, title, desc,
  elements with display:none or visibility:hidden, and elements of foreign
  namespaces (Inkscape, sodipodi).
- Object groups: `data-object="k"` on an ancestor sets a path's group id.

Input is treated as untrusted: internal entities of plain text (Illustrator's namespace
entities) are expanded, with the expanded size capped; other entity declarations and external
references are refused, and file size, element count, path count, segment count (counted while
converting), nesting depth and canvas size are capped. Every problem raises one
`SketchError` that says what to do, cut to about 200 characters.

`dumps` / `save` write one `<path>` per Sketch path with absolute M/C/Z data,
its stroke style, clip path and gradients (clip regions as `<clipPath>`, gradients as
`<linearGradient>` / `<radialGradient>` in userSpaceOnUse units, in `<defs>`), and opacity
groups as `<g opacity>` around their shapes.

Path data is read by the small interpreter below rather than
svgpathtools.parse_path, which loses subpath boundaries and asserts on an arc
that ends where it starts; arcs are converted here too (endpoint to centre
parametrisation, ceil(|sweep| / 45 deg) cubics with the 4/3 tan(theta/4) rule).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import weakref
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np
import torch

from .errors import SketchError
from .sketch import Sketch

__all__ = ["load", "loads", "dumps", "save", "normalize", "MAX_BYTES", "MAX_PATHS", "MAX_SEGMENTS", "MAX_CANVAS"]

MAX_BYTES = 20 * 1024 * 1024  # file size
MAX_PATHS = 10_000  # Sketch paths (subpaths)
MAX_SEGMENTS = 200_000  # cubic segments
MAX_CANVAS = 16384  # px per side
MAX_ELEMENTS = 1_000_000  # element visits, `use` expansion included
MAX_DEPTH = 200  # element nesting
MAX_STOPS = 100_000  # gradient stops, all gradients together
MAX_CSS_WORK = 500_000  # selector-matching steps (candidate rules x elements, with backtracking)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

_UNITS = {"": 1.0, "px": 1.0, "pt": 4.0 / 3.0, "pc": 16.0, "mm": 96.0 / 25.4, "cm": 96.0 / 2.54, "in": 96.0,
          "em": 16.0, "ex": 8.0}
_FONT_SIZE = [16.0]  # the inherited font-size (px) of the element being read, for em / ex
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_LENGTH_RE = re.compile(rf"\s*({_NUMBER})\s*(px|pt|pc|mm|cm|in|em|ex|%)?\s*$", re.I)

_STYLE_PROPS = (
    "fill", "stroke", "stroke-width", "fill-opacity", "stroke-opacity", "fill-rule",
    "opacity", "color", "display", "visibility",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
    "clip-rule", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end", "marker",
    "transform", "transform-origin", "overflow", "paint-order", "mix-blend-mode", "font-size",
    "stop-color", "stop-opacity", "background-color", "mask-type",
)
_INHERITED = (
    "fill", "stroke", "stroke-width", "fill-opacity", "stroke-opacity", "fill-rule", "color", "visibility",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "clip-rule",
    "marker-start", "marker-mid", "marker-end", "paint-order", "font-size",
)
_ROOT_STYLE = {
    "fill": "black", "stroke": "none", "stroke-width": "1", "fill-opacity": "1", "stroke-opacity": "1",
    "fill-rule": "nonzero", "color": "black", "visibility": "visible",
    "stroke-linecap": "butt", "stroke-linejoin": "miter", "stroke-miterlimit": "4", "stroke-dasharray": "none",
    "stroke-dashoffset": "0", "clip-rule": "nonzero", "marker-start": "none", "marker-mid": "none",
    "marker-end": "none", "paint-order": "normal", "font-size": "16",
}
_SHAPES = ("path", "line", "polyline", "polygon", "rect", "circle", "ellipse")
_NOT_DRAWN = {"text": "text", "image": "images", "foreignObject": "foreignObject"}
_CONTAINERS = ("g", "a", "switch", "svg", "use")
_NO_PAINT = (0.0, 0.0, 0.0, 0.0)
_MARKABLE = ("path", "line", "polyline", "polygon")  # the shapes browsers draw markers on
_CLIPPED_AWAY = -2  # clip index of a clipPath's shape whose own clip-path is empty


# ---------------------------------------------------------------- public API
def load(
    path,
    *,
    normalize: int | tuple[int, int] | None = None,
    margin: float = 0.1,
    stroke_width: float | None = None,
    stroke_color=None,
    check_canvas: bool | None = None,
) -> Sketch:
    """Read an SVG file (or .svgz) into a Sketch.

    normalize: None keeps the SVG's own canvas; an int or (w, h) fits the drawing
    into that canvas (see `normalize`). stroke_width / stroke_color, when given,
    override every path's stroke afterwards (e.g. 3.0 and "black" for LiveSketch).
    check_canvas: refuse a canvas over MAX_CANVAS px per side; None: only when the SVG's own
    canvas is kept (normalize=None); False for a sketch that is normalised later
    (`normalize(load(p, check_canvas=False), n)` is exactly `load(p, normalize=n)`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SketchError(f"SVG file not found: {path!r}. Check the path and the file name.")
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise SketchError(_too_big(size))
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    return loads(data, normalize=normalize, margin=margin, stroke_width=stroke_width, stroke_color=stroke_color,
                 check_canvas=check_canvas)


def loads(
    text: str | bytes,
    *,
    normalize: int | tuple[int, int] | None = None,
    margin: float = 0.1,
    stroke_width: float | None = None,
    stroke_color=None,
    check_canvas: bool | None = None,
) -> Sketch:
    """Parse SVG text (str or bytes, gzip allowed) into a Sketch; options as in `load`."""
    if check_canvas is None:
        check_canvas = normalize is None
    try:
        root = _parse_xml(text)
        sketch = _Converter(root, check_canvas=check_canvas).run()
    except SketchError as e:
        if len(str(e)) <= 240:
            raise
        raise SketchError(_short(str(e))) from None
    except RecursionError:
        raise SketchError("The SVG nests too deeply to read; flatten its groups and references.") from None
    if normalize is not None:
        sketch = _fit(sketch, normalize, margin=margin)
    if stroke_width is not None:
        w = float(stroke_width)
        if not (math.isfinite(w) and w >= 0):
            raise SketchError(f"stroke_width must be a finite number >= 0, got {stroke_width!r}.")
        sketch = sketch.with_style(stroke_width=w)
    if stroke_color is not None:
        sketch = sketch.with_style(stroke_color=_user_color(stroke_color))
    return sketch


def normalize(sketch: Sketch, size: int | tuple[int, int] = 256, margin: float = 0.1) -> Sketch:
    """Fit the drawing into a (w, h) canvas: uniform scale, centred, `margin` (a
    fraction of each side) left empty. Stroke widths scale with the drawing.

    The drawing's extent is the exact bounds of its curves widened by half of
    each visible stroke width.
    """
    if sketch.dim != 2:
        raise SketchError("normalize works on 2D sketches; project a 3D sketch to 2D first.")
    W, H = _canvas_size(size)
    m = float(margin)
    if not (0.0 <= m < 0.5):
        raise SketchError(f"margin must be a fraction in [0, 0.5), got {margin!r} (0.1 leaves 10% on each side).")
    lo, hi = _drawing_bounds(sketch)
    ext = hi - lo
    avail = np.array([W * (1 - 2 * m), H * (1 - 2 * m)])
    with np.errstate(divide="ignore"):
        ratios = np.where(ext > 1e-9, avail / np.maximum(ext, 1e-300), np.inf)
    s = float(ratios.min())
    if not math.isfinite(s):
        raise SketchError("The drawing has no extent (every point is the same); it cannot be scaled to a canvas.")
    centre = (lo + hi) / 2
    pts = sketch.points.detach().double().cpu()
    new = (pts - torch.as_tensor(centre)) * s + torch.tensor([W / 2.0, H / 2.0], dtype=torch.float64)
    new = new.to(dtype=sketch.points.dtype, device=sketch.device)
    style = sketch.style
    if style is not None:  # dashes scale, clip regions move with the drawing
        shift = torch.tensor([W / 2.0, H / 2.0]) - torch.as_tensor(centre, dtype=torch.float32) * s
        style = style.transformed(s, shift, canvas=(W, H))
    return replace(sketch, points=new, stroke_width=sketch.stroke_width * s, canvas=(W, H), style=style)


_fit = normalize  # `loads` has a parameter of the same name


def dumps(sketch: Sketch, points=None, digits: int = 5) -> str:
    """SVG text of a 2D sketch: one <path> per shape, in paint order.

    A compound shape (consecutive paths with one `compound` id) is written as one
    <path> with several subpaths, so its fill (holes included) survives; its fill
    and stroke style are those of its first path. Paths are wrapped in
    <g data-object="k"> runs when any object group id is not 0. Open paths are
    written with fill="none" (SVG would otherwise fill them).
    points: optional [N, 2] replacing sketch.points (e.g. one animation frame).
    """
    if sketch.dim != 2:
        raise SketchError("Only 2D sketches can be written as SVG; project the 3D sketch to 2D first.")
    pts = (sketch.points if points is None else points).detach().cpu().double().numpy()
    W, H = sketch.canvas
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="{SVG_NS}" version="1.1" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
    ]
    lines += svg_defs(sketch, digits)

    def element(first, members):
        d = " ".join(
            path_data(pts[sketch.path_offsets[p] : sketch.path_offsets[p + 1]], sketch.closed[p], digits)
            for p in members
        )
        return f'<path d="{d}" {style_attributes(sketch, first)}/>'

    lines += shape_elements(sketch, element)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def shapes(sketch: Sketch) -> list[tuple[int, list[int]]]:
    """(first path, all paths) of every SVG shape: runs of one compound id, in paint order."""
    comp = sketch.compound.tolist()
    out: list[tuple[int, list[int]]] = []
    for p, c in enumerate(comp):
        if p and c == comp[p - 1]:
            out[-1][1].append(p)
        else:
            out.append((p, [p]))
    return out


def shape_elements(sketch: Sketch, element) -> list[str]:
    """Lines of one element per shape (`element(first, members) -> str`), wrapped in
    <g data-object="k"> runs when any object group id is not 0 (load() restores them), inside
    <g opacity="a"> for the sketch's opacity groups (see `written_opacity_groups`)."""
    groups = sketch.group.cpu().tolist()
    use_groups = any(g != 0 for g in groups)
    opening: dict[int, list[tuple[int, float]]] = {}  # first path -> (end, opacity) of groups opening there
    for a, b, o in sorted(written_opacity_groups(sketch), key=lambda g: (g[0], -g[1])):  # outermost first
        opening.setdefault(a, []).append((b, o))
    lines, current, open_ends = [], None, []

    def close_run():
        nonlocal current
        if current is not None:
            lines.append("  " * (len(open_ends) + 1) + "</g>")
            current = None

    for first, members in shapes(sketch):
        while open_ends and open_ends[-1] <= first:
            close_run()
            open_ends.pop()
            lines.append("  " * (len(open_ends) + 1) + "</g>")
        for b, o in opening.get(first, ()):
            close_run()
            lines.append("  " * (len(open_ends) + 1) + f'<g opacity="{fmt_num(o)}">')
            open_ends.append(b)
        if use_groups and groups[first] != current:
            close_run()
            lines.append("  " * (len(open_ends) + 1) + f'<g data-object="{groups[first]}">')
            current = groups[first]
        lines.append("  " * (len(open_ends) + 1 + (current is not None)) + element(first, members))
    close_run()
    while open_ends:
        open_ends.pop()
        lines.append("  " * (len(open_ends) + 1) + "</g>")
    return lines


def written_opacity_groups(sketch: Sketch) -> tuple:
    """The sketch's opacity groups that the SVG writers express as <g opacity> (those on shape
    boundaries with an opacity > 0: all that the reader makes); the others stay in the flat colours."""
    st = sketch.style
    if st is None or not st.opacity_groups:
        return ()
    runs = shapes(sketch)
    starts, ends = {f for f, _ in runs}, {m[-1] + 1 for _, m in runs}
    return tuple(g for g in st.opacity_groups if g[0] in starts and g[1] in ends and g[2] > 0)


_FACTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _opacity_factors(sketch: Sketch) -> tuple[list[float], dict[float, int]]:
    """(per path: the product of the written opacity groups around it; each distinct product's place
    in sorted order, which names a gradient's copy under it), once per sketch (every frame of an
    animation is written with the same sketch)."""
    if sketch not in _FACTORS:
        f = [1.0] * sketch.num_paths
        for a, b, o in written_opacity_groups(sketch):
            for p in range(a, b):
                f[p] *= o
        _FACTORS[sketch] = (f, {k: i for i, k in enumerate(sorted(set(f)))})
    return _FACTORS[sketch]


def group_factors(sketch: Sketch) -> list[float]:
    """Per path: the product of the written opacity groups around it (what its colours carry that a
    <g opacity> around it then applies)."""
    return _opacity_factors(sketch)[0]


def _paint_id(sketch: Sketch, i: int, factor: float) -> str:
    """The <defs> id of gradient i as painted under group opacity `factor` (its stops divided by it)."""
    return f"paint{i}" if factor == 1.0 else f"paint{i}_{_opacity_factors(sketch)[1][factor]}"


def style_attributes(sketch: Sketch, p: int) -> str:
    """fill / stroke attributes of path p as SVG presentation attributes (round caps and joins)."""
    fill = sketch.fill_color[p].detach().cpu().tolist()
    stroke = sketch.stroke_color[p].detach().cpu().tolist()
    width = float(sketch.stroke_width[p])
    attrs = []
    st = sketch.style
    k = group_factors(sketch)[p] if st is not None and st.opacity_groups else 1.0
    fill[3], stroke[3] = min(fill[3] / k, 1.0), min(stroke[3] / k, 1.0)  # the <g opacity> around applies k
    if sketch.closed[p] and fill[3] > 0 and st is not None and st.fill_paint[p] >= 0:
        attrs.append(f'fill="url(#{_paint_id(sketch, st.fill_paint[p], k)}) {hex_color(fill)}"')  # opacity: stops
    elif sketch.closed[p] and fill[3] > 0:
        attrs.append(f'fill="{hex_color(fill)}"')
        if fill[3] < 1:
            attrs.append(f'fill-opacity="{fmt_num(fill[3])}"')
    else:
        attrs.append('fill="none"')
    if sketch.fill_rule[p] == "evenodd":
        attrs.append('fill-rule="evenodd"')
    if width > 0 and st is not None and st.stroke_paint[p] >= 0:
        attrs.append(f'stroke="url(#{_paint_id(sketch, st.stroke_paint[p], k)}) {hex_color(stroke)}"')
    elif width > 0:
        attrs.append(f'stroke="{hex_color(stroke)}"')
        if stroke[3] < 1:
            attrs.append(f'stroke-opacity="{fmt_num(stroke[3])}"')
    if width > 0:
        attrs.append(f'stroke-width="{fmt_num(width)}"')
        attrs.append(stroke_style_attributes(sketch, p))
    else:
        attrs.append('stroke="none"')
    if sketch.style is not None and sketch.style.clip[p] >= 0:
        attrs.append(f'clip-path="url(#clip{sketch.style.clip[p]})"')
    return " ".join(attrs)


def svg_defs(sketch: Sketch, digits: int = 5) -> list[str]:
    """<defs> lines of a sketch: its clip regions and its gradients ([] when it has neither)."""
    inner = clip_defs(sketch, digits) + gradient_defs(sketch, digits)
    return ["  <defs>", *inner, "  </defs>"] if inner else []


def gradient_defs(sketch: Sketch, digits: int = 5) -> list[str]:
    """One <linearGradient> / <radialGradient id="paint{i}"> per gradient the sketch paints with (in canvas
    px, gradientUnits="userSpaceOnUse"; the painted element's opacity is in the stop opacities, except the
    part a written <g opacity> applies: such uses get their own copy, id="paint{i}_{k}")."""
    st = sketch.style
    if st is None or not st.has_paints:
        return []
    factors = group_factors(sketch)
    uses = sorted({(i, factors[p]) for p in range(sketch.num_paths) for i in (st.fill_paint[p], st.stroke_paint[p])
                   if i >= 0})  # each gradient once per group opacity it is painted under
    out = []
    for i, k in uses:
        g = st.paints[i]
        names = ("x1", "y1", "x2", "y2") if g.kind == "linear" else ("cx", "cy", "r", "fx", "fy", "fr")
        geom = " ".join(f'{n}="{fmt_num(v, digits)}"' for n, v in zip(names, g.geometry) if not (n == "fr" and v == 0))
        matrix = " ".join(fmt_num(v, max(digits, 6)) for v in g.transform)
        spread = f' spreadMethod="{g.spread}"' if g.spread != "pad" else ""
        out.append(f'    <{g.kind}Gradient id="{_paint_id(sketch, i, k)}" gradientUnits="userSpaceOnUse" {geom} '
                   f'gradientTransform="matrix({matrix})"{spread}>')
        for off, col in zip(g.offsets, g.colors.detach().cpu().tolist()):
            alpha = min(col[3] / k, 1.0)
            opacity = f' stop-opacity="{fmt_num(alpha)}"' if alpha < 1 else ""
            out.append(f'      <stop offset="{fmt_num(off)}" stop-color="{hex_color(col)}"{opacity}/>')
        out.append(f"    </{g.kind}Gradient>")
    return out


def clip_defs(sketch: Sketch, digits: int = 5) -> list[str]:
    """One <clipPath id="clip{i}"> per clip region (its parent as its own clip-path), to go inside <defs>."""
    st = sketch.style
    if st is None or not st.clips:
        return []
    out = []
    for i, region in enumerate(st.clips):
        ck = region.sketch
        pts = ck.points.detach().cpu().double().numpy()
        parent = f' clip-path="url(#clip{region.parent})"' if region.parent >= 0 else ""
        out.append(f'    <clipPath id="clip{i}" clipPathUnits="userSpaceOnUse"{parent}>')
        for first, members in shapes(ck):
            d = " ".join(path_data(pts[ck.path_offsets[p] : ck.path_offsets[p + 1]], True, digits) for p in members)
            own = region.path_clip[first] if region.path_clip else -1
            own = f' clip-path="url(#clip{own})"' if own >= 0 else ""
            out.append(f'      <path d="{d}" clip-rule="{ck.fill_rule[first]}"{own}/>')
        out.append("    </clipPath>")
    return out


def stroke_style_attributes(sketch: Sketch, p: int) -> str:
    """stroke-linecap / -linejoin / -miterlimit / -dasharray / -dashoffset of path p (round caps and
    joins for a sketch without a PathStyle)."""
    st = sketch.style
    if st is None:
        return 'stroke-linecap="round" stroke-linejoin="round"'
    out = [f'stroke-linecap="{st.cap[p]}"', f'stroke-linejoin="{st.join[p]}"']
    if st.join[p] == "miter" and st.miterlimit[p] != 4.0:
        out.append(f'stroke-miterlimit="{fmt_num(st.miterlimit[p])}"')
    if st.dash[p]:
        out.append(f'stroke-dasharray="{" ".join(fmt_num(x) for x in st.dash[p])}"')
        if st.dash_offset[p]:
            out.append(f'stroke-dashoffset="{fmt_num(st.dash_offset[p])}"')
    return " ".join(out)


def dropped_note(sketch: Sketch) -> str:
    """One line naming what the source SVG had that is not drawn ("" when nothing was dropped)."""
    if not sketch.dropped:
        return ""
    hints = [h for k, h in _DROPPED_HINTS if k in sketch.dropped]
    return "not drawn: " + ", ".join(sketch.dropped) + (f" ({'; '.join(hints)})" if hints else "")


_DROPPED_HINTS = (  # what to do about the most common ones, in the editor that made the file
    ("text", "text: convert it to paths, Inkscape Path > Object to Path, Illustrator Type > Create Outlines"),
    ("images", "images: trace them into paths (Inkscape Path > Trace Bitmap) or remove them"),
    ("filters", "filters: their elements are drawn without the effect"),
    ("masks", "masks: their elements are drawn unmasked (a mask of opaque white shapes is drawn, as a clip)"),
)


def summary(sketch: Sketch) -> str:
    """One line for a UI: paths, canvas, and what was not drawn."""
    line = f"{sketch.num_paths} paths on {sketch.canvas[0]}x{sketch.canvas[1]}"
    note = dropped_note(sketch)
    return f"{line}; {note}" if note else line


def save(sketch: Sketch, path) -> None:
    """Write `dumps(sketch)` to a file (UTF-8)."""
    text = dumps(sketch)
    with open(os.fspath(path), "w", encoding="utf-8") as f:
        f.write(text)


# --------------------------------------------------------------- XML parsing
def _too_big(n: int) -> str:
    return (
        f"The SVG is {n / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB. "
        "Simplify the drawing (fewer nodes, no embedded images) and try again."
    )


def _parse_xml(text: str | bytes):
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as DET

    if isinstance(text, str):
        data = text.encode("utf-8")
    elif isinstance(text, (bytes, bytearray)):
        data = bytes(text)
    else:
        raise SketchError(f"SVG text must be str or bytes, got {type(text).__name__}.")
    if len(data) > MAX_BYTES:
        raise SketchError(_too_big(len(data)))
    if data[:2] == b"\x1f\x8b":  # .svgz
        try:
            with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as g:
                data = g.read(MAX_BYTES + 1)
        except (OSError, EOFError) as e:
            raise SketchError(f"The compressed SVG (.svgz) is damaged ({e}); save it again as plain SVG.") from None
        if len(data) > MAX_BYTES:
            raise SketchError(_too_big(len(data)))
    if not data.strip():
        raise SketchError("The SVG is empty. Choose a file that contains an <svg> drawing.")
    data = _expand_plain_entities(data)
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden:
        raise SketchError(
            "The SVG declares XML entities other than plain text (external, parameter or nested ones), which are "
            "refused for safety. Save it again without a DOCTYPE entity section (in Illustrator: SVG 1.1, no "
            "'Preserve Illustrator Editing')."
        ) from None
    except defusedxml.DefusedXmlException as e:
        raise SketchError(
            f"The SVG uses a refused XML feature ({type(e).__name__}: external references or a DTD). "
            "Remove the DOCTYPE and save it again."
        ) from None
    except ParseError as e:
        raise SketchError(f"The SVG is not well-formed XML ({e}). Open it in a browser or editor and save it again.") from None
    except (ValueError, UnicodeError, LookupError) as e:  # LookupError: an unknown encoding declared
        raise SketchError(f"The SVG could not be read as XML text ({_q(e, 80)}); save it as UTF-8 SVG.") from None
    ns, tag = _split_tag(root.tag)
    if tag != "svg" or ns not in ("", SVG_NS):
        raise SketchError(f"The file's root element is <{tag}>, not <svg>: it is not an SVG drawing.")
    return root


_DOCTYPE_SUBSET_RE = re.compile(rb"<!DOCTYPE\s+[^\[>]*(\[(.*?)\])\s*>", re.S)
_ENTITY_DECL_RE = re.compile(rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"&<%]*)"|'([^'&<%]*)')\s*>""")
_SUBSET_NOISE_RE = re.compile(rb"\s+|<!--.*?-->", re.S)


def _expand_plain_entities(data: bytes) -> bytes:
    """The document with the internal DTD subset's plain-text entities (Illustrator's
    `<!ENTITY ns_ai "http://...">`) expanded, as every browser does. Only declarations of literal text (no
    `&`, `<`, `%`: nothing nests, so no entity bomb) are expanded, with the expanded size capped; any other
    subset is left for the parser, which refuses it."""
    start = data.find(b"<!DOCTYPE")
    m = _DOCTYPE_SUBSET_RE.match(data, start) if start >= 0 else None  # one try from there: linear at any size
    if m is None or b"<svg" in data[: m.start()] or b"<svg:" in data[: m.start()]:
        return data
    subset = m.group(2)
    values: dict[bytes, bytes] = {}
    for d in _ENTITY_DECL_RE.finditer(subset):
        name, value = d.group(1), d.group(2) if d.group(2) is not None else d.group(3)
        values.setdefault(name, value.replace(b'"', b"&quot;").replace(b"'", b"&apos;"))  # the first one counts
    if _SUBSET_NOISE_RE.sub(b"", _ENTITY_DECL_RE.sub(b"", subset)) or not values:
        return data  # other declarations (external or parameter entities, nested values...): refused later
    if values.keys() & {b"amp", b"lt", b"gt", b"quot", b"apos"}:
        return data
    head, tail = data[: m.start(1)] + data[m.end(1): m.end()], data[m.end():]
    ref = re.compile(rb"&(" + b"|".join(re.escape(k) for k in values) + rb");")
    growth = sum(len(values[k]) - len(k) - 2 for k in ref.findall(tail))
    if len(data) + growth > MAX_BYTES:
        raise SketchError(_too_big(len(data) + growth))
    return head + ref.sub(lambda r: values[r.group(1)], tail)


_COMMON_GRADIENT_ATTRS = ("gradientUnits", "spreadMethod")
_VAR_RE = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*((?:[^()]|\([^()]*\))*))?\)")


def _substitute_vars(value: str, custom: dict) -> str | None:
    """`value` with its var(--name[, fallback]) replaced from `custom` (None when one is undefined)."""
    for _ in range(16):  # (nested and chained variables, a bounded number of times)
        m = _VAR_RE.search(value)
        if m is None:
            return value if "var(" not in value else None
        rep = custom.get(m.group(1))
        rep = m.group(2) if rep is None or not rep.strip() else rep
        if rep is None:
            return None
        value = value[: m.start()] + rep.strip() + value[m.end():]
        if len(value) > 10_000:
            return None
    return None


def _paint_order(value: str) -> list[str]:
    """paint-order as the full order of fill, stroke and markers (invalid values: the normal order)."""
    words = value.strip().lower().split()
    if len(set(words)) != len(words) or not set(words) <= {"fill", "stroke", "markers"}:
        words = []  # (also "normal")
    return words + [k for k in ("fill", "stroke", "markers") if k not in words]


def _parses(check, text) -> bool:
    try:
        return check(text)
    except (SketchError, ValueError):
        return False


# inherited properties whose invalid values are ignored (the inherited value stays), as browsers do
_CHECKED = {
    "fill-rule": lambda v: v.strip().lower() in ("nonzero", "evenodd"),
    "clip-rule": lambda v: v.strip().lower() in ("nonzero", "evenodd"),
    "stroke-width": lambda v: _parses(lambda t: math.isfinite(_length(t, "stroke-width", 1.0)), v),  # < 0: none
    "fill-opacity": lambda v: _parses(lambda t: _fraction(t, "fill-opacity") >= 0, v),
    "stroke-opacity": lambda v: _parses(lambda t: _fraction(t, "stroke-opacity") >= 0, v),
}


def _conditions_hold(el) -> bool:
    """SVG's conditional processing for a reader whose language is English: systemLanguage must name en or
    en-*, and requiredExtensions (none supported) must be absent. requiredFeatures is ignored, as in SVG 2."""
    langs = el.get("systemLanguage")
    if langs is not None and not any(x.strip().lower() == "en" or x.strip().lower().startswith("en-")
                                     for x in langs.split(",")):
        return False
    return el.get("requiredExtensions") is None


def _split_tag(tag) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "#", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _q(text, limit: int = 60) -> str:
    """repr of user text, cut to about `limit` characters (error messages stay one short line)."""
    r = repr(str(text))
    return r if len(r) <= limit else r[: limit - 5] + "...'"


def _short(message: str, limit: int = 240) -> str:
    """Cut a long message in the middle, keeping its start (the problem) and end (what to do)."""
    return message if len(message) <= limit else message[: limit - 90] + " ... " + message[-85:]


def _where(el) -> str:
    _, tag = _split_tag(el.tag)
    i = el.get("id")
    return f"<{tag} id={_q(i, 40)}>" if i else f"<{tag}>"


# ------------------------------------------------------------ numbers, units
def _number(text, what: str) -> float:
    s = str(text).strip()
    if not re.fullmatch(_NUMBER, s):
        raise SketchError(f"{what}: {_q(text)} is not a number.")
    v = float(s)
    if not math.isfinite(v):
        raise SketchError(f"{what}: {_q(text)} is not a finite number.")
    return v


def _length(text, what: str, ref: float | None = None) -> float:
    """A length in px (user units). Percentages need `ref`."""
    m = _LENGTH_RE.match(str(text))
    if not m:
        raise SketchError(f"{what}: {_q(text)} is not a length. Use a number with an optional unit (px, pt, pc, mm, cm, in, %).")
    v = float(m.group(1))
    unit = (m.group(2) or "").lower()
    if unit == "%":
        if ref is None:
            raise SketchError(f"{what}: a percentage ({_q(text)}) is not allowed here; give an absolute length.")
        v = v / 100.0 * ref
    elif unit in ("em", "ex"):
        v *= _FONT_SIZE[0] * (1.0 if unit == "em" else 0.5)
    else:
        v *= _UNITS[unit]
    if not math.isfinite(v):
        raise SketchError(f"{what}: {_q(text)} is not a finite length.")
    return v


def _fraction(text, what: str) -> float:
    s = str(text).strip()
    v = _number(s[:-1], what) / 100.0 if s.endswith("%") else _number(s, what)
    return min(max(v, 0.0), 1.0)


# ------------------------------------------------------------------- colours
_FUNC_RE = re.compile(r"(rgba?)\(\s*([^)]*)\)\s*$", re.I)


def _color(text: str, current: tuple | None = None) -> tuple[float, float, float, float] | None:
    """RGBA in 0..1, or None for 'none'. Raises ValueError for unknown syntax."""
    s = text.strip()
    low = s.lower()
    if low == "none":
        return None
    if low == "transparent":
        return _NO_PAINT
    if low == "currentcolor":
        return current if current is not None else (0.0, 0.0, 0.0, 1.0)
    if low in ("context-fill", "context-stroke"):  # SVG 2, for markers: nothing outside one
        return None
    m = _FUNC_RE.match(s)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(2).strip()) if p]
        if len(parts) not in (3, 4):
            raise ValueError(s)
        if len({p.endswith("%") for p in parts[:3]}) > 1:  # CSS: all numbers or all percentages
            raise ValueError(s)
        rgb = [(_number(p[:-1], "colour") * 2.55 if p.endswith("%") else _number(p, "colour")) / 255.0 for p in parts[:3]]
        a = _fraction(parts[3], "colour alpha") if len(parts) == 4 else 1.0
        return tuple(min(max(c, 0.0), 1.0) for c in rgb) + (a,)
    m = _HSL_RE.match(s)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(2).strip()) if p]
        if len(parts) not in (3, 4):
            raise ValueError(s)
        hue = _angle(parts[0]) / 360.0
        sat, light = (min(max(_number(p.rstrip("%"), "colour") / 100.0, 0.0), 1.0) for p in parts[1:3])
        a = _fraction(parts[3], "colour alpha") if len(parts) == 4 else 1.0
        import colorsys

        return tuple(min(max(c, 0.0), 1.0) for c in colorsys.hls_to_rgb(hue % 1.0, light, sat)) + (a,)
    from PIL import ImageColor

    c = ImageColor.getrgb(s)  # names, #rgb, #rgba, #rrggbb, #rrggbbaa
    a = c[3] / 255.0 if len(c) == 4 else 1.0
    return tuple(min(max(v / 255.0, 0.0), 1.0) for v in c[:3]) + (min(max(a, 0.0), 1.0),)


def _valid_paint(value: str) -> bool:
    """True when `value` is a paint SVG accepts: none, a colour, currentColor, or url(...) [fallback]."""
    v = value.strip()
    if v.lower().startswith("url("):
        _, close, fallback = v.partition(")")
        return bool(close) and (not fallback.strip() or (not fallback.strip().lower().startswith("url(")
                                                         and _valid_paint(fallback)))
    try:
        _color(v)
    except (ValueError, SketchError):
        return False
    return True


_HSL_RE = re.compile(r"(hsla?)\(\s*([^)]*)\)\s*$", re.I)
_ANGLE_UNITS = {"": 1.0, "deg": 1.0, "grad": 0.9, "rad": 180.0 / math.pi, "turn": 360.0}


def _angle(text: str) -> float:
    """Degrees of a CSS angle (a bare number is degrees)."""
    m = re.fullmatch(rf"\s*({_NUMBER})\s*(deg|grad|rad|turn)?\s*", str(text), re.I)
    if not m:
        raise ValueError(text)
    v = float(m.group(1)) * _ANGLE_UNITS[(m.group(2) or "").lower()]
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def _user_color(value) -> tuple[float, float, float, float]:
    if isinstance(value, str):
        try:
            c = _color(value)
        except (ValueError, SketchError):
            raise SketchError(f"Unknown colour {_q(value)}; use a CSS colour such as 'black' or '#1a1a1a'.") from None
        return c if c is not None else _NO_PAINT
    v = [float(x) for x in value]
    if len(v) not in (3, 4) or not all(0.0 <= x <= 1.0 for x in v):
        raise SketchError(f"A colour must be RGB or RGBA with values in 0..1, got {value!r}.")
    return tuple(v) + ((1.0,) if len(v) == 3 else ())


# ----------------------------------------------------------------------- CSS
def _declarations(text: str, important: set | None = None) -> dict[str, str]:
    """name -> value of CSS declarations; names marked !important are added to `important`."""
    out = {}
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # CSS comments
    for part in text.split(";"):
        name, sep, value = part.partition(":")
        if sep:
            value, n = re.subn(r"!\s*important\s*$", "", value.strip(), flags=re.I)
            key = name.strip().lower()
            out[key] = value.strip()
            if n and important is not None:
                important.add(key)
    return out


_SELECTOR_PIECE = re.compile(r"#([\w-]+)|\.([\w-]+)|\[([^\]]*)\]|:([\w-]+)(?:\(([^()]*)\))?")
_STRUCTURAL = ("first-child", "last-child", "only-child", "first-of-type", "last-of-type", "only-of-type", "root")
_NTH = ("nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type")
_STATES = ("hover", "active", "focus", "focus-visible", "focus-within", "visited", "target", "checked",
           "disabled", "indeterminate")  # user states: they never hold in a still picture
_NTH_RE = re.compile(r"([+-]?\d*)n\s*(?:([+-])\s*(\d+))?$")
_ATTR_TEST = re.compile(r"""\s*([\w:-]+)\s*(?:([~|^$*]?=)\s*("[^"]*"|'[^']*'|[^\s"']+))?\s*$""")
_MAX_SELECTOR_STEPS = 32
_MATCH_BUDGET = 10_000  # element visits per selector match (descendant combinators backtrack)


def _parse_compound(text: str):
    """One compound selector -> (tag or None, [tests], specificity) or None when unsupported."""
    m = re.match(r"\*|[A-Za-z][\w-]*", text)
    tag = m.group(0) if m else None
    pos = m.end() if m else 0
    tests, spec = [], [0, 0, 1 if tag not in (None, "*") else 0]
    for p in _SELECTOR_PIECE.finditer(text, pos):
        if p.start() != pos:
            return None
        pos = p.end()
        if p.group(1):
            tests.append(("id", p.group(1)))
            spec[0] += 1
            continue
        spec[1] += 1
        if p.group(2):
            tests.append(("class", p.group(2)))
        elif p.group(3) is not None:
            a = _ATTR_TEST.match(p.group(3))
            if not a:
                return None
            value = a.group(3)
            if value and value[0] in "'\"":
                value = value[1:-1]
            tests.append(("attr", a.group(1), a.group(2), value))
        else:
            name, arg = p.group(4).lower(), p.group(5)
            if name in _STRUCTURAL and arg is None:
                tests.append((name,))
            elif name in _NTH and arg is not None and _nth(arg) is not None:
                tests.append(("nth", name, *_nth(arg)))
            elif name == "not" and arg is not None and (inner := _parse_compound(arg.strip())) is not None:
                tests.append(("not", inner[0], inner[1]))
                spec = [a + b for a, b in zip(spec, inner[2])]
                spec[1] -= 1  # :not() counts as its argument
            elif name in _STATES and arg is None:
                tests.append(("never",))
            else:  # unknown pseudo-classes: the rule is ignored
                return None
    if pos != len(text) or (tag is None and not tests):
        return None
    return (None if tag in (None, "*") else tag), tests, spec


def _nth(arg: str) -> tuple[int, int] | None:
    """(a, b) of an :nth-*() argument an+b (odd, even, 3, 2n+1, -n+3...), or None when invalid."""
    text = arg.strip().lower().replace(" ", "")
    if text in ("odd", "even"):
        return (2, 1 if text == "odd" else 0)
    if re.fullmatch(r"[+-]?\d+", text):
        return (0, int(text))
    m = _NTH_RE.match(text)
    if not m:
        return None
    a = {"": 1, "+": 1, "-": -1}.get(m.group(1), None)
    a = int(m.group(1)) if a is None else a
    b = int(m.group(3) or 0) * (-1 if m.group(2) == "-" else 1)
    return a, b


def _structural_match(el, name: str, parent, a: int = 0, b: int = 0) -> bool:
    """:first-child, :nth-of-type(an+b)... (1-based positions among the element siblings)."""
    p = parent(el)
    if name == "root":
        return p is None
    if p is None:
        return False
    cache = getattr(getattr(parent, "__self__", None), "_sibling_cache", {})
    key = (id(p), el.tag if "of-type" in name else None)
    if key not in cache:  # (positions read once per parent: a group of 10,000 paths stays linear)
        sibs = [c for c in p if isinstance(c.tag, str) and (key[1] is None or c.tag == key[1])]
        cache[key] = (len(sibs), {id(c): i + 1 for i, c in enumerate(sibs)})
    count, index = cache[key]
    if id(el) not in index:
        return False
    k, sibs = index[id(el)], range(count)
    if "last" in name:
        k = len(sibs) + 1 - k
    if name.startswith("only"):
        return len(sibs) == 1
    if not name.startswith("nth"):
        return k == 1
    return k == b if a == 0 else (k - b) % a == 0 and (k - b) // a >= 0


def _parse_selector(text: str):
    """A CSS selector (compounds joined by descendant ' ', child '>', '+' and '~') -> (specificity,
    [(combinator to the previous compound, tag, tests)]) or None when it is not supported."""
    words, depth, word, quote = [], 0, "", ""
    for ch in text.strip():  # split at spaces and combinators outside (), [] and quotes: [a~="b c"], :nth-child(2n+1)
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        else:
            depth += (ch in "([") - (ch in ")]")
        if depth == 0 and not quote and (ch.isspace() or ch in ">+~"):
            words += [w for w in (word, ch.strip()) if w]
            word = ""
        else:
            word += ch
    words += [word] if word else []
    steps, spec, comb = [], [0, 0, 0], None
    for w in words:
        if w in (">", "+", "~"):
            if comb is not None or not steps:
                return None
            comb = w
            continue
        c = _parse_compound(w)
        if c is None:
            return None
        steps.append((comb or (" " if steps else None), c[0], c[1]))
        spec = [a + b for a, b in zip(spec, c[2])]
        comb = None
    if not steps or comb is not None or len(steps) > _MAX_SELECTOR_STEPS:
        return None
    return tuple(spec), steps


def _compound_matches(el, tag, tests, parent, budget) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if tag is not None and _split_tag(el.tag)[1] != tag:
        return False
    for t in tests:
        if t[0] == "id":
            if el.get("id") != t[1]:
                return False
        elif t[0] == "class":
            if t[1] not in (el.get("class") or "").split():
                return False
        elif t[0] in _STRUCTURAL:
            if not _structural_match(el, t[0], parent):
                return False
        elif t[0] == "nth":
            if not _structural_match(el, t[1], parent, t[2], t[3]):
                return False
        elif t[0] == "not":
            if _compound_matches(el, t[1], t[2], parent, budget):
                return False
        elif t[0] == "never":
            return False
        else:
            _, name, op, want = t
            have = el.get(name)
            if have is None:
                return False
            if op == "=" and have != want or op == "~=" and want not in have.split():
                return False
            if op == "|=" and not (have == want or have.startswith(want + "-")):
                return False
            if op == "^=" and not (want and have.startswith(want)) or op == "$=" and not (want and have.endswith(want)):
                return False
            if op == "*=" and not (want and want in have):
                return False
    return True


def _selector_matches(el, steps, parent, i=None, budget=None) -> bool:
    """True when element `el` matches steps[: i + 1] (right to left, backtracking over ancestors/siblings)."""
    i = len(steps) - 1 if i is None else i
    budget = [_MATCH_BUDGET] if budget is None else budget
    comb, tag, tests = steps[i]
    if not _compound_matches(el, tag, tests, parent, budget):
        return False
    if i == 0:
        return True
    if comb in (" ", ">"):
        node = parent(el)
        while node is not None and budget[0] > 0:
            if _selector_matches(node, steps, parent, i - 1, budget):
                return True
            if comb == ">":
                return False
            node = parent(node)
        return False
    p = parent(el)
    if p is None:
        return False
    before = [c for c in p if isinstance(c.tag, str)]
    before = before[: before.index(el)] if el in before else []
    for sib in reversed(before):
        if _selector_matches(sib, steps, parent, i - 1, budget):
            return True
        if comb == "+" or budget[0] <= 0:
            return False
    return False


def _rule_index(rules) -> dict:
    """Rules bucketed by the id, first class or tag their rightmost compound requires (("*",): none)."""
    index: dict = {}
    for i, (_, _, steps, _, _) in enumerate(rules):
        _, tag, tests = steps[-1]
        ids = [t[1] for t in tests if t[0] == "id"]
        classes = [t[1] for t in tests if t[0] == "class"]
        key = ("#", ids[0]) if ids else (".", classes[0]) if classes else ("t", tag) if tag else ("*",)
        index.setdefault(key, []).append(i)
    return index


_NO_PREFERENCE = ("no-preference", "none")  # a plain browser's user preferences


def _media_matches(prelude: str) -> bool:
    """A @media query list as a plain browser on a screen evaluates it: light colour scheme, no other
    user preference, not print; sizes and other features are taken to match."""
    for query in prelude.lower().split(","):
        query = query.strip().replace("only ", "")
        negate = query.startswith("not ")
        query = query[4:] if negate else query
        kind = re.match(r"[a-z-]+", query)
        ok = kind is None or kind.group(0) in ("all", "screen", "and")
        for feature, value in re.findall(r"\(\s*([a-z-]+)\s*(?::\s*([^)]*))?\)", query):
            value = value.strip()
            if feature == "prefers-color-scheme":
                ok = ok and value == "light"
            elif feature.startswith("prefers-") or feature in ("forced-colors", "inverted-colors"):
                ok = ok and value in _NO_PREFERENCE
        if ok != negate:
            return True
    return False


def _unnest_at_rules(css: str) -> str:
    """Style rules with the block at-rules resolved: the content of a @media block that matches (see
    `_media_matches`), of @supports and @layer; other blocks (@font-face, @keyframes, @page, non-matching
    media, at-rules nested over 16 deep...) are left out. Only an @ where a rule starts counts (not one
    inside a declaration). Linear in the text: the braces are matched once, and each search for a rule's
    end stops where that rule ends."""
    close, stack = {}, []
    for m in re.finditer(r"[{}]", css):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            close[stack.pop()] = m.end()
    out: list[str] = []

    def walk(i: int, end: int, depth: int) -> None:
        while i < end:
            m = _RULE_START_RE.search(css, i, end)
            if m is None:
                out.append(css[i:end])
                return
            j = m.start()
            out.append(css[i:j])
            brace = j
            if css[j] == "@":  # (only up to the at-rule's own ; or {: searching further is quadratic in the text)
                head = _AT_RULE_HEAD_END_RE.search(css, j, end)
                if head is None:
                    return
                if head.group() == ";":  # a statement: @import, @charset
                    i = head.end()
                    continue
                brace = head.start()
            stop = min(close.get(brace, end), end)
            if css[j] == "{":  # a style rule's declarations: kept as they are
                out.append(css[j:stop])
            else:
                name = re.match(r"@([\w-]*)", css[j:brace]).group(1).lower()
                keep = name in ("supports", "layer") or (name == "media" and _media_matches(css[j + 6:brace]))
                if keep and depth < 16:
                    walk(brace + 1, stop - 1 if brace in close else stop, depth + 1)  # (an unclosed one ends the text)
            i = stop

    walk(0, len(css), 0)
    return "".join(out)


_RULE_START_RE = re.compile(r"[@{]")
_AT_RULE_HEAD_END_RE = re.compile(r"[;{]")


def _stylesheet(root) -> list:
    """[(specificity, order, selector steps, declarations, important names)] from every <style>, in
    cascade order (specificity, then document order)."""
    rules = []
    for el in root.iter():
        ns, tag = _split_tag(el.tag)
        if tag != "style" or ns not in ("", SVG_NS) or (el.get("type") or "text/css").lower() != "text/css":
            continue
        css = re.sub(r"/\*.*?\*/", "", "".join(el.itertext()), flags=re.S)
        css = _unnest_at_rules(css)
        for sel_text, body in re.findall(r"([^{}]*)\{([^{}]*)\}", css):
            if sel_text.strip().startswith("@"):
                continue
            important: set = set()
            decls = _declarations(body, important)
            for sel in sel_text.split(","):
                parsed = _parse_selector(sel)
                if parsed is None:
                    continue
                rules.append((parsed[0], len(rules), parsed[1], decls, important))
    rules.sort(key=lambda r: (r[0], r[1]))
    return rules


# ---------------------------------------------------------------- geometry
def _translate(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0, x], [0, 1.0, y], [0, 0, 1.0]])


def _viewbox_matrix(vb, width: float, height: float, par: str | None) -> np.ndarray:
    """Map viewBox (x, y, w, h) to a width x height viewport (preserveAspectRatio)."""
    vx, vy, vw, vh = vb
    words = (par or "").replace("defer", "").split()
    align = words[0] if words else "xMidYMid"
    slice_ = len(words) > 1 and words[1] == "slice"
    sx, sy = width / vw, height / vh
    if align == "none":
        return np.array([[sx, 0, -vx * sx], [0, sy, -vy * sy], [0, 0, 1.0]])
    if not re.fullmatch(r"x(Min|Mid|Max)Y(Min|Mid|Max)", align):
        align = "xMidYMid"
    s = max(sx, sy) if slice_ else min(sx, sy)
    f = {"Min": 0.0, "Mid": 0.5, "Max": 1.0}
    tx = -vx * s + f[align[1:4]] * (width - vw * s)
    ty = -vy * s + f[align[5:8]] * (height - vh * s)
    return np.array([[s, 0, tx], [0, s, ty], [0, 0, 1.0]])


_TRANSFORM_RE = re.compile(r"\s*,?\s*([A-Za-z]+)\s*\(([^()]*)\)")
_ARG_RE = re.compile(rf"({_NUMBER})\s*(deg|grad|rad|turn|px)?", re.I)


def _parse_transform(text: str) -> np.ndarray:
    """A transform list in SVG attribute or CSS syntax (units deg/rad/grad/turn/px allowed) -> 3x3 matrix."""
    m = np.eye(3)
    text = str(text).strip()
    if not text or text.lower() == "none":
        return m
    pos = 0
    while pos < len(text):
        mt = _TRANSFORM_RE.match(text, pos)
        if not mt:
            if text[pos:].strip(" ,\t\n\r"):
                raise ValueError(f"cannot read {text[pos:pos + 20]!r}")
            break
        pos = mt.end()
        name = mt.group(1).lower()
        args = []
        for a in _ARG_RE.finditer(mt.group(2)):
            v = float(a.group(1))
            unit = (a.group(2) or "").lower()
            args.append(v * _ANGLE_UNITS[unit] if unit in ("grad", "rad", "turn") else v)
        if re.sub(_ARG_RE, "", mt.group(2)).strip(" ,\t\n\r"):
            raise ValueError(f"bad arguments in {name}()")
        n = len(args)
        if name == "matrix" and n == 6:
            a, b, c, d, e, f = args
            t = np.array([[a, c, e], [b, d, f], [0, 0, 1.0]])
        elif name in ("translate", "translatex", "translatey") and 1 <= n <= 2:
            tx = args[0] if name != "translatey" else 0.0
            ty = (args[1] if n == 2 else 0.0) if name == "translate" else (args[0] if name == "translatey" else 0.0)
            t = _translate(tx, ty)
        elif name in ("scale", "scalex", "scaley") and 1 <= n <= 2:
            sx = args[0] if name != "scaley" else 1.0
            sy = (args[1] if n == 2 else args[0]) if name == "scale" else (args[0] if name == "scaley" else 1.0)
            t = np.diag([sx, sy, 1.0])
        elif name == "rotate" and n in (1, 3):
            c, s_ = math.cos(math.radians(args[0])), math.sin(math.radians(args[0]))
            t = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1.0]])
            if n == 3:
                t = _translate(args[1], args[2]) @ t @ _translate(-args[1], -args[2])
        elif name in ("skewx", "skewy") and n == 1:
            k = math.tan(math.radians(args[0]))
            t = np.array([[1, k, 0], [0, 1, 0], [0, 0, 1.0]]) if name == "skewx" else np.array([[1, 0, 0], [k, 1, 0], [0, 0, 1.0]])
        elif name == "skew" and 1 <= n <= 2:
            t = np.array([[1, math.tan(math.radians(args[0])), 0],
                          [math.tan(math.radians(args[1])) if n == 2 else 0.0, 1, 0], [0, 0, 1.0]])
        else:
            raise ValueError(f"{name}() with {n} arguments is not a 2D transform")
        with np.errstate(over="ignore", invalid="ignore"):
            m = m @ t
    return m


def _line(a: complex, b: complex) -> list[complex]:
    return [a, a + (b - a) / 3.0, a + (b - a) * (2.0 / 3.0), b]


def _quad(a: complex, c: complex, b: complex) -> list[complex]:
    return [a, a + (c - a) * (2.0 / 3.0), b + (c - b) * (2.0 / 3.0), b]


def _arc(a: complex, rx: float, ry: float, rot: float, large: bool, sweep: bool, b: complex) -> list[list[complex]]:
    """Cubics of an SVG elliptical arc (ceil(|sweep| / 45 deg) of them; SVG 1.1 F.6.5 centre parametrisation)."""
    if a == b:
        return []  # SVG: an arc to the current point is omitted
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0:
        return [_line(a, b)]
    # work relative to the chord's scale so that huge radii or coordinates cannot overflow
    scale = max(abs(a - b), 1e-300)
    rx_s, ry_s = rx / scale, ry / scale
    phi = math.radians(rot % 360.0)
    cs, sn = math.cos(phi), math.sin(phi)
    d = (a - b) / (2 * scale)
    x1, y1 = cs * d.real + sn * d.imag, -sn * d.real + cs * d.imag
    sq = lambda v: v * v  # noqa: E731 - float * float overflows to inf (** raises OverflowError)
    lam = sq(x1 / rx_s) + sq(y1 / ry_s)
    if lam > 1:
        rx_s, ry_s = rx_s * math.sqrt(lam), ry_s * math.sqrt(lam)
    num = sq(rx_s * ry_s) - sq(rx_s * y1) - sq(ry_s * x1)
    den = sq(rx_s * y1) + sq(ry_s * x1)
    ratio = num / den if den > 0 else 0.0
    coef = math.sqrt(ratio) if ratio > 0 and math.isfinite(ratio) else 0.0
    if large == sweep:
        coef = -coef
    cxp, cyp = coef * rx_s * y1 / ry_s, -coef * ry_s * x1 / rx_s
    t1 = math.atan2((y1 - cyp) / ry_s, (x1 - cxp) / rx_s)
    t2 = math.atan2((-y1 - cyp) / ry_s, (-x1 - cxp) / rx_s)
    dt = t2 - t1
    if sweep and dt < 0:
        dt += 2 * math.pi
    elif not sweep and dt > 0:
        dt -= 2 * math.pi
    if not math.isfinite(dt):
        return [_line(a, b)]
    n = max(1, math.ceil(abs(dt) / (math.pi / 4) - 1e-9))
    centre = complex(cs * cxp - sn * cyp, sn * cxp + cs * cyp) * scale + (a + b) / 2
    rot_c = complex(cs, sn)
    RX, RY = rx_s * scale, ry_s * scale

    def at(z: complex) -> complex:
        return centre + rot_c * complex(RX * z.real, RY * z.imag)

    k = 4.0 / 3.0 * math.tan(dt / n / 4)
    out = []
    for i in range(n):
        u0 = complex(math.cos(t1 + dt * i / n), math.sin(t1 + dt * i / n))
        u1 = complex(math.cos(t1 + dt * (i + 1) / n), math.sin(t1 + dt * (i + 1) / n))
        out.append((list if i == 0 else _ArcPiece)([at(u0), at(u0 + k * 1j * u0), at(u1 - k * 1j * u1), at(u1)]))
    out[0][0], out[-1][3] = a, b
    return out


class _ArcPiece(list):
    """A cubic that continues an arc: its start is not a vertex of the path (no marker-mid there)."""


def _start_dir(seg) -> complex | None:
    for q in seg[1:]:
        if abs(q - seg[0]) > 1e-12 * (1 + abs(q)):
            return q - seg[0]
    return None


def _end_dir(seg) -> complex | None:
    for q in (seg[2], seg[1], seg[0]):
        if abs(seg[3] - q) > 1e-12 * (1 + abs(q)):
            return seg[3] - q
    return None


def _vertices(subpaths) -> list[tuple[complex, float]]:
    """(point, orient="auto" angle in radians) of every vertex of a path, in order: the start of each
    command's segment and the end of each subpath. The angle bisects the incoming and outgoing
    directions (a closed subpath's start and end see its closing segment and its first one)."""
    out = []
    for segs, closed in subpaths:
        heads = [i for i, seg in enumerate(segs) if not isinstance(seg, _ArcPiece)]
        points = [(segs[i][0], _end_dir(segs[i - 1]) if i > 0 else (_end_dir(segs[-1]) if closed else None),
                   _start_dir(segs[i])) for i in heads]
        points.append((segs[-1][3], _end_dir(segs[-1]), _start_dir(segs[0]) if closed else None))
        for z, din, dout in points:
            if din is not None and dout is not None:
                a1, a2 = math.atan2(din.imag, din.real), math.atan2(dout.imag, dout.real)
                angle = a1 + math.remainder(a2 - a1, 2 * math.pi) / 2
            else:
                d = din if din is not None else dout
                angle = math.atan2(d.imag, d.real) if d is not None else 0.0
            out.append((z, angle))
    return out


def _too_many_segments() -> str:
    return f"The SVG has more than {MAX_SEGMENTS} curve segments; simplify it (Inkscape: Path > Simplify) and try again."


class _PathDataError(SketchError):
    pass


class _PathData:
    """A tokenizer + interpreter for SVG path data; yields subpaths as
    (list of cubic segments [p0, c1, c2, p3] as complex, closed)."""

    _TOKEN = re.compile(rf"\s*,?\s*(?:([MmZzLlHhVvCcSsQqTtAa])|({_NUMBER}))")

    def __init__(self, d: str, where: str, budget: int | None = None):
        self.d, self.where, self.pos = d, where, 0
        self.budget = MAX_SEGMENTS if budget is None else budget  # segments allowed before conversion stops

    def _error(self, msg: str):
        raise _PathDataError(f"Malformed path data in {self.where} near character {self.pos}: {msg}. Fix or remove this path.")

    def _next_command(self):
        m = self._TOKEN.match(self.d, self.pos)
        if m and m.group(1):
            self.pos = m.end()
            return m.group(1)
        return None

    def _has_number(self) -> bool:
        m = self._TOKEN.match(self.d, self.pos)
        return bool(m and m.group(2))

    def _num(self) -> float:
        m = self._TOKEN.match(self.d, self.pos)
        if not m or not m.group(2):
            self._error("a number is missing")
        self.pos = m.end()
        v = float(m.group(2))
        if not math.isfinite(v):
            self._error(f"{m.group(2)} is not finite")
        return v

    def _point(self, base: complex) -> complex:
        """The next coordinate pair, offset by `base` (the current point for relative commands, else 0)."""
        return base + complex(self._num(), self._num())

    def _flag(self) -> bool:
        m = re.compile(r"\s*,?\s*([01])").match(self.d, self.pos)
        if not m:
            self._error("an arc flag must be 0 or 1")
        self.pos = m.end()
        return m.group(1) == "1"

    def subpaths(self) -> list[tuple[list[list[complex]], bool]]:
        out: list[tuple[list, bool]] = []
        self.error = False
        self._segs = []
        try:
            self._run(out)
        except _PathDataError:
            # SVG: a path is drawn up to the first error in its data; with nothing before it, refuse it
            if not out and not self._segs:
                raise
            self.error = True
            if self._segs:
                out.append((self._segs, False))
        return out

    def _run(self, out):
        """The interpreter loop (see subpaths)."""
        segs: list = []
        self._segs = segs
        cur = start = 0j
        cmd = None
        prev_cmd, prev_ctrl = None, None
        open_sub = False

        def finish(closed):
            nonlocal segs, open_sub
            if segs:
                out.append((segs, closed))
            segs, open_sub = [], False
            self._segs = segs

        while True:
            c = self._next_command()
            if c is None:
                if self.pos >= len(self.d) or not self.d[self.pos :].strip():
                    break
                if cmd is None or cmd in "Zz" or not self._has_number():
                    self._error(f"unexpected {self.d[self.pos:self.pos + 12].strip()!r}")
                c = {"M": "L", "m": "l"}.get(cmd, cmd)  # implicit repetition
            cmd = c
            up, rel = c.upper(), c.islower()
            if prev_cmd is None and up != "M":
                self._error("path data must start with a moveto (M)")
            if up == "Z":
                if open_sub:
                    if segs and abs(cur - start) > 1e-12 * (1 + abs(start)):
                        segs.append(_line(cur, start))
                    finish(True)
                cur = start
                prev_cmd, prev_ctrl = "Z", None
                continue
            if up == "M":
                finish(False)
                x, y = self._num(), self._num()
                cur = start = complex(x, y) + (cur if rel else 0)
                open_sub = True
                prev_cmd, prev_ctrl = "M", None
                continue
            if not open_sub:  # a drawing command right after Z starts a new subpath at the old start
                open_sub, start = True, cur
            base = cur if rel else 0j
            if up == "L":
                new = [_line(cur, self._point(base))]
            elif up == "H":
                x = self._num() + (cur.real if rel else 0.0)
                new = [_line(cur, complex(x, cur.imag))]
            elif up == "V":
                y = self._num() + (cur.imag if rel else 0.0)
                new = [_line(cur, complex(cur.real, y))]
            elif up in "CS":  # S: the first control point mirrors the previous C/S one
                c1 = self._point(base) if up == "C" else _mirrored(cur, prev_ctrl, prev_cmd in ("C", "S"))
                c2, end = self._point(base), self._point(base)
                new = [[cur, c1, c2, end]]
                prev_ctrl = c2
            elif up in "QT":  # T: the control point mirrors the previous Q/T one
                q = self._point(base) if up == "Q" else _mirrored(cur, prev_ctrl, prev_cmd in ("Q", "T"))
                end = self._point(base)
                new = [_quad(cur, q, end)]
                prev_ctrl = q
            else:  # A
                rx, ry, rot = self._num(), self._num(), self._num()
                large, sweep = self._flag(), self._flag()
                end = self._point(base)
                new = _arc(cur, rx, ry, rot, large, sweep, end)
                if not new:
                    cur = end
            if new:
                self.budget -= len(new)
                if self.budget < 0:  # checked while converting, before the rest of the data is read
                    raise SketchError(_too_many_segments())
                segs.extend(new)
                cur = new[-1][3]
            prev_cmd = up
        finish(False)
        return out


def _mirrored(cur: complex, prev_ctrl, smooth: bool) -> complex:
    """The implied control point of S / T: the previous one reflected about `cur` after a curve of
    the same family, else `cur` itself."""
    return 2 * cur - prev_ctrl if smooth else cur


def _chain_points(segs: list, closed: bool, ctm: np.ndarray) -> np.ndarray:
    """Control points [3k(+1), 2] of a chain of cubic segments, mapped by `ctm`."""
    chain = [z for s in segs for z in s[:3]]
    if not closed:
        chain.append(segs[-1][3])
    z = np.array(chain, dtype=complex)
    return np.stack([z.real, z.imag], axis=1) @ ctm[:2, :2].T + ctm[:2, 2]


def _bounds_of(paths: list, closed: list):
    """(x0, y0, x1, y1) of the curves of control-point arrays (sampled finely), or None."""
    if not paths:
        return None
    t = np.linspace(0, 1, 17)[:, None]
    b = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3], 1)  # [17, 4, 1]
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for pts, c in zip(paths, closed):
        n = len(pts)
        k = n // 3 if c else (n - 1) // 3
        idx = np.array([[3 * j, 3 * j + 1, 3 * j + 2, (3 * j + 3) % n] for j in range(k)])
        P = pts[idx]  # [k, 4, 2]
        val = np.einsum("tc,kcd->ktd", b[..., 0], P)
        lo, hi = np.minimum(lo, val.reshape(-1, 2).min(0)), np.maximum(hi, val.reshape(-1, 2).max(0))
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _close(segs: list) -> list:
    """Add the closing line of a subpath unless it already ends where it starts."""
    if abs(segs[-1][3] - segs[0][0]) > 1e-12 * (1 + abs(segs[0][0])):
        return segs + [_line(segs[-1][3], segs[0][0])]
    return segs


def _ellipse_subpath(cx, cy, rx, ry) -> list:
    p = [complex(cx + rx, cy), complex(cx, cy + ry), complex(cx - rx, cy), complex(cx, cy - ry)]
    segs = []
    for i in range(4):
        segs += _arc(p[i], rx, ry, 0.0, False, True, p[(i + 1) % 4])
    return segs


# ---------------------------------------------------------------- converter
class _Converter:
    """Walks the element tree in document order and collects Sketch paths."""

    def __init__(self, root, check_canvas: bool):
        self.root = root
        self.check_canvas = check_canvas
        self.rules = _stylesheet(root)
        self.rule_index = _rule_index(self.rules)
        self.css_budget = MAX_CSS_WORK  # selector-matching steps left for the whole document
        self.ids = {}
        for el in root.iter():  # the first element with an id wins (as in browsers)
            if el.get("id"):
                self.ids.setdefault(el.get("id"), el)
        self.paths: list[np.ndarray] = []
        self.closed: list[bool] = []
        self.widths: list[float] = []
        self.strokes: list[tuple] = []
        self.fills: list[tuple] = []
        self.rules_fill: list[str] = []
        self.labels: list[str | None] = []
        self.compounds: list[int] = []
        self.n_elements = 0
        self.n_segments = 0
        self.visits = 0
        self.skipped_text = False
        self.viewport = (256.0, 256.0)
        # per path: stroke style and clip region index (-1: none)
        self.stroke_styles: list[tuple] = []
        self.clip_of: list[int] = []
        self.paint_of: list[tuple[int, int]] = []  # per path: (fill gradient, stroke gradient), -1 = flat
        self.gradients: list = []  # core.style.Gradient, in canvas px
        self._gradient_index: dict = {}  # identical resolved gradients share one entry
        self._stops_cache: dict = {}
        self.n_stops = 0
        self.hidden: set[int] = set()  # paths clipped away entirely (an empty clip region)
        # hidden shapes still count in an objectBoundingBox clip's bbox: their outlines (only collected
        # when the file has such a clip)
        self.bbox_clips = any(_split_tag(e.tag)[1] == "clipPath" and (e.get("clipPathUnits") or "").strip()
                              == "objectBoundingBox" for e in self.ids.values())
        self.path_error: SketchError | None = None  # the first path whose data is invalid from its start
        self.opacity_groups: list[tuple[int, int, float]] = []  # (start, end, opacity) composited as one
        self.ghosts: list[tuple[list, list]] = []  # (points arrays, closed flags) per hidden shape
        self._ghost_span = (0, 0)  # ghosts of the element whose effects are applied
        self.clip_regions: list[tuple] = []  # (geometry, parent index)
        self._clip_cache: dict = {}
        self.in_clip = False  # collecting the geometry of a <clipPath>
        self.in_marker = False  # drawing a marker's content (markers inside markers are not drawn)
        self.clip_rule = "clip-rule"  # the property that gives a clip shape's rule ("fill-rule" in a mask)
        self.context_paint = None  # (fill, stroke) of the path whose markers are drawn
        self._marker_styles: dict = {}  # id(marker) -> (its computed style, its overflow)
        self._mask_kinds: dict = {}  # id(mask) -> what _mask_is_clip says of it
        self._sibling_cache: dict = {}  # (id(parent), tag or None) -> element positions, for :nth-child...
        self._clip_stack: set = set()
        self._pending_size = None  # width/height a <use> gives the <svg> it references
        self._use_stack: list = []
        self.dropped: dict[str, int] = {}

    def _drop(self, what: str) -> None:
        """Remember something the file has that is not drawn (listed in Sketch.dropped)."""
        self.dropped[what] = self.dropped.get(what, 0) + 1

    # ---- canvas
    def _root_canvas(self):
        r = self.root
        vb = self._viewbox(r)
        w = r.get("width")
        h = r.get("height")
        w = None if w is None or w.strip().endswith("%") else _length(w, "The <svg> width")
        h = None if h is None or h.strip().endswith("%") else _length(h, "The <svg> height")
        if vb is not None:
            if w is None and h is not None:
                w = h * vb[2] / vb[3]
            elif h is None and w is not None:
                h = w * vb[3] / vb[2]
        for v, name in ((w, "width"), (h, "height")):
            if v is not None and not math.isfinite(v):
                raise SketchError(f"The <svg> {name} (or the size derived from it) is too large for a canvas; give a size in pixels.")
            if v is not None and v <= 0:
                raise SketchError(f"The <svg> {name} is {v:g}; it must be positive. Fix the width/height attributes.")
        if vb is not None:
            if w is None and h is None:
                w, h = vb[2], vb[3]
            elif w is None:
                w = h * vb[2] / vb[3]
            elif h is None:
                h = w * vb[3] / vb[2]
        return vb, w, h

    def _viewbox(self, el):
        text = el.get("viewBox")
        if text is None:
            return None
        nums = _NUMBER_RE.findall(text)
        if len(nums) != 4 or _NUMBER_RE.sub("", text).replace(",", "").strip():
            self._drop("invalid viewBox (ignored)")  # as browsers do
            return None
        vb = [_number(n, "viewBox") for n in nums]
        if vb[2] <= 0 or vb[3] <= 0:
            raise SketchError(f"The viewBox {_q(text)} of {_where(el)} has a non-positive size; fix its width and height.")
        return vb

    def run(self) -> Sketch:
        vb, w, h = self._root_canvas()
        W = max(1, round(w)) if w is not None else None  # None: the drawing's extent, below
        H = max(1, round(h)) if h is not None else None
        self._check_size(W or 1, H or 1)
        ctm = _viewbox_matrix(vb, W, H, self.root.get("preserveAspectRatio")) if vb else np.eye(3)
        self.viewport = (vb[2], vb[3]) if vb else (float(W or 256), float(H or 256))
        _FONT_SIZE[0] = 16.0
        rspec = self._specified(self.root)
        if rspec.get("display", "").lower() == "none":
            raise SketchError("The SVG's root element has display:none, so nothing is drawn; remove it to see the drawing.")
        if rspec.get("background-color", "transparent").strip().lower() not in ("transparent", "none", "initial"):
            self._drop("the root's background-color")
        if not _conditions_hold(self.root):
            raise SketchError("The SVG's root element has a systemLanguage or requiredExtensions test that fails "
                              "for an English reader, so nothing is drawn; remove that attribute to see the drawing.")
        style = self._computed(rspec, dict(_ROOT_STYLE))
        op = _fraction(rspec["opacity"], "opacity of <svg>") if rspec.get("opacity") else 1.0
        if rspec.get("transform"):
            ctm = ctm @ self._transform(rspec["transform"], self.root, rspec.get("transform-origin"))
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught as non-finite points
            self._visit_children(self.root, ctm, style, op, None, 0, frozenset())
            self._ghost_span = (0, len(self.ghosts))
            self._effects(rspec, self.root, ctm, start=0, end=len(self.paths), factor=op, depth=0, refs=frozenset())
        if not self.paths and self.path_error is not None:
            raise self.path_error
        if not self.paths:
            hint = " Its text was skipped: convert text to paths first (Inkscape: Path > Object to Path)." if self.skipped_text else ""
            if "recursive <use> references" in self.dropped:
                hint += " A <use> refers to itself (a reference cycle) and was skipped; remove the cycle."
            raise SketchError(
                "The SVG has no drawable paths (path, line, polyline, polygon, rect, circle, ellipse) outside "
                f"<defs>.{hint} Draw some strokes and save it again."
            )
        if W is None or H is None:
            W = W or max(1, math.ceil(max(float(p[:, 0].max()) for p in self.paths)))
            H = H or max(1, math.ceil(max(float(p[:, 1].max()) for p in self.paths)))
            self._check_size(W, H)
        return self._sketch((W, H))

    def _check_size(self, W, H):
        if self.check_canvas and (W > MAX_CANVAS or H > MAX_CANVAS):
            raise SketchError(
                f"The SVG canvas is {W}x{H} px, larger than {MAX_CANVAS} px per side. Load it with "
                "normalize=256 (or another size) to fit it into a smaller canvas."
            )

    def _sketch(self, canvas) -> Sketch:
        from .style import ClipRegion, PathStyle

        for i in self.hidden:  # clipped away entirely
            self.strokes[i] = self.strokes[i][:3] + (0.0,)
            self.fills[i] = self.fills[i][:3] + (0.0,)
            self.paint_of[i] = (-1, -1)
        if not any(
            (w > 0 and (s[3] > 0 or sp >= 0)) or (c and (f[3] > 0 or fp >= 0))
            for w, s, c, f, (fp, sp) in zip(self.widths, self.strokes, self.closed, self.fills, self.paint_of)
        ):
            raise SketchError("Every path of the SVG is invisible (no stroke and no fill). Give the strokes a colour.")
        regions = []
        for geom, parent in self.clip_regions:
            pts = [g[0] for g in geom]
            comp = [g[2] for g in geom]
            runs = np.cumsum([0] + [int(comp[i] != comp[i - 1]) for i in range(1, len(comp))])
            n = len(geom)
            own = tuple(g[3] for g in geom)  # clip-paths on the clipPath's shapes: earlier regions
            clip = Sketch(
                points=torch.from_numpy(np.concatenate(pts).astype(np.float32)),
                num_segments=tuple(len(p) // 3 for p in pts),
                closed=(True,) * n,
                stroke_width=torch.zeros(n),
                stroke_color=torch.zeros(n, 4),
                fill_color=torch.tensor([[0.0, 0.0, 0.0, 1.0]] * n),
                fill_rule=tuple(g[1] for g in geom),
                canvas=canvas,
                compound=torch.as_tensor(runs, dtype=torch.long),
            )
            regions.append(ClipRegion(clip, parent, own if any(c >= 0 for c in own) else ()))
        st = self.stroke_styles
        style = PathStyle(
            cap=tuple(x[0] for x in st),
            join=tuple(x[1] for x in st),
            miterlimit=tuple(x[2] for x in st),
            dash=tuple(x[3] for x in st),
            dash_offset=tuple(x[4] for x in st),
            clip=tuple(self.clip_of),
            clips=tuple(regions),
            fill_paint=tuple(f for f, _ in self.paint_of), stroke_paint=tuple(s for _, s in self.paint_of),
            paints=tuple(self.gradients),
            opacity_groups=tuple(self.opacity_groups),
        )
        return Sketch(
            style=style,
            dropped=tuple(self.dropped),
            points=torch.from_numpy(np.concatenate(self.paths).astype(np.float32)),
            num_segments=tuple((len(p) - (0 if c else 1)) // 3 for p, c in zip(self.paths, self.closed)),
            closed=tuple(self.closed),
            stroke_width=torch.tensor(self.widths, dtype=torch.float32),
            stroke_color=torch.tensor(self.strokes, dtype=torch.float32),
            fill_color=torch.tensor(self.fills, dtype=torch.float32),
            fill_rule=tuple(self.rules_fill),
            group=torch.tensor(self._group_ids(), dtype=torch.long),
            canvas=canvas,
            compound=torch.tensor(self.compounds, dtype=torch.long),
        )

    def _group_ids(self) -> list[int]:
        labels = self.labels
        present = [lab for lab in labels if lab is not None]
        if not present:
            return [0] * len(labels)
        if all(re.fullmatch(r"\d+", lab) for lab in present) and max(int(x) for x in present) < MAX_PATHS:
            ids = {lab: int(lab) for lab in present}
        else:
            ids = {}
            for lab in present:
                ids.setdefault(lab, len(ids))
        outside = max(ids.values()) + 1
        return [ids[lab] if lab is not None else outside for lab in labels]

    # ---- style
    def _specified(self, el) -> dict[str, str]:
        """Presentation attributes < style sheet < style attribute < !important sheet < !important style."""
        spec = {k: el.get(k).strip() for k in _STYLE_PROPS if el.get(k) is not None}
        strong: dict[str, str] = {}
        for i in self._candidate_rules(el):
            _, _, steps, decls, important = self.rules[i]
            budget = [min(_MATCH_BUDGET, self.css_budget)]
            matched = _selector_matches(el, steps, self._parent, budget=budget)
            self.css_budget -= min(_MATCH_BUDGET, self.css_budget) - budget[0]
            if self.css_budget <= 0:
                raise SketchError("The SVG's style sheet is too complex to apply (too many selectors for its "
                                  "elements); simplify the CSS or save the styles as attributes.")
            if matched:
                for k, v in decls.items():
                    if k in _STYLE_PROPS or k.startswith("--"):
                        (strong if k in important else spec)[k] = v
        if el.get("style"):
            important: set = set()
            for k, v in _declarations(el.get("style"), important).items():
                if k in _STYLE_PROPS or k.startswith("--"):
                    if k in important:
                        strong[k] = v
                    elif k not in strong:
                        spec[k] = v
        spec.update(strong)
        if spec.get("marker"):  # the shorthand sets the three longhands that are not given
            for k in ("marker-start", "marker-mid", "marker-end"):
                spec.setdefault(k, spec["marker"])
        return spec

    def _computed(self, spec: dict, parent: dict) -> dict:
        style = dict(parent)
        if any(k.startswith("--") or "var(" in v for k, v in spec.items()):  # CSS custom properties (inherited)
            custom = [k for k in spec if k.startswith("--")]
            style.update((k, spec[k]) for k in custom)
            for k in custom:  # a custom property's var()s resolve where it is declared, not where it is used
                if "var(" in spec[k]:
                    value = _substitute_vars(spec[k], style)
                    style[k] = "" if value is None else value  # (a cycle or an undefined name: unset)
            for k in [k for k, v in spec.items() if "var(" in v and not k.startswith("--")]:
                value = _substitute_vars(spec[k], style)
                if value is None:  # invalid at computed-value time: as if not given
                    del spec[k]
                    self._drop("undefined CSS variables (ignored)")
                else:
                    spec[k] = value
        for k in _INHERITED:
            v = spec.get(k)
            if v is not None and v.lower() != "inherit":
                if k in ("fill", "stroke") and not _valid_paint(v):
                    self._drop("invalid paint values (ignored)")  # as browsers do: the inherited value stays
                    continue
                if k in _CHECKED and not _CHECKED[k](v):
                    self._drop(f"invalid {k} values (ignored)")
                    continue
                style[k] = v
        if spec.get("font-size"):  # resolved to px against the parent's size (em, %)
            try:
                _FONT_SIZE[0] = float(parent.get("font-size", "16"))
                ref = _FONT_SIZE[0]
                style["font-size"] = repr(_length(spec["font-size"], "font-size", ref))
            except (SketchError, ValueError):
                style["font-size"] = parent.get("font-size", "16")
        return style

    # ---- traversal
    def _visit_children(self, el, ctm, style, opacity, label, depth, refs):
        for child in list(el):
            if child.tag is None or not isinstance(child.tag, str):
                continue
            self._visit(child, ctm, style, opacity, label, depth + 1, refs)

    def _visit(self, el, ctm, parent_style, opacity, label, depth, refs, checked=False):
        self.visits += 1
        if self.visits > MAX_ELEMENTS:
            raise SketchError(
                f"The SVG expands to more than {MAX_ELEMENTS} elements (through <use> references); it is too complex."
            )
        if depth > MAX_DEPTH:
            raise SketchError(f"The SVG nests elements more than {MAX_DEPTH} levels deep; flatten its groups.")
        use_size, self._pending_size = self._pending_size, None
        ns, tag = _split_tag(el.tag)
        if ns not in ("", SVG_NS):
            return
        if not checked and not _conditions_hold(el):  # conditional processing holds outside <switch> too
            self._drop("elements for other languages or extensions (systemLanguage, requiredExtensions)")
            return
        if tag == "text" and self.in_clip:
            self._drop("text in clip paths (it does not clip)")
            return
        if tag in _NOT_DRAWN and not self.in_clip:
            spec = self._specified(el)
            if spec.get("display", "").lower() != "none":
                self._drop(_NOT_DRAWN[tag])
                if tag == "text":
                    self.skipped_text = True
            return
        if tag not in _SHAPES and tag not in _CONTAINERS:
            return
        if self.in_clip and tag not in _SHAPES and tag != "use":
            return  # a clipPath holds shapes (and <use> of shapes) only
        spec = self._specified(el)
        if spec.get("display", "").lower() == "none":
            return
        style = self._computed(spec, parent_style)
        try:
            factor = _fraction(spec["opacity"], f"opacity of {_where(el)}") if spec.get("opacity") else 1.0
        except SketchError:  # an invalid opacity is ignored, as browsers do
            factor = 1.0
        _FONT_SIZE[0] = float(style.get("font-size", "16"))
        op = opacity * factor
        if el.get("data-object") is not None:
            label = el.get("data-object").strip()
        if spec.get("transform"):
            ctm = ctm @ self._transform(spec["transform"], el, spec.get("transform-origin"))
        start, ghosts = len(self.paths), len(self.ghosts)
        self._visit_content(el, tag, spec=spec, ctm=ctm, style=style, op=op, label=label, depth=depth, refs=refs,
                            use_size=use_size)
        self._ghost_span = (ghosts, len(self.ghosts))
        self._effects(spec, el, ctm, start=start, end=len(self.paths), factor=factor, depth=depth, refs=refs)

    def _opacity_group(self, start, end, factor):
        """Paths [start, end) of one element with opacity `factor` (already in their colours): composited
        as a group when they draw more than one layer (where per-shape opacity would differ)."""
        if factor >= 1 or self.in_clip or end <= start:
            return
        layers = 0
        for i in range(start, end):
            layers += self.widths[i] > 0 and (self.strokes[i][3] > 0 or self.paint_of[i][1] >= 0)
            first = i == start or self.compounds[i] != self.compounds[i - 1]
            layers += first and self.closed[i] and (self.fills[i][3] > 0 or self.paint_of[i][0] >= 0)
            if layers > 1:
                self.opacity_groups.append((start, end, float(factor)))
                return

    def _effects(self, spec, el, ctm, *, start, end, factor, depth, refs):
        """After an element's paths are collected: its clip-path, and notes on what is not drawn."""
        if end <= start:
            return
        self._opacity_group(start, end, factor)
        if spec.get("mask", "none").lower() != "none":
            self._mask(spec["mask"], ctm, start, end, depth, refs)
        if spec.get("filter", "none").lower() != "none":
            self._drop("filters")
        if spec.get("mix-blend-mode", "normal").lower() != "normal":
            self._drop("blend modes")
        clip = spec.get("clip-path", "none")
        if clip.lower() != "none":
            self._clip(clip, el, ctm, start, end, depth, refs)

    def _visit_content(self, el, tag, *, spec, ctm, style, op, label, depth, refs, use_size):
        if tag in ("g", "a"):
            self._visit_children(el, ctm, style, op, label, depth, refs)
        elif tag == "switch":
            for child in el:
                cns, ctag = _split_tag(child.tag)
                drawable = cns in ("", SVG_NS) and ctag in _SHAPES + _CONTAINERS + ("text", "image")
                if drawable and _conditions_hold(child):
                    self._visit(child, ctm, style, op, label, depth + 1, refs, checked=True)
                    break
        elif tag == "svg":
            w, h = use_size if use_size else (None, None)
            self._visit_viewport(el, el, ctm=ctm, style=style, op=op, label=label, depth=depth, refs=refs,
                                 width=w, height=h, spec=spec)
        elif tag == "use":
            self._visit_use(el, ctm, style, op, label, depth, refs)
        else:
            if style["visibility"].lower() in ("hidden", "collapse"):
                if self.bbox_clips and not self.in_clip:
                    self._ghost(el, tag, ctm)
                return
            self._shape(el, tag, ctm, style, op, label)

    def _transform(self, text, el, origin=None) -> np.ndarray:
        try:
            m = _parse_transform(text)
        except (ValueError, IndexError):  # as browsers do: an invalid transform is ignored
            self._drop("invalid transforms (ignored)")
            return np.eye(3)
        if not np.isfinite(m).all():
            raise SketchError(f"Bad transform {_q(text)} on {_where(el)}: not a finite 2D affine map.")
        if origin:
            try:
                ox, oy = self._origin(origin, el)
                m = _translate(ox, oy) @ m @ _translate(-ox, -oy)
            except SketchError:  # an invalid transform-origin is ignored
                self._drop("invalid transform-origin (ignored)")
        return m

    def _origin(self, text, el) -> tuple[float, float]:
        """transform-origin (keywords, lengths, percentages of the viewport) -> (x, y) in user units."""
        vw, vh = self.viewport
        words = str(text).replace(",", " ").split()[:2]
        kw_x = {"left": 0.0, "center": 0.5, "right": 1.0}
        kw_y = {"top": 0.0, "center": 0.5, "bottom": 1.0}
        if len(words) == 2 and (words[0].lower() in ("top", "bottom") or words[1].lower() in ("left", "right")):
            words = words[::-1]
        if len(words) == 1 and words[0].lower() in ("top", "bottom"):
            words = ["center", words[0]]
        out = []
        for i, (w, ref, kw) in enumerate(zip(words + ["center"] * (2 - len(words)), (vw, vh), (kw_x, kw_y))):
            if w.lower() in kw:
                out.append(kw[w.lower()] * ref)
            else:
                out.append(_length(w, f"transform-origin of {_where(el)}", ref))
        return out[0], out[1]

    def _visit_viewport(self, el, content, *, ctm, style, op, label, depth, refs, width=None, height=None, spec=None):
        """A nested <svg> (or a <symbol> through <use>): x/y offset plus viewBox mapping, clipped to
        the viewport unless overflow is visible."""
        vw, vh = self.viewport
        x = _length(el.get("x", "0"), f"x of {_where(el)}", vw)
        y = _length(el.get("y", "0"), f"y of {_where(el)}", vh)
        width = width if width is not None else content.get("width")
        height = height if height is not None else content.get("height")
        w = _length(width, f"width of {_where(el)}", vw) if width is not None else vw
        h = _length(height, f"height of {_where(el)}", vh) if height is not None else vh
        if w <= 0 or h <= 0:
            return  # a zero-size viewport renders nothing
        vb = self._viewbox(content)
        m = ctm @ _translate(x, y)
        saved = self.viewport
        if vb is not None:
            m = m @ _viewbox_matrix(vb, w, h, content.get("preserveAspectRatio"))
            self.viewport = (vb[2], vb[3])
        else:  # percentages inside resolve against this viewport
            self.viewport = (w, h)
        start = len(self.paths)
        try:
            self._visit_children(content, m, style, op, label, depth, refs)
        finally:
            self.viewport = saved
        overflow = (spec or self._specified(content)).get("overflow", "hidden").lower()
        end = len(self.paths)
        if overflow not in ("visible", "auto") and not self.in_clip and end > start:
            if not self._inside(ctm, (x, y, x + w, y + h), start, end):
                rect = [complex(x, y), complex(x + w, y), complex(x + w, y + h), complex(x, y + h)]
                pts = _chain_points([_line(rect[i], rect[(i + 1) % 4]) for i in range(4)], True, ctm)
                key = ("viewport", x, y, w, h, tuple(ctm.ravel()))
                self._assign_clip([([(pts, "nonzero", 0, -1)], key)], start, end)

    def _visit_use(self, el, ctm, style, op, label, depth, refs):
        href = (el.get("href") or el.get(XLINK_HREF) or "").strip()
        if not href.startswith("#"):
            if href:
                self._drop("<use> of other files (external references are not followed)")
            return
        target = self.ids.get(href[1:])
        if target is None:
            return  # a broken reference renders nothing
        if href in refs or el in self._use_stack or self._contains(target, el):  # a cycle: the <use> is not drawn
            self._drop("recursive <use> references")
            return
        refs = refs | {href}
        _, ttag = _split_tag(target.tag)
        if ttag == "symbol":
            if not self.in_clip:
                tspec = self._specified(target)
                try:
                    factor = _fraction(tspec["opacity"], "opacity") if tspec.get("opacity") else 1.0
                except SketchError:
                    factor = 1.0
                start = len(self.paths)
                self._visit_viewport(el, target, ctm=ctm, style=self._computed(tspec, style), op=op * factor,
                                     label=label, depth=depth, refs=refs, width=el.get("width"),
                                     height=el.get("height"), spec=tspec)
                self._opacity_group(start, len(self.paths), factor)
            return
        if self.in_clip and ttag not in _SHAPES:
            return  # in a clipPath, <use> may only point at a shape
        vw, vh = self.viewport
        x = _length(el.get("x", "0"), f"x of {_where(el)}", vw)
        y = _length(el.get("y", "0"), f"y of {_where(el)}", vh)
        if ttag == "svg" and (el.get("width") is not None or el.get("height") is not None):
            self._pending_size = (el.get("width"), el.get("height"))
        self._visit(target, ctm @ _translate(x, y), style, op, label, depth + 1, refs)

    # ---- clipping
    def _clip(self, value, el, ctm, start, end, depth, refs):
        m = re.fullmatch(r"\s*url\(\s*['\"]?#([^'\")]+)['\"]?\s*\)\s*", value)
        if not m:
            self._drop("clip-path shapes (inset, circle...)")
            return
        target = self.ids.get(m.group(1).strip())
        if target is None or _split_tag(target.tag)[1] != "clipPath":
            return  # a broken link: no clipping
        if self.in_clip and id(target) in self._clip_stack:  # a cycle through a clipPath's shape: ignored (resvg)
            self._drop("recursive clip paths")
            return
        chain = self._clip_chain(target, ctm, start, end, depth, refs, ghosts=self._ghost_span)
        if chain is None and self.in_clip:  # a shape of a clipPath clipped away: it adds nothing to the region
            self.clip_of[start:end] = [_CLIPPED_AWAY] * (end - start)
        elif chain is None:
            self.hidden.update(range(start, end))
        else:
            self._assign_clip(chain, start, end)

    def _mask(self, value, ctm, start, end, depth, refs):
        """A mask of opaque white shapes only (or opaque ones, mask-type alpha), as Sketch and Figma write
        them, lets exactly those shapes through: it is drawn as a clip path within the mask's region.
        Other masks are not drawn (named in `dropped`); a broken reference draws the element unmasked."""
        m = re.fullmatch(r"\s*url\(\s*['\"]?#([^'\")]+)['\"]?\s*\)\s*", value)
        target = self.ids.get(m.group(1).strip()) if m else None
        if m and (target is None or _split_tag(target.tag)[1] != "mask"):
            return
        kind = None
        if target is not None and not self.in_clip and id(target) not in self._clip_stack:
            if id(target) not in self._mask_kinds:  # (read once per mask: thousands of elements may share one)
                self._mask_kinds[id(target)] = self._mask_is_clip(target)
            kind = self._mask_kinds[id(target)]
        if not kind:
            self._drop("masks")
            return
        if kind == "empty":  # nothing shows through an empty mask
            self.hidden.update(range(start, end))
            return
        self._clip_stack.add(id(target))
        try:
            chain = self._mask_chain(target, ctm, start, end, depth, refs)
        finally:
            self._clip_stack.discard(id(target))
        if chain is None:
            self.hidden.update(range(start, end))
        else:
            self._assign_clip(chain, start, end)

    def _mask_is_clip(self, target) -> bool | str:
        """True when the mask's content is opaque white (or opaque, mask-type alpha) shapes only, "empty"
        when it draws nothing, else False."""
        tspec = self._specified(target)
        if tspec.get("mask", "none").lower() != "none":
            return False
        alpha = tspec.get("mask-type", "luminance").strip().lower() == "alpha"
        base = self._document_style(target)
        shapes = 0
        for child in target:
            ns, tag = _split_tag(child.tag)
            if ns not in ("", SVG_NS) or tag in ("title", "desc", "metadata"):
                continue
            styles = [(child, tag)]
            if tag == "use":
                href = (child.get("href") or child.get(XLINK_HREF) or "").strip()
                used = self.ids.get(href[1:]) if href.startswith("#") else None
                if used is None:
                    continue  # draws nothing
                styles.append((used, _split_tag(used.tag)[1]))
            if styles[-1][1] not in _SHAPES:
                return False
            style = base
            for el, _ in styles:
                spec = self._specified(el)
                if spec.get("display", "").lower() == "none":
                    break
                if any(spec.get(k, "none").lower() != "none" for k in ("mask", "filter")) or spec.get("opacity"):
                    return False
                style = self._computed(spec, style)
            else:
                try:
                    no_stroke = style["stroke"].strip().lower() == "none" or _length(style["stroke-width"], "w", 1) <= 0
                    rgba = _color(style["fill"], _color(style["color"]))
                    k = _fraction(style["fill-opacity"], "fill-opacity")
                except (SketchError, ValueError):
                    return False
                if not no_stroke or style["visibility"].lower() != "visible":
                    return False
                if rgba is not None and (rgba[3] * k < 1 or not alpha and min(rgba[:3]) < 254 / 255):
                    return False
                shapes += rgba is not None
        return True if shapes else "empty"

    def _mask_chain(self, target, ctm, start, end, depth, refs):
        """[(geometry, key)] of a mask's region and of its shapes, or None when nothing shows through."""
        bbox_units = (target.get("maskUnits") or "").strip() != "userSpaceOnUse"
        bbox_content = (target.get("maskContentUnits") or "").strip() == "objectBoundingBox"
        box = None
        if bbox_units or bbox_content:
            try:
                inv = np.linalg.inv(ctm)
            except np.linalg.LinAlgError:
                return None
            local = [p @ inv[:2, :2].T + inv[:2, 2] for p in self.paths[start:end]]
            box = _bounds_of(local, self.closed[start:end])
            if box is None or box[2] <= box[0] or box[3] <= box[1]:
                return None
        vw, vh = self.viewport
        rect = []
        for name, default, axis in (("x", "-10%", 0), ("y", "-10%", 1), ("width", "120%", 0), ("height", "120%", 1)):
            text = (target.get(name) or default).strip()
            try:
                if bbox_units:
                    v = _number(text[:-1], name) / 100 if text.endswith("%") else _number(text, name)
                    v = v * (box[2 + axis] - box[axis]) + (box[axis] if name in ("x", "y") else 0.0)
                else:
                    v = _length(text, name, (vw, vh)[axis])
            except SketchError:
                return None  # an invalid region: the element is not drawn
            rect.append(v)
        x, y, w, h = rect
        if w <= 0 or h <= 0:
            return None
        corners = [complex(x, y), complex(x + w, y), complex(x + w, y + h), complex(x, y + h)]
        region = _chain_points([_line(corners[i], corners[(i + 1) % 4]) for i in range(4)], True, ctm)
        m = ctm
        if bbox_content:
            m = m @ np.array([[box[2] - box[0], 0, box[0]], [0, box[3] - box[1], box[1]], [0, 0, 1.0]])
        self.clip_rule = "fill-rule"  # a mask's shapes cover their filled area
        try:
            geom = self._clip_geometry(target, m, self._document_style(target), depth, refs)
        finally:
            self.clip_rule = "clip-rule"
        if not geom:
            return None
        key = (id(target), "mask", tuple(ctm.ravel()), tuple(m.ravel()), tuple(rect))  # (m: with the bounding box)
        if not np.isfinite(region.astype(np.float32)).all():  # a region beyond float range: the shapes only
            return [(geom, key)]
        return [([(region, "nonzero", 0, -1)], key + ("region",)), (geom, key)]

    def _clip_chain(self, target, ctm, start, end, depth, refs, ghosts=(0, 0)):
        """[(geometry, key)] of a clipPath and the clipPaths it is itself clipped by (outermost first),
        or None when the region is empty."""
        if id(target) in self._clip_stack:  # a reference cycle: invalid, the element is not drawn
            self._drop("recursive clip paths")
            return None
        self._clip_stack.add(id(target))
        try:
            tspec = self._specified(target)
            m = ctm
            if tspec.get("transform"):  # in the referencing element's user space, outside the bbox units
                m = m @ self._transform(tspec["transform"], target, tspec.get("transform-origin"))
            if (target.get("clipPathUnits") or "").strip() == "objectBoundingBox":
                try:  # the bounding box in the element's own user space
                    inv = np.linalg.inv(ctm)
                except np.linalg.LinAlgError:
                    return None
                hidden = self.ghosts[ghosts[0]:ghosts[1]]
                paths = self.paths[start:end] + [p for pts, _ in hidden for p in pts]
                closed = self.closed[start:end] + [c for _, cs in hidden for c in cs]
                local = [p @ inv[:2, :2].T + inv[:2, 2] for p in paths]
                box = _bounds_of(local, closed)
                if box is None or box[2] <= box[0] or box[3] <= box[1]:
                    return None
                m = m @ np.array([[box[2] - box[0], 0, box[0]], [0, box[3] - box[1], box[1]], [0, 0, 1.0]])
            geom = self._clip_geometry(target, m, self._document_style(target), depth, refs)
            if not geom:
                return None
            chain = [(geom, (id(target), tuple(ctm.ravel()), tuple(m.ravel())))]  # (m: with the bounding box)
            own = tspec.get("clip-path", "none")
            mm = re.fullmatch(r"\s*url\(\s*['\"]?#([^'\")]+)['\"]?\s*\)\s*", own)
            if mm:
                outer = self.ids.get(mm.group(1).strip())
                if outer is not None and id(outer) in self._clip_stack:  # a cycle: that clip-path is ignored
                    self._drop("recursive clip paths")
                elif outer is not None and _split_tag(outer.tag)[1] == "clipPath":
                    more = self._clip_chain(outer, ctm, start, end, depth, refs, ghosts)
                    if more is None:
                        return None
                    chain = more + chain
            return chain
        finally:
            self._clip_stack.discard(id(target))

    def _candidate_rules(self, el) -> list[int]:
        """Indices (cascade order) of the rules whose rightmost compound can match `el` by id, class or tag."""
        if not self.rules:
            return []
        idx = self.rule_index
        found = list(idx.get(("*",), ()))
        found += idx.get(("t", _split_tag(el.tag)[1]), ())
        if el.get("id") is not None:
            found += idx.get(("#", el.get("id")), ())
        for c in set((el.get("class") or "").split()):
            found += idx.get((".", c), ())
        return sorted(set(found))

    def _parent(self, el):
        """The parent element of `el` in the document (None for the root)."""
        if not hasattr(self, "_parents"):  # built on first use: most documents never ask
            self._parents = {c: p for p in self.root.iter() for c in p}
        return self._parents.get(el)

    def _contains(self, ancestor, el) -> bool:
        """True when `el` is `ancestor` or lies inside it in the document."""
        for _ in range(MAX_DEPTH + 2):
            if el is None:
                return False
            if el is ancestor:
                return True
            el = self._parent(el)
        return False

    def _document_style(self, el) -> dict:
        """The computed style of `el` from its ancestors in the document (not from a referencing element)."""
        chain = []
        node = el
        while node is not None and len(chain) <= MAX_DEPTH:
            chain.append(node)
            node = self._parent(node)
        style = dict(_ROOT_STYLE)
        for node in reversed(chain):
            style = self._computed(self._specified(node), style)
        return style

    def _clip_geometry(self, target, m, style, depth, refs):
        """The shapes of a clipPath as [(points, clip-rule, compound id, clip region or -1)]: a shape with
        its own clip-path counts only where that clip lets it (its region is an earlier clip region)."""
        keep = (self.paths, self.closed, self.widths, self.strokes, self.fills, self.rules_fill, self.labels,
                self.compounds, self.stroke_styles, self.clip_of, self.paint_of, self.n_elements)
        self.paths, self.closed, self.widths, self.strokes, self.fills = [], [], [], [], []
        self.rules_fill, self.labels, self.compounds, self.stroke_styles, self.clip_of = [], [], [], [], []
        self.paint_of = []
        self.in_clip = True
        try:
            self._visit_children(target, m, style, 1.0, None, depth, refs)
            geom = [(pts, rule, comp, clip) for pts, rule, comp, clip
                    in zip(self.paths, self.rules_fill, self.compounds, self.clip_of) if clip != _CLIPPED_AWAY]
        finally:
            self.in_clip = False
            (self.paths, self.closed, self.widths, self.strokes, self.fills, self.rules_fill, self.labels,
             self.compounds, self.stroke_styles, self.clip_of, self.paint_of, n) = keep
            self.n_elements = max(self.n_elements, n)
        return geom

    def _inside(self, m, rect, start, end) -> bool:
        """True when every path in [start, end) (with half its stroke width) lies in the viewport rect."""
        try:
            inv = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            return False
        x0, y0, x1, y1 = rect
        scale = math.sqrt(abs(float(np.linalg.det(inv[:2, :2]))))
        for i in range(start, end):
            p = self.paths[i] @ inv[:2, :2].T + inv[:2, 2]
            pad = self.widths[i] / 2 * scale + 1e-9
            if p[:, 0].min() - pad < x0 or p[:, 0].max() + pad > x1 or p[:, 1].min() - pad < y0 or p[:, 1].max() + pad > y1:
                return False
        return True

    def _assign_clip(self, chain, start, end):
        """Clip paths [start, end) by a chain of regions (intersected with what already clips them)."""
        for i in range(start, end):
            parent = self.clip_of[i]
            key = (tuple(k for _, k in chain), parent)
            if key not in self._clip_cache:
                idx = parent
                for geom, _ in chain:
                    self.clip_regions.append((geom, idx))
                    idx = len(self.clip_regions) - 1
                self._clip_cache[key] = idx
            self.clip_of[i] = self._clip_cache[key]

    # ---- shapes
    def _attr_len(self, el, name, ref, default=None):
        v = el.get(name)
        if v is None:
            return default
        try:
            return _length(v, f"{name} of {_where(el)}", ref)
        except SketchError:  # an invalid geometry attribute is ignored, as browsers do
            self._drop("invalid geometry attributes (ignored)")
            return default

    def _geometry(self, el, tag) -> list[tuple[list, bool]]:
        vw, vh = self.viewport
        diag = math.sqrt((vw * vw + vh * vh) / 2)
        if tag == "path":
            reader = _PathData(el.get("d") or "", _where(el), MAX_SEGMENTS - self.n_segments)
            try:
                subs = reader.subpaths()
            except _PathDataError as e:  # SVG: the element is not drawn (the message is kept for a file with
                self._drop("invalid path data (not drawn)")  # nothing else to draw)
                self.path_error = self.path_error or e
                return []
            if reader.error:
                self._drop("path data after an error (drawn up to it)")
            return subs
        if tag == "line":
            p = [complex(self._attr_len(el, f"x{i}", vw, 0.0), self._attr_len(el, f"y{i}", vh, 0.0)) for i in (1, 2)]
            return [([_line(p[0], p[1])], False)]
        if tag in ("polyline", "polygon"):
            raw = _NUMBER_RE.findall(el.get("points") or "")
            if len(raw) // 2 > MAX_SEGMENTS - self.n_segments + 1:
                raise SketchError(_too_many_segments())
            nums = [_number(n, f"points of {_where(el)}") for n in raw]
            pts = [complex(nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
            if len(pts) < 2:
                return []
            segs = [_line(a, b) for a, b in zip(pts[:-1], pts[1:])]
            if tag == "polygon":
                if pts[-1] != pts[0]:
                    segs.append(_line(pts[-1], pts[0]))
                return [(segs, True)]
            return [(segs, False)]
        if tag == "rect":
            x, y = self._attr_len(el, "x", vw, 0.0), self._attr_len(el, "y", vh, 0.0)
            w, h = self._attr_len(el, "width", vw, 0.0), self._attr_len(el, "height", vh, 0.0)
            if w <= 0 or h <= 0:
                return []
            rx, ry = self._attr_len(el, "rx", vw), self._attr_len(el, "ry", vh)
            rx = ry if rx is None or rx < 0 else rx
            ry = rx if ry is None or ry < 0 else ry
            rx, ry = min(max(rx or 0.0, 0.0), w / 2), min(max(ry or 0.0, 0.0), h / 2)
            if rx == 0 or ry == 0:
                c = [complex(x, y), complex(x + w, y), complex(x + w, y + h), complex(x, y + h)]
                return [([_line(c[i], c[(i + 1) % 4]) for i in range(4)], True)]
            k = [complex(x + rx, y), complex(x + w - rx, y), complex(x + w, y + ry), complex(x + w, y + h - ry),
                 complex(x + w - rx, y + h), complex(x + rx, y + h), complex(x, y + h - ry), complex(x, y + ry)]
            segs = []
            for i in range(4):
                a, b, nxt = k[2 * i], k[2 * i + 1], k[(2 * i + 2) % 8]
                if a != b:
                    segs.append(_line(a, b))
                segs += _arc(b, rx, ry, 0.0, False, True, nxt)
            return [(segs, True)]
        if tag == "circle":
            r = self._attr_len(el, "r", diag, 0.0)
            cx, cy = self._attr_len(el, "cx", vw, 0.0), self._attr_len(el, "cy", vh, 0.0)
            return [(_ellipse_subpath(cx, cy, r, r), True)] if r > 0 else []
        # ellipse
        rx, ry = self._attr_len(el, "rx", vw), self._attr_len(el, "ry", vh)
        rx = None if rx is not None and rx < 0 else rx  # SVG 2: a negative radius is "auto" (the other one)
        ry = None if ry is not None and ry < 0 else ry
        rx = ry if rx is None else rx
        ry = rx if ry is None else ry
        cx, cy = self._attr_len(el, "cx", vw, 0.0), self._attr_len(el, "cy", vh, 0.0)
        if rx is None or rx <= 0 or ry <= 0:
            return []
        return [(_ellipse_subpath(cx, cy, rx, ry), True)]

    def _paint(self, value: str, el, style):
        """A colour tuple, None (no paint) or a `_ServerRef` (a gradient with stops, resolved per shape)."""
        try:
            current = _color(style["color"])
        except (ValueError, SketchError):
            current = (0.0, 0.0, 0.0, 1.0)
        v = value.strip()
        if v.lower().startswith("url("):
            ref, _, fallback = v.partition(")")
            target = self.ids.get(ref[4:].strip().strip("'\"").lstrip("#").strip())
            fb = self._paint(fallback, el, style) if fallback.strip() else None
            if target is not None and _split_tag(target.tag)[1] in ("linearGradient", "radialGradient"):
                stops = self._gradient_stops(target)
                if stops is None:
                    return fb  # a gradient without stops paints nothing
                return _ServerRef(target, stops, fb)
            if target is not None and _split_tag(target.tag)[1] == "pattern":
                self._drop("patterns")
            return fb
        try:
            return _color(v, current)
        except (ValueError, SketchError):
            raise SketchError(f"Unknown colour {_q(value)} in {_where(el)}; use a CSS colour such as 'black' or '#1a1a1a'.") from None

    def _gradient_chain(self, el) -> list:
        """The gradient and the gradients it inherits from through href (linear or radial), nearest first."""
        chain = []
        while el is not None and len(chain) < 16 and el not in chain:
            if _split_tag(el.tag)[1] not in ("linearGradient", "radialGradient"):
                break
            chain.append(el)
            href = (el.get("href") or el.get(XLINK_HREF) or "").strip()
            el = self.ids.get(href[1:]) if href.startswith("#") else None
        return chain

    def _gradient_stops(self, el) -> list[tuple[float, tuple]] | None:
        """[(offset, straight RGBA)] of the first gradient in the href chain that has stops, or None
        (read once per gradient element)."""
        if id(el) not in self._stops_cache:
            self._stops_cache[id(el)] = self._read_stops(el)
        return self._stops_cache[id(el)]

    def _read_stops(self, el) -> list[tuple[float, tuple]] | None:
        for g in self._gradient_chain(el):
            stops = [s for s in g if isinstance(s.tag, str) and _split_tag(s.tag)[1] == "stop"]
            if not stops:
                continue
            self.n_stops += len(stops)
            if self.n_stops > MAX_STOPS:
                raise SketchError(f"The SVG's gradients have more than {MAX_STOPS} stops in all; simplify them.")
            out, last = [], 0.0
            for s in stops:
                spec = self._specified(s)
                try:
                    text = (s.get("offset") or "0").strip()
                    off = _number(text[:-1], "offset") / 100 if text.endswith("%") else _number(text, "offset")
                except SketchError:
                    off = 0.0
                off = last = max(min(max(off, 0.0), 1.0), last)
                color_text = spec.get("stop-color", "black")
                try:
                    cur = self._document_style(s)["color"] if color_text.strip().lower() == "currentcolor" else None
                    c = _color(color_text, _color(cur) if cur else None) or _NO_PAINT
                except (ValueError, SketchError):
                    c = (0.0, 0.0, 0.0, 1.0)
                try:
                    a = _fraction(spec.get("stop-opacity", "1"), "stop-opacity")
                except SketchError:
                    a = 1.0
                out.append((off, c[:3] + (c[3] * a,)))
            return out if any(c != out[0][1] for _, c in out) else out[:1]
        return None

    def _gradient(self, ref, subpaths, ctm, opacity):
        """(index into self.gradients, mean colour) of a gradient reference on one shape (a
        `core.style.Gradient` in canvas px, shared by the shapes that resolve to the same one), or a flat
        RGBA colour (one stop), or the fallback paint when the gradient cannot apply (objectBoundingBox on a
        shape without area)."""
        from .style import Gradient

        stops = ref.stops
        if len(stops) == 1:  # (stops of one colour are collapsed to one when read)
            return stops[0][1]
        chain = self._gradient_chain(ref.el)
        kind = "linear" if _split_tag(ref.el.tag)[1] == "linearGradient" else "radial"

        def attr(name, default=None):
            for g in chain:  # the geometry is inherited only from gradients of the same kind
                if g.get(name) is not None and (name in _COMMON_GRADIENT_ATTRS or g.tag == ref.el.tag):
                    return g.get(name).strip()
            return default

        bbox_units = attr("gradientUnits", "objectBoundingBox") != "userSpaceOnUse"
        m = ctm
        vw, vh = self.viewport
        refs = (1.0, 1.0, 1.0) if bbox_units else (vw, vh, math.sqrt((vw * vw + vh * vh) / 2))
        if bbox_units:
            box = _bounds_of([_chain_points(segs, c, np.eye(3)) for segs, c in subpaths], [c for _, c in subpaths])
            if box is None or box[2] - box[0] <= 1e-9 or box[3] - box[1] <= 1e-9:
                return ref.fallback
            m = m @ np.array([[box[2] - box[0], 0, box[0]], [0, box[3] - box[1], box[1]], [0, 0, 1.0]])
        for g in chain:  # gradientTransform (with the CSS transform-origin) of the nearest gradient that has one
            if g.get("gradientTransform") is not None:
                try:
                    m = m @ self._transform(g.get("gradientTransform"), g, g.get("transform-origin"))
                except SketchError:
                    self._drop("invalid transforms (ignored)")
                break

        def length(name, default, axis):
            text = attr(name, default)
            try:
                if bbox_units and not text.endswith("%"):
                    return _number(text, name)
                return _length(text, name, refs[axis])
            except SketchError:
                return _length(default, name, refs[axis])

        if kind == "linear":
            geom = (length("x1", "0%", 0), length("y1", "0%", 1), length("x2", "100%", 0), length("y2", "0%", 1))
        else:
            cx, cy, r = length("cx", "50%", 0), length("cy", "50%", 1), length("r", "50%", 2)
            if r <= 0:
                return stops[-1][1]  # a zero radius: the last stop's colour (SVG)
            fx = length("fx", attr("cx", "50%"), 0) if attr("fx") is not None else cx
            fy = length("fy", attr("cy", "50%"), 1) if attr("fy") is not None else cy
            fr = max(length("fr", "0%", 2), 0.0)
            geom = (cx, cy, r, fx, fy, fr)
        spread = attr("spreadMethod", "pad")
        spread = spread if spread in ("pad", "reflect", "repeat") else "pad"
        if not np.isfinite(m).all() or not all(map(math.isfinite, geom)):
            return ref.fallback
        transform = tuple(float(v) for v in (m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2]))
        key = (id(ref.el), kind, tuple(geom), transform, spread, float(opacity))
        if key not in self._gradient_index:  # shapes that resolve to the same gradient share one entry
            cols = torch.tensor([c[:3] + (c[3] * opacity,) for _, c in stops], dtype=torch.float32)
            g = Gradient(kind, geom, transform, spread, tuple(o for o, _ in stops), cols)
            self.gradients.append(g)
            self._gradient_index[key] = (len(self.gradients) - 1, tuple(float(v) for v in g.mean_color()))
        return self._gradient_index[key]

    def _resolve_paint(self, paint, subpaths, ctm, opacity):
        """(flat RGBA or None, gradient index or -1) of a paint on one shape; opacity multiplies alpha."""
        if isinstance(paint, _ServerRef):
            paint = self._gradient(paint, subpaths, ctm, opacity)
            if isinstance(paint, tuple) and len(paint) == 2:  # (gradient index, its mean colour)
                return paint[1], paint[0]
            if isinstance(paint, _ServerRef):  # a fallback can itself be a server only through bad input
                return None, -1
        if paint is None:
            return None, -1
        return paint[:3] + (paint[3] * opacity,), -1

    def _ghost(self, el, tag, ctm):
        """Remember the outline of a hidden shape (it still counts in a bounding box)."""
        try:
            subpaths = self._geometry(el, tag)
        except SketchError:
            return
        self.n_segments += sum(len(segs) for segs, _ in subpaths)
        if self.n_segments > MAX_SEGMENTS:
            raise SketchError(_too_many_segments())
        outlines = [(_chain_points(segs, closed, ctm), closed) for segs, closed in subpaths]
        outlines = [(p, c) for p, c in outlines if np.isfinite(p).all()]
        self.ghosts.append(([p for p, _ in outlines], [c for _, c in outlines]))

    def _shape(self, el, tag, ctm, style, opacity, label):
        subpaths = self._geometry(el, tag)
        if not subpaths:
            return
        where = _where(el)
        if self.in_clip:  # clip geometry: the filled area with the clip rule; paint does not matter
            rule = style[self.clip_rule].strip().lower()
            rule = rule if rule in ("nonzero", "evenodd") else "nonzero"
            compound = self.n_elements
            self.n_elements += 1
            look = _Look(fill=(0.0, 0.0, 0.0, 1.0), rule=rule, label=label)
            for segs, _ in subpaths:
                self._add(_close(segs), True, ctm, where, look, compound)
            return
        vw, vh = self.viewport
        diag = math.sqrt((vw * vw + vh * vh) / 2)
        paints = {k: style[k].strip() for k in ("fill", "stroke")}
        for k, v in paints.items():
            if v.lower() in ("context-fill", "context-stroke"):
                if self.context_paint is None:  # SVG 2 also gives <use> a context; only markers have one here
                    self._drop("context-fill / context-stroke paint outside markers")
                else:
                    paints[k] = self.context_paint[v.lower() == "context-stroke"]
        stroke = self._paint(paints["stroke"], el, style)
        fill = self._paint(paints["fill"], el, style) if tag != "line" else None
        width = _length(style["stroke-width"], f"stroke-width of {where}", diag)
        lin = ctm[:2, :2]
        scale = math.sqrt(abs(float(np.linalg.det(lin))))
        width *= scale
        if not (math.isfinite(width) and width < 1e30):
            raise SketchError(f"The stroke-width of {where} is too large (over 1e30 px); give it a sensible width.")
        stroke_paint = fill_paint = -1
        if stroke is None or width <= 0:
            stroke_rgba, width = _NO_PAINT, 0.0
        else:
            k = _fraction(style["stroke-opacity"], f"stroke-opacity of {where}") * opacity
            stroke_rgba, stroke_paint = self._resolve_paint(stroke, subpaths, ctm, k)
            if stroke_rgba is None:
                stroke_rgba, width = _NO_PAINT, 0.0
        fill_rgba = _NO_PAINT
        if fill is not None:
            k = _fraction(style["fill-opacity"], f"fill-opacity of {where}") * opacity
            fill_rgba, fill_paint = self._resolve_paint(fill, subpaths, ctm, k)
            fill_rgba = _NO_PAINT if fill_rgba is None else fill_rgba
        rule = style["fill-rule"].strip().lower()
        if rule not in ("nonzero", "evenodd"):
            raise SketchError(f"Unknown fill-rule {_q(style['fill-rule'])} in {where}; use 'nonzero' or 'evenodd'.")
        filled = fill_rgba[3] > 0 or fill_paint >= 0
        stroked = width > 0 and (stroke_rgba[3] > 0 or stroke_paint >= 0)
        order = _paint_order(style["paint-order"])
        markers = [style[k].strip() for k in ("marker-start", "marker-mid", "marker-end")]
        marked = any(m.lower() != "none" for m in markers)
        if marked and (tag not in _MARKABLE or self.in_marker):
            # SVG 2 (and resvg) put markers on every shape; browsers (SVG 1.1) only on paths and lines
            self._drop("markers inside markers" if tag in _MARKABLE else "markers on basic shapes or inside markers")
            marked = False
        outline = subpaths
        if filled:  # SVG fills open subpaths as if closed
            subpaths = [(_close(segs), True) for segs, _ in subpaths]
        stroke_style = self._stroke_style(style, where, scale, diag) if stroked else None
        if stroked and not self.in_clip:
            sv = np.linalg.svd(lin, compute_uv=False)
            if sv[1] > 0 and sv[0] / sv[1] > 1.25:  # a skew or uneven scale: SVG's stroke is wider one way
                self._drop("stroke widths under a skew or uneven scale (drawn with their mean width)")
        if filled and (stroke_style is None or stroke_style[0] == "butt"):
            # SVG draws nothing for a zero-length subpath (no area, butt caps), but closed (as filled
            # subpaths are) the renderer would draw its join; round or square caps draw a dot
            subpaths = [(segs, c) for segs, c in subpaths if any(z != segs[0][0] for seg in segs for z in seg)]
            if not subpaths:
                return
        look = _Look(width=width, stroke=stroke_rgba, fill=fill_rgba, rule=rule, label=label, stroke_style=stroke_style,
                     fill_paint=fill_paint, stroke_paint=stroke_paint if stroked else -1)
        # paint-order: one shape paints its fill then its stroke; a stroke under the fill, or markers
        # between them, make two shapes (a stroke-only one and a fill-only one) painted in that order
        steps = [k for k in order if k != "stroke"]  # "fill": the shape with its fill and stroke
        i_fill, i_stroke = order.index("fill"), order.index("stroke")
        if stroked and filled and (i_stroke < i_fill or (marked and i_fill < order.index("markers") < i_stroke)):
            steps = order
        for step in steps:
            if step == "markers":
                if marked:
                    sw = _length(style["stroke-width"], f"stroke-width of {where}", diag)
                    self._markers(markers, outline, ctm, sw, opacity, label, (style["fill"], style["stroke"]))
                continue
            one = look
            if steps is order:
                one = (replace(look, fill=_NO_PAINT, fill_paint=-1) if step == "stroke" else
                       replace(look, width=0.0, stroke=_NO_PAINT, stroke_style=None, stroke_paint=-1))
            # the subpaths of one element form one compound shape: filled together (holes stay holes)
            compound = self.n_elements
            self.n_elements += 1
            for segs, closed in subpaths:
                self._add(segs, closed, ctm, where, one, compound)

    def _markers(self, refs, subpaths, ctm, sw, opacity, label, context):
        """Draw marker-start / -mid / -end at the path's vertices (their content becomes paths)."""
        els = []
        for value in refs:
            target = None
            if value.lower().startswith("url("):
                target = self.ids.get(value[4:].partition(")")[0].strip().strip("'\"").lstrip("#").strip())
            els.append(target if target is not None and _split_tag(target.tag)[1] == "marker" else None)
        vertices = _vertices(subpaths)
        self.in_marker, self.context_paint = True, context  # context-fill / -stroke: the path's paints
        try:
            for i, (z, angle) in enumerate(vertices):
                el = els[0] if i == 0 else els[2] if i == len(vertices) - 1 else els[1]
                if el is not None:
                    self._marker(el, z, angle, i == 0, ctm, sw, opacity, label)
        finally:
            self.in_marker, self.context_paint = False, None

    def _marker(self, el, z, auto_angle, first, ctm, sw, opacity, label):
        vw, vh = self.viewport
        try:
            mw = _length(el.get("markerWidth", "3"), "markerWidth", vw)
            mh = _length(el.get("markerHeight", "3"), "markerHeight", vh)
        except SketchError:
            mw = mh = 3.0
        if mw <= 0 or mh <= 0:
            return
        orient = (el.get("orient") or "0").strip()
        if orient == "auto":
            angle = auto_angle
        elif orient == "auto-start-reverse":
            angle = auto_angle + (math.pi if first else 0.0)
        else:
            try:
                angle = math.radians(_angle(orient))
            except (SketchError, ValueError):
                angle = 0.0
        c, s_ = math.cos(angle), math.sin(angle)
        m = ctm @ _translate(z.real, z.imag) @ np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1.0]])
        if (el.get("markerUnits") or "").strip() != "userSpaceOnUse":
            m = m @ np.diag([sw, sw, 1.0])
        vb = self._viewbox(el)
        vbm = _viewbox_matrix(vb, mw, mh, el.get("preserveAspectRatio")) if vb is not None else np.eye(3)
        ref = []
        for name, size in (("refX", vw), ("refY", vh)):  # percentages: of the viewport around the path (resvg)
            text = (el.get(name) or "0").strip().lower()
            text = {"left": "0", "top": "0", "center": "50%", "right": "100%", "bottom": "100%"}.get(text, text)
            try:
                ref.append(_length(text, name, size))
            except SketchError:
                ref.append(0.0)
        r = vbm @ np.array([ref[0], ref[1], 1.0])
        m = m @ _translate(-r[0], -r[1])
        saved = self.viewport
        self.viewport = (vb[2], vb[3]) if vb is not None else (mw, mh)
        if id(el) not in self._marker_styles:  # (read once per marker: a long polyline has many vertices)
            overflow = self._specified(el).get("overflow", "hidden")
            if overflow.strip().lower() == "inherit":  # (the root's initial value is visible)
                parent = self._parent(el)
                overflow = "visible" if parent is None else self._specified(parent).get("overflow", "visible")
            self._marker_styles[id(el)] = (self._document_style(el), overflow)
        style, overflow = self._marker_styles[id(el)]
        start = len(self.paths)
        try:
            self._visit_children(el, m @ vbm, style, opacity, label, 1, frozenset())
        finally:
            self.viewport = saved
        end = len(self.paths)
        if overflow.lower() not in ("visible", "auto") and end > start:
            if not self._inside(m, (0.0, 0.0, mw, mh), start, end):
                rect = [0j, complex(mw, 0), complex(mw, mh), complex(0, mh)]
                pts = _chain_points([_line(rect[i], rect[(i + 1) % 4]) for i in range(4)], True, m)
                if np.isfinite(pts.astype(np.float32)).all():  # (a viewport beyond float range clips nothing)
                    self._assign_clip([([(pts, "nonzero", 0, -1)], ("marker", mw, mh, tuple(m.ravel())))],
                                      start, end)

    def _stroke_style(self, style, where, scale, diag):
        """(cap, join, miterlimit, dash pattern, dash offset) with lengths in canvas px; invalid values
        fall back to SVG's initial ones (as a browser does)."""
        from .style import canonical_dash

        cap = style["stroke-linecap"].strip().lower()
        cap = cap if cap in ("butt", "round", "square") else "butt"
        join = style["stroke-linejoin"].strip().lower()
        join = {"miter-clip": "miter", "arcs": "miter"}.get(join, join)
        join = join if join in ("miter", "round", "bevel") else "miter"
        try:
            limit = _number(style["stroke-miterlimit"], "stroke-miterlimit")
        except SketchError:
            limit = 4.0
        limit = limit if limit >= 1 else 4.0
        dash, offset = (), 0.0
        text = style["stroke-dasharray"].strip()
        if text.lower() not in ("none", ""):
            try:
                values = [_length(v, f"stroke-dasharray of {where}", diag) * scale for v in re.split(r"[\s,]+", text) if v]
                off = _length(style["stroke-dashoffset"], f"stroke-dashoffset of {where}", diag) * scale
                dash, offset = canonical_dash(values, off)
            except SketchError:
                dash, offset = (), 0.0
        return cap, join, float(min(limit, 1e6)), dash, offset

    def _add(self, segs, closed, ctm, where, look: "_Look", compound):
        self.n_segments += len(segs)
        if self.n_segments > MAX_SEGMENTS:
            raise SketchError(_too_many_segments())
        if len(self.paths) + 1 > MAX_PATHS:
            raise SketchError(f"The SVG has more than {MAX_PATHS} paths; simplify it or split it into several sketches.")
        pts = _chain_points(segs, closed, ctm)
        if not np.isfinite(pts).all() or not np.isfinite(pts.astype(np.float32)).all():
            raise SketchError(f"{where} has coordinates that are not finite numbers (NaN, infinite or too large); fix them.")
        self.paths.append(pts)
        self.closed.append(closed)
        self.widths.append(float(look.width))
        self.strokes.append(tuple(float(c) for c in look.stroke))
        self.fills.append(tuple(float(c) for c in look.fill) if closed else _NO_PAINT)
        self.rules_fill.append(look.rule)
        self.labels.append(look.label)
        self.compounds.append(compound)
        self.stroke_styles.append(look.stroke_style or ("butt", "miter", 4.0, (), 0.0))
        self.clip_of.append(-1)
        self.paint_of.append((look.fill_paint if closed else -1, look.stroke_paint))


@dataclass(frozen=True)
class _Look:
    """How one shape's paths are painted (see `_Converter._add`)."""

    width: float = 0.0
    stroke: tuple = _NO_PAINT
    fill: tuple = _NO_PAINT
    rule: str = "nonzero"
    label: str | None = None
    stroke_style: tuple | None = None  # (cap, join, miterlimit, dash, dash offset)
    fill_paint: int = -1  # index into _Converter.gradients, or -1
    stroke_paint: int = -1


@dataclass(frozen=True)
class _ServerRef:
    """A paint that refers to a gradient: its element, its resolved stops, and the fallback paint."""

    el: object
    stops: list
    fallback: object = None


# ------------------------------------------------------------------- helpers
def _canvas_size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        W = H = int(size)
    elif isinstance(size, Sequence) and len(size) == 2 and all(isinstance(v, (int, np.integer)) for v in size):
        W, H = int(size[0]), int(size[1])
    else:
        raise SketchError(f"normalize size must be an int or (width, height) of ints, got {size!r}.")
    if not (0 < W <= MAX_CANVAS and 0 < H <= MAX_CANVAS):
        raise SketchError(f"normalize size must be between 1 and {MAX_CANVAS} px per side, got {size!r}.")
    return W, H


def _drawing_bounds(sketch: Sketch) -> tuple[np.ndarray, np.ndarray]:
    """Exact curve bounds, each path widened by half its visible stroke width."""
    P = sketch.points.detach().cpu().double().numpy()[sketch.segment_index.cpu().numpy()]  # [S, 4, 2]
    p0, p1, p2, p3 = P[:, 0], P[:, 1], P[:, 2], P[:, 3]
    d0, d1, d2 = p1 - p0, p2 - p1, p3 - p2
    a, b, c = d0 - 2 * d1 + d2, 2 * (d1 - d0), d0  # B'(t)/3 = a t^2 + b t + c
    ts = [np.zeros_like(a), np.ones_like(a)]
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))
        quad = np.abs(a) > 1e-12
        ts.append(np.where(quad, (-b + disc) / (2 * a), np.where(np.abs(b) > 1e-12, -c / b, 0.0)))
        ts.append(np.where(quad, (-b - disc) / (2 * a), 0.0))
    T = np.clip(np.nan_to_num(np.stack(ts, axis=1), nan=0.0), 0.0, 1.0)  # [S, 4 candidates, 2 axes]
    u = 1 - T
    val = (u**3) * p0[:, None] + 3 * u * u * T * p1[:, None] + 3 * u * T * T * p2[:, None] + T**3 * p3[:, None]
    seg_lo, seg_hi = val.min(axis=1), val.max(axis=1)  # [S, 2]
    half = (sketch.stroke_width * sketch.has_stroke).detach().cpu().double().numpy() / 2
    pad = half[sketch.segment_path.cpu().numpy()][:, None]
    return (seg_lo - pad).min(axis=0), (seg_hi + pad).max(axis=0)


def fmt_num(v: float, digits: int = 5) -> str:
    """A number with at most `digits` decimals and no trailing zeros."""
    s = f"{float(v):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def hex_color(rgba: Iterable[float]) -> str:
    """#rrggbb of an RGB(A) colour in 0..1."""
    r, g, b = (min(max(int(round(float(c) * 255)), 0), 255) for c in list(rgba)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def path_data(pts: np.ndarray, closed: bool, digits: int = 5) -> str:
    """Absolute `M ... C ... [Z]` path data of one path's control points [3k(+1), 2]."""
    n = len(pts)
    parts = [f"M {fmt_num(pts[0, 0], digits)} {fmt_num(pts[0, 1], digits)}"]
    k = n // 3
    for j in range(k):
        c = [pts[3 * j + 1], pts[3 * j + 2], pts[(3 * j + 3) % n]]
        parts.append("C " + " ".join(f"{fmt_num(p[0], digits)} {fmt_num(p[1], digits)}" for p in c))
    if closed:
        parts.append("Z")
    return " ".join(parts)
