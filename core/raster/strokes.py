"""Styled strokes for the torch renderer: caps, joins, miter limits, dashes (and clip masks).

Every stroke is first what the round-only renderer draws: the union of capsules
around its flattened line pieces, as a signed distance (distance to the centre
line minus the half-width). That union has no seams anywhere (the distance to a
polyline is exact), and it already is the round cap and round join. Other styles
are small changes to it, each a signed distance combined by max (cut away) or
min (add):

- butt cap: the pieces near a path end (within the half-width + 1 px of arc
  length) are cut by the end's plane (the half-plane beyond the end point);
- square cap: butt, plus a box of half-size r centred on the end point;
- bevel join (and a miter longer than miterlimit x width): the two pieces at a
  corner between Bezier segments are cut by the bevel line (at distance r cos(a/2)
  from the corner along the outer bisector, a the turn angle);
- miter join: a kite added at the corner: the outer wedge between the two piece
  ends, bounded by the two offset lines (its tip is the miter point);
- dashes: each pair's arc length s along its path (cumulative piece lengths, so
  dashes follow the curve as it moves and stay differentiable w.r.t. the points)
  is placed in the dash pattern; the distance to the nearest dash boundary (in
  arc length) cuts the stroke: butt ends, or extended by r (square), or a disc
  of radius r around the dash end (round).

All of it is per (frame, pixel, piece) pair inside the same small windows as the
round strokes (plus windows around corners and ends), so memory still grows with
the drawn length, not with pixels x pieces.
"""

from __future__ import annotations

import torch

from .torch_backend import window_pairs

_BIG = 1e4


def _cross(u, v):
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _perp(d):
    return torch.stack([-d[..., 1], d[..., 0]], -1)


def _unit(d):
    n = d.norm(dim=-1, keepdim=True)
    return d / n.clamp_min(1e-9), n[..., 0]


class DashPattern:
    """Canonical dash patterns of the styled paths, as padded boundary tables."""

    def __init__(self, dashes, offsets, scale, dev, dt):
        D = max([len(d) for d in dashes] + [2])
        P = len(dashes)
        bounds = torch.zeros(P, D + 1, dtype=dt, device=dev)
        period = torch.ones(P, dtype=dt, device=dev)
        self.has = torch.tensor([bool(d) for d in dashes], device=dev)
        for p, d in enumerate(dashes):
            if d:
                c = torch.cumsum(torch.tensor((0.0,) + tuple(d), dtype=dt), 0) * scale
                bounds[p, : len(d) + 1] = c.to(dev)
                bounds[p, len(d) + 1:] = c[-1]
                period[p] = c[-1]
        self.bounds, self.period, self.D = bounds, period, D
        self.offset = torch.tensor(offsets, dtype=dt, device=dev) * scale

    def sdf(self, s, path, perp, r, cap, length, beyond=None):
        """Signed distance (arc length) to the dashes of `path` at arc length s; cap: 0 butt, 1 round, 2 square.

        length: the path's length; boundaries of the pattern before 0 or beyond it do not exist."""
        with torch.no_grad():  # where in the pattern (no gradient needed for the choice)
            sd = s.detach()
            period = self.period.index_select(0, path)
            pos = torch.remainder(sd + self.offset.index_select(0, path), period)
            B = self.bounds.index_select(0, path)  # [M, D + 1]
            k = (pos[:, None] >= B[:, 1:]).sum(-1).clamp(max=self.D - 1)
            lo = B.gather(1, k[:, None])[:, 0]
            hi = B.gather(1, (k + 1)[:, None])[:, 0]
            to_lo, to_hi = pos - lo, hi - pos
            to_lo = torch.where(sd - to_lo < -1e-3, _BIG, to_lo)  # boundaries before the path's start
            to_hi = torch.where(sd + to_hi > length.detach() + 1e-3, _BIG, to_hi)  # ... or beyond its end
            use_lo = to_lo <= to_hi
            shift = pos - sd  # pos = s + shift
            const = torch.where(use_lo, shift - lo, hi - shift)
            const = torch.where(torch.minimum(to_lo, to_hi) >= _BIG, _BIG, const)
            sign = torch.where(use_lo, 1.0, -1.0).to(s.dtype)
            on = (k % 2) == 0
            off = (~on).to(s.dtype)
            side = 2 * off - 1  # +1 in a gap, -1 on a dash
            extends = (cap != 0).to(s.dtype)  # round and square caps reach r beyond a dash's end
            round_gap = (cap == 1) & ~on
        delta = sign * s + const  # distance (arc length) to the nearest dash boundary, differentiable in s
        if beyond is not None:  # a pixel beyond the path's end: that much farther from the dash boundary
            delta = delta + beyond * off
        out = side * delta - r * extends
        if bool(round_gap.any()):
            rounded = torch.sqrt((delta * delta + perp * perp).clamp_min(1e-10)) - r
            out = torch.where(round_gap, rounded, out)
        return out


def styled_stroke_pairs(sketch, style, *, a, b, cubic, piece_path, paths, r_eff, scale, size):
    """Covered (frame, x, y, path, signed distance) of the strokes of `paths` (a list of path ids).

    a, b: [T, Q, 2] all line pieces (differentiable); cubic, piece_path: [Q].
    r_eff: [P] half-widths (>= 0.5 px) in output pixels; scale: output px per canvas px (dashes);
    size: output (W, H).
    """
    W, H = size
    dev, dt = a.device, a.dtype
    T = a.shape[0]
    pset = torch.zeros(sketch.num_paths, dtype=torch.bool, device=dev)
    pset[torch.tensor(paths, device=dev)] = True
    sp = torch.nonzero(pset[piece_path], as_tuple=True)[0]  # styled pieces, contiguous per path, in order
    if sp.numel() == 0:
        return None
    pp = piece_path[sp]
    Qs = sp.numel()
    P = sketch.num_paths
    closed_p = torch.tensor(sketch.closed, device=dev)

    def tables():
        return (torch.tensor([{"butt": 0, "round": 1, "square": 2}[c] for c in style.cap], device=dev),
                torch.tensor([{"miter": 0, "round": 1, "bevel": 2}[j] for j in style.join], device=dev),
                torch.tensor(style.miterlimit, dtype=dt, device=dev),
                DashPattern(style.dash, style.dash_offset, scale, dev, dt))

    cap_code, join_code, limit, dash = cached_on_style(style, "tables", (str(dev), dt, float(scale)), tables)
    r = r_eff

    # ---- structure (no grad): first / last piece of each path, the piece after each piece
    idx = torch.arange(Qs, device=dev)
    first = torch.full((P,), Qs, dtype=torch.long, device=dev).scatter_reduce(0, pp, idx, "amin")
    last = torch.full((P,), -1, dtype=torch.long, device=dev).scatter_reduce(0, pp, idx, "amax")
    first, last = first.clamp(max=Qs - 1), last.clamp_min(0)  # (paths without styled pieces: unused)
    is_last = idx == last[pp]
    nxt = torch.where(is_last, torch.where(closed_p[pp], first[pp], -1), idx + 1)
    has_next = nxt >= 0
    nxt_c = nxt.clamp_min(0)
    corner = has_next & (cubic[sp] != cubic[sp[nxt_c]])
    prv = torch.full((Qs,), -1, dtype=torch.long, device=dev)
    prv[nxt_c[has_next]] = idx[has_next]

    # ---- geometry per frame (differentiable)
    A, B = a[:, sp], b[:, sp]  # [T, Qs, 2]
    d, length = _unit(B - A)
    cs = torch.cumsum(length, 1)
    s0 = cs - length
    s0 = s0 - s0[:, first][:, pp]  # arc length at each piece start, from its path's start
    total = (s0 + length)[:, last]  # [T, P] path lengths (rows of unused paths are junk)
    # a zero-length path has no direction: SVG aligns its caps with the x axis
    point_path = (total.detach() <= 1e-9).index_select(1, pp)  # [T, Qs]
    if bool(point_path.any()):
        d = torch.where(point_path[..., None], torch.tensor([1.0, 0.0], dtype=dt, device=dev), d)
    # joints after each piece (corner quantities)
    d2 = d[:, nxt_c]
    cr = _cross(d, d2)
    sgn = torch.where(cr >= 0, 1.0, -1.0).to(dt)
    n1 = -sgn[..., None] * _perp(d)
    n2 = -sgn[..., None] * _perp(d2)
    msum = n1 + n2
    m_len = msum.norm(dim=-1)
    m = torch.where((m_len > 1e-4)[..., None], msum / m_len.clamp_min(1e-4)[..., None], d)
    cos_half = (m_len / 2).clamp(0, 1)  # cos(turn / 2)
    join_p = join_code[pp]
    miter_ok = (join_p == 0) & (cos_half.detach() * limit[pp] >= 1.0)  # [T, Qs]
    bevel_cut = corner & ((join_p == 2) | ((join_p == 0) & ~miter_ok))

    out_t, out_x, out_y, out_p, out_sdf = [], [], [], [], []

    def keep(ti, xs, ys, path, sdf):
        k = torch.nonzero(sdf.detach() < 0.5, as_tuple=True)[0]
        out_t.append(ti.index_select(0, k))
        out_x.append(xs.index_select(0, k))
        out_y.append(ys.index_select(0, k))
        out_p.append(path.index_select(0, k))
        out_sdf.append(sdf.index_select(0, k))

    def on_dashes(sdf, ti, s_at, p_of, rq):
        """sdf of a point-like piece at arc length s_at (a join, a cap) intersected with its path's dashes."""
        if not bool(dash.has[p_of].any()):
            return sdf
        ds_ = dash.sdf(s_at, p_of, torch.zeros_like(s_at), rq, cap_code[p_of], total[ti, p_of])
        return torch.where(dash.has[p_of], torch.maximum(sdf, ds_), sdf)

    # ---- capsules, with cuts (each cut is computed only for the pairs it concerns)
    reach = r[pp] + 0.5
    ti, qi, xs, ys = window_pairs(A.detach(), B.detach(), reach, W, H)
    px, py = xs.to(dt) + 0.5, ys.to(dt) + 0.5
    p_of = pp.index_select(0, qi)
    rq = r.index_select(0, p_of)
    lin = ti * Qs + qi  # flat (frame, piece) index: index_select is much cheaper than [ti, qi]
    Aq = A.reshape(-1, 2).index_select(0, lin)
    dq = d.reshape(-1, 2).index_select(0, lin)
    Lq = length.reshape(-1).index_select(0, lin)
    vx, vy = px - Aq[:, 0], py - Aq[:, 1]
    along = vx * dq[:, 0] + vy * dq[:, 1]
    t = torch.minimum(along.clamp(min=0), Lq)
    ex, ey = vx - t * dq[:, 0], vy - t * dq[:, 1]
    sdf = torch.sqrt((ex * ex + ey * ey).clamp_min(1e-10)) - rq
    with torch.no_grad():
        capq = cap_code.index_select(0, p_of)
        flat_end = ~closed_p.index_select(0, p_of) & (capq != 1)
        s0q_d = s0.detach().reshape(-1).index_select(0, lin)
        tot_d = total.detach().reshape(-1).index_select(0, ti * P + p_of)
        cut_start = flat_end & (s0q_d < rq + 1)
        cut_end = flat_end & ((tot_d - s0q_d - Lq.detach()) < rq + 1)

    cut_idx, cut_val = [], []
    M = sdf.shape[0]

    def cut(mask, fn):
        """Collect cut distances for the pairs in `mask` (applied together, by max, below)."""
        if bool(mask.all()):
            cut_idx.append(None)
            cut_val.append(fn(None))
            return
        idx = torch.nonzero(mask, as_tuple=True)[0]
        if idx.numel():
            cut_idx.append(idx)
            cut_val.append(fn(idx))

    def sel(x, i):
        return x if i is None else x.index_select(0, i)

    def plane(idx, T_, Q_, P_, D_, sign=1.0, offset=None):
        flat = T_ * Qs + Q_
        pt, dd = P_.reshape(-1, 2).index_select(0, flat), D_.reshape(-1, 2).index_select(0, flat)
        val = sign * ((sel(px, idx) - pt[:, 0]) * dd[:, 0] + (sel(py, idx) - pt[:, 1]) * dd[:, 1])
        return val if offset is None else val - offset

    # butt / square caps: the pieces near each end are cut by the end plane
    cut(cut_start, lambda i: plane(i, sel(ti, i), first[sel(p_of, i)], A, d, -1.0))
    cut(cut_end, lambda i: plane(i, sel(ti, i), last[sel(p_of, i)], B, d))
    # bevel cuts at the corners after and before each piece
    any_bevel = bool(bevel_cut.any())
    for jq in (qi, prv[qi]) if any_bevel else ():
        jc = jq.clamp_min(0)
        with torch.no_grad():
            mask = (jq >= 0) & bevel_cut.reshape(-1).index_select(0, ti * Qs + jc)
        cut(mask, lambda i: plane(i, sel(ti, i), sel(jc, i), B, m, 1.0,
                                  sel(rq, i) * cos_half.reshape(-1).index_select(0, sel(ti, i) * Qs + sel(jc, i))))
    # dashes: unclamped projection, so a pixel beyond a piece's end gets the arc length it would have
    # on the next piece (neighbouring capsules agree on the gaps); clamped to the path's own ends
    with torch.no_grad():
        dashed = dash.has.index_select(0, p_of)

    def dash_cut(i):
        s_free = s0.reshape(-1).index_select(0, sel(lin, i)) + sel(along, i)
        tot = total.reshape(-1).index_select(0, sel(ti * P + p_of, i))
        s_ = torch.minimum(s_free.clamp_min(0), tot)
        # across the piece (for round dash ends): the distance to the piece, which is the perpendicular
        # distance within its span (beyond its ends the neighbouring piece's own pairs take over)
        across = sel(sdf, i) + sel(rq, i)
        return dash.sdf(s_, sel(p_of, i), across, sel(rq, i), sel(capq, i), tot, (s_free - s_).abs())

    cut(dashed, dash_cut)
    for idx, val in zip(cut_idx, cut_val):  # every cut at once: sdf = max(sdf, cuts)
        if idx is None:
            sdf = torch.maximum(sdf, val)
    parts = [(i, v) for i, v in zip(cut_idx, cut_val) if i is not None]
    if parts:
        sdf = sdf.scatter_reduce(0, torch.cat([i for i, _ in parts]), torch.cat([v for _, v in parts]), "amax",
                                 include_self=True)
    keep(ti, xs, ys, p_of, sdf)

    # ---- miter kites at corners
    kite = corner & (join_code[pp] == 0)
    kq = torch.nonzero(kite, as_tuple=True)[0]
    if kq.numel():
        with torch.no_grad():
            tip = (1.0 / cos_half[:, kq].clamp_min(1e-3)).amax(0).clamp(max=limit[pp[kq]])
        reach = r[pp[kq]] * tip + 0.5
        J = B[:, kq]
        ti, ki, xs, ys = window_pairs(J.detach(), J.detach(), reach, W, H)
        qg = kq[ki]
        p_of = pp[qg]
        rq = r[p_of]
        px, py = xs.to(dt) + 0.5, ys.to(dt) + 0.5
        Jq = J[ti, ki]
        vx, vy = px - Jq[:, 0], py - Jq[:, 1]
        d1, d2q, a1, a2 = d[ti, qg], d2[ti, qg], n1[ti, qg], n2[ti, qg]
        w1 = -(vx * d1[:, 0] + vy * d1[:, 1])
        w2 = vx * d2q[:, 0] + vy * d2q[:, 1]
        o1 = vx * a1[:, 0] + vy * a1[:, 1] - rq
        o2 = vx * a2[:, 0] + vy * a2[:, 1] - rq
        sdf = torch.maximum(torch.maximum(w1, w2), torch.maximum(o1, o2))
        sdf = torch.where(miter_ok[ti, qg], sdf, torch.full_like(sdf, _BIG))
        sdf = on_dashes(sdf, ti, s0[ti, qg] + length[ti, qg], p_of, rq)
        keep(ti, xs, ys, p_of, sdf)

    # ---- square caps: a box of half-size r on each end of an open path
    sq_paths = [p for p in paths if style.cap[p] == "square" and not sketch.closed[p]]
    if sq_paths:
        spt = torch.tensor(sq_paths, device=dev)
        sign = torch.cat([-torch.ones(len(sq_paths), device=dev), torch.ones(len(sq_paths), device=dev)]).to(dt)
        C = torch.cat([A[:, first[spt]], B[:, last[spt]]], 1)  # [T, E, 2]
        Dd = torch.cat([d[:, first[spt]], d[:, last[spt]]], 1) * sign[None, :, None]
        pe = torch.cat([spt, spt])
        reach = r[pe] * 1.415 + 0.5
        ti, ei, xs, ys = window_pairs(C.detach(), C.detach(), reach, W, H)
        p_of = pe[ei]
        rq = r[p_of]
        px, py = xs.to(dt) + 0.5, ys.to(dt) + 0.5
        Cq, Dq = C[ti, ei], Dd[ti, ei]
        vx, vy = px - Cq[:, 0], py - Cq[:, 1]
        u = vx * Dq[:, 0] + vy * Dq[:, 1]
        w = vx * Dq[:, 1] - vy * Dq[:, 0]
        sdf = torch.maximum(u.abs(), w.abs()) - rq
        sdf = on_dashes(sdf, ti, torch.where(sign[ei] > 0, total[ti, p_of], torch.zeros_like(u)), p_of, rq)
        keep(ti, xs, ys, p_of, sdf)

    return [torch.cat(x) for x in (out_t, out_x, out_y, out_p, out_sdf)]


def cached_on_style(style, kind, key, make, limit: int = 8):
    """make(), cached on the PathStyle (styles are immutable, so what is derived from one stays valid):
    the renderer's one per-style cache (stroke tables, clip masks, gradient and group tables). Each kind
    keeps its own last `limit` keys (sizes, devices, dtypes), so one kind never pushes out another."""
    cache = style.__dict__.setdefault("_render_cache", {}).setdefault(kind, {})
    if key not in cache:
        if len(cache) >= limit:
            cache.pop(next(iter(cache)))
        cache[key] = make()
    return cache[key]


def clip_mask(style, c, W, H, scale_xy, dev, dt):
    """[H * W] coverage of clip region c, intersected with its parents (no autograd: regions are static);
    cached on the style for the region's last few sizes."""
    return cached_on_style(style, ("clip", c), (W, H, float(scale_xy[0]), float(scale_xy[1]), str(dev), dt),
                           lambda: _clip_mask(style, c, W, H, scale_xy, dev, dt))


def _clip_mask(style, c, W, H, scale_xy, dev, dt):
    from .torch_backend import render_torch

    sx, sy = scale_xy
    mask = None
    with torch.no_grad():
        while c >= 0:
            region = style.clips[c]
            sk = region.sketch
            if region.path_clip:  # shapes of the region clipped by earlier regions (they are in style.clips)
                from dataclasses import replace

                from ..style import PathStyle

                sk = replace(sk, style=replace(PathStyle.default(sk.num_paths), clip=region.path_clip,
                                               clips=style.clips[:c]))
            pts = (sk.points.to(dev, dt) * torch.tensor([sx, sy], device=dev, dtype=dt))[None]
            fill = sk.fill_color.to(dev, dt).clone()
            fill[:, 3] = (fill[:, 3] > 0).to(dt)
            img = render_torch(
                sk, pts, (W, H), stroke_width=torch.zeros(sk.num_paths, device=dev, dtype=dt),
                stroke_color=torch.zeros(sk.num_paths, 4, device=dev, dtype=dt), fill_color=fill, background=None,
                scale=(sx, sy),
            )
            m = img[0, ..., 3].reshape(-1)
            mask = m if mask is None else mask * m
            c = region.parent
    return mask
