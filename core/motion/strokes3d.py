"""Liv3Stroke stage 2: deformable 3D cubic Bezier strokes.

Each of N open single-segment strokes has 4 canonical control points p_i (learned)
and moves over time t in [0, 1] as

    x_i^t = xi(R_i^t) (p_i - c_i) + c_i + xi(T_i^t) + xi(L_i^t)

- R_i^t: rotation about the stroke's centroid c_i from an axis-angle vector
  predicted by M_R (an MLP on a Fourier encoding of t and a learned stroke embedding);
- T_i^t: translation from M_T (same inputs), initialised by distillation from
  the stage-1 deformation field (see `distill_from_field`);
- L_i^t: per-control-point offsets from M_L (same inputs, 4 x 3 outputs);
- xi(v) = v sigmoid(k (|v| - tau)), the static-period correction on R and T: with
  k tau = 10 (defaults k = 500, tau = 0.02 scene radii, under a pixel at 96 px) a
  motion of tau / 2 keeps 0.7% of itself and one of 2 tau 99.99%: still
  periods stay still, real motion passes (with k tau = 1 the slope at 0 was 0.27: no
  suppression). R and T start from the distilled stage-1 motion, above tau where
  anything moves. The offsets L start at zero, where a steep xi would have no
  gradient, so they are left to the magnitude regulariser instead.
Every head's last layer starts at zero and the outputs at the canonical time are
subtracted, so the strokes start exactly at the canonical control points and the
canonical frame stays canonical.

`WarpedStrokes` is the other motion model (reconstruct3d's default): strokes moved by the stage-1
deformation field itself, so the stroke stage cannot invent motion that only one view sees.

Seeding: `seed_strokes` (farthest-point sampling of a point cloud, each stroke a
short straight cubic along its seed's neighbourhood's principal direction) or
`trace_strokes` (coverage-driven: each stroke traced from the least-covered dense
point along the cloud's local principal direction, both ways, until the cloud
ends, turns sharply or the length budget is spent, then a least-squares cubic is
fitted to the traced chain: long, curved, sketch-like strokes).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import SketchError
from .point_field import positional_encoding

BEZIER_SPAN = torch.tensor([-0.5, -1.0 / 6.0, 1.0 / 6.0, 0.5])  # a straight cubic with evenly spaced control points


def bernstein3(s: torch.Tensor) -> torch.Tensor:
    """[..., 4] cubic Bernstein weights at curve parameters s [...] (the one place the cubic basis is written)."""
    s = s[..., None]
    return torch.cat([(1 - s) ** 3, 3 * (1 - s) ** 2 * s, 3 * (1 - s) * s**2, s**3], -1)


def bezier_basis(samples: int, device=None, dtype=None) -> torch.Tensor:
    """[S, 4] cubic Bernstein weights at `samples` evenly spaced parameters in [0, 1]."""
    return bernstein3(torch.linspace(0, 1, samples, device=device, dtype=dtype))


def farthest_point_sampling(points: torch.Tensor, n: int, start: int = 0) -> torch.Tensor:
    """Indices [n] of n points of [M, D] picked farthest-first (deterministic from `start`)."""
    M = points.shape[0]
    if n < 1 or n > M:
        raise SketchError(f"Cannot pick {n} strokes from {M} points; ask for between 1 and {M}.")
    idx = torch.empty(n, dtype=torch.long)
    idx[0] = start
    dist = (points - points[start]).norm(dim=-1)
    for i in range(1, n):
        idx[i] = int(dist.argmax())
        dist = torch.minimum(dist, (points - points[idx[i]]).norm(dim=-1))
    return idx


@torch.no_grad()
def seed_strokes(points: torch.Tensor, n: int, neighbours: int = 16, min_length: float = 0.0) -> torch.Tensor:
    """N straight cubic strokes [n, 4, 3] seeded by farthest-point sampling of a cloud [M, 3].

    Each stroke is centred on its seed's neighbourhood (the seed and its
    `neighbours` nearest points), lies along the neighbourhood's principal
    direction and spans the neighbourhood's extent along it (at least min_length).
    """
    points = points.float()
    seeds = farthest_point_sampling(points, n)
    k = min(neighbours + 1, points.shape[0])
    d = torch.cdist(points[seeds], points)
    nb = d.topk(k, largest=False).indices  # [n, k]
    strokes = []
    for i in range(n):
        q = points[nb[i]]
        c = q.mean(0)
        if q.shape[0] >= 2:
            _, _, vh = torch.linalg.svd(q - c, full_matrices=False)
            e = vh[0]
        else:
            e = torch.tensor([1.0, 0.0, 0.0])
        proj = (q - c) @ e
        length = max(float(proj.max() - proj.min()), float(min_length), 1e-6)
        mid = c + e * float(proj.max() + proj.min()) / 2
        strokes.append(mid + BEZIER_SPAN[:, None] * length * e)
    return torch.stack(strokes)


def _principal(q: torch.Tensor, prev: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroid and unit principal direction of points [K, 3] (signed to agree with `prev`)."""
    c = q.mean(0)
    if q.shape[0] < 2:
        return c, prev if prev is not None else q.new_tensor([1.0, 0.0, 0.0])
    _, _, vh = torch.linalg.svd(q - c, full_matrices=False)
    e = vh[0]
    if prev is not None and float(e @ prev) < 0:
        e = -e
    return c, e


def fit_cubic(chain: torch.Tensor) -> torch.Tensor:
    """Control points [4, 3] of the least-squares cubic Bezier through a polyline [K, 3] (K >= 2).

    The ends are the chain's ends; the inner points are fitted at chord-length parameters,
    then 7 more times at each chain point's nearest parameter on the previous fit (the best kept)
    (K < 4: the straight cubic between the ends).
    """
    p0, p3 = chain[0], chain[-1]
    if chain.shape[0] < 4:
        return torch.stack([p0, p0 + (p3 - p0) / 3, p0 + 2 * (p3 - p0) / 3, p3])
    u = torch.cat([chain.new_zeros(1), (chain[1:] - chain[:-1]).norm(dim=-1).cumsum(0)])
    u = u / u[-1].clamp_min(1e-12)
    dense = torch.linspace(0, 1, 257, dtype=chain.dtype)
    best, best_err = None, float("inf")
    for it in range(8):  # fit, then move each chain point's parameter to its nearest point on the fit
        A = torch.stack([3 * (1 - u) ** 2 * u, 3 * (1 - u) * u**2], -1)  # [K, 2]
        rhs = chain - ((1 - u) ** 3)[:, None] * p0 - (u**3)[:, None] * p3
        inner = torch.linalg.lstsq(A, rhs).solution
        ctrl = torch.stack([p0, inner[0], inner[1], p3])
        err = float(((A @ inner - rhs) ** 2).sum())
        if err < best_err:
            best, best_err = ctrl, err
        if it < 7:
            w = bernstein3(dense)
            u = dense[torch.cdist(chain, w @ ctrl).argmin(1)]
            u[0], u[-1] = 0.0, 1.0
    return best


def trace_chain(points: torch.Tensor, start: int, radius: float, max_length: float,
                min_cos: float = 0.9) -> torch.Tensor:
    """A polyline [K, 3] through a cloud [M, 3] from points[start] along its local principal direction.

    From the centroid of the start's 2 * radius ball it steps `radius` ahead, re-centres on
    the points within `radius` of there, and repeats, both ways, until fewer than 3 points
    are there (the cloud ends), the step turns by more than acos(min_cos), it stalls, or the
    chain is `max_length` long (one way, then the other way gets what is left).
    """
    c, e = _principal(points[(points - points[start]).norm(dim=-1) < 2 * radius])
    sides, budget = [], float(max_length)
    for sign in (1.0, -1.0):
        x, direction, chain, run = c, sign * e, [], 0.0
        while run < budget:
            ahead = (points - (x + direction * radius)).norm(dim=-1) < radius
            if int(ahead.sum()) < 3:
                break
            cn, _ = _principal(points[ahead], direction)
            step = cn - x
            n = float(step.norm())
            if n < 0.3 * radius or float(step @ direction) < min_cos * n:
                break
            run += n
            x = cn
            direction = torch.nn.functional.normalize(direction + step / n, dim=0)
            chain.append(x)
        budget -= run
        sides.append(chain)
    return torch.stack(list(reversed(sides[1])) + [c] + sides[0])


def _spacing(points: torch.Tensor, neighbours: int) -> tuple[float, torch.Tensor]:
    """(median distance to the `neighbours`-th nearest point, per-point such distances [M])."""
    M = points.shape[0]
    k = min(neighbours, M - 1)
    if k < 1:
        return 1e-6, points.new_zeros(M)
    kth = torch.cdist(points, points).topk(k + 1, largest=False).values[:, -1]
    return max(float(kth.median()), 1e-6), kth


@torch.no_grad()
def cloud_length(points: torch.Tensor, neighbours: int = 24) -> float:
    """Estimated total curve length of a curve-like cloud [M, 3]: (number of balls of radius r
    that cover its dense points, picked farthest first) x r, r = the median `neighbours`-th-neighbour distance."""
    points = points.float()
    radius, kth = _spacing(points, neighbours)
    dense = points[kth <= 2 * radius]
    d = torch.full((dense.shape[0],), float("inf"))
    i, count = 0, 0
    while True:
        d = torch.minimum(d, (dense - dense[i]).norm(dim=-1))
        count += 1
        if float(d.max()) < radius:
            return count * radius
        i = int(d.argmax())


@torch.no_grad()
def trace_strokes(points: torch.Tensor, n: int, max_length: float, neighbours: int = 24,
                  min_cos: float = 0.9, overlap: float | None = None) -> torch.Tensor:
    """N cubic strokes [n, 4, 3] traced through a cloud [M, 3], coverage first (see the module docstring).

    radius = the median distance to the `neighbours`-th nearest point; points whose distance
    is over twice that are outliers and never seeds. The first seed is the dense point
    farthest from the centroid (a tip); each next one maximises (distance to the strokes so
    far) / radius - (how many strokes or seeds already cover it), so uncovered parts come
    first and, once all is covered, strokes are spread over the least drawn parts.
    overlap: also cap the length at overlap x `cloud_length` / n (the strokes together
    draw the cloud about `overlap` times), so many strokes stay shorter than few.
    """
    points = points.float()
    M = points.shape[0]
    if n < 1 or n > M:
        raise SketchError(f"Cannot trace {n} strokes through {M} points; ask for between 1 and {M}.")
    radius, kth = _spacing(points, neighbours)
    dense = kth <= 2 * radius
    if overlap is not None:
        max_length = min(max_length, overlap * cloud_length(points, neighbours) / n)
    seed = int(torch.where(dense, (points - points.mean(0)).norm(dim=-1), -1.0).argmax())
    nearest = torch.full((M,), float("inf"))
    count = torch.zeros(M)
    w = bezier_basis(32)  # [32, 4]
    strokes = []
    for _ in range(n):
        chain = trace_chain(points, seed, radius, max_length, min_cos)
        if chain.shape[0] >= 2:
            stroke = fit_cubic(chain)
        else:  # an isolated spot: a short stroke along its neighbourhood
            c, e = _principal(points[(points - points[seed]).norm(dim=-1) < 2 * radius])
            stroke = c + BEZIER_SPAN[:, None] * 2 * radius * e
        strokes.append(stroke)
        d = torch.cdist(points, w @ stroke).min(1).values
        nearest = torch.minimum(nearest, d)
        count += (d < 1.5 * radius).float() + ((points - points[seed]).norm(dim=-1) < 2 * radius).float()
        seed = int(torch.where(dense, nearest.clamp(max=1e3) / radius - count, -1e9).argmax())
    return torch.stack(strokes)


@torch.no_grad()
def stroke_neighbourhoods(points: torch.Tensor, strokes: torch.Tensor, neighbours: int = 24) -> list[torch.Tensor]:
    """Per stroke [n, 4, 3], the indices of the cloud points [M, 3] along it: those within the
    cloud's median `neighbours`-th-neighbour distance of the curve, and at least its `neighbours` + 1 nearest."""
    points = points.float()
    M = points.shape[0]
    k = min(neighbours, M - 1)
    radius = _spacing(points, neighbours)[0]
    w = bezier_basis(32)
    out = []
    for stroke in strokes.float():
        d = torch.cdist(points, w @ stroke).min(1).values
        near = torch.nonzero(d <= radius).flatten()
        out.append(near if near.numel() > k else d.topk(min(k + 1, M), largest=False).indices)
    return out


def axis_angle_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] from axis-angle vectors [..., 3] (Rodrigues, smooth at 0)."""
    theta2 = (v**2).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-12)
    small = theta2 < 1e-8
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / (theta2 + 1e-12))
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*v.shape[:-1], 3, 3)
    eye = torch.eye(3, device=v.device, dtype=v.dtype).expand_as(K)
    return eye + a[..., None] * K + b[..., None] * (K @ K)


def static_correction(v: torch.Tensor, k: float, tau: float) -> torch.Tensor:
    """xi(v) = v sigmoid(k (|v| - tau)) over the last axis (tau <= 0: identity)."""
    if tau <= 0:
        return v
    return v * torch.sigmoid(k * (v.norm(dim=-1, keepdim=True) - tau))


def _mlp(d_in: int, width: int, depth: int, d_out: int) -> nn.Sequential:
    layers, d = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    out = nn.Linear(d, d_out)
    nn.init.zeros_(out.weight)
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class CanonicalStrokes(nn.Module):
    """N 3D strokes held as canonical control points [N, 4, 3], normalised by the scene's center / scale
    (the trainable `canonical_norm`); subclasses say how they move (forward(t) -> [T, N, 4, 3])."""

    def __init__(self, canonical: torch.Tensor, center=(0.0, 0.0, 0.0), scale: float = 1.0):
        super().__init__()
        canonical = torch.as_tensor(canonical, dtype=torch.float32)
        if canonical.ndim != 3 or canonical.shape[1:] != (4, 3):
            raise SketchError(f"Canonical strokes must be [N, 4, 3], got {tuple(canonical.shape)}.")
        if not scale > 0:
            raise SketchError(f"Scene scale must be positive, got {scale}.")
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32).reshape(3))
        self.scale = float(scale)
        self.canonical_norm = nn.Parameter((canonical - self.center) / self.scale)

    @property
    def num_strokes(self) -> int:
        return int(self.canonical_norm.shape[0])

    @property
    def canonical(self) -> torch.Tensor:
        """[N, 4, 3] canonical control points in world units."""
        return self.canonical_norm * self.scale + self.center


class StrokeMotion(CanonicalStrokes):
    """N deformable 3D strokes: forward(t [T]) -> control points [T, N, 4, 3] (world units).

    canonical: [N, 4, 3] control points at `canonical_time`; center / scale
    normalise the scene (motion heads work in units of `scale`).
    """

    def __init__(self, canonical: torch.Tensor, center=(0.0, 0.0, 0.0), scale: float = 1.0, time_freqs: int = 4,
                 embed_dim: int = 16, width: int = 64, depth: int = 2, canonical_time: float = 0.0,
                 xi_k: float = 500.0, xi_tau: float = 0.02):
        super().__init__(canonical, center, scale)
        N = self.num_strokes
        self.time_freqs, self.canonical_time = int(time_freqs), float(canonical_time)
        self.xi_k, self.xi_tau = float(xi_k), float(xi_tau)
        self.embed = nn.Parameter(torch.randn(N, embed_dim) * 0.1)
        d_in = 1 + 2 * self.time_freqs + embed_dim
        self.M_R = _mlp(d_in, width, depth, 3)
        self.M_T = _mlp(d_in, width, depth, 3)
        self.M_L = _mlp(d_in, width, depth, 12)
        self.use_offsets = True

    def heads(self, t) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw anchored (rotation [T,N,3], translation [T,N,3], offsets [T,N,4,3]), normalised units."""
        t = torch.as_tensor(t, dtype=torch.float32, device=self.embed.device).reshape(-1)
        tt = torch.cat([t, t.new_tensor([self.canonical_time])])
        et = positional_encoding((2.0 * tt - 1.0)[:, None], self.time_freqs)  # [T+1, E]
        N = self.num_strokes
        h = torch.cat([et[:, None].expand(-1, N, -1), self.embed[None].expand(len(tt), -1, -1)], -1)
        r, tr = self.M_R(h), self.M_T(h)
        r, tr = r[:-1] - r[-1:], tr[:-1] - tr[-1:]
        if self.use_offsets:
            off = self.M_L(h)
            off = (off[:-1] - off[-1:]).reshape(len(t), N, 4, 3)
        else:
            off = torch.zeros(len(t), N, 4, 3, device=h.device)
        return r, tr, off

    def forward(self, t) -> torch.Tensor:
        r, tr, off = self.heads(t)
        r = static_correction(r, self.xi_k, self.xi_tau)
        tr = static_correction(tr, self.xi_k, self.xi_tau)
        p = self.canonical_norm  # [N, 4, 3]
        c = p.mean(1, keepdim=True)
        R = axis_angle_to_matrix(r)  # [T, N, 3, 3]
        x = torch.einsum("tnij,nkj->tnki", R, p - c) + c + tr[:, :, None] + off
        return x * self.scale + self.center

    def distill_from_field(self, field, times, neighbourhoods: list[torch.Tensor], steps: int = 300,
                           lr: float = 5e-3) -> float:
        """Fit M_R and M_T to the stage-1 field: per stroke, the rigid motion (Kabsch) of its
        neighbourhood points [K_i, 3] under `field` at `times`. Returns the final mean error (scene units)."""
        times = torch.as_tensor(times, dtype=torch.float32, device=self.embed.device)
        rots, trans = [], []
        with torch.no_grad():
            for q in neighbourhoods:
                q = q.to(self.embed.device)
                moved = field.deform(q, times)  # [T, K, 3]
                R, tvec = _kabsch(q, moved)  # [T,3,3], [T,3]
                rots.append(_matrix_to_axis_angle(R))
                c = q.mean(0)
                # our parameterisation rotates about the stroke centroid; the stroke sits at the neighbourhood's centre
                trans.append((moved.mean(1) - c) / self.scale)
            target_r = torch.stack(rots, 1)  # [T, N, 3]
            target_t = torch.stack(trans, 1)
        params = [*self.M_R.parameters(), *self.M_T.parameters(), self.embed]
        opt = torch.optim.Adam(params, lr=lr)
        err = 0.0
        for _ in range(max(steps, 0)):
            r, tr, _ = self.heads(times)
            loss = ((r - target_r) ** 2).mean() + ((tr - target_t) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            err = float(loss.detach().sqrt())
        return err


def _kabsch(src: torch.Tensor, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best rotations R [T,3,3] and translations [T,3] with dst ~ src R^T + t (src [K,3], dst [T,K,3])."""
    cs, cd = src.mean(0), dst.mean(1)
    H = torch.einsum("ki,tkj->tij", src - cs, dst - cd[:, None])
    U, _, Vh = torch.linalg.svd(H)
    d = torch.sign(torch.linalg.det(Vh.transpose(1, 2) @ U.transpose(1, 2)))
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    R = Vh.transpose(1, 2) @ D @ U.transpose(1, 2)
    return R, cd - cs @ R.transpose(1, 2)


def _matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors [..., 3] of rotation matrices [..., 3, 3] (angles below pi)."""
    cos = ((R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1 + 1e-6, 1 - 1e-6)
    theta = torch.acos(cos)
    w = torch.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    s = torch.sin(theta)
    factor = torch.where(s.abs() < 1e-6, torch.full_like(s, 0.5), theta / (2 * s))
    return w * factor[..., None]


def smooth_in_time(x: torch.Tensor, strength: float, anchor: int | None = None) -> torch.Tensor:
    """Trajectories x [T, ...] smoothed over their frames: argmin_y |y - x|^2 + strength |D2 y|^2 (D2 the second
    difference; a Whittaker smoother: a 1-frame zigzag keeps 1 / (1 + 16 strength) of itself, one cycle over
    24 frames 98.6 % at strength 3); with `anchor`, shifted so that frame `anchor` is unchanged (velocities are not).
    """
    T = x.shape[0]
    if strength <= 0 or T < 3:
        return x
    d2 = torch.zeros(T - 2, T, dtype=torch.float64)
    i = torch.arange(T - 2)
    d2[i, i], d2[i, i + 1], d2[i, i + 2] = 1.0, -2.0, 1.0
    m = torch.linalg.inv(torch.eye(T, dtype=torch.float64) + strength * d2.T @ d2).to(x)
    y = torch.einsum("ts,s...->t...", m, x)
    return y if anchor is None else y + (x[anchor] - y[anchor])


def smooth_by_speed(x: torch.Tensor, strength: float, still_strength: float, still_speed: float,
                    anchor: int | None = None) -> torch.Tensor:
    """Stroke trajectories x [T, N, ...] smoothed over the frames (`smooth_in_time`), each stroke at `strength`,
    or at `still_strength` when its mean speed (over frames and its points, x's units per frame) is below
    `still_speed`: a near-still part's wobble is error, its true motion slow and smooth, while a fast part's
    true accelerations are large."""
    T = x.shape[0]
    if T < 3 or still_strength == strength:
        return smooth_in_time(x, strength, anchor)
    speed = (x[1:] - x[:-1]).norm(dim=-1).reshape(T - 1, x.shape[1], -1).mean((0, 2))  # [N]
    still = (speed < still_speed).reshape(1, -1, *([1] * (x.dim() - 2)))
    return torch.where(still, smooth_in_time(x, still_strength, anchor), smooth_in_time(x, strength, anchor))


class WarpedStrokes(CanonicalStrokes):
    """N 3D strokes moved by a stage-1 deformation field: forward(t [T]) -> control points [T, N, 4, 3].

    Each canonical stroke is sampled at `samples` points, the samples are moved by
    `field.deform` to every time, and the moved stroke is the least-squares cubic through
    them (a fixed linear map, so gradients reach the canonical points and the field). The
    strokes therefore move as ONE 3D motion seen from every view, exactly the stage-1 motion
    where the field is frozen; the canonical strokes are fitted to every frame through it.
    """

    def __init__(self, canonical: torch.Tensor, field, center=(0.0, 0.0, 0.0), scale: float = 1.0,
                 samples: int = 12):
        if samples < 4:
            raise SketchError(f"A warped stroke needs samples >= 4, got {samples}.")
        super().__init__(canonical, center, scale)
        self.field = field
        basis = bezier_basis(samples)
        self.register_buffer("basis", basis)
        self.register_buffer("fit", torch.linalg.pinv(basis))  # [4, S]: samples -> control points

    def forward(self, t) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=torch.float32, device=self.canonical_norm.device).reshape(-1)
        N, S = self.num_strokes, self.basis.shape[0]
        x = torch.einsum("sk,nkd->nsd", self.basis, self.canonical).reshape(N * S, 3)
        moved = self.field.deform(x, t).reshape(len(t), N, S, 3)
        return torch.einsum("ks,tnsd->tnkd", self.fit, moved)
