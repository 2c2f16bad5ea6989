"""A video prior with a known answer: its denoiser always predicts a given target video.

x0_hat = encode(target) for every noisy input, so the SDS gradient on the latent is
w(t) (alpha/sigma) (z - z_target) (both CFG branches predict the target, so the
guidance scale has no effect): gradient descent moves the frames toward the target.
The "VAE" is differentiable and fixed: frames -> [-1, 1] -> optional Gaussian blur
(widens the basin for thin strokes) -> optional average pooling by `downsample`
(a VAE-like spatial reduction) -> latent [1, 3, T, h, w].

Tests use it to check that a trainer recovers a known motion end to end.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import SketchError
from ..filters import gaussian_blur
from .prior import validate_frames
from .sds import DiscreteSchedule, Schedule, ScoreDistillation


class TargetVideoPrior:
    """Known-answer prior (see the module docstring).

    target: [T, H, W, 3] in 0..1. blur: Gaussian sigma in px (0 = none).
    downsample: integer average-pooling factor. schedule/weighting: as ScoreDistillation
    (default: DDPM scaled-linear, t in 50..948, w = 1 - alpha_bar).
    """

    def __init__(self, target: Tensor, *, blur: float = 0.0, downsample: int = 1,
                 schedule: Schedule | None = None, weighting: str = "1-alpha_bar", device=None):
        target = validate_frames(torch.as_tensor(target)).detach()
        self.device = torch.device(device) if device is not None else target.device
        self.target = target.to(self.device, torch.float32)
        T, H, W, _ = self.target.shape
        if downsample < 1 or H % downsample or W % downsample:
            raise SketchError(f"downsample must be a positive divisor of the frame size {W}x{H}, got {downsample}.")
        self.blur, self.downsample = float(blur), int(downsample)
        self.sds = ScoreDistillation(schedule or DiscreteSchedule.scaled_linear(), weighting)
        self.num_frames_hint = T
        self.size_hint = (W, H)
        self.prompt, self.negative_prompt = "", ""
        self.calls = 0
        with torch.no_grad():
            self.target_latent = self.encode(self.target)

    def encode(self, frames: Tensor) -> Tensor:
        """[T, H, W, 3] 0..1 -> latent [1, 3, T, h, w] (differentiable)."""
        x = frames.to(self.device, torch.float32).permute(0, 3, 1, 2) * 2 - 1
        x = gaussian_blur(x, self.blur)
        if self.downsample > 1:
            x = F.avg_pool2d(x, self.downsample)
        return x.permute(1, 0, 2, 3).unsqueeze(0)

    def fingerprint(self) -> str:
        """Identifies the target video (a resumed run must use the same prior)."""
        import hashlib

        h = hashlib.sha256(self.target.detach().cpu().numpy().tobytes())
        h.update(f"{self.blur}:{self.downsample}:{self.sds.weighting}".encode())
        return h.hexdigest()

    def prepare(self, prompt: str, negative_prompt: str = "") -> None:
        self.prompt, self.negative_prompt = prompt, negative_prompt

    def check_video(self, num_frames: int, height: int, width: int) -> None:
        T, H, W, _ = self.target.shape
        if (num_frames, height, width) != (T, H, W):
            raise SketchError(f"This target prior holds a {T}-frame {W}x{H} video; render {T} frames at {W}x{H}.")

    def sds_loss(self, frames: Tensor, *, guidance_scale: float = 1.0, generator: torch.Generator | None = None):
        """(loss, stats) whose gradient pulls `frames` toward the target video."""
        validate_frames(frames)
        self.check_video(*frames.shape[:3])
        self.calls += 1
        z = self.encode(frames)
        target = self.target_latent
        return self.sds.step_x0(z, lambda z_t, level: target, guidance_scale=guidance_scale, generator=generator)
