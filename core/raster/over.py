"""The "over" operator on sorted renderer entries, one back-to-front stack per segment.

Entries are sorted by segment (a pixel, or one group's members in one pixel), bottom layer
first. In closed form with segment sums of log(1 - a): C = sum c_i a_i prod_{j > i}(1 - a_j)
and log T = sum log(1 - a_i), so compositing stays one cumsum and two index_adds.
"""

from __future__ import annotations

import torch


def over_segments(seg: torch.Tensor, last: torch.Tensor, n_seg: int, alpha: torch.Tensor, rgb: torch.Tensor):
    """Composite each segment's entries back to front.

    seg [M]: segment of each entry (non-decreasing); last [M]: index of the last entry of that
    entry's segment; alpha [M], rgb [M, 3] straight colour. Returns (premultiplied colour
    [n_seg, 3] in alpha's dtype, log transmittance [n_seg] in float64).
    """
    log_t = torch.log1p(-alpha.clamp(max=1 - 1e-6)).double()
    cs = torch.cumsum(log_t, 0)
    above = torch.exp(cs.index_select(0, last) - cs).to(alpha.dtype)  # transmittance of the layers above
    premult = alpha.new_zeros(n_seg, 3).index_add(0, seg, rgb * (alpha * above)[:, None])
    log_trans = torch.zeros(n_seg, device=alpha.device, dtype=torch.float64).index_add(0, seg, log_t)
    return premult, log_trans
