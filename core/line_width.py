"""The width of the lines drawn in frames, in pixels: what stage 2 of reconstruct3d draws its strokes with.

A line w px wide holds w px of ink across it however it is anti-aliased or resampled (an area resize conserves
ink), so the ink summed over a pixel's run of inked pixels along a row, or along a column, is w / |sin| or w / |cos|
of the line's angle; the smaller of the two is w / max(|sin|, |cos|), 1.12 w on average over angles. Runs end where
the ink is a strict local minimum too, so that two nearby lines' fringes do not join into one wide line (a small
wireframe house at 96 px measured 3.2x too wide without). The median over the pixels of the lines' cores (junctions
and crossings are a few pixels) divided by 1.12 is the ink width.

`stroke_width_for` is that width, which is stage 2's stroke width (core.raster draws a w px stroke with w px of
ink): on the synthetic writer's frames loaded at 96 px, 2 px lines at 128 px (1.5 px) measure 1.46-1.67 px over its
seven scenes (1.46-1.60 on the four bench scenes, whose README settings draw 1.5 px strokes), 2 px at 256 px (0.75)
0.75-0.89, 4 px at 256 px (1.5) 1.40-1.55, 2 px at 400 px (0.48) 0.48-0.58, 1 px at 96 px 0.91-1.09.
"""

from __future__ import annotations

import torch

ANGLE_FACTOR = 1.122  # mean of 1 / max(|sin|, |cos|) over line angles


def _run_sums(ink: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """Per pixel, the ink summed over its run of consecutive `on` pixels along the last dimension."""
    W = ink.shape[-1]
    o = on.reshape(-1, W)
    R = o.shape[0]
    start = o & ~torch.cat([torch.zeros(R, 1, dtype=torch.bool, device=o.device), o[:, :-1]], 1)
    run = torch.cumsum(start.long(), 1)  # 1, 2, ... per run in its row (0 off the runs)
    idx = (torch.arange(R, device=o.device)[:, None] * (W + 1) + run) * o
    sums = torch.zeros(R * (W + 1), device=ink.device, dtype=ink.dtype)
    sums.scatter_add_(0, idx.reshape(-1), (ink.reshape(R, W) * o).reshape(-1))
    return sums[idx].reshape(ink.shape)


def _valleys(ink: torch.Tensor) -> torch.Tensor:
    """Strict local minima of ink along the last dimension: where two nearby lines' fringes meet, a run ends."""
    left = torch.nn.functional.pad(ink[..., :-1], (1, 0), value=0.0)
    right = torch.nn.functional.pad(ink[..., 1:], (0, 1), value=0.0)
    return (ink < left) & (ink <= right) | (ink <= left) & (ink < right)


@torch.no_grad()
def ink_width(ink: torch.Tensor, threshold: float = 0.05) -> float | None:
    """Median ink width (px) of the lines in ink images [..., H, W] (0 = paper, 1 = full ink); None without ink."""
    ink = ink.float().clamp(0, 1)
    on = ink > threshold
    if not bool(on.any()):
        return None
    h = _run_sums(ink, on & ~_valleys(ink))
    t = ink.transpose(-1, -2).contiguous()
    v = _run_sums(t, on.transpose(-1, -2) & ~_valleys(t)).transpose(-1, -2)
    core = on & (ink > 0.25 * float(ink.amax()))  # a line's core, not its anti-aliased fringe
    return float(torch.minimum(h, v)[core].median()) / ANGLE_FACTOR


def stroke_width_for(frames: torch.Tensor, default: float, lo: float = 0.3, hi: float = 8.0) -> float:
    """Stage 2's stroke width (px, core.raster) for lines like those in frames [T, H, W(, 3)] on white (ink =
    1 - grey): their ink width, within [lo, hi]; `default` when the frames show no ink."""
    grey = frames.mean(-1) if frames.ndim == 4 else frames
    w = ink_width(1.0 - grey)
    if w is None:
        return default
    return float(min(hi, max(lo, w)))
