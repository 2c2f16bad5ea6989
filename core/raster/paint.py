"""Gradient paint for the torch renderer: the colour of a `core.style.Gradient` at pixel centres.

The renderer composites (pixel, layer) entries, each with a coverage and a straight RGBA
colour. For a layer painted with a gradient, the entry's colour is the gradient evaluated at
the pixel centre (mapped back to canvas px, then through the inverse of the gradient's
transform) instead of the path's flat colour. Sketches without gradients never reach this
module (no cost).

Colour stops are interpolated linearly in straight (not premultiplied) sRGB, as resvg does;
spread: pad clamps t to 0..1, repeat wraps it, reflect mirrors it. Differentiable w.r.t. the
stop colours (and through the renderer's flat-colour override, see `paint_colors`).
"""

from __future__ import annotations

import math

import torch


def ramp_position(g, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(t [M], valid [M] bool) of canvas points xy [M, 2] (float64 inside) on gradient g, before spread."""
    a, b, c, d, e, f = g.transform
    det = a * d - b * c
    x = xy[:, 0].double() - e
    y = xy[:, 1].double() - f
    if abs(det) < 1e-300:  # a degenerate transform: SVG paints nothing with it
        return torch.zeros_like(x), torch.zeros_like(x, dtype=torch.bool)
    gx = (d * x - c * y) / det
    gy = (-b * x + a * y) / det
    valid = torch.ones_like(gx, dtype=torch.bool)
    if g.kind == "linear":
        x1, y1, x2, y2 = g.geometry
        dx, dy = x2 - x1, y2 - y1
        n2 = dx * dx + dy * dy
        if n2 <= 1e-24:  # zero-length vector: the last stop's colour everywhere
            return torch.full_like(gx, 1.0), valid
        return ((gx - x1) * dx + (gy - y1) * dy) / n2, valid
    cx, cy, r, fx, fy, fr = g.geometry
    if r <= 0:
        return torch.full_like(gx, 1.0), valid
    fr = min(max(fr, 0.0), r)
    # SVG 1.1: a focal point outside the end circle is moved onto it (slightly inside)
    ox, oy = fx - cx, fy - cy
    dist = math.hypot(ox, oy)
    if dist > r * 0.999:
        k = r * 0.999 / dist
        fx, fy = cx + ox * k, cy + oy * k
    # two-point conical: the largest t with |p - c(t)| = r(t), c(t) = f + t (c - f), r(t) = fr + t (r - fr)
    cdx, cdy, dr = cx - fx, cy - fy, r - fr
    px, py = gx - fx, gy - fy
    A = cdx * cdx + cdy * cdy - dr * dr  # < 0: the focal circle lies inside the end circle
    B = px * cdx + py * cdy + fr * dr
    C = px * px + py * py - fr * fr
    disc = (B * B - A * C).clamp_min(0)
    if abs(A) < 1e-12:
        t = C / (2 * B).where(B.abs() > 1e-12, torch.full_like(B, 1e-12))
    else:
        t = (B - disc.sqrt()) / A  # A < 0: this root is the larger one
    valid = fr + t * dr >= 0
    return t, valid


def _spread(t: torch.Tensor, spread: str) -> torch.Tensor:
    if spread == "repeat":
        return t - torch.floor(t)
    if spread == "reflect":
        u = torch.remainder(t, 2.0)
        return torch.where(u > 1, 2 - u, u)
    return t.clamp(0, 1)


def gradient_colors(g, xy: torch.Tensor, dtype=None) -> torch.Tensor:
    """[M, 4] straight RGBA of gradient g at canvas points xy [M, 2]."""
    dtype = dtype or xy.dtype
    t, valid = ramp_position(g, xy)
    t = _spread(t, g.spread)
    cols = g.colors.to(device=xy.device, dtype=dtype)
    K = len(g.offsets)
    if K == 1:
        out = cols[0].expand(t.numel(), 4)
    else:
        off = torch.tensor(g.offsets, dtype=torch.float64, device=xy.device)
        hi = torch.searchsorted(off, t, right=True).clamp(1, K - 1)  # stop at or after t
        lo = hi - 1
        span = off[hi] - off[lo]
        w = torch.where(span > 0, (t - off[lo]) / span.clamp_min(1e-300), (t >= off[hi]).double()).clamp(0, 1)
        w = w.to(dtype)[:, None]
        out = cols[lo] * (1 - w) + cols[hi] * w
    return torch.where(valid[:, None], out, torch.zeros_like(out))


def paint_colors(style, rgba, path, is_stroke, pixel, W, scale, flat_override, flat_sketch):
    """Replace the colours of the entries whose layer is painted with a gradient.

    rgba [M, 4]: the entries' flat colours (after any override); path, is_stroke [M]: their
    layer; pixel [M]: y * W + x; scale: output px per canvas px. The override's difference from
    the sketch's own flat colour is added to the gradient (zero by default), so gradients w.r.t.
    an overridden flat colour still reach the picture.
    """
    dev = rgba.device
    fill_paint = torch.tensor(style.fill_paint, device=dev)
    stroke_paint = torch.tensor(style.stroke_paint, device=dev)
    which = torch.where(is_stroke, stroke_paint[path], fill_paint[path])
    if not bool((which >= 0).any()):
        return rgba
    x = (pixel % W).to(torch.float64) + 0.5
    y = (pixel // W).to(torch.float64) + 0.5
    out = rgba
    for i in torch.unique(which[which >= 0]).tolist():
        idx = torch.nonzero(which == i, as_tuple=True)[0]
        xy = torch.stack([x[idx] / scale[0], y[idx] / scale[1]], 1)
        col = gradient_colors(style.paints[i], xy, rgba.dtype)
        p, s = path[idx], is_stroke[idx][:, None]
        delta = torch.where(s, flat_override[0][p] - flat_sketch[0][p], flat_override[1][p] - flat_sketch[1][p])
        out = out.index_put((idx,), (col + delta).clamp(0, 1))
    return out


__all__ = ["gradient_colors", "paint_colors", "ramp_position"]
