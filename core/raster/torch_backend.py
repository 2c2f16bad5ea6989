"""The built-in differentiable rasteriser, in plain PyTorch (CPU and GPU).

How it works (and why it stays small in memory):

1. Every cubic segment is flattened into short line pieces (few pixels long, and
   within 0.05 px of the curve). Their end points are differentiable functions
   of the control points.
2. Coverage is only evaluated near the geometry: each line piece gets a small
   square window of pixels around it (its length plus the stroke radius), so the
   work is proportional to the drawn length, never pixels x segments x frames.
   A first pass without autograd keeps only the pixel/piece pairs that are
   covered; the second pass recomputes distances for those pairs with autograd.
3. Strokes: coverage = clamp(r - d + 0.5, 0, 1), d the distance from the pixel
   centre to the path's centre line (minimum over its pieces), r the half-width.
   This is a 1-px box-filter ramp: it conserves ink across an edge, and round
   caps and joins come for free. Other caps, joins, dashes (a sketch's
   core.style.PathStyle) cut or extend that distance: see core.raster.strokes.
   Clip regions (static) multiply the coverage of the paths they clip. Strokes thinner than 1 px are drawn 1 px wide
   with proportionally lower opacity (same ink). A layer painted with a gradient (core.style.Gradient) takes
   its colour per pixel centre instead of the path's flat colour (core.raster.paint). Opacity groups
   (a `<g opacity>`) are composited as one layer before fading (core.raster.groups).
4. Fills: the inside test is the winding number of the pixel centre (nonzero or
   even-odd), from crossings accumulated per row and a prefix sum (no autograd
   needed); within half a pixel of the outline the coverage ramps with the
   signed distance to it, which is where the gradient lives.
5. Compositing: the covered (frame, pixel, layer) entries are sorted by pixel
   and layer, and painted back to front in closed form:
   C = bg * prod(1 - a_i) + sum_i c_i a_i prod_{j > i}(1 - a_j), with the
   products as exclusive suffix sums of log(1 - a) (float64 for accuracy).
   Each path is two layers in SVG paint order: its fill, then its stroke. A
   compound shape (several subpaths of one SVG element) is filled as one layer:
   the winding numbers of its subpaths add up, so holes stay holes.
"""

from __future__ import annotations


import torch

from ..sketch import Sketch
from .over import over_segments

_PIECE_LENGTH = 4.0  # target length (px) of a flattened line piece
_FLATNESS = 0.05  # max distance (px) between a curve and its flattening
_MAX_PIECES = 256  # per cubic segment
_PAIR_BUDGET = 6_000_000  # window pairs evaluated at once (bounds peak memory)
_FILL_BUDGET = 48_000_000  # winding-accumulator cells at once
_FAR = 1e4  # "distance" of fill-interior pixels far from any edge


# --------------------------------------------------------------------------- geometry
def _bezier(ctrl: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Cubic Bezier points. ctrl [..., Q, 4, 2], t [Q] -> [..., Q, 2]."""
    t = t[:, None]
    s = 1 - t
    return (
        s**3 * ctrl[..., 0, :]
        + 3 * s * s * t * ctrl[..., 1, :]
        + 3 * s * t * t * ctrl[..., 2, :]
        + t**3 * ctrl[..., 3, :]
    )


def _pieces_per_cubic(ctrl: torch.Tensor) -> torch.Tensor:
    """How many line pieces each cubic needs ([S] long), from all frames' geometry."""
    with torch.no_grad():
        poly = (ctrl[..., 1:, :] - ctrl[..., :-1, :]).norm(dim=-1).sum(-1)  # [T, S]
        second = torch.maximum(
            (ctrl[..., 0, :] - 2 * ctrl[..., 1, :] + ctrl[..., 2, :]).norm(dim=-1),
            (ctrl[..., 1, :] - 2 * ctrl[..., 2, :] + ctrl[..., 3, :]).norm(dim=-1),
        )
        by_length = torch.ceil(poly.amax(0) / _PIECE_LENGTH)
        by_flatness = torch.ceil(torch.sqrt(0.75 * second.amax(0) / _FLATNESS))
        return torch.maximum(by_length, by_flatness).clamp(1, _MAX_PIECES).long()


def flatten(ctrl: torch.Tensor):
    """Flatten cubics into line pieces.

    ctrl: [T, S, 4, 2]. Returns (a [T, Q, 2], b [T, Q, 2], cubic [Q] long): the
    end points of every piece (differentiable) and the cubic it came from.
    """
    n = _pieces_per_cubic(ctrl)
    cubic = torch.repeat_interleave(torch.arange(n.numel(), device=ctrl.device), n)
    start = torch.cumsum(n, 0) - n
    j = torch.arange(cubic.numel(), device=ctrl.device) - start[cubic]
    nf = n[cubic].to(ctrl.dtype)
    c = ctrl[:, cubic]
    return _bezier(c, j / nf), _bezier(c, (j + 1) / nf), cubic


def _point_segment_distance(px, py, a, b):
    """Distance from pixel centres (px, py) [M] to segments a, b [M, 2]."""
    ab = b - a
    apx, apy = px - a[:, 0], py - a[:, 1]
    len2 = (ab * ab).sum(-1).clamp_min(1e-12)
    t = ((apx * ab[:, 0] + apy * ab[:, 1]) / len2).clamp(0, 1)
    dx, dy = apx - t * ab[:, 0], apy - t * ab[:, 1]
    return torch.sqrt((dx * dx + dy * dy).clamp_min(1e-10))


def window_pairs(a: torch.Tensor, b: torch.Tensor, reach: torch.Tensor, W: int, H: int):
    """(frame, piece, x, y) of every in-image pixel whose centre is nearer than `reach[q]`
    to piece q. No autograd: it only selects which pairs the differentiable pass computes.
    """
    T, Q, _ = a.shape
    dev = a.device
    out = []
    with torch.no_grad():
        lo = torch.minimum(a, b) - reach[None, :, None]
        hi = torch.maximum(a, b) + reach[None, :, None]
        if Q == 0:
            return [torch.empty(0, dtype=torch.long, device=dev)] * 4
        K = int(torch.ceil((hi - lo).amax()).item()) + 1
        K = max(1, min(K, max(W, H) + 1))
        x0 = torch.floor(lo[..., 0]).long()  # [T, Q]
        y0 = torch.floor(lo[..., 1]).long()
        ar = torch.arange(K, device=dev)
        step = max(1, _PAIR_BUDGET // max(1, K * K * T))
        for q0 in range(0, Q, step):
            q1 = min(Q, q0 + step)
            xs = x0[:, q0:q1, None, None] + ar[None, None, None, :]  # [T, q, 1, K]
            ys = y0[:, q0:q1, None, None] + ar[None, None, :, None]  # [T, q, K, 1]
            xs, ys = torch.broadcast_tensors(xs, ys)
            aq, bq = a[:, q0:q1], b[:, q0:q1]
            ab = bq - aq
            len2 = (ab * ab).sum(-1).clamp_min(1e-12)[..., None, None]
            apx = xs + 0.5 - aq[..., 0, None, None]
            apy = ys + 0.5 - aq[..., 1, None, None]
            t = ((apx * ab[..., 0, None, None] + apy * ab[..., 1, None, None]) / len2).clamp(0, 1)
            dx = apx - t * ab[..., 0, None, None]
            dy = apy - t * ab[..., 1, None, None]
            keep = (dx * dx + dy * dy) < (reach[q0:q1, None, None] ** 2)
            keep &= (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
            ti, qi, _, _ = torch.nonzero(keep, as_tuple=True)
            out.append((ti, qi + q0, xs[keep], ys[keep]))
    return [torch.cat(parts) for parts in zip(*out)]


def _winding_inside(a, b, piece_fill, fill_rule_evenodd, F, W, H):
    """Inside mask [T, F, H, W] (bool) of F fill paths given their closed outlines.

    a, b: [T, Q, 2] pieces (no grad needed); piece_fill [Q]: which fill (0..F-1).
    """
    T, Q, _ = a.shape
    dev = a.device
    with torch.no_grad():
        ymin = torch.minimum(a[..., 1], b[..., 1])
        ymax = torch.maximum(a[..., 1], b[..., 1])
        r0 = torch.ceil(ymin - 0.5).long().clamp(0, H)  # first row centre >= ymin
        r1 = torch.ceil(ymax - 0.5).long().clamp(0, H)  # rows [r0, r1): centre in [ymin, ymax)
        nrows = r1 - r0
        acc = torch.zeros(T, F, H, W + 1, dtype=torch.int32, device=dev)
        R = int(nrows.max().item()) if nrows.numel() else 0
        if R > 0:
            step = max(1, _PAIR_BUDGET // max(1, R * T))
            for q0 in range(0, Q, step):
                q1 = min(Q, q0 + step)
                rows = r0[:, q0:q1, None] + torch.arange(R, device=dev)  # [T, q, R]
                valid = rows < r1[:, q0:q1, None]
                ti, qi, ri = torch.nonzero(valid, as_tuple=True)
                qg = qi + q0
                y = rows[ti, qi, ri].to(a.dtype) + 0.5
                pa, pb = a[ti, qg], b[ti, qg]
                u = (y - pa[:, 1]) / (pb[:, 1] - pa[:, 1])
                xc = pa[:, 0] + u * (pb[:, 0] - pa[:, 0])
                k = torch.ceil(xc - 0.5).long().clamp(0, W)
                direction = torch.where(pb[:, 1] > pa[:, 1], 1, -1).to(torch.int32)
                flat = ((ti * F + piece_fill[qg]) * H + rows[ti, qi, ri]) * (W + 1) + k
                acc.view(-1).index_add_(0, flat, direction)
        # winding[x] = sum of crossings strictly right of the pixel centre
        wind = acc.flip(-1).cumsum(-1).flip(-1)[..., 1:]
        evenodd = fill_rule_evenodd[None, :, None, None]
        return torch.where(evenodd, wind % 2 != 0, wind != 0)


# --------------------------------------------------------------------------- render
def render_torch(
    sketch: Sketch,
    pts: torch.Tensor,
    size: tuple[int, int],
    stroke_width: torch.Tensor,
    stroke_color: torch.Tensor,
    fill_color: torch.Tensor,
    background,
    scale: tuple[float, float] = (1.0, 1.0),
) -> torch.Tensor:
    """Render frames [T, N, 2] (output-pixel coordinates) -> [T, H, W, 3|4]. See module doc.

    scale: output px per canvas px in x and y (dash lengths and clip regions are in canvas px)."""
    W, H = size
    T = pts.shape[0]
    dev, dt = pts.device, pts.dtype
    P = sketch.num_paths
    seg_index = sketch.segment_index.to(dev)
    seg_path = sketch.segment_path.to(dev)
    stroke_width = stroke_width.to(dev, dt)
    stroke_color = stroke_color.to(dev, dt)
    fill_color = fill_color.to(dev, dt)

    with torch.no_grad():
        has_stroke = (stroke_width > 0) & (stroke_color[:, 3] > 0)
        closed = torch.tensor(sketch.closed, device=dev)
        first = sketch.compound_first.to(dev)  # compound shapes fill together
        has_fill = (first == torch.arange(P, device=dev)) & closed & (fill_color[:, 3] > 0)

    a, b, cubic = flatten(pts[:, seg_index])  # [T, Q, 2] x2, [Q]
    piece_path = seg_path[cubic]

    keys, dists, inside_flags = [], [], []
    HW = H * W
    L = 2 * P  # layers: 2p = fill of path p, 2p + 1 = its stroke

    def key_of(t, x, y, layer):
        return ((t * HW + y * W + x) * L) + layer

    # ---- strokes: signed distance (distance to the centre line - half-width), pairs within r + 0.5
    # of the centre line; paths with other caps / joins / dashes go through core.raster.strokes
    r_eff_all = (stroke_width / 2).clamp_min(0.5)
    style = sketch.style
    styled = [p for p in range(P) if style is not None and not style.is_round_solid(p) and bool(has_stroke[p])]
    round_ok = has_stroke.clone()
    if styled:
        round_ok[torch.tensor(styled, device=dev)] = False
    stroke_pieces = torch.nonzero(round_ok[piece_path], as_tuple=True)[0]
    if stroke_pieces.numel():
        half = r_eff_all.detach()
        reach = half[piece_path[stroke_pieces]] + 0.5
        ti, qi, xs, ys = window_pairs(a[:, stroke_pieces].detach(), b[:, stroke_pieces].detach(), reach, W, H)
        q = stroke_pieces[qi]
        d = _point_segment_distance(xs.to(dt) + 0.5, ys.to(dt) + 0.5, a[ti, q], b[ti, q])
        keys.append(key_of(ti, xs, ys, 2 * piece_path[q] + 1))
        dists.append(d - r_eff_all[piece_path[q]])
        inside_flags.append(torch.zeros_like(d, dtype=torch.bool))
    if styled:
        from .strokes import styled_stroke_pairs

        found = styled_stroke_pairs(sketch, style, a=a, b=b, cubic=cubic, piece_path=piece_path, paths=styled,
                                    r_eff=r_eff_all, scale=(scale[0] * scale[1]) ** 0.5, size=(W, H))
        if found is not None:
            ti, xs, ys, pth, sdf = found
            keys.append(key_of(ti, xs, ys, 2 * pth + 1))
            dists.append(sdf)
            inside_flags.append(torch.zeros_like(sdf, dtype=torch.bool))

    # ---- fills: inside mask by winding number, plus a half-pixel band around the outline
    fill_paths = torch.nonzero(has_fill, as_tuple=True)[0].tolist()
    if fill_paths:
        evenodd_all = torch.tensor([r == "evenodd" for r in sketch.fill_rule], device=dev)
        chunk = max(1, _FILL_BUDGET // max(1, T * H * (W + 1)))
        for c0 in range(0, len(fill_paths), chunk):
            paths = torch.tensor(fill_paths[c0 : c0 + chunk], device=dev)
            F = paths.numel()
            slot = torch.full((P,), -1, dtype=torch.long, device=dev)
            slot[paths] = torch.arange(F, device=dev)
            piece_slot = torch.where(closed[piece_path], slot[first[piece_path]], -1)
            pieces = torch.nonzero(piece_slot >= 0, as_tuple=True)[0]
            pf = piece_slot[pieces]
            ad, bd = a[:, pieces].detach(), b[:, pieces].detach()
            inside = _winding_inside(ad, bd, pf, evenodd_all[paths], F, W, H)  # [T, F, H, W]
            # band pairs (differentiable)
            reach = torch.full((pieces.numel(),), 0.5, device=dev, dtype=dt)
            ti, qi, xs, ys = window_pairs(ad, bd, reach, W, H)
            q = pieces[qi]
            d = _point_segment_distance(xs.to(dt) + 0.5, ys.to(dt) + 0.5, a[ti, q], b[ti, q])
            keys.append(key_of(ti, xs, ys, 2 * paths[pf[qi]]))
            dists.append(d)
            inside_flags.append(inside[ti, pf[qi], ys, xs])
            # interior pixels (coverage 1 unless a band pair says otherwise)
            ti, fi, ys, xs = torch.nonzero(inside, as_tuple=True)
            keys.append(key_of(ti, xs, ys, 2 * paths[fi]))
            dists.append(torch.full(ti.shape, _FAR, device=dev, dtype=dt))
            inside_flags.append(torch.ones_like(ti, dtype=torch.bool))

    if not keys:
        return _finish(None, None, None, shape=(T, H, W), background=background, dev=dev, dt=dt)

    keys = torch.cat(keys)
    dists = torch.cat(dists)
    inside_flags = torch.cat(inside_flags)
    ukeys, inv = torch.unique(keys, return_inverse=True)  # sorted: pixel-major, layer-minor
    n = ukeys.numel()
    # a defined initial value: the backward of "amin" compares it with the result even with include_self=False
    # (torch.empty let garbage that equals the minimum take a share of the gradient: random halving)
    dmin = torch.full((n,), float("inf"), device=dev, dtype=dt).scatter_reduce(0, inv, dists, "amin", include_self=False)
    inside = torch.zeros(n, dtype=torch.bool, device=dev).index_put_((inv,), inside_flags, accumulate=False)
    layer = ukeys % L
    path = layer // 2
    is_stroke = (layer % 2) == 1

    thin = stroke_width.clamp(max=1.0)  # opacity of sub-pixel strokes (ink conserving)
    cov_stroke = (0.5 - dmin).clamp(0, 1) * thin[path]
    cov_fill = torch.where(inside, 0.5 + dmin, 0.5 - dmin).clamp(0, 1)
    cov = torch.where(is_stroke, cov_stroke, cov_fill)
    rgba = torch.where(is_stroke[:, None], stroke_color[path], fill_color[path])
    if style is not None and style.has_paints:  # gradients: a colour per pixel (core.raster.paint)
        from .paint import paint_colors

        rgba = paint_colors(style, rgba, path=path, is_stroke=is_stroke, pixel=(ukeys // L) % HW, width=W,
                            scale=scale, flat_override=(stroke_color, fill_color),
                            flat_sketch=(sketch.stroke_color.to(dev, dt), sketch.fill_color.to(dev, dt)))
    alpha = cov * rgba[:, 3]
    if style is not None and style.clips:  # clip regions (static masks) multiply coverage
        from .strokes import clip_mask

        clip_of = torch.tensor(style.clip, device=dev)[path]
        factor = torch.ones_like(alpha.detach())
        for c in torch.unique(clip_of).tolist():  # one mask in memory at a time
            if c >= 0:
                idx = torch.nonzero(clip_of == c, as_tuple=True)[0]
                factor[idx] = clip_mask(style, c, W, H, scale, dev, dt)[(ukeys[idx] // L) % HW]
        alpha = alpha * factor
    rgb = rgba[:, :3]
    if style is not None and style.opacity_groups:  # group opacity composited per group (core.raster.groups)
        from .groups import composite_groups

        alpha, rgb = composite_groups(style, P, ukeys // L, layer, alpha, rgb)
    return _finish(ukeys // L, alpha, rgb, shape=(T, H, W), background=background, dev=dev, dt=dt)


def _finish(pixel, alpha, rgb, *, shape, background, dev, dt):
    """Composite sorted (pixel, layer) entries back to front; see module doc (step 5). shape: (T, H, W)."""
    T, H, W = shape
    npix = T * H * W
    if pixel is None:
        premult = torch.zeros(npix, 3, device=dev, dtype=dt)
        log_trans = torch.zeros(npix, device=dev, dtype=dt)
    else:
        _, counts = torch.unique_consecutive(pixel, return_counts=True)
        last = torch.repeat_interleave(torch.cumsum(counts, 0) - 1, counts)
        premult, log_trans = over_segments(pixel, last, npix, alpha, rgb)
        log_trans = log_trans.to(dt)
    trans = torch.exp(log_trans)[:, None]
    if background is None:
        out = torch.cat([premult, 1 - trans], dim=1)
        return out.clamp(0, 1).view(T, H, W, 4)  # (float rounding can leave 1 + 1e-6)
    bg = torch.as_tensor(background, device=dev, dtype=dt).reshape(1, 3)
    return (premult + bg * trans).clamp(0, 1).view(T, H, W, 3)


def ink(images: torch.Tensor) -> torch.Tensor:
    """Total ink of images on white: sum of (1 - mean RGB). Used by tests and metrics."""
    return (1 - images[..., :3].mean(-1)).sum()


__all__ = ["render_torch", "flatten", "ink", "window_pairs"]
