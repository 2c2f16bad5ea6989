"""Wide-support rigidity: how far a deformed cloud is from one rigid motion per group of points.

A group is a farthest-point-sampled centre's `size` nearest canonical points (groups overlap). Per frame and
group the best rigid motion (Kabsch: rotation + translation, least squares) from the canonical to the deformed
points is found, and the loss is the mean squared residual. Unlike k-NN distance preservation it sees a whole
straight edge sliding along itself relative to the rest of its group (the aperture problem of a fixed camera).

The rotation is found without gradient: at the least-squares optimum the loss's derivative with respect to the
rotation is zero, so the gradient with respect to the points is the same, and the SVD of a degenerate (e.g.
collinear) group, whose singular-vector gradients blow up, stays out of the graph.

`track_rank_loss` is the same idea for one view without depth: a group's image tracks under one rigid motion span
at most three dimensions, so their residual beyond the best rank-3 fit is non-rigid image motion.
"""

from __future__ import annotations

import torch

__all__ = ["farthest_point_sample", "rigid_fit_loss", "rigid_groups", "track_rank_loss"]


def farthest_point_sample(x: torch.Tensor, count: int) -> torch.Tensor:
    """[count] indices of points of x [N, D], each the farthest from those before (the first: nearest the mean)."""
    count = min(count, x.shape[0])
    first = int((x - x.mean(0)).norm(dim=-1).argmin())
    picked = [first]
    dist = (x - x[first]).norm(dim=-1)
    for _ in range(count - 1):
        i = int(dist.argmax())
        picked.append(i)
        dist = torch.minimum(dist, (x - x[i]).norm(dim=-1))
    return torch.tensor(picked, device=x.device)


@torch.no_grad()
def rigid_groups(x: torch.Tensor, count: int, size: int) -> torch.Tensor:
    """[G, size] indices: for `count` farthest-point-sampled centres of x [N, 3], their `size` nearest points."""
    centres = x[farthest_point_sample(x, count)]
    size = min(size, x.shape[0])
    return torch.cdist(centres, x).topk(size, dim=-1, largest=False).indices


def _rotations(pc: torch.Tensor, qc: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """Best rotations [F, G, 3, 3] with qc ~ R pc (Kabsch; centred pc [F or 1, G, k, 3], qc [F, G, k, 3], optional
    point weights [F, G, k])."""
    h = (pc if w is None else pc * w[..., None]).transpose(-1, -2) @ qc  # sum_k w p q^T
    u, _, vh = torch.linalg.svd(h)
    flip = torch.ones_like(h[..., 0])  # [F, G, 3]
    flip[..., 2] = torch.sign(torch.linalg.det(vh.transpose(-1, -2) @ u.transpose(-1, -2)))
    flip[flip == 0] = 1.0
    return vh.transpose(-1, -2) @ (flip[..., None] * u.transpose(-1, -2))


def rigid_fit_loss(canonical: torch.Tensor, deformed: torch.Tensor, groups: torch.Tensor,
                   scale: float | None = None, reweight: int = 3) -> torch.Tensor:
    """Mean over frames, groups and their points of |q - (R p + t)|^2 for each group's best rigid (R, t).

    canonical [N, 3], deformed [F, N, 3] (same units, e.g. pixels), groups [G, k] point indices.
    scale: None for plain least squares; else robust, rho(r^2) = r^2 / (1 + r^2 / scale^2) (Geman-McClure),
    with (R, t) refitted `reweight` times to the points that fit (weights 1 / (1 + r^2 / scale^2)^2): a group
    that spans two parts moving differently (a door in its frame, touching at the canonical time) follows
    its majority part and barely pulls the other one.
    """
    p = canonical[groups][None]  # [1, G, k, 3]
    q = deformed[:, groups]  # [F, G, k, 3]
    w = torch.ones_like(q[..., 0])  # [F, G, k]
    with torch.no_grad():
        for _ in range(1 + (reweight if scale else 0)):
            ww = (w / w.sum(-1, keepdim=True).clamp_min(1e-12))[..., None]
            pc, qc = p - (ww * p).sum(-2, keepdim=True), q - (ww * q).sum(-2, keepdim=True)
            rot = _rotations(pc, qc, w)  # q ~ R p
            if scale:
                w = 1.0 / (1.0 + ((qc - pc @ rot.transpose(-1, -2)) ** 2).sum(-1) / scale**2) ** 2
        if scale:  # centred with the weights updated after the last fit (its rotation came from the weights before)
            ww = (w / w.sum(-1, keepdim=True).clamp_min(1e-12))[..., None]
        else:
            ww = torch.full_like(ww, 1.0 / q.shape[-2])
    pc, qc = p - (ww * p).sum(-2, keepdim=True), q - (ww * q).sum(-2, keepdim=True)
    r2 = ((qc - pc @ rot.transpose(-1, -2)) ** 2).sum(-1)
    return (r2 if not scale else r2 / (1.0 + r2 / scale**2)).mean()


def track_rank_loss(tracks: torch.Tensor, groups: torch.Tensor, rank: int = 3) -> torch.Tensor:
    """Mean squared distance (px^2 per point and frame) of each group's image tracks from the nearest rank-`rank`
    tracks.

    tracks [F, N, 2]: image positions (px) of N points in F frames; groups [G, k] point indices. A rigid motion seen
    by an affine camera keeps a group's centred tracks (its 2F x k matrix) in a rank-3 subspace whatever the points'
    depths (Tomasi-Kanade factorisation), so the residual measures non-rigid image motion without knowing depth: a
    point sliding along a straight edge on its own, which the frames cannot show (the aperture problem), leaves it.
    The subspace is found without gradient (at the best subspace its derivative is zero), as in `rigid_fit_loss`.
    """
    m = tracks[:, groups].permute(1, 0, 3, 2).reshape(groups.shape[0], -1, groups.shape[1])  # [G, 2F, k]
    if m.shape[1] <= rank:
        return m.new_zeros(())
    m = m - m.mean(-1, keepdim=True)
    with torch.no_grad():
        u = torch.linalg.svd(m, full_matrices=False)[0][..., :rank]  # [G, 2F, rank]
    resid = m - u @ (u.transpose(-1, -2) @ m)
    return (resid**2).sum(-2).mean() / tracks.shape[0]
