"""LiveSketch's neural displacement field: control points -> per-frame offsets.

Given the N control points of a sketch (canvas px), the field predicts for every
frame time t a displacement Delta Z(t) = Delta Z_l(t) + Delta Z_g(t) [N, 2] px:

- the LOCAL path: free per-point offsets (any deformation);
- the GLOBAL path: one affine transform per frame about the sketch's centre of
  mass c. With p = base - c:  p' = A p + d,
  A = R(lambda_r * r) H(lambda_sh * sh) S(1 + lambda_s * s),  d = lambda_t * (dx, dy),
  Delta Z_g = p' - p.  H = [[1, sh_x], [sh_y, 1]], S = diag(s_x, s_y).

Both paths read the points as offsets from the centre of mass through a projection
Linear(2, D) -> LayerNorm -> LeakyReLU(0.01) -> Linear(D, D) plus a fixed sinusoidal
positional encoding.

Two architectures (``architecture=``):

``"continuous"`` (default, ours)
    * Time is an input: Fourier features [t, sin(2^k pi t), cos(2^k pi t)], k < L,
      of t in [0, 1]. The trained field can be sampled at ANY frame count / fps
      (``field(torch.linspace(0, 1, 97))``) instead of being tied to 24 frames.
    * The local path is one MLP applied to every (point, time) pair on
      [point features, time features]; its size does not depend on the point
      count (~0.19M parameters instead of ~51M, see ``parameter_counts``).
      The positional encoding is over the point index only (time has its own).
    * The global path is an MLP of the time features alone: the sketch is the same
      in every frame, so pooled point features would only be a constant bias.
    * Last layers are zero-initialised: Delta Z = 0 and the first training frame
      is exactly the input sketch (the reference starts from random offsets).
    * Point offsets are divided by half the larger canvas side before the
      projection (resolution independent); outputs stay in pixels.
    * ``local_parameters()`` and ``global_parameters()`` are disjoint and together
      cover every parameter: the local path owns its projection, the global path
      needs none.

``"paper"`` (the reference architecture, for comparison)
    Fixed K frames. Input = the N offsets (raw px) repeated K times; shared
    projection + sinusoidal encoding of the flat index k*N + n; local path
    Flatten -> Linear(K*N*D, D) -> 2 x [Linear(D, D), LN, LeakyReLU] ->
    Linear(D, 2*K*N); global path its own Flatten trunk -> heads for translation
    (3 hidden layers), rotation, shear and scale (1 hidden layer each). The shared
    projection belongs to both parameter groups (as in the paper). Times that are
    not on the K-frame grid are linearly interpolated between frames.
    The reference's accidental behaviours are NOT reproduced: no dropout on the
    positional encoding, no unused learned embedding, the scale head feeds the
    scale (not the shear head). Gradients are the trainer's job: with AnimateConfig.global_grads
    "accumulated" (the reference's behaviour, used by the "paper" and "default" presets) the
    global path's own parameters keep the running sum of both passes' gradients. The "paper"
    preset also builds this field with zero_init=False: random initial offsets, as the reference.

Parameter counts for 16 strokes x 4 points (N = 64), K = 24, D = 128:
continuous 189,705; paper 50,918,440 (the reference has ~51.3M: the same plus an
unused 3072 x 128 embedding). See ``DisplacementField.num_parameters``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn

from ..errors import SketchError

ARCHITECTURES = ("continuous", "paper")


@dataclass
class FieldConfig:
    """Hyper-parameters of a DisplacementField (JSON-serialisable)."""

    architecture: str = "continuous"
    hidden: int = 128  # D
    num_frames: int = 24  # K: fixed frame count of "paper"; default sampling count of "continuous"
    time_frequencies: int = 6  # L of the Fourier time features ("continuous")
    local_layers: int = 3  # hidden layers of the continuous local MLP
    global_layers: int = 2  # hidden layers of the continuous global trunk
    lambda_t: float = 1.0
    lambda_r: float = 0.01
    lambda_sh: float = 0.1
    lambda_s: float = 0.05
    use_local: bool = True
    use_global: bool = True
    zero_init: bool = True  # Delta Z = 0 at initialisation

    def validate(self) -> "FieldConfig":
        if self.architecture not in ARCHITECTURES:
            raise SketchError(f"Unknown displacement-field architecture {self.architecture!r}; use one of {ARCHITECTURES}.")
        if self.hidden < 2 or self.hidden % 2:
            raise SketchError(f"hidden must be an even number >= 2, got {self.hidden}.")
        if self.num_frames < 1:
            raise SketchError(f"num_frames must be >= 1, got {self.num_frames}.")
        if self.time_frequencies < 0 or self.local_layers < 1 or self.global_layers < 1:
            raise SketchError("time_frequencies must be >= 0 and local_layers / global_layers >= 1.")
        if not (self.use_local or self.use_global):
            raise SketchError("Enable at least one of the local and global paths.")
        return self

    @classmethod
    def from_dict(cls, d: dict) -> "FieldConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SketchError(f"Unknown displacement-field settings: {sorted(unknown)}.")
        return cls(**d).validate()


def sinusoidal_encoding(n: int, dim: int) -> Tensor:
    """[n, dim] fixed sin/cos encoding of positions 0..n-1 (Transformer style)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


def time_features(times: Tensor, num_frequencies: int) -> Tensor:
    """[T] times in [0, 1] -> [T, 1 + 2L]: t, sin(2^k pi t), cos(2^k pi t) for k < L."""
    t = times.reshape(-1, 1)
    if num_frequencies == 0:
        return t
    freq = math.pi * 2.0 ** torch.arange(num_frequencies, dtype=t.dtype, device=t.device)
    return torch.cat([t, torch.sin(t * freq), torch.cos(t * freq)], dim=1)


def _block(d_in: int, d_out: int) -> list[nn.Module]:
    return [nn.Linear(d_in, d_out), nn.LayerNorm(d_out), nn.LeakyReLU(0.01)]


def _mlp(d_in: int, hidden: int, layers: int, d_out: int) -> nn.Sequential:
    mods: list[nn.Module] = _block(d_in, hidden)
    for _ in range(layers - 1):
        mods += _block(hidden, hidden)
    mods.append(nn.Linear(hidden, d_out))
    return nn.Sequential(*mods)


def _projection(hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.01), nn.Linear(hidden, hidden))


def affine_matrices(rotation: Tensor, shear: Tensor, scale: Tensor) -> Tensor:
    """A = R(rotation) H(shear) S(scale) per frame.

    rotation [T] radians, shear [T, 2] (sh_x, sh_y), scale [T, 2] (s_x, s_y) -> [T, 2, 2],
    with R = [[cos, -sin], [sin, cos]], H = [[1, sh_x], [sh_y, 1]], S = diag(s_x, s_y).
    """
    c, s = torch.cos(rotation), torch.sin(rotation)
    R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    one = torch.ones_like(rotation)
    H = torch.stack([torch.stack([one, shear[:, 0]], -1), torch.stack([shear[:, 1], one], -1)], -2)
    S = torch.diag_embed(scale)
    return R @ H @ S


class _GlobalHeads(nn.Module):
    """Translation (2), rotation (1), shear (2), scale (2) heads on a trunk feature."""

    def __init__(self, hidden: int, per_frame: int, translation_layers: int):
        super().__init__()
        self.translation = _mlp(hidden, hidden, translation_layers, 2 * per_frame)
        self.rotation = _mlp(hidden, hidden, 1, per_frame)
        self.shear = _mlp(hidden, hidden, 1, 2 * per_frame)
        self.scale = _mlp(hidden, hidden, 1, 2 * per_frame)

    def last_layers(self):
        return [self.translation[-1], self.rotation[-1], self.shear[-1], self.scale[-1]]


class DisplacementField(nn.Module):
    """LiveSketch's displacement field (see the module docstring).

    points: [N, 2] control points of the input sketch in canvas px.
    canvas: (width, height) px; sets the input normalisation of "continuous"
        (default: the points' bounding box).
    config / overrides: a FieldConfig and/or its fields as keyword arguments.
    seed: initialise the weights from this seed without touching the global RNG.

    ``field(times)`` -> [T, N, 2] points of every frame (base + Delta Z).
    """

    def __init__(
        self,
        points: Tensor,
        config: FieldConfig | None = None,
        *,
        canvas: tuple[int, int] | None = None,
        seed: int | None = None,
        **overrides,
    ):
        super().__init__()
        cfg = FieldConfig(**{**(asdict(config) if config else {}), **overrides}).validate()
        self.config = cfg
        pts = torch.as_tensor(points, dtype=torch.float32).detach()
        if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 1:
            raise SketchError(f"The displacement field needs 2D control points [N, 2], got {tuple(pts.shape)}.")
        if pts.device.type != "meta" and not bool(torch.isfinite(pts).all()):
            raise SketchError("The sketch has NaN or infinite coordinates.")
        N, D = pts.shape[0], cfg.hidden
        self.num_points = N
        center = pts.mean(0)
        if canvas is not None:
            scale = 0.5 * float(max(canvas))
        else:
            scale = float((pts - center).abs().max().clamp(min=1.0))
        self.register_buffer("base_points", pts.clone())
        self.register_buffer("center", center)
        self.register_buffer("input_scale", torch.tensor(scale))

        rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with rng:
            if seed is not None:
                torch.manual_seed(int(seed))
            if cfg.architecture == "continuous":
                self._build_continuous(N, D)
            else:
                self._build_paper(N, D)
        if cfg.zero_init:
            for lin in self._last_layers():
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    # ------------------------------------------------------------- building
    def _build_continuous(self, N: int, D: int):
        cfg = self.config
        tdim = 1 + 2 * cfg.time_frequencies
        self.register_buffer("point_encoding", sinusoidal_encoding(N, D))
        if cfg.use_local:
            self.local_projection = _projection(D)
            self.local_mlp = _mlp(D + tdim, D, cfg.local_layers, 2)
        if cfg.use_global:
            trunk = _block(tdim, D)
            for _ in range(cfg.global_layers - 1):
                trunk += _block(D, D)
            self.global_trunk = nn.Sequential(*trunk)
            self.global_heads = _GlobalHeads(D, 1, translation_layers=3)

    def _build_paper(self, N: int, D: int):
        cfg = self.config
        K = cfg.num_frames
        flat = K * N * D
        self.projection = _projection(D)
        self.register_buffer("point_encoding", sinusoidal_encoding(K * N, D))
        if cfg.use_local:
            self.local_mlp = nn.Sequential(
                nn.Flatten(0), *_block(flat, D), *_block(D, D), *_block(D, D), nn.Linear(D, 2 * K * N)
            )
        if cfg.use_global:
            self.global_trunk = nn.Sequential(nn.Flatten(0), *_block(flat, D), *_block(D, D))
            self.global_heads = _GlobalHeads(D, K, translation_layers=3)

    def _last_layers(self) -> list[nn.Linear]:
        out = []
        if self.config.use_local:
            out.append(self.local_mlp[-1])
        if self.config.use_global:
            out += self.global_heads.last_layers()
        return out

    # --------------------------------------------------------- parameter groups
    def local_parameters(self) -> list[nn.Parameter]:
        """Parameters the local-path optimiser updates."""
        if not self.config.use_local:
            return []
        mods = [self.local_mlp] + ([self.local_projection] if self.config.architecture == "continuous" else [self.projection])
        return [p for m in mods for p in m.parameters()]

    def global_parameters(self) -> list[nn.Parameter]:
        """Parameters the global-path optimiser updates (paper: includes the shared projection)."""
        if not self.config.use_global:
            return []
        mods = [self.global_trunk, self.global_heads]
        if self.config.architecture == "paper":
            mods.append(self.projection)
        return [p for m in mods for p in m.parameters()]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ time
    def frame_times(self, num_frames: int | None = None) -> Tensor:
        """[T] evenly spaced times in [0, 1] (T = config.num_frames by default)."""
        T = self.config.num_frames if num_frames is None else int(num_frames)
        if T < 1:
            raise SketchError(f"num_frames must be >= 1, got {T}.")
        dev = self.base_points.device
        return torch.zeros(1, device=dev) if T == 1 else torch.linspace(0, 1, T, device=dev)

    def _times(self, times) -> Tensor:
        if times is None:
            return self.frame_times()
        if isinstance(times, int):
            return self.frame_times(times)
        t = torch.as_tensor(times, dtype=torch.float32, device=self.base_points.device).reshape(-1)
        if t.numel() == 0 or not bool(torch.isfinite(t).all()) or bool((t < 0).any() or (t > 1).any()):
            raise SketchError("Frame times must be finite values in [0, 1].")
        return t

    def _offsets(self) -> Tensor:
        return self.base_points - self.center

    # ------------------------------------------------------------ the paths
    def _paper_frames(self, out: Tensor, times: Tensor) -> Tensor:
        """Pick / linearly interpolate the K fixed frames of the paper layout at `times`."""
        K = self.config.num_frames
        if K == 1:
            return out[[0] * times.numel()]
        u = times * (K - 1)
        i0 = u.floor().long().clamp(0, K - 1)
        i1 = (i0 + 1).clamp(max=K - 1)
        w = (u - i0.to(u.dtype)).reshape(-1, *([1] * (out.ndim - 1)))
        return out[i0] * (1 - w) + out[i1] * w

    def local_offsets(self, times=None) -> Tensor:
        """Delta Z_l: [T, N, 2] px."""
        t = self._times(times)
        N = self.num_points
        if not self.config.use_local:
            return self.base_points.new_zeros(t.numel(), N, 2)
        if self.config.architecture == "continuous":
            q = self._offsets() / self.input_scale
            feat = self.local_projection(q) + self.point_encoding  # [N, D]
            tf = time_features(t, self.config.time_frequencies)  # [T, F]
            x = torch.cat([feat.expand(t.numel(), -1, -1), tf[:, None, :].expand(-1, N, -1)], dim=-1)
            return self.local_mlp(x)
        K = self.config.num_frames
        out = self.local_mlp(self._paper_features()).reshape(K, N, 2)
        return self._paper_frames(out, t)

    def _paper_features(self) -> Tensor:
        p = self._offsets().repeat(self.config.num_frames, 1)  # [K*N, 2] raw px, frame-major
        return self.projection(p) + self.point_encoding

    def global_transforms(self, times=None) -> tuple[Tensor, Tensor]:
        """Per-frame affine about the centre of mass: (A [T, 2, 2], d [T, 2] px)."""
        t = self._times(times)
        cfg = self.config
        T = t.numel()
        if not cfg.use_global:
            eye = torch.eye(2, device=t.device).expand(T, 2, 2).clone()
            return eye, t.new_zeros(T, 2)
        if cfg.architecture == "continuous":
            h = self.global_trunk(time_features(t, cfg.time_frequencies))
            heads = self.global_heads
            tr, rot = heads.translation(h), heads.rotation(h)[:, 0]
            sh, sc = heads.shear(h), heads.scale(h)
        else:
            K = cfg.num_frames
            h = self.global_trunk(self._paper_features())
            heads = self.global_heads
            params = torch.cat(
                [heads.translation(h).reshape(K, 2), heads.rotation(h).reshape(K, 1),
                 heads.shear(h).reshape(K, 2), heads.scale(h).reshape(K, 2)], dim=1
            )
            params = self._paper_frames(params, t)
            tr, rot, sh, sc = params[:, 0:2], params[:, 2], params[:, 3:5], params[:, 5:7]
        A = affine_matrices(cfg.lambda_r * rot, cfg.lambda_sh * sh, 1.0 + cfg.lambda_s * sc)
        return A, cfg.lambda_t * tr

    def global_offsets(self, times=None, base: Tensor | None = None) -> Tensor:
        """Delta Z_g = A p + d - p with p = base - centre: [T, N, 2] px."""
        A, d = self.global_transforms(times)
        p = (self.base_points if base is None else base) - self.center
        return torch.einsum("tij,nj->tni", A, p) + d[:, None, :] - p

    def displacements(self, times=None, base: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(Delta Z_l, Delta Z_g), each [T, N, 2] px."""
        t = self._times(times)
        return self.local_offsets(t), self.global_offsets(t, base)

    def forward(self, times=None, base: Tensor | None = None) -> Tensor:
        """Points of every frame [T, N, 2] px: base + Delta Z_l + Delta Z_g.

        times: [T] in [0, 1], an int frame count, or None (config.num_frames frames).
        base: optional [N, 2] canonical points replacing the input sketch (they may
            require grad: canonical refinement); the network inputs stay the input sketch.
        """
        b = self.base_points if base is None else base
        dl, dg = self.displacements(times, base)
        return b + dl + dg

    # -------------------------------------------------------------- persistence
    def config_dict(self) -> dict:
        return asdict(self.config)

    @classmethod
    def from_state_dict(cls, state: dict, config: dict | FieldConfig) -> "DisplacementField":
        """Rebuild a field saved with ``state_dict()`` and ``config_dict()``."""
        cfg = config if isinstance(config, FieldConfig) else FieldConfig.from_dict(config)
        field = cls(state["base_points"], cfg)
        field.load_state_dict(state)
        return field


def parameter_counts(num_points: int = 64, num_frames: int = 24, hidden: int = 128) -> dict[str, int]:
    """Parameters of both architectures for a sketch of `num_points` control points."""
    pts = torch.zeros(num_points, 2)
    pts[:, 0] = torch.arange(num_points, dtype=torch.float32)
    out = {}
    for arch in ARCHITECTURES:
        with torch.device("meta"):
            f = DisplacementField(pts.to("meta"), canvas=(256, 256), architecture=arch, num_frames=num_frames,
                                  hidden=hidden, zero_init=False)
        out[arch] = f.num_parameters()
    return out
