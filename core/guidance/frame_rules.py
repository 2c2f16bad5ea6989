"""Frame-count rules of video VAEs and the noise-level bookkeeping of a ComfyUI model prior.

Pure functions (no comfy import), used by nodes/comfy_prior.py and tested with known answers.

Frame counts. A causal video VAE encodes the first frame alone and then groups of f
frames, so it takes T = f k + 1 frames and gives k + 1 latent frames:

    family            f   spatial  latent channels
    Wan 2.1           4   8        16
    Wan 2.2 (5B)      4   16       48
    HunyuanVideo      4   8        16  (ComfyUI's AutoencoderKL with 3D convolutions)
    LTX-Video         8   32       128
    Mochi             6   8        12
    Cosmos-1 (CV8x8x8) 8  8        16  (Cosmos-Predict2 uses the Wan 2.1 VAE: f = 4)
    image VAEs (SD1.5 + AnimateDiff, ...)  1 (any T; AnimateDiff motion modules were trained on 16)

ComfyUI's VAE object carries the rule as `downscale_ratio = (frames -> latent frames, s, s)`;
`temporal_factor` reads f off that function, so any VAE ComfyUI learns later works too.

The animation keeps the frame count the user asked for. A trainer asks the prior how
many frames to render (`frames_to_encode`: the next valid count T' >= T, 24 -> 25 for
Wan) and renders its continuous-time motion field at T' evenly spaced times of the same
clip (t = j / (T' - 1)); the animation it returns is the same field sampled at the
user's T times. No frame is repeated and none is a blend. Frames handed to a prior at
an invalid count (a direct call) are still spread over T' by nearest-frame resampling
of time slots (`frame_index_map`, `resample_frames`: a frame shown twice gets the mean
of its copies' gradients).

Noise levels. LiveSketch draws t ~ U{50..948} of ModelScope's 1000-step scaled-linear DDPM
schedule (alpha_bar_t from betas 0.00085..0.012), i.e. a signal-to-noise ratio
SNR = alpha_bar_t / (1 - alpha_bar_t) between 0.0085 (t 948) and 19.7 (t 50). Through a ComfyUI
model the default ("paper" noise levels, `NoiseLevels`) draws the same integer t and gives the
model the sigma of ITS OWN sampling that has the same SNR, read off its noise_scaling:
for z_t = a z + s eps the SNR is a^2 / s^2, so
  - flow models (CONST: Wan, LTXV, HunyuanVideo, Mochi; z_t = (1 - sigma) z + sigma eps):
    alpha_bar = (1 - sigma)^2 / ((1 - sigma)^2 + sigma^2), sigma = r / (1 + r);
  - eps / v models and Cosmos' rectified flow (EPS, V_PREDICTION, COSMOS_RFLOW: ComfyUI keeps
    them in variance-exploding coordinates z_t = z + sigma eps): sigma = r;
with r = sqrt((1 - alpha_bar) / alpha_bar); any other affine noise_scaling is solved by bisection.
So Wan (shift 8) and Cosmos see the SNR distribution ModelScope sees in the paper. The
"model" option keeps the model's own schedule instead: a sampling percent p ~ U[start, end]
through model_sampling.percent_to_sigma. ComfyUI's percent for DDPM-discrete models is
t = (1 - p) * 999, so LiveSketch's t range 50..948 is p in [1 - 948/999, 1 - 50/999] ~
[0.051, 0.950] (`timestep_to_percent`); for those models both options coincide, but a flow
model maps p to sigma = shift (1 - p) / (1 + (shift - 1)(1 - p)) (Wan, shift 8: median
sigma 0.89, DDPM-equivalent t ~ 892). The same start/end percents bound t in both options.
A level is read off the model's own `noise_scaling(sigma, noise, latent)`
(`noise_coefficients`): z_t = a z + s eps. The weighting w = 1 - alpha_bar with
alpha_bar = a^2 / (a^2 + s^2) depends only on the SNR, so it is the diffusers prior's
1 - alpha_bar_t for an eps model at the same t, whatever coordinates the model uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..errors import SketchError
from ..options import DEFAULT_PERCENT_RANGE, NOISE_LEVELS, PAPER_T_RANGE  # noqa: F401 (re-exported)



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


# The VAE family whose latents each of ComfyUI's video latent formats (comfy.latent_formats class names) is
# trained on. Two video VAEs with equal channel counts (Wan 2.1, HunyuanVideo, Cosmos-1: 16) make different
# latent spaces, so a known mismatch is refused; a format or VAE not listed here is not checked.
LATENT_FORMAT_VAE = {
    "Wan21": "wan2.1",  # Wan 2.1 and Cosmos-Predict2
    "Wan22": "wan2.2",
    "HunyuanVideo": "hunyuan",
    "LTXV": "ltxv",
    "Mochi": "mochi",
    "Cosmos1CV8x8x8": "cosmos",
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
    return (f"{num_frames} frames asked: the motion field is rendered at {E} evenly spaced times ({rule.temporal}k+1) "
            f"-> {latent_frames(E, rule.temporal)} latent frames; the animation is sampled back at {num_frames}")


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


# ----------------------------------------------------------------- equal-SNR noise levels


def ddpm_alpha_bar(t: int, num_steps: int = 1000) -> float:
    """alpha_bar_t of the scaled-linear schedule (betas 0.00085..0.012, ModelScope / Stable Diffusion)."""
    from .sds import DiscreteSchedule

    t = int(t)
    if not 0 <= t < num_steps:
        raise SketchError(f"Timestep {t} is outside 0..{num_steps - 1}.")
    return float(DiscreteSchedule.scaled_linear(num_steps=num_steps).alphas_cumprod[t])


def equivalent_timestep(alpha_bar: float, num_steps: int = 1000) -> int:
    """The DDPM t of the scaled-linear schedule whose alpha_bar_t is nearest (in log SNR) to alpha_bar."""
    from .sds import DiscreteSchedule

    ac = DiscreteSchedule.scaled_linear(num_steps=num_steps).alphas_cumprod
    ab = min(max(float(alpha_bar), 1e-12), 1 - 1e-12)
    log_snr = torch.log(ac / (1 - ac))
    return int((log_snr - math.log(ab / (1 - ab))).abs().argmin())


def sigma_for_alpha_bar(noise_scaling: Callable, alpha_bar: float) -> float:
    """The sigma at which a model's noise_scaling has signal level alpha_bar = a^2 / (a^2 + s^2).

    Closed forms for ComfyUI's two families (flow: sigma = r / (1 + r); variance-exploding eps /
    v / Cosmos: sigma = r, with r = sqrt((1 - alpha_bar) / alpha_bar)), checked against the
    model's own noise_scaling; anything else is solved by bisection on s / a = r.
    """
    ab = float(alpha_bar)
    if not 0.0 < ab < 1.0:
        raise SketchError(f"alpha_bar must be in (0, 1), got {alpha_bar}.")
    r = math.sqrt((1.0 - ab) / ab)

    def ratio(sigma: float) -> float:  # s / a; beyond the model's range (a <= 0: pure noise) counts as infinite
        try:
            a, s = noise_coefficients(noise_scaling, sigma)
        except SketchError:
            return math.inf
        return math.inf if a <= 0 else s / a

    for sigma in (r / (1.0 + r), r):  # flow, variance exploding
        if math.isclose(ratio(sigma), r, rel_tol=1e-9):
            return sigma
    lo, hi = 1e-8, 1e8
    if not ratio(lo) < r < ratio(hi):
        raise SketchError(f"The model's noise_scaling never reaches alpha_bar {ab:.4g}; use the model's own noise "
                          "levels instead.")
    for _ in range(200):  # bisection in log sigma
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if ratio(mid) < r else (lo, mid)
        if hi / lo < 1 + 1e-13:
            break
    return math.sqrt(lo * hi)


class NoiseLevels:
    """The sigmas a ComfyUI model is scored at (pure: takes the model's percent_to_sigma and noise_scaling).

    mode "paper" (default): integer t ~ U{t_lo..t_hi}, t_hi / t_lo = (1 - start) * 999 / (1 - end) * 999
    rounded inwards (50..948 for the default percents), mapped to the model's sigma of equal SNR
    (`sigma_for_alpha_bar`). mode "model": p ~ U[start, end] through percent_to_sigma.
    ``sample(generator)`` -> (sigma, equivalent DDPM t).
    """

    def __init__(self, percent_to_sigma: Callable, noise_scaling: Callable, mode: str = "paper",
                 start: float = 0.051, end: float = 0.95):
        if mode not in NOISE_LEVELS:
            raise SketchError(f"Unknown noise levels {mode!r}; use one of {sorted(NOISE_LEVELS)}.")
        self.start, self.end = check_percent_range(start, end)
        self.mode, self.percent_to_sigma, self.noise_scaling = mode, percent_to_sigma, noise_scaling
        self.t_lo = math.ceil(percent_to_timestep(self.end) - 1e-6)
        self.t_hi = math.floor(percent_to_timestep(self.start) + 1e-6)
        if self.t_lo > self.t_hi:
            raise SketchError(f"The noise range ({start}, {end}) holds no whole DDPM timestep; widen it.")
        self._sigma_cache: dict[int, float] = {}

    def sigma_at(self, t: int) -> float:
        """The model's sigma with the SNR of DDPM step t (cached)."""
        if t not in self._sigma_cache:
            self._sigma_cache[t] = sigma_for_alpha_bar(self.noise_scaling, ddpm_alpha_bar(t))
        return self._sigma_cache[t]

    def sample(self, generator: torch.Generator | None = None) -> tuple[float, int]:
        dev = generator.device if generator is not None else "cpu"
        if self.mode == "paper":
            t = int(torch.randint(self.t_lo, self.t_hi + 1, (1,), generator=generator, device=dev))
            return self.sigma_at(t), t
        sigma = float(self.percent_to_sigma(sample_percent(self.start, self.end, generator)))
        a, s = noise_coefficients(self.noise_scaling, sigma)
        return sigma, equivalent_timestep(a * a / (a * a + s * s))

    def describe(self) -> str:
        if self.mode == "paper":
            return f"noise levels: DDPM t ~ U{{{self.t_lo}..{self.t_hi}}} at equal SNR on the model's own sigmas"
        return f"noise levels: the model's schedule, sampling percent ~ U[{self.start:g}, {self.end:g}]"
