"""Deformation field for Liv3Stroke stage 1 (motion guidance): (x, t) -> displacement.

D-NeRF-like MLP on positional encodings gamma(x) (L = 10) and gamma(t) (L = 6):
`depth` layers of `width` with ReLU and a skip (input re-concatenated) after
layer 4; a zero-initialised output layer, so the field starts as the identity
for every t. With `anchor` the displacement at the canonical time is subtracted,
making the canonical frame exactly the canonical points throughout training.

Coordinates are normalised by the scene's centre and scale (given at
construction) so that the volume of interest maps into [-1, 1]^3 before encoding.
`pos_alpha` / `time_alpha` (attributes, None = off) window the encodings'
frequency bands for coarse-to-fine training (smooth motion first).
The first layer (and the skip layer) is applied to the position and time
encodings separately and the two are broadcast-added, so the position part is
computed once per point for all T times.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import SketchError


def frequency_window(num_freqs: int, alpha: float | None, device=None) -> torch.Tensor | None:
    """Coarse-to-fine weights [L] of the encoding's frequency bands (Nerfies' window).

    w_k = (1 - cos(pi clamp(alpha - k, 0, 1))) / 2: band k fades in as alpha goes
    from k to k + 1; alpha = None (or >= L) keeps every band.
    """
    if alpha is None or alpha >= num_freqs:
        return None
    k = torch.arange(num_freqs, dtype=torch.float32, device=device)
    return 0.5 * (1.0 - torch.cos(math.pi * (float(alpha) - k).clamp(0.0, 1.0)))


def positional_encoding(x: torch.Tensor, num_freqs: int, alpha: float | None = None) -> torch.Tensor:
    """gamma(x) = (x, w_k sin(2^k pi x), w_k cos(2^k pi x)) for k < num_freqs -> [..., D (1 + 2 L)].

    alpha: coarse-to-fine window (see `frequency_window`); None = all bands, w_k = 1.
    """
    if num_freqs == 0:
        return x
    freqs = (2.0 ** torch.arange(num_freqs, device=x.device, dtype=x.dtype)) * math.pi
    xf = x[..., None, :] * freqs[:, None]  # [..., L, D]
    s, c = torch.sin(xf), torch.cos(xf)
    w = frequency_window(num_freqs, alpha, x.device)
    if w is not None:
        w = w.to(x.dtype)[:, None]
        s, c = s * w, c * w
    return torch.cat([x, s.flatten(-2), c.flatten(-2)], -1)


class DeformationField(nn.Module):
    """Per-point displacement at time t: forward(x [N,3], t [T]) -> [T, N, 3] (world units)."""

    def __init__(self, center=(0.0, 0.0, 0.0), scale: float = 1.0, pos_freqs: int = 10, time_freqs: int = 6,
                 depth: int = 8, width: int = 256, skip: int | None = 4, canonical_time: float = 0.0,
                 anchor: bool = True):
        super().__init__()
        if depth < 1 or width < 1:
            raise SketchError("The deformation MLP needs depth >= 1 and width >= 1.")
        if not scale > 0:
            raise SketchError(f"Scene scale must be positive, got {scale}.")
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32).reshape(3))
        self.scale = float(scale)
        self.pos_freqs, self.time_freqs = int(pos_freqs), int(time_freqs)
        self.depth, self.width = int(depth), int(width)
        self.skip = skip if skip is not None and 0 < skip < depth else None
        self.canonical_time = float(canonical_time)
        self.anchor = bool(anchor)
        self.pos_alpha: float | None = None  # coarse-to-fine windows (None: every band)
        self.time_alpha: float | None = None
        dx, dt = 3 * (1 + 2 * self.pos_freqs), 1 + 2 * self.time_freqs
        self.in_x = nn.Linear(dx, width)
        self.in_t = nn.Linear(dt, width, bias=False)
        self.hidden = nn.ModuleList()
        for i in range(1, depth):
            self.hidden.append(nn.Linear(width, width))
        if self.skip is not None:
            self.skip_x = nn.Linear(dx, width, bias=False)
            self.skip_t = nn.Linear(dt, width, bias=False)
        self.out = nn.Linear(width, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def config(self) -> dict:
        return {"center": self.center.tolist(), "scale": self.scale, "pos_freqs": self.pos_freqs,
                "time_freqs": self.time_freqs, "depth": self.depth, "width": self.width, "skip": self.skip,
                "canonical_time": self.canonical_time, "anchor": self.anchor}

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) / self.scale

    def _raw(self, ex: torch.Tensor, et: torch.Tensor) -> torch.Tensor:
        hx = self.in_x(ex)[None]  # [1, N, W]
        h = torch.relu(hx + self.in_t(et)[:, None])  # [T, N, W]
        for i, layer in enumerate(self.hidden, start=1):
            z = layer(h)
            if i == self.skip:  # == Linear(cat(h, gamma(x), gamma(t))), without building the concatenation
                z = z + self.skip_x(ex)[None] + self.skip_t(et)[:, None]
            h = torch.relu(z)
        return self.out(h)

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """Displacements [T, N, 3] of canonical points x [N, 3] at times t (scalar or [T], in [0, 1])."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1)
        ex = positional_encoding(self.normalise(x), self.pos_freqs, self.pos_alpha)
        tt = torch.cat([t, t.new_tensor([self.canonical_time])]) if self.anchor else t
        et = positional_encoding((2.0 * tt - 1.0)[:, None], self.time_freqs, self.time_alpha)
        d = self._raw(ex, et)
        if self.anchor:
            d = d[:-1] - d[-1:]
        return d * self.scale

    def deform(self, x: torch.Tensor, t) -> torch.Tensor:
        """Deformed positions [T, N, 3] = x + displacement."""
        return x[None] + self.forward(x, t)
