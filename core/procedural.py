"""Procedural motion: a quick, model-free animation of a sketch (previews, tests, line boil).

Every kind loops seamlessly over `num_frames` (frame T would equal frame 0):

- "none":   every frame is the sketch (exports a static drawing through the animation path).
- "wiggle": hand-drawn "line boil". Control points move by a smooth random field
            d(x, t) = amplitude * sum_j w_j * u_j(x) * cos(2 pi h_j t / T + phi_j),
            u_j(x) = (cos(k_j . x + a_j), cos(k'_j . x + b_j)), sum_j w_j^2 = 1,
            with random integer h_j in 1..3, random phases and wave vectors of length
            |k| = 2 pi / (scale * longer canvas side). Being a function of position, nearby
            points move together (strokes stay smooth, touching paths stay touching).
            The root-mean-square displacement per axis is amplitude / 2 (so typical peaks
            are about `amplitude` pixels), and for num_frames > 3 the time average of
            every point is exactly its rest position.
- "sway":   rotation about the sketch's centre of mass by amplitude * sin(2 pi t / T) degrees
            (frame T/4 is rotated by +amplitude, frame 3T/4 by -amplitude).
"""

from __future__ import annotations

import math

import torch

from .errors import SketchError
from .sketch import Sketch, SketchAnimation

KINDS = ("none", "wiggle", "sway")
WIGGLE_TERMS = 6
WIGGLE_MAX_HARMONIC = 3


def _wiggle(points: torch.Tensor, canvas, num_frames: int, amplitude: float, seed: int, scale: float) -> torch.Tensor:
    """[T, N, D] displacements of the wiggle field (see the module docstring)."""
    g = torch.Generator().manual_seed(int(seed))
    J, D = WIGGLE_TERMS, points.shape[1]
    x = points.detach().double().cpu()
    k = 2 * math.pi / (scale * max(canvas))
    dirs = torch.randn(J, D, D, generator=g, dtype=torch.float64)  # one wave vector per term and axis
    wave = k * dirs / dirs.norm(dim=-1, keepdim=True)
    offset = 2 * math.pi * torch.rand(J, D, generator=g, dtype=torch.float64)
    weight = torch.rand(J, generator=g, dtype=torch.float64) + 0.5
    weight = weight / weight.norm()
    harmonic = torch.randint(1, WIGGLE_MAX_HARMONIC + 1, (J,), generator=g).double()
    phase = 2 * math.pi * torch.rand(J, generator=g, dtype=torch.float64)
    u = torch.cos(torch.einsum("nd,jad->jna", x, wave) + offset[:, None, :])  # [J, N, D]
    t = torch.arange(num_frames, dtype=torch.float64)
    c = torch.cos(2 * math.pi * harmonic[None, :] * t[:, None] / num_frames + phase[None, :])  # [T, J]
    return amplitude * torch.einsum("tj,j,jna->tna", c, weight, u)


def _sway(points: torch.Tensor, num_frames: int, degrees: float) -> torch.Tensor:
    """[T, N, D] displacements of a rotation about the centre of mass (in the x-y plane)."""
    x = points.detach().double().cpu()
    centre = x.mean(dim=0)
    t = torch.arange(num_frames, dtype=torch.float64)
    ang = torch.deg2rad(degrees * torch.sin(2 * math.pi * t / num_frames))  # [T]
    cos, sin = torch.cos(ang)[:, None], torch.sin(ang)[:, None]
    rel = x - centre
    out = rel[None].repeat(num_frames, 1, 1)
    # canvas y points down, so a positive angle turns clockwise on screen
    out[..., 0] = cos * rel[:, 0] - sin * rel[:, 1]
    out[..., 1] = sin * rel[:, 0] + cos * rel[:, 1]
    return out - rel[None]


def procedural_motion(
    sketch: Sketch,
    num_frames: int = 24,
    kind: str = "wiggle",
    amplitude: float = 2.0,
    seed: int = 0,
    fps: float = 8.0,
    scale: float = 0.35,
) -> SketchAnimation:
    """Animate `sketch` without a model (see the module docstring for the kinds).

    amplitude: pixels per axis for "wiggle", degrees for "sway" (ignored for "none").
    scale:     wiggle's spatial wavelength as a fraction of the canvas's longer side.
    """
    if kind not in KINDS:
        raise SketchError(f"Unknown motion kind {kind!r}; choose one of: {', '.join(KINDS)}.")
    if int(num_frames) != num_frames or num_frames < 1:
        raise SketchError(f"num_frames must be a whole number >= 1, got {num_frames!r}.")
    if not math.isfinite(amplitude) or amplitude < 0:
        raise SketchError(f"amplitude must be a finite number >= 0, got {amplitude!r}.")
    if not scale > 0:
        raise SketchError(f"scale must be positive, got {scale!r}.")
    num_frames = int(num_frames)
    base = sketch.points.detach().cpu()
    if kind == "wiggle":
        delta = _wiggle(base, sketch.canvas, num_frames, float(amplitude), seed, float(scale))
    elif kind == "sway":
        delta = _sway(base, num_frames, float(amplitude))
    else:
        delta = torch.zeros(num_frames, *base.shape, dtype=torch.float64)
    frames = (base.double()[None] + delta).to(base.dtype)
    settings = {"motion": "procedural", "kind": kind, "amplitude": float(amplitude), "seed": int(seed),
                "num_frames": num_frames}
    return SketchAnimation(sketch=sketch.detach().to("cpu"), frames=frames, fps=float(fps), settings=settings)


__all__ = ["KINDS", "procedural_motion"]
