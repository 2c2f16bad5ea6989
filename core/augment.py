"""LiveSketch's per-pass video augmentation, differentiable and seedable.

A random perspective (distortion 0.5) then a random square resized crop (area
0.4..1), the SAME transform for every frame of the video, white fill outside.
Both are folded into one sampling grid, so the frames are resampled once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    distortion: float = 0.5  # RandomPerspective distortion_scale (p = 1)
    crop_scale: tuple[float, float] = (0.4, 1.0)  # RandomResizedCrop area range, ratio 1
    enabled: bool = True


def _randint(lo: float, hi: float, g: torch.Generator) -> float:
    lo, hi = int(lo), int(hi)
    return float(torch.randint(lo, max(hi, lo + 1), (1,), generator=g).item())


def _homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """3x3 H with H @ [src, 1] ~ [dst, 1] for 4 point pairs [4, 2] (float64)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src.tolist(), dst.tolist()):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = torch.linalg.solve(torch.tensor(rows, dtype=torch.float64), torch.tensor(rhs, dtype=torch.float64))
    return torch.cat([h, torch.ones(1, dtype=torch.float64)]).reshape(3, 3)


def sample_grid(H: int, W: int, config: AugmentConfig, generator: torch.Generator, out_size: int | None = None):
    """A sampling grid [1, S, S, 2] (grid_sample convention) for one random augmentation."""
    S = out_size or min(H, W)
    g = generator
    # perspective: corners move inwards by up to distortion * half size (torchvision's rule)
    dw, dh = config.distortion * W / 2, config.distortion * H / 2
    corners = torch.tensor([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], dtype=torch.float64)
    moved = torch.tensor(
        [
            [_randint(0, dw + 1, g), _randint(0, dh + 1, g)],
            [_randint(W - dw - 1, W, g), _randint(0, dh + 1, g)],
            [_randint(W - dw - 1, W, g), _randint(H - dh - 1, H, g)],
            [_randint(0, dw + 1, g), _randint(H - dh - 1, H, g)],
        ],
        dtype=torch.float64,
    )
    to_input = _homography(moved, corners)  # output-of-perspective coords -> input coords
    # square crop of the perspective output, resized to S
    lo, hi = config.crop_scale
    area = lo + (hi - lo) * torch.rand(1, generator=g, dtype=torch.float64).item()
    side = min(W, H) * area**0.5
    x0 = torch.rand(1, generator=g, dtype=torch.float64).item() * (W - side)
    y0 = torch.rand(1, generator=g, dtype=torch.float64).item() * (H - side)
    u = (torch.arange(S, dtype=torch.float64) + 0.5) * side / S
    ys, xs = torch.meshgrid(y0 + u, x0 + u, indexing="ij")
    pts = torch.stack([xs - 0.5, ys - 0.5, torch.ones_like(xs)], -1) @ to_input.T  # corner-pixel coords
    X, Y = pts[..., 0] / pts[..., 2] + 0.5, pts[..., 1] / pts[..., 2] + 0.5
    grid = torch.stack([2 * X / W - 1, 2 * Y / H - 1], -1)
    return grid[None].float()


def apply_grid(frames: torch.Tensor, grid: torch.Tensor, fill: float = 1.0) -> torch.Tensor:
    """Resample frames [T, H, W, C] with one grid (shared by all frames), `fill` outside."""
    x = frames.permute(0, 3, 1, 2) - fill
    g = grid.to(frames.device, frames.dtype).expand(x.shape[0], -1, -1, -1)
    out = F.grid_sample(x, g, mode="bilinear", padding_mode="zeros", align_corners=False) + fill
    return out.permute(0, 2, 3, 1)


def augment_video(frames: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """The same random perspective + resized crop on every frame (differentiable)."""
    if not config.enabled:
        return frames
    T, H, W, _ = frames.shape
    return apply_grid(frames, sample_grid(H, W, config, generator))
