"""The protocol every video prior implements (diffusers, ComfyUI, known-answer).

Usage by a trainer::

    prior.check_video(T, H, W)              # SketchError if the model cannot take it
    prior.prepare(prompt, negative_prompt)  # text embeddings, computed once
    loss, stats = prior.sds_loss(frames, guidance_scale=30.0, generator=g)
    if stats["finite"]:
        loss.backward()                     # SDS gradient flows into frames

frames: [T, H, W, 3] float in 0..1 (any device; the prior moves them), requiring grad.
stats: at least "finite" (bool), "timestep", "sigma", "weight", "grad_norm", "loss".
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from ..errors import SketchError


@runtime_checkable
class VideoPrior(Protocol):
    """A text-to-video model seen as a score-distillation loss on rendered frames."""

    device: torch.device
    # What the model was trained on; the animate trainer uses them when the user gives no frame count /
    # render size (core.pipelines.animate.fit_to_prior). None: the model does not say (24 frames, 256 px).
    num_frames_hint: int | None  # frame count
    size_hint: tuple[int, int] | None  # (width, height) px

    def prepare(self, prompt: str, negative_prompt: str = "") -> None:
        """Encode (and cache) the prompt and the negative / unconditional prompt."""
        ...

    def check_video(self, num_frames: int, height: int, width: int) -> None:
        """Raise SketchError (saying what to change) if the model cannot take this video size."""
        ...

    def sds_loss(self, frames: Tensor, *, guidance_scale: float, generator: torch.Generator | None = None) -> tuple[Tensor, dict]:
        """(loss, stats): loss.backward() puts the SDS gradient into `frames`."""
        ...


def validate_frames(frames: Tensor) -> Tensor:
    """Check a [T, H, W, 3] float video and return it unchanged."""
    if not isinstance(frames, Tensor) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
        raise SketchError(f"A video prior needs frames [T, H, W, 3] in 0..1, got {shape}.")
    if not torch.is_floating_point(frames):
        raise SketchError(f"Frames must be a float tensor in 0..1, got {frames.dtype}.")
    return frames
