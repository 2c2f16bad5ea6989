"""Score distillation sampling (SDS): the math, once, for every video prior.

A prior encodes rendered frames into a latent z (with gradient), and calls one of

- ``ScoreDistillation.step_eps(z, predict_eps, ...)``: the model predicts noise
  (diffusers ModelScope / ZeroScope): grad = w(t) (eps_cfg - eps);
- ``ScoreDistillation.step_x0(z, predict_x0, ...)``: the model (or ComfyUI's guider)
  predicts the clean latent x0_hat; for z_t = alpha z + sigma eps,
  eps_hat - eps = (alpha / sigma) (z - x0_hat), i.e. ((1 - sigma)/sigma)(z - x0_hat)
  for flow models (alpha = 1 - sigma) and (z - x0_hat)/sigma for eps models in the
  variance-exploding parameterisation ComfyUI uses (alpha = 1);

which sample the noise level, noise z, ask the model, apply classifier-free guidance
and the weighting, and return ``(loss, stats)`` where ``loss.backward()`` puts
exactly ``grad`` into z (``inject_gradient``). That tail (finite check, injection, stats) is
``finish_sds``, public so an adapter that computes its own gradient never re-implements it;
the ComfyUI adapter only predicts x0 and calls ``step_x0`` with the level it picked. The loss value is
0.5 * ||z - stopgrad(z - grad)||^2 = 0.5 * ||grad||^2.

Noise levels: ``DiscreteSchedule`` (DDPM alphas_cumprod, t ~ U{t_min..t_max},
default 50..948 of 1000 as in LiveSketch). Flow models run through ComfyUI, whose
adapter picks levels from the model's own sampling schedule (nodes/comfy_prior.py).
Weighting w(t) = 1 - alpha_bar_t by default, where for any process
z_t = alpha z + sigma eps, alpha_bar = alpha^2 / (alpha^2 + sigma^2) (exact for DDPM).

Non-finite gradients (NaN/inf from a model in fp16, ...) are replaced by zeros and
reported as ``stats["finite"] = False``; the trainer skips such a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch
from torch import Tensor

from ..errors import SketchError
from ..options import WEIGHTINGS  # noqa: F401 (re-exported)



@dataclass(frozen=True)
class NoiseLevel:
    """One noise level: z_t = alpha * z + sigma * eps.

    timestep: the model's time input (DDPM index, or 1000 * sigma for flow models).
    index: the integer DDPM step for discrete schedules, else None.
    """

    alpha: float
    sigma: float
    timestep: float
    index: int | None = None

    @property
    def alpha_bar(self) -> float:
        """Variance-preserving equivalent signal level alpha^2 / (alpha^2 + sigma^2)."""
        a2, s2 = self.alpha**2, self.sigma**2
        return a2 / (a2 + s2)


def _check_range(lo, hi, name, lowest, highest):
    if not (lowest <= lo <= hi <= highest):
        raise SketchError(f"{name} range must satisfy {lowest} <= min <= max <= {highest}, got ({lo}, {hi}).")


class DiscreteSchedule:
    """DDPM noise schedule of an eps/v-prediction model: t ~ U{t_min..t_max} (both included)."""

    def __init__(self, alphas_cumprod: Tensor, t_min: int = 50, t_max: int = 948):
        ac = torch.as_tensor(alphas_cumprod, dtype=torch.float64).detach().cpu()
        if ac.ndim != 1 or ac.numel() < 2:
            raise SketchError("alphas_cumprod must be a 1-D tensor with one entry per training step.")
        self.alphas_cumprod = ac
        _check_range(int(t_min), int(t_max), "Timestep", 0, ac.numel() - 1)
        self.t_min, self.t_max = int(t_min), int(t_max)

    @classmethod
    def scaled_linear(cls, beta_start=0.00085, beta_end=0.012, num_steps=1000, **kw) -> "DiscreteSchedule":
        """Stable Diffusion / ModelScope betas: linear in sqrt(beta)."""
        betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_steps, dtype=torch.float64) ** 2
        return cls(torch.cumprod(1.0 - betas, 0), **kw)

    @property
    def num_steps(self) -> int:
        return int(self.alphas_cumprod.numel())

    def level(self, t: int) -> NoiseLevel:
        ab = float(self.alphas_cumprod[int(t)])
        return NoiseLevel(alpha=math.sqrt(ab), sigma=math.sqrt(1.0 - ab), timestep=float(int(t)), index=int(t))

    def sample(self, generator: torch.Generator | None = None) -> NoiseLevel:
        dev = generator.device if generator is not None else "cpu"
        t = torch.randint(self.t_min, self.t_max + 1, (1,), generator=generator, device=dev)
        return self.level(int(t))


Schedule = DiscreteSchedule  # anything with level(t) / sample(generator) -> NoiseLevel


# --------------------------------------------------------------------- algebra
def cfg_combine(uncond: Tensor, cond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance: uncond + scale * (cond - uncond)."""
    return uncond + scale * (cond - uncond)


def x0_from_eps(z_t: Tensor, eps: Tensor, level: NoiseLevel) -> Tensor:
    return (z_t - level.sigma * eps) / level.alpha


def eps_from_x0(z_t: Tensor, x0: Tensor, level: NoiseLevel) -> Tensor:
    return (z_t - level.alpha * x0) / level.sigma


def eps_residual_from_x0(z: Tensor, x0_hat: Tensor, level: NoiseLevel) -> Tensor:
    """eps_hat - eps = (alpha / sigma) (z - x0_hat), with z the clean latent that was noised."""
    return (level.alpha / level.sigma) * (z - x0_hat)


def sds_weight(level: NoiseLevel, weighting: str = "1-alpha_bar") -> float:
    """w(t): "1-alpha_bar" (LiveSketch / DreamFusion), "sqrt(1-alpha_bar)" or "uniform"."""
    if weighting == "1-alpha_bar":
        return 1.0 - level.alpha_bar
    if weighting == "sqrt(1-alpha_bar)":
        return math.sqrt(1.0 - level.alpha_bar)
    if weighting == "uniform":
        return 1.0
    raise SketchError(f"Unknown SDS weighting {weighting!r}; use one of {WEIGHTINGS}.")


class _InjectGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, grad):
        ctx.save_for_backward(grad)
        ctx.z_dtype = z.dtype
        return 0.5 * grad.float().pow(2).sum()

    @staticmethod
    def backward(ctx, out_grad):
        (grad,) = ctx.saved_tensors
        return (grad * out_grad).to(ctx.z_dtype), None


def inject_gradient(z: Tensor, grad: Tensor) -> Tensor:
    """Loss 0.5 * ||z - stopgrad(z - grad)||^2 (= 0.5 ||grad||^2) whose gradient wrt z is exactly `grad`.

    Written as a custom autograd function so the gradient is bit-exact even when z is
    fp16 (z - (z - grad) would round grad to z's precision).
    """
    if grad.shape != z.shape:
        raise ValueError(f"grad shape {tuple(grad.shape)} != z shape {tuple(z.shape)}")
    return _InjectGradient.apply(z, grad.detach())


def _randn_like(z: Tensor, generator: torch.Generator | None) -> Tensor:
    dev = generator.device if generator is not None else z.device
    return torch.randn(z.shape, generator=generator, device=dev, dtype=torch.float32).to(z.device)


PredictFn = Callable[[Tensor, NoiseLevel], Union[Tensor, tuple]]


class ScoreDistillation:
    """SDS for one noise schedule and weighting; see the module docstring."""

    def __init__(self, schedule: Schedule | None, weighting: str = "1-alpha_bar"):
        """schedule None: the caller picks every level (step_eps / step_x0 with level=...)."""
        sds_weight(NoiseLevel(1.0, 1.0, 0.0), weighting)  # validate the name
        self.schedule = schedule
        self.weighting = weighting

    def weight(self, level: NoiseLevel) -> float:
        return sds_weight(level, self.weighting)

    def _sample_level(self, generator) -> NoiseLevel:
        if self.schedule is None:
            raise SketchError("This ScoreDistillation has no schedule: pass the noise level (level=...).")
        return self.schedule.sample(generator)

    def add_noise(self, z: Tensor, level: NoiseLevel, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(z_t, eps) with fresh N(0, I) noise, in float32, without gradient."""
        eps = _randn_like(z, generator)
        return level.alpha * z.detach().float() + level.sigma * eps, eps

    def _guided(self, out, guidance_scale) -> Tensor:
        if isinstance(out, (tuple, list)):
            uncond, cond = out
            return cfg_combine(uncond.float(), cond.float(), float(guidance_scale))
        return out.float()

    def step_eps(self, z: Tensor, predict_eps: PredictFn, *, guidance_scale: float = 1.0,
                 generator: torch.Generator | None = None, level: NoiseLevel | None = None) -> tuple[Tensor, dict]:
        """grad = w (eps_cfg - eps). predict_eps(z_t, level) -> (eps_uncond, eps_cond) or eps_cfg."""
        level = level or self._sample_level(generator)
        z_t, eps = self.add_noise(z, level, generator)
        with torch.no_grad():
            eps_cfg = self._guided(predict_eps(z_t, level), guidance_scale)
        grad = self.weight(level) * (eps_cfg - eps)
        return self._finish(z, grad, level, guidance_scale)

    def step_x0(self, z: Tensor, predict_x0: PredictFn, *, guidance_scale: float = 1.0,
                generator: torch.Generator | None = None, level: NoiseLevel | None = None) -> tuple[Tensor, dict]:
        """grad = w (alpha/sigma)(z - x0_hat). predict_x0(z_t, level) -> (x0_uncond, x0_cond) or x0_cfg.

        CFG is linear, so combining x0 predictions equals combining eps predictions.
        """
        level = level or self._sample_level(generator)
        z_t, _ = self.add_noise(z, level, generator)
        with torch.no_grad():
            x0_hat = self._guided(predict_x0(z_t, level), guidance_scale)
        grad = self.weight(level) * eps_residual_from_x0(z.detach().float(), x0_hat, level)
        return self._finish(z, grad, level, guidance_scale)

    def _finish(self, z: Tensor, grad: Tensor, level: NoiseLevel, guidance_scale: float) -> tuple[Tensor, dict]:
        return finish_sds(z, grad, level, weight=self.weight(level), guidance_scale=guidance_scale)


def finish_sds(z: Tensor, grad: Tensor, level: NoiseLevel, *, weight: float, guidance_scale: float) -> tuple[Tensor, dict]:
    """The tail every score-distillation pass shares: (loss, stats) from the gradient on z.

    A non-finite gradient is replaced by zeros and reported as stats["finite"] = False (the
    trainer skips that step); the loss is ``inject_gradient(z, grad)``, i.e.
    0.5 * ||z - stopgrad(z - grad)||^2, whose gradient wrt z is exactly grad. stats holds the
    level (timestep, alpha, sigma), the weight w, the guidance scale, ||grad||, finite and the loss.
    """
    finite = bool(torch.isfinite(grad).all())
    if not finite:
        grad = torch.zeros_like(grad)
    loss = inject_gradient(z, grad.to(z.device))
    stats = {
        "timestep": level.timestep,
        "alpha": level.alpha,
        "sigma": level.sigma,
        "weight": float(weight),
        "guidance_scale": float(guidance_scale),
        "grad_norm": float(grad.norm()),
        "finite": finite,
        "loss": float(loss.detach()),
    }
    return loss, stats
