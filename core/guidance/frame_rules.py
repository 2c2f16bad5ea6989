"""Frame-count rules of video VAEs and the noise-level bookkeeping of a ComfyUI model prior.

Pure functions (no comfy import), used by nodes/comfy_prior.py and tested with known answers.

Frame counts. A causal video VAE encodes the first frame alone and then groups of f
frames, so it takes T = f k + 1 frames and gives k + 1 latent frames:

    family            f   spatial  latent channels
    Wan 2.1           4   8        16
    Wan 2.2 (5B)      4   16       48
    HunyuanVideo      4   8        16
    LTX-Video         8   32       128
    Mochi             6   8        12
    Cosmos-1 (CV8x8x8) 8  8        16  (Cosmos-Predict2 uses the Wan 2.1 VAE: f = 4)
    image VAEs (SD1.5 + AnimateDiff, ...)  1 (any T; AnimateDiff motion modules were trained on 16)

ComfyUI's VAE object carries the rule as `downscale_ratio = (frames -> latent frames, s, s)`;
`temporal_factor` reads f off that function, so any VAE ComfyUI learns later works too.

The animation keeps the frame count the user asked for. Its T rendered frames are
spread over the next valid count T' >= T (`frames_to_encode`) by nearest-frame
resampling of time slots (`frame_index_map`): the T' - T extra frames are copies of
evenly spaced frames, not a pause at the end and not cross-fades (a blend of two sketches is a
ghosted double image no video model has seen). Every user frame is encoded at least
once, so every frame gets gradient; a frame shown twice gets the mean of its copies'
gradients (`resample_frames`), so it is not pushed twice as hard. For T >= f the copies
are fewer than f (24 -> 25 for Wan: one frame shown twice).

Noise levels. ComfyUI samples through `model_sampling`: percent p in [0, 1] of the
sampling run maps to a sigma (p = 0: most noise). For DDPM-discrete models ComfyUI
uses t = (1 - p) * 999, so LiveSketch's t range 50..948 is p in
[1 - 948/999, 1 - 50/999] ~ [0.051, 0.950] (`timestep_to_percent`); flow models map p
to sigma = shift(1 - p), the same fraction FlowSchedule draws. A level is read off the
model's own `noise_scaling(sigma, noise, latent)` (`noise_coefficients`): z_t = a z + s eps,
(a, s) = (1 - sigma, sigma) for flow models, (1, sigma) for eps models and Cosmos'
rectified flow (ComfyUI keeps both in variance-exploding coordinates). The weighting
w = 1 - alpha_bar with alpha_bar = a^2 / (a^2 + s^2) depends only on the
signal-to-noise ratio, so it is the diffusers prior's 1 - alpha_bar_t for an eps model
at the same t, whatever coordinates the model uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..errors import SketchError

PAPER_T_RANGE = (50, 948)  # LiveSketch's t ~ U{50..948} of 1000 DDPM steps


# ----------------------------------------------------------------- frame rules
@dataclass(frozen=True)
class FrameRule:
    """How a VAE turns frames into latents: T = temporal * k + 1 frames, H and W multiples of spatial."""

    temporal: int = 1  # 1: any frame count (image VAE, one latent per frame)
    spatial: int = 8
    latent_channels: int = 4
    name: str = ""

    @property
    def video(self) -> bool:
        return self.temporal > 1

    def describe(self) -> str:
        what = f"{self.name} VAE" if self.name else "This VAE"
        if not self.video:
            return f"{what} encodes frames one by one (any count), sizes a multiple of {self.spatial} px"
        return (f"{what} takes {self.temporal}k+1 frames, sizes a multiple of {self.spatial} px, "
                f"{self.latent_channels} latent channels")


VAE_FAMILIES = {
    "wan2.1": FrameRule(4, 8, 16, "Wan 2.1"),
    "wan2.2": FrameRule(4, 16, 48, "Wan 2.2"),
    "hunyuan": FrameRule(4, 8, 16, "HunyuanVideo"),
    "ltxv": FrameRule(8, 32, 128, "LTX-Video"),
    "mochi": FrameRule(6, 8, 12, "Mochi"),
    "cosmos": FrameRule(8, 8, 16, "Cosmos-1"),
    "image": FrameRule(1, 8, 4, "image"),
}


def _check_count(n: int, what: str = "frame count") -> int:
    if int(n) != n or n < 1:
        raise SketchError(f"The {what} must be a whole number >= 1, got {n}.")
    return int(n)


def is_valid_count(num_frames: int, temporal: int) -> bool:
    """True when a VAE with this temporal factor takes num_frames frames as they are (f k + 1)."""
    return (_check_count(num_frames) - 1) % _check_count(temporal, "temporal factor") == 0


def frames_to_encode(num_frames: int, temporal: int) -> int:
    """The smallest valid count >= num_frames: 1 + ceil((T - 1) / f) f (24 -> 25 for f = 4)."""
    T, f = _check_count(num_frames), _check_count(temporal, "temporal factor")
    return 1 + -(-(T - 1) // f) * f


def latent_frames(num_frames: int, temporal: int) -> int:
    """Latent frames of a valid count: (T - 1) / f + 1 (25 -> 7 for f = 4)."""
    T, f = _check_count(num_frames), _check_count(temporal, "temporal factor")
    if (T - 1) % f:
        raise SketchError(f"{T} frames is not {f}k+1; encode {frames_to_encode(T, f)} frames instead.")
    return (T - 1) // f + 1


def temporal_factor(downscale: Callable[[int], int] | int | float, probe_max: int = 64) -> int:
    """f of a ComfyUI VAE's temporal `downscale_ratio[0]` (frames -> latent frames); 1 for a number.

    Reads the smallest T > 1 that gives two latent frames (T = f + 1) and checks the
    rule f k + 1 -> k + 1 holds up to probe_max.
    """
    if not callable(downscale):
        return 1
    first = next((T for T in range(2, probe_max + 2) if int(downscale(T)) >= 2), None)
    if first is None or int(downscale(1)) != 1:
        raise SketchError("This VAE's frame rule is not f*k+1 frames -> k+1 latents; SketchMotion cannot map frames to it.")
    f = first - 1
    if any(int(downscale(f * k + 1)) != k + 1 for k in range(1, probe_max // f + 1)):
        raise SketchError("This VAE's frame rule is not f*k+1 frames -> k+1 latents; SketchMotion cannot map frames to it.")
    return f


def frame_index_map(num_frames: int, encoded: int) -> list[int]:
    """Which user frame each of the `encoded` frames shows: floor((j + 1/2) T / T').

    Frames are time slots of one clip: encoded slot j shows the user frame whose slot holds
    its centre. In order, every user frame at least once (T' >= T), repeats spread evenly
    (counts differ by at most one): 24 -> 25 shows frame 12 twice.
    """
    T, E = _check_count(num_frames), _check_count(encoded, "encoded frame count")
    if E < T:
        raise SketchError(f"Cannot encode {T} frames as fewer ({E}) without dropping some.")
    return [(2 * j + 1) * T // (2 * E) for j in range(E)]


class _Resample(torch.autograd.Function):
    """Gather frames; backward averages the gradients of a frame's copies (scatter-mean)."""

    @staticmethod
    def forward(ctx, frames, index, counts):
        ctx.save_for_backward(index, counts)
        ctx.num = frames.shape[0]
        return frames.index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        index, counts = ctx.saved_tensors
        out = grad.new_zeros((ctx.num,) + tuple(grad.shape[1:])).index_add_(0, index, grad)
        return out / counts.to(grad.dtype).view(-1, *([1] * (grad.ndim - 1))), None, None


def resample_frames(frames: Tensor, index: list[int]) -> Tensor:
    """frames[index] along dim 0, differentiable; a frame used n times gets the mean of the n gradients."""
    idx = torch.as_tensor(index, dtype=torch.long, device=frames.device)
    if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= frames.shape[0]:
        raise SketchError(f"Frame index map {index} does not fit {frames.shape[0]} frames.")
    counts = torch.bincount(idx, minlength=frames.shape[0]).clamp_min(1)
    return _Resample.apply(frames, idx, counts)


def describe_frames(num_frames: int, rule: FrameRule) -> str:
    """One line for logs and tooltips: what is rendered, what is encoded, how many latent frames."""
    E = frames_to_encode(num_frames, rule.temporal)
    if E == num_frames:
        extra = "" if not rule.video else f" ({rule.temporal}k+1)"
        latents = latent_frames(E, rule.temporal)
        return f"{num_frames} frames rendered and encoded as they are{extra} -> {latents} latent frames"
    n = E - num_frames
    return (f"{num_frames} frames rendered, encoded as {E} ({rule.temporal}k+1; {n} repeated frame{'s' * (n > 1)}, "
            f"evenly spaced) -> {latent_frames(E, rule.temporal)} latent frames; the animation keeps {num_frames}")


# ----------------------------------------------------------------- noise levels
def timestep_to_percent(t: float, num_steps: int = 1000) -> float:
    """ComfyUI's sampling percent of a DDPM timestep: 1 - t / (num_steps - 1) (t = 948 -> 0.0511)."""
    if not 0 <= t <= num_steps - 1:
        raise SketchError(f"Timestep {t} is outside 0..{num_steps - 1}.")
    return 1.0 - float(t) / (num_steps - 1)


def percent_to_timestep(percent: float, num_steps: int = 1000) -> float:
    """Inverse of timestep_to_percent: (1 - p) (num_steps - 1)."""
    check_percent_range(percent, percent)
    return (1.0 - float(percent)) * (num_steps - 1)


DEFAULT_PERCENT_RANGE = (round(timestep_to_percent(PAPER_T_RANGE[1]), 3), round(timestep_to_percent(PAPER_T_RANGE[0]), 3))


def check_percent_range(start: float, end: float) -> tuple[float, float]:
    """0 <= start <= end <= 1 (start is the noisy end, as in ComfyUI's start/end percent)."""
    if not (0.0 <= start <= end <= 1.0):
        raise SketchError(f"The noise range needs 0 <= start_percent <= end_percent <= 1, got ({start}, {end}); "
                          f"the paper's range is {DEFAULT_PERCENT_RANGE}.")
    if start == 0.0 or end == 1.0:
        raise SketchError("start_percent 0 is pure noise and end_percent 1 is no noise; neither gives a useful "
                          f"score-distillation gradient. Use e.g. {DEFAULT_PERCENT_RANGE}.")
    return float(start), float(end)


def sample_percent(start: float, end: float, generator: torch.Generator | None = None) -> float:
    """p ~ U[start, end] (uniform in DDPM time, as the diffusers prior's t ~ U{t_min..t_max})."""
    start, end = check_percent_range(start, end)
    dev = generator.device if generator is not None else "cpu"
    r = float(torch.rand((1,), generator=generator, device=dev, dtype=torch.float64))
    return start + (end - start) * r


def noise_coefficients(noise_scaling: Callable, sigma: float) -> tuple[float, float]:
    """(a, s) with noise_scaling(sigma, eps, z) = a z + s eps, read off a model's noise_scaling.

    Raises SketchError if noise_scaling is not of that affine form.
    """
    sig = torch.tensor([float(sigma)], dtype=torch.float64)
    one, zero = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)
    a = float(noise_scaling(sig, zero.clone(), one.clone()).reshape(-1)[0])
    s = float(noise_scaling(sig, one.clone(), zero.clone()).reshape(-1)[0])
    both = float(noise_scaling(sig, 2 * one, 3 * one).reshape(-1)[0])
    if not (s > 0 and a >= 0 and math.isclose(both, 3 * a + 2 * s, rel_tol=1e-6, abs_tol=1e-9)):
        raise SketchError(f"The model's noise_scaling is not z_t = a z + s eps (a={a}, s={s}); it cannot be a score-"
                          "distillation prior.")
    return a, s
