"""Differentiable point splatting: soft Gaussian discs, grayscale, dark points on white.

Each point covers the pixels of a small window around it (radius ceil(3 sigma)),
so memory grows with points x window, never with points x pixels. Coverage is
order independent: transmittance T(pixel) = prod_i (1 - opacity_i g_i(pixel))
with g = exp(-d^2 / 2 sigma^2), accumulated as a sum of logs by scatter-add;
image = background + (ink - background) (1 - T). Pixel (i, j) has its centre at
(i + 0.5, j + 0.5) in the canvas coordinates of core.camera.
"""

from __future__ import annotations

import math

import torch

from ..errors import SketchError

MAX_OPACITY = 0.99


def splat(pixels: torch.Tensor, size, sigma: float = 1.0, opacity=0.5, valid: torch.Tensor | None = None,
          background: float = 1.0, ink: float = 0.0) -> torch.Tensor:
    """Splat points at pixel positions [B, N, 2] into grayscale images [B, H, W].

    sigma:   Gaussian radius in pixels (one value for all points).
    opacity: scalar, [N] or [B, N] peak coverage of a point (clamped below 0.99).
    valid:   optional [B, N] bool; invalid points (behind the camera...) draw nothing.
    """
    if pixels.ndim != 3 or pixels.shape[-1] != 2:
        raise SketchError(f"splat needs pixels [B, N, 2], got {tuple(pixels.shape)}.")
    W, H = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if not sigma > 0:
        raise SketchError(f"Point radius sigma must be positive, got {sigma}.")
    B, N, _ = pixels.shape
    dev, dt = pixels.device, pixels.dtype
    k = max(1, int(math.ceil(3.0 * sigma)))
    r = torch.arange(-k, k + 1, device=dev)
    off = torch.stack(torch.meshgrid(r, r, indexing="xy"), -1).reshape(-1, 2)  # [K, 2] (dx, dy)
    off = off[(off.float() ** 2).sum(-1) <= (k + 0.5) ** 2]  # round footprint
    base = torch.floor(pixels.detach()).long()  # [B, N, 2]
    pix = base[:, :, None, :] + off[None, None]  # [B, N, K, 2]
    d2 = ((pix.to(dt) + 0.5 - pixels[:, :, None, :]) ** 2).sum(-1)  # [B, N, K]
    alpha = torch.as_tensor(opacity, dtype=dt, device=dev).clamp(0.0, MAX_OPACITY)
    alpha = alpha.expand(B, N)
    w = alpha[..., None] * torch.exp(-0.5 * d2 / sigma**2)
    inside = (pix[..., 0] >= 0) & (pix[..., 0] < W) & (pix[..., 1] >= 0) & (pix[..., 1] < H)
    if valid is not None:
        inside = inside & valid[:, :, None]
    logt = torch.log1p(-w) * inside
    flat = (torch.arange(B, device=dev)[:, None, None] * (H * W) + pix[..., 1].clamp(0, H - 1) * W
            + pix[..., 0].clamp(0, W - 1))
    acc = torch.zeros(B * H * W, device=dev, dtype=dt).index_add(0, flat.reshape(-1), logt.reshape(-1))
    cover = 1.0 - torch.exp(acc.reshape(B, H, W))
    return background + (ink - background) * cover


def render_points(points: torch.Tensor, cameras, sigma: float = 1.0, opacity=0.5, background: float = 1.0,
                  ink: float = 0.0) -> torch.Tensor:
    """Project 3D points ([N,3] shared or [B,N,3] one set per camera) and splat -> [B, H, W] in 0..1."""
    pix, depth = cameras.project(points)
    if pix.ndim != 3:
        raise SketchError(f"render_points needs points [N, 3] or [B, N, 3], got {tuple(points.shape)}.")
    return splat(pix, cameras.size, sigma, opacity, valid=depth > cameras.near, background=background, ink=ink)
