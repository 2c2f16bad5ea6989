"""The pack's own small learned motion priors, and how motion is measured against captions.

The priors are trained by scripts/train_motion_prior.py on synthetic videos
(core.synthetic_motion): stroke sketches, black on white, 8 frames at 64x64, moving
as one of `CAPTIONS` says. They are test instruments and a model-free default: they
know only these eight captions (and "" for classifier-free guidance), nothing else.

    path = bundled_motion_prior_path("modelscope")   # diffusers folder, animate --model PATH
    prior = load_diffusers_prior(path, device="cpu")

Motion measurement (used by the tests and the training report), all in pixels of
the frames / canvas, y pointing down, positive rotation = clockwise on screen:

- `points_motion(points [T, N, 2])`: least-squares similarity fit of every frame's
  control points to frame 0's: centroid shift, rotation and scale from the first
  to the last frame (from linear fits over all frames, so one odd frame does not decide),
  and the per-frame centroid track;
- `video_motion(frames)`: the same quantities from the ink of rendered / sampled frames
  (ink centroid, ink radius of gyration, and the rotation that best aligns frame 0's ink
  to each frame by a search over angles);
- `matches(caption, motion)`: whether a measured motion is the captioned one.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..errors import SketchError
from ..synthetic_motion import CAPTIONS, MOTIONS, OPPOSITE

# Captions the bundled diffusers prior follows more slowly than the others: through `animate` it turns a sketch the
# captioned way, but a turn builds up over more steps than a move does (the house, seed 0, clockwise / counterclockwise:
# 300 steps +17.6 / -14.4 degrees, 500 steps +28.6 / -25.7; assets/motion_prior/README.md).
SLOW_CAPTIONS = ("rotating clockwise", "rotating counterclockwise")
SLOW_CAPTION_STEPS = 500  # the default preset's own step count

__all__ = ["CAPTIONS", "SLOW_CAPTIONS", "SLOW_CAPTION_STEPS", "OPPOSITE", "BUNDLED", "bundled_motion_prior_path",
           "points_motion", "video_motion", "matches", "monotone", "sample_diffusers_prior"]

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "motion_prior"
# kind -> folder under assets/motion_prior
BUNDLED = {"modelscope": "modelscope_tiny"}
FRAMES, SIZE = 8, 64  # what the bundled priors were trained on


def bundled_motion_prior_path(kind: str = "modelscope") -> Path:
    """Folder of a bundled learned prior: "modelscope" = diffusers ModelScope-layout folder
    (UNet3D eps model + AutoencoderKL + CLIP text encoder), loadable by load_diffusers_prior."""
    if kind not in BUNDLED:
        raise SketchError(f"No bundled motion prior of kind {kind!r}; available: {', '.join(BUNDLED)}.")
    path = ASSETS / BUNDLED[kind]
    if not (path / "model_index.json").is_file():
        raise SketchError(
            f"The bundled motion prior is missing at {path}. Reinstall the pack, or retrain it with "
            "`python scripts/train_motion_prior.py`."
        )
    return path


# ------------------------------------------------------------ measurement
def _line_slope(y: torch.Tensor) -> torch.Tensor:
    """Least-squares slope of y [T, ...] against frame index."""
    T = y.shape[0]
    t = torch.arange(T, dtype=y.dtype, device=y.device) - (T - 1) / 2
    t = t.view(-1, *([1] * (y.ndim - 1)))
    return (t * (y - y.mean(0, keepdim=True))).sum(0) / (t ** 2).sum()


def points_motion(points: torch.Tensor) -> dict:
    """Motion of control points [T, N, 2] from first to last frame (linear fits over frames):
    dx, dy (px), rotation (degrees, + = clockwise on screen), scale (ratio last/first),
    and "track": the centroid of every frame [[x, y], ...]."""
    p = torch.as_tensor(points).detach().double().cpu()
    if p.ndim != 3 or p.shape[-1] != 2 or p.shape[0] < 2:
        raise SketchError(f"points_motion needs points [T >= 2, N, 2], got {tuple(p.shape)}.")
    T = p.shape[0]
    c = p.mean(1)  # [T, 2]
    q = p - c[:, None]
    ref = q[0]
    dot = (q * ref).sum((1, 2))
    cross = (ref[:, 0] * q[..., 1] - ref[:, 1] * q[..., 0]).sum(1)
    rad = torch.atan2(cross, dot)  # in (-pi, pi]: unwrap so a turn past 180 degrees keeps counting
    jumps = torch.diff(rad, prepend=rad[:1])
    rad = rad - 2 * math.pi * torch.cumsum(torch.round(jumps / (2 * math.pi)), 0)
    angle = torch.rad2deg(rad)
    size = q.pow(2).sum((1, 2)).sqrt()
    slope_c = _line_slope(c) * (T - 1)
    return {
        "dx": float(slope_c[0]), "dy": float(slope_c[1]),
        "rotation": float(_line_slope(angle) * (T - 1)),
        "scale": float(torch.exp(_line_slope(torch.log(size / size[0])) * (T - 1))),
        "track": c.tolist(),
    }


def _ink(frames: torch.Tensor, floor: float = 0.1) -> torch.Tensor:
    """Frames [T, H, W] or [T, H, W, C] in 0..1 (dark ink on light paper) -> ink [T, H, W] >= 0."""
    f = torch.as_tensor(frames).detach().float().cpu()
    if f.ndim == 4:
        f = f[..., :3].mean(-1)
    if f.ndim != 3:
        raise SketchError(f"video_motion needs frames [T, H, W] or [T, H, W, C], got {tuple(f.shape)}.")
    return ((1 - f.clamp(0, 1)) - floor).clamp_min(0)


def _rotate_about(img: torch.Tensor, centre_from, centre_to, degrees: torch.Tensor, scale: float) -> torch.Tensor:
    """img [H, W] rotated by each angle (clockwise on screen) and scaled about centre_from, moved to centre_to -> [A, H, W]."""
    H, W = img.shape
    a = torch.deg2rad(degrees)
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32) + 0.5, torch.arange(W, dtype=torch.float32) + 0.5,
                            indexing="ij")
    # output pixel -> source pixel: inverse rotation and scale about the centres
    ox, oy = xs - centre_to[0], ys - centre_to[1]
    cos, sin = a.cos()[:, None, None], a.sin()[:, None, None]
    sx = (cos * ox + sin * oy) / scale + centre_from[0]
    sy = (-sin * ox + cos * oy) / scale + centre_from[1]
    grid = torch.stack([sx / W * 2 - 1, sy / H * 2 - 1], -1)
    src = img[None, None].expand(len(a), 1, H, W)
    return torch.nn.functional.grid_sample(src, grid, align_corners=False, padding_mode="zeros")[:, 0]


def video_motion(frames: torch.Tensor, max_degrees: float = 150.0, step_degrees: float = 3.0) -> dict:
    """Motion of the ink in frames [T, H, W(, C)] (0..1, dark on light) from first to last frame:
    dx, dy (px), rotation (degrees, + = clockwise), scale (ratio), and "ink" (mean ink per frame)."""
    ink = _ink(frames)
    T, H, W = ink.shape
    if T < 2:
        raise SketchError("video_motion needs at least two frames.")
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32) + 0.5, torch.arange(W, dtype=torch.float32) + 0.5,
                            indexing="ij")
    mass = ink.sum((1, 2)).clamp_min(1e-6)
    cx = (ink * xs).sum((1, 2)) / mass
    cy = (ink * ys).sum((1, 2)) / mass
    r2 = (ink * ((xs - cx[:, None, None]) ** 2 + (ys - cy[:, None, None]) ** 2)).sum((1, 2)) / mass
    size = r2.clamp_min(1e-6).sqrt()
    c = torch.stack([cx, cy], 1)
    slope_c = _line_slope(c) * (T - 1)
    log_scale = torch.log(size / size[0])
    angles = torch.arange(-max_degrees, max_degrees + 1e-6, step_degrees)
    best = [0.0]
    for t in range(1, T):
        cand = _rotate_about(ink[0], c[0], c[t], angles, float(size[t] / size[0]))
        a = cand.flatten(1)
        b = ink[t].flatten()
        score = (a * b).sum(1) / (a.norm(dim=1) * b.norm()).clamp_min(1e-9)
        best.append(float(angles[int(score.argmax())]))
    ang = torch.tensor(best)
    return {
        "dx": float(slope_c[0]), "dy": float(slope_c[1]),
        "rotation": float(_line_slope(ang) * (T - 1)),
        "scale": float(torch.exp(_line_slope(log_scale) * (T - 1))),
        "ink": float(mass.mean()),
    }


# thresholds of `matches` (first -> last frame; at 64 px the training motions are 17-35 px,
# 42-84 degrees and 1.5-1.95x over 8 frames)
MIN_SHIFT_FRACTION = 0.125  # of the frame / canvas size (8 px at 64 px)
MIN_ROTATION = 15.0  # degrees
MIN_SCALE = 1.15  # ratio
# a translation's per-frame track (where measured) must be a ramp, not a sawtooth whose linear fit slopes:
MIN_FORWARD_STEPS = 5 / 7  # share of frame-to-frame steps that go the captioned way (>= -STEP_SLACK px)
MAX_BACKTRACK = 0.25  # backward steps' total along the caption's direction, relative to the forward total
STEP_SLACK = 0.5  # px: a step this little backwards still counts as going the captioned way


def monotone(track, sign) -> bool:
    """Whether a centroid track [[x, y], ...] goes the way `sign` (dx, dy) says frame by frame:
    >= MIN_FORWARD_STEPS of its steps forward (STEP_SLACK px allowed back), backward steps totalling
    <= MAX_BACKTRACK of the forward ones, and the last frame ahead of the first by more than the backtrack."""
    c = torch.as_tensor(track, dtype=torch.float64)
    along = c[:, 0] * sign[0] + c[:, 1] * sign[1]
    steps = torch.diff(along)
    forward, back = float(steps.clamp_min(0).sum()), float((-steps).clamp_min(0).sum())
    return (float((steps >= -STEP_SLACK).double().mean()) >= MIN_FORWARD_STEPS - 1e-9
            and back <= MAX_BACKTRACK * forward and float(along[-1] - along[0]) > back)


def matches(caption: str, motion: dict, size: float = SIZE, min_shift: float | None = None,
            min_rotation: float = MIN_ROTATION, min_scale: float = MIN_SCALE, ramp: bool = True) -> bool:
    """Whether a measured motion (points_motion / video_motion) is the captioned one, by a margin.

    translations: the shift along the captioned direction >= min_shift (default 1/8 of `size`)
    and >= twice the shift across it, and where the motion has a per-frame "track" (points_motion) and
    `ramp` is set, a monotone ramp along it (`monotone`: a sawtooth whose linear fit slopes does not count);
    rotations: >= min_rotation degrees the captioned way;
    growing / shrinking: size ratio >= min_scale (or <= 1 / min_scale).
    """
    if caption not in MOTIONS:
        raise SketchError(f"Unknown motion caption {caption!r}; known: {', '.join(CAPTIONS)}.")
    kind, sign = MOTIONS[caption]
    if kind == "translate":
        need = size * MIN_SHIFT_FRACTION if min_shift is None else min_shift
        along = motion["dx"] * sign[0] + motion["dy"] * sign[1]
        across = abs(motion["dx"] * sign[1] - motion["dy"] * sign[0])
        if not (along >= need and along >= 2 * across):
            return False
        return not ramp or "track" not in motion or monotone(motion["track"], sign)
    if kind == "rotate":
        return motion["rotation"] * sign >= min_rotation
    ratio = motion["scale"] if sign > 0 else 1.0 / max(motion["scale"], 1e-9)
    return ratio >= min_scale


# --------------------------------------------------------------- sampling
@torch.no_grad()
def sample_diffusers_prior(prior, prompts, num: int = 4, *, steps: int = 25, guidance: float = 7.5, seed: int = 0,
                           num_frames: int = FRAMES, size: int = SIZE, eta: float = 0.0) -> torch.Tensor:
    """Sample videos from a loaded DiffusersVideoPrior (core.guidance.diffusers_prior) with DDIM and
    classifier-free guidance (empty negative prompt), `num` per prompt, all prompts in one batch
    -> frames [len(prompts) * num, T, H, W, 3] in 0..1 (prompt-major order). Checks what the prior learned."""
    from diffusers import DDIMScheduler

    from .diffusers_prior import text_condition

    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    sched = DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                          clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type=prior.prediction_type)
    sched.set_timesteps(steps)
    negs, conds = [], []
    for p in prompts:
        prior.prepare(p, "")
        negs.append(prior._current[:1].expand(num, -1, -1))  # [negative, prompt] embeddings
        conds.append(prior._current[1:].expand(num, -1, -1))
    e = torch.cat(negs + conds)
    B = len(prompts) * num
    f = prior.vae_factor
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(B, prior.unet.config.in_channels, num_frames, size // f, size // f, generator=g).to(prior.device)
    for t in sched.timesteps:
        tt = torch.full((2 * B,), int(t), device=prior.device, dtype=torch.long)
        out = prior.unet(torch.cat([z, z]).to(prior.dtype), tt, encoder_hidden_states=e,
                         **text_condition(prior.unet, e)).sample.float()
        un, co = out.chunk(2)
        z = sched.step(un + guidance * (co - un), t, z, eta=eta, generator=g).prev_sample
    lat = (z / prior.scaling_factor + prior.shift_factor).permute(0, 2, 1, 3, 4).flatten(0, 1)
    img = prior.vae.decode(lat.to(prior.vae_dtype)).sample.float()
    img = ((img + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
    return img.unflatten(0, (B, num_frames)).cpu()
