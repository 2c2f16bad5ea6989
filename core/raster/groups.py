"""Group opacity for the torch renderer: composite a group's layers first, then fade the result.

SVG draws `<g opacity="a">` (and a shape with both fill and stroke and an opacity) into an
offscreen picture and blends that picture with opacity a. Applying a to every member
instead is only an approximation: where members overlap, the lower ones show through.

The renderer's entries are (pixel, layer) pairs sorted by pixel, then layer; a group is a
contiguous range of layers, so in every pixel its members are consecutive entries. Per
pixel the group's premultiplied colour and alpha are the usual "over" of its members
(C = sum c_i a_i prod_{j > i}(1 - a_j), A = 1 - prod(1 - a_i), in closed form with
segment sums of log(1 - a)); the first member entry then carries (C / A, opacity x A) and
the others alpha 0. No new entries, no re-sorting: an inner group's result is itself a
member of the outer group, so groups are processed innermost first: one pass per nesting depth,
all groups of that depth at once (they are disjoint). Differentiable like the compositing itself;
sketches without opacity groups never reach this module.
"""

from __future__ import annotations

import torch

from ..style import nesting_depths
from .over import over_segments
from .strokes import cached_on_style


def _levels(style, num_paths: int, dev, dt) -> list:
    """The opacity groups by nesting depth, deepest first: per depth (the group of each path at that depth
    [P], -1 for none; the groups' opacities [G_d]). Groups of one depth are disjoint, so a path is in at
    most one of them. Cached on the style."""

    def make():
        groups = style.opacity_groups
        depths = nesting_depths(groups)
        out = []
        for d in range(max(depths, default=-1), -1, -1):
            member, opacity = [-1] * num_paths, []
            for (a, b, o), k in zip(groups, depths):
                if k == d:
                    member[a:b] = [len(opacity)] * (b - a)
                    opacity.append(o)
            out.append((torch.tensor(member, device=dev), torch.tensor(opacity, device=dev, dtype=dt)))
        return out

    return cached_on_style(style, "group levels", (num_paths, str(dev), dt), make)


def group_alpha_factor(style, num_paths: int, dev, dt) -> torch.Tensor:
    """[P] product of the opacities of the groups around each path (what the flat colours carry)."""

    def make():
        factor = torch.ones(num_paths, device=dev, dtype=dt)
        for member, opacity in _levels(style, num_paths, dev, dt):
            factor = factor * torch.where(member >= 0, opacity[member.clamp_min(0)], torch.ones_like(factor))
        return factor

    return cached_on_style(style, "group factor", (num_paths, str(dev), dt), make)


def composite_groups(style, num_paths: int, pixel, layer, alpha, rgb):
    """(alpha, rgb) of the sorted entries after compositing every opacity group; see the module doc.

    pixel [M] (sorted), layer [M] (2 p = fill of path p, 2 p + 1 its stroke), alpha [M] (with the
    group opacities still multiplied in, as the flat colours carry them), rgb [M, 3] straight colour.
    """
    path = layer // 2
    factor = group_alpha_factor(style, num_paths, alpha.device, alpha.dtype)
    f = factor.index_select(0, path)  # (index_select: much cheaper than [] indexing on CPU)
    alpha = torch.where(f > 0, alpha / f.clamp_min(1e-12), torch.zeros_like(alpha))
    for member, opacity in _levels(style, num_paths, alpha.device, alpha.dtype):  # innermost first
        group = member.index_select(0, path)
        idx = torch.nonzero(group >= 0, as_tuple=True)[0]
        if idx.numel() == 0:
            continue
        pix = pixel.index_select(0, idx)
        am, cm = alpha.index_select(0, idx), rgb.index_select(0, idx)
        lead = torch.ones_like(pix, dtype=torch.bool)  # the first entry of a segment: one group in one pixel
        lead[1:] = pix[1:] != pix[:-1]
        if opacity.numel() > 1:
            g = group.index_select(0, idx)
            lead[1:] |= g[1:] != g[:-1]
        seg = torch.cumsum(lead, 0) - 1
        seg_start = torch.nonzero(lead, as_tuple=True)[0]
        n_seg = seg_start.numel()
        last = (torch.cat([seg_start[1:], seg_start.new_tensor([idx.numel()])]) - 1).index_select(0, seg)
        C, log_trans = over_segments(seg, last, n_seg, am, cm)
        A = (1 - torch.exp(log_trans)).to(am.dtype)
        faded = opacity[group[idx[seg_start]]] * A  # [n_seg]: what the segment's first entry carries
        new_alpha = torch.where(lead, faded.index_select(0, seg), torch.zeros_like(am))
        new_rgb = torch.where(lead[:, None], (C / A.clamp_min(1e-12)[:, None]).index_select(0, seg), cm)
        alpha = alpha.index_put((idx,), new_alpha)
        rgb = rgb.index_put((idx,), new_rgb)
    return alpha, rgb


__all__ = ["composite_groups", "group_alpha_factor"]
