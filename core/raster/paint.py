"""Gradient paint for the torch renderer: the colour of `core.style.Gradient`s at pixel centres.

The renderer composites (pixel, layer) entries, each with a coverage and a straight RGBA
colour. For a layer painted with a gradient, the entry's colour is the gradient evaluated at
the pixel centre (mapped back to canvas px, then through the inverse of the gradient's
transform) instead of the path's flat colour. Sketches without gradients never reach this
module (no cost).

All gradients of a sketch are evaluated in one batch (a table of their inverse transforms and
geometry, their stops concatenated with keys `2 g + offset` so one searchsorted finds every
entry's stop pair), so a file with thousands of gradients costs about what one does.

Colour stops are interpolated linearly in straight (not premultiplied) sRGB, as resvg does;
spread: pad clamps t to 0..1, repeat wraps it, reflect mirrors it. Radial gradients are SVG's
two-point conical ones with the focal point kept inside the end circle (SVG 1.1). Differentiable
w.r.t. the stop colours (and through the renderer's flat-colour override, see `paint_colors`).
"""

from __future__ import annotations

import math

import torch

from .strokes import cached_on_style

_SPREAD = {"pad": 0, "reflect": 1, "repeat": 2}


def _table(paints, dev):
    """Per gradient (float64): inverse transform [G, 6], geometry [G, 6], kind, spread, flags; stop keys."""
    G = len(paints)
    inv = torch.zeros(G, 6, dtype=torch.float64)
    geom = torch.zeros(G, 6, dtype=torch.float64)
    kind = torch.zeros(G, dtype=torch.long)
    spread = torch.zeros(G, dtype=torch.long)
    flat = torch.zeros(G, dtype=torch.bool)  # the last stop everywhere (zero-length vector, zero radius)
    ok = torch.ones(G, dtype=torch.bool)  # invertible transform
    keys, first, count = [], [], []
    for i, g in enumerate(paints):
        a, b, c, d, e, f = g.transform
        det = a * d - b * c
        if abs(det) < 1e-300:
            ok[i] = False
        else:
            inv[i] = torch.tensor([d / det, -b / det, -c / det, a / det, e, f], dtype=torch.float64)
        spread[i] = _SPREAD[g.spread]
        if g.kind == "linear":
            x1, y1, x2, y2 = g.geometry
            geom[i, :4] = torch.tensor(g.geometry, dtype=torch.float64)
            flat[i] = (x2 - x1) ** 2 + (y2 - y1) ** 2 <= 1e-24
        else:
            kind[i] = 1
            cx, cy, r, fx, fy, fr = g.geometry
            flat[i] = r <= 0
            fr = min(max(fr, 0.0), max(r, 0.0))
            dist = math.hypot(fx - cx, fy - cy)
            if r > 0 and dist > r * 0.999:  # SVG 1.1: a focal point outside the end circle moves onto it
                k = r * 0.999 / dist
                fx, fy = cx + (fx - cx) * k, cy + (fy - cy) * k
            geom[i] = torch.tensor([cx, cy, r, fx, fy, fr], dtype=torch.float64)
        first.append(sum(count))
        count.append(len(g.offsets))
        keys.append(torch.tensor(g.offsets, dtype=torch.float64) + 2 * i)
    to = lambda t: t.to(dev)  # noqa: E731
    return (to(inv), to(geom), to(kind), to(spread), to(flat), to(ok), to(torch.cat(keys)),
            to(torch.tensor(first)), to(torch.tensor(count)))


def _paint_tables(style, dev):
    """(gradient table (see `_table`), fill_paint [P], stroke_paint [P]) on dev, built once per style and
    device (on the renderer's per-style cache): all of it is float64 or integer whatever the render dtype."""

    def make():
        return (_table(style.paints, dev), torch.tensor(style.fill_paint, device=dev),
                torch.tensor(style.stroke_paint, device=dev))

    return cached_on_style(style, "paint", str(dev), make)


def ramp_position(inv, geom, kind, flat, ok, gi, xy):
    """(t [M], valid [M]) of canvas points xy [M, 2] on gradients gi [M] (float64), before spread."""
    v = inv[gi]
    x = xy[:, 0].double() - v[:, 4]
    y = xy[:, 1].double() - v[:, 5]
    gx = v[:, 0] * x + v[:, 2] * y
    gy = v[:, 1] * x + v[:, 3] * y
    q = geom[gi]
    # linear: projection onto (x1, y1) -> (x2, y2)
    dx, dy = q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]
    t_lin = ((gx - q[:, 0]) * dx + (gy - q[:, 1]) * dy) / (dx * dx + dy * dy).clamp_min(1e-300)
    # radial (two-point conical): the largest t with |p - c(t)| = r(t), c(t) = f + t (c - f), r(t) = fr + t (r - fr)
    cdx, cdy, dr = q[:, 0] - q[:, 3], q[:, 1] - q[:, 4], q[:, 2] - q[:, 5]
    px, py, fr = gx - q[:, 3], gy - q[:, 4], q[:, 5]
    A = cdx * cdx + cdy * cdy - dr * dr  # < 0: the focal circle lies inside the end circle
    B = px * cdx + py * cdy + fr * dr
    C = px * px + py * py - fr * fr
    root = (B * B - A * C).clamp_min(0).sqrt()
    small = A.abs() < 1e-12
    t_rad = torch.where(small, C / torch.where(B.abs() > 1e-12, 2 * B, torch.full_like(B, 1e-12)),
                        (B - root) / torch.where(small, torch.ones_like(A), A))
    radial = kind[gi] == 1
    t = torch.where(radial, t_rad, t_lin)
    t = torch.where(flat[gi], torch.ones_like(t), t)
    valid = ok[gi] & (~radial | flat[gi] | (fr + t_rad * dr >= 0))
    return t, valid


def _spread(t, code):
    u = torch.remainder(t, 2.0)
    return torch.where(code == 2, t - torch.floor(t), torch.where(code == 1, torch.where(u > 1, 2 - u, u), t.clamp(0, 1)))


def gradient_colors(style, gi: torch.Tensor, xy: torch.Tensor, dtype=None) -> torch.Tensor:
    """[M, 4] straight RGBA of the gradients style.paints[gi] at canvas points xy [M, 2]."""
    dtype = dtype or xy.dtype
    dev = xy.device
    inv, geom, kind, spread, flat, ok, keys, first, count = _paint_tables(style, dev)[0]
    t, valid = ramp_position(inv, geom, kind, flat, ok, gi, xy)
    t = _spread(t, spread[gi])
    cols = torch.cat([g.colors for g in style.paints]).to(device=dev, dtype=dtype)  # (may require grad)
    f, n = first[gi], count[gi]
    hi = torch.searchsorted(keys, 2 * gi.double() + t, right=True)
    hi = torch.minimum(torch.maximum(hi, f + 1), f + n - 1).clamp_min(f)  # a stop at or after t, in gi's stops
    lo = torch.maximum(hi - 1, f)
    span = keys[hi] - keys[lo]
    pos = 2 * gi.double() + t
    # stops at one offset (a hard edge): the later one from that offset on, the earlier one before it
    w = torch.where(span > 0, (pos - keys[lo]) / span.clamp_min(1e-300), (pos >= keys[hi]).double())
    w = w.clamp(0, 1).to(dtype)[:, None]
    out = cols[lo] * (1 - w) + cols[hi] * w
    return torch.where(valid[:, None], out, torch.zeros_like(out))


def paint_colors(style, rgba, *, path, is_stroke, pixel, width, scale, flat_override, flat_sketch):
    """Replace the colours of the entries whose layer is painted with a gradient.

    rgba [M, 4]: the entries' flat colours (after any override); path, is_stroke [M]: their
    layer; pixel [M]: y * width + x; scale: output px per canvas px. The override's difference from
    the sketch's own flat colour is added to the gradient (zero by default), so gradients w.r.t.
    an overridden flat colour still reach the picture.
    """
    _, fill_paint, stroke_paint = _paint_tables(style, rgba.device)
    which = torch.where(is_stroke, stroke_paint[path], fill_paint[path])
    idx = torch.nonzero(which >= 0, as_tuple=True)[0]
    if idx.numel() == 0:
        return rgba
    pix = pixel[idx]
    xy = torch.stack([((pix % width).double() + 0.5) / scale[0], ((pix // width).double() + 0.5) / scale[1]], 1)
    col = gradient_colors(style, which[idx], xy, rgba.dtype)
    p, s = path[idx], is_stroke[idx][:, None]
    delta = torch.where(s, flat_override[0][p] - flat_sketch[0][p], flat_override[1][p] - flat_sketch[1][p])
    return rgba.index_put((idx,), (col + delta).clamp(0, 1))


__all__ = ["gradient_colors", "paint_colors", "ramp_position"]
