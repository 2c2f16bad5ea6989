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
member of the outer group, so groups are processed innermost first. Differentiable like
the compositing itself; sketches without opacity groups never reach this module.
"""

from __future__ import annotations

import torch


def group_alpha_factor(style, num_paths: int, dev, dt) -> torch.Tensor:
    """[P] product of the opacities of the groups around each path (what the flat colours carry)."""
    factor = torch.ones(num_paths, device=dev, dtype=dt)
    for a, b, o in style.opacity_groups:
        factor[a:b] = factor[a:b] * o
    return factor


def composite_groups(style, num_paths: int, pixel, layer, alpha, rgb):
    """(alpha, rgb) of the sorted entries after compositing every opacity group; see the module doc.

    pixel [M] (sorted), layer [M] (2 p = fill of path p, 2 p + 1 its stroke), alpha [M] (with the
    group opacities still multiplied in, as the flat colours carry them), rgb [M, 3] straight colour.
    """
    path = layer // 2
    factor = group_alpha_factor(style, num_paths, alpha.device, alpha.dtype)
    f = factor[path]
    alpha = torch.where(f > 0, alpha / f.clamp_min(1e-12), torch.zeros_like(alpha))
    for a, b, opacity in sorted(style.opacity_groups, key=lambda g: g[1] - g[0]):  # innermost first
        idx = torch.nonzero((layer >= 2 * a) & (layer < 2 * b), as_tuple=True)[0]
        if idx.numel() == 0:
            continue
        am, cm = alpha[idx], rgb[idx]
        _, counts = torch.unique_consecutive(pixel[idx], return_counts=True)
        seg = torch.repeat_interleave(torch.arange(counts.numel(), device=idx.device), counts)
        ends = torch.cumsum(counts, 0)
        last = (ends - 1)[seg]
        first = (ends - counts)[seg]
        log_t = torch.log1p(-am.clamp(max=1 - 1e-6)).double()
        cs = torch.cumsum(log_t, 0)
        above = torch.exp(cs[last] - cs).to(am.dtype)
        C = torch.zeros(counts.numel(), 3, device=am.device, dtype=am.dtype).index_add(0, seg, cm * (am * above)[:, None])
        A = 1 - torch.exp(torch.zeros(counts.numel(), device=am.device, dtype=torch.float64).index_add(0, seg, log_t))
        A = A.to(am.dtype)
        lead = torch.arange(idx.numel(), device=idx.device) == first
        new_alpha = torch.where(lead, opacity * A[seg], torch.zeros_like(am))
        new_rgb = torch.where(lead[:, None], (C / A.clamp_min(1e-12)[:, None])[seg], cm)
        alpha = alpha.index_put((idx,), new_alpha)
        rgb = rgb.index_put((idx,), new_rgb)
    return alpha, rgb


__all__ = ["composite_groups", "group_alpha_factor"]
