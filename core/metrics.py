"""Metrics for recovered 3D motion (stage 1 points against ground-truth samples).

Units are those of the scene ("state units"; the synthetic scenes fit in a ball
of radius ~1). Distances are Euclidean, not squared.

- chamfer_distance(a, b): per frame, the mean over a of the distance to the
  nearest point of b, and the same from b to a, averaged: CD = (a->b + b->a) / 2;
  over frames, the mean. A set shifted by s (smaller than half its spacing)
  has CD = |s|.
- velocity_error(pred, gt): velocities are displacements between consecutive
  frames, v^t = x^{t+1} - x^t (units per frame). Each predicted point is paired
  with a ground-truth sample either once, by nearest neighbour at frame 0
  (correspondence="first", the default: a tracking error), or at every frame by
  nearest neighbour to where the predicted point is (correspondence="nearest":
  compares with the true velocity field at that place). VE = mean over points
  and frame pairs of |v_pred - v_gt|.
- tracking_error(pred, gt): with the "first" pairing, the mean distance between
  each predicted point and its ground-truth sample in every frame.
- motion_report(pred, gt): Chamfer as % of the scene diagonal, and the velocity
  and tracking errors as ratios to the same prediction held still (what the 3D
  benchmark and its tests report).
- image_velocity_split(pred, gt, tangents): a single view's velocity error split
  into the part along the true stroke (which one view cannot see on a straight
  edge: the aperture problem) and the part across it.
"""

from __future__ import annotations

import torch

from .errors import SketchError


def nearest(a: torch.Tensor, b: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of a [N, D]: (distance to, index of) its nearest point in b [M, D]; chunked over a.

    Both sets are centred on b's mean first: cdist's matrix-product path loses the distances of a small
    object far from the origin (float32 |x|^2 - 2 x.y + |y|^2; a scene 0.02 wide at 20 units paired at random)."""
    c = b.mean(0) if b.shape[0] else 0.0
    a, b = a - c, b - c
    dists, idx = [], []
    for s in range(0, a.shape[0], chunk):
        d = torch.cdist(a[s : s + chunk], b)
        i = d.argmin(dim=1)
        dists.append((a[s : s + chunk] - b[i]).norm(dim=-1))  # exact distance (cdist's fast path rounds)
        idx.append(i)
    return torch.cat(dists), torch.cat(idx)


def _frames(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] == 0:
        raise SketchError(f"{name} must be [N, D] or [T, N, D] with N > 0, got {tuple(x.shape)}.")
    if not bool(torch.isfinite(x).all()):
        raise SketchError(f"{name} has NaN or infinite coordinates.")
    return x


@torch.no_grad()
def chamfer_distance(a: torch.Tensor, b: torch.Tensor, per_frame: bool = False):
    """Symmetric mean nearest-neighbour distance between point sets ([N,D] or [T,N,D] each)."""
    a, b = _frames(a, "a"), _frames(b, "b")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise SketchError(f"Point sets must have the same frames and dimension: {tuple(a.shape)} vs {tuple(b.shape)}.")
    cd = torch.stack([0.5 * (nearest(a[t], b[t])[0].mean() + nearest(b[t], a[t])[0].mean())
                      for t in range(a.shape[0])])
    return cd if per_frame else float(cd.mean())


@torch.no_grad()
def path_pairs(pred: torch.Tensor, gt: torch.Tensor, chunk_elems: int = 1 << 23) -> torch.Tensor:
    """[N] index of the ground-truth sample whose path is nearest each predicted point's: argmin over j of the
    mean over frames of |pred[t, i] - gt[t, j]| (pred [T, N, D], gt [T, M, D])."""
    T, N, M = pred.shape[0], pred.shape[1], gt.shape[1]
    step = max(1, chunk_elems // max(T * M, 1))
    return torch.cat([(pred[:, s : s + step, None] - gt[:, None]).norm(dim=-1).mean(0).argmin(1)
                      for s in range(0, N, step)])


@torch.no_grad()
def velocity_error(pred: torch.Tensor, gt: torch.Tensor, correspondence: str = "first",
                   pairs: torch.Tensor | None = None) -> float:
    """Mean |v_pred - v_gt| between consecutive frames (see the module docstring). pairs: [N] ground-truth
    indices to use instead of pairing by `correspondence` (so that a prediction and the same points held
    still are scored against the same samples)."""
    pred, gt = _frames(pred, "pred"), _frames(gt, "gt")
    if pred.shape[0] != gt.shape[0] or pred.shape[0] < 2:
        raise SketchError("velocity_error needs the same number (>= 2) of frames in pred and gt.")
    vp = pred[1:] - pred[:-1]
    vg = gt[1:] - gt[:-1]
    if pairs is None and correspondence == "first":
        pairs = nearest(pred[0], gt[0])[1]
    elif pairs is None and correspondence == "path":
        pairs = path_pairs(pred, gt)
    if pairs is not None:
        err = (vp - vg[:, pairs]).norm(dim=-1)
    elif correspondence == "nearest":
        err = torch.stack([(vp[t] - vg[t, nearest(pred[t], gt[t])[1]]).norm(dim=-1) for t in range(vp.shape[0])])
    else:
        raise SketchError(f"correspondence must be 'first', 'nearest' or 'path', got {correspondence!r}.")
    return float(err.mean())


def motion_metrics(pred: torch.Tensor, gt: torch.Tensor) -> dict:
    """{"chamfer", "velocity_error", "velocity_error_nearest", "gt_speed"} for trajectories [T,N,3] vs [T,M,3].

    gt_speed is the mean |v_gt| of the samples: the velocity error of a model that predicts no motion.
    """
    gt = _frames(gt, "gt")
    out = {"chamfer": chamfer_distance(pred, gt)}
    if gt.shape[0] > 1:
        out["velocity_error"] = velocity_error(pred, gt, "first")
        out["velocity_error_nearest"] = velocity_error(pred, gt, "nearest")
        out["gt_speed"] = float((gt[1:] - gt[:-1]).norm(dim=-1).mean())
    return out


@torch.no_grad()
def tracking_error(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """Mean distance |x_pred^t - x_gt^t| over points and frames, each predicted point paired once with
    its nearest ground-truth sample at frame 0 (where the sketch says a point of the object goes)."""
    pred, gt = _frames(pred, "pred"), _frames(gt, "gt")
    if pred.shape[0] != gt.shape[0]:
        raise SketchError("tracking_error needs the same number of frames in pred and gt.")
    _, j = nearest(pred[0], gt[0])
    return float((pred - gt[:, j]).norm(dim=-1).mean())


def scene_diagonal(gt: torch.Tensor) -> float:
    """Diagonal of the bounding box of the ground truth over every frame."""
    gt = _frames(gt, "gt").reshape(-1, _frames(gt, "gt").shape[-1])
    return float((gt.max(0).values - gt.min(0).values).norm())


@torch.no_grad()
def curve_tangents(points: torch.Tensor, segment_of: torch.Tensor) -> torch.Tensor:
    """Unit direction of the curve at every sample ([T, M, D] points ordered along their segments; segment_of
    [M] the segment of each): towards the next sample of the same segment, from the previous one at its end."""
    points = _frames(points, "points")
    seg = torch.as_tensor(segment_of).reshape(-1)
    M = points.shape[1]
    if seg.numel() != M:
        raise SketchError(f"segment_of has {seg.numel()} entries for {M} samples.")
    has_next = torch.zeros(M, dtype=torch.bool)
    has_next[:-1] = seg[1:] == seg[:-1]
    idx = torch.arange(M)
    d = torch.where(has_next[None, :, None], points[:, (idx + 1).clamp(max=M - 1)] - points,
                    points - points[:, (idx - 1).clamp(min=0)])
    return d / d.norm(dim=-1, keepdim=True).clamp(min=1e-12)


@torch.no_grad()
def image_velocity_split(pred: torch.Tensor, gt: torch.Tensor, tangents: torch.Tensor,
                         pairs: torch.Tensor | None = None) -> dict:
    """The velocity error of 2D tracks (pred [T, N, 2], gt [T, M, 2] px, gt's unit tangents [T, M, 2]) split
    along and across the true stroke at each paired sample (pairs: [N] gt indices, default `path_pairs`).

    Each number is a mean over points and frame pairs divided by the mean |v_gt| (the error of the prediction
    held still): along / across = the error's component along / across the stroke; floor = what a prediction
    exact across the strokes and still along them scores (on straight edges one view shows only the motion
    across them, so a fit to the frames alone lands near it); wrong_way = share of the fast across-stroke
    moves (over half the mean) that the prediction makes the other way.
    """
    pred, gt, tangents = _frames(pred, "pred"), _frames(gt, "gt"), _frames(tangents, "tangents")
    if pred.shape[0] != gt.shape[0] or pred.shape[0] < 2 or tangents.shape != gt.shape or gt.shape[-1] != 2:
        raise SketchError("image_velocity_split needs 2D tracks with the same frames (>= 2) and a tangent per gt sample.")
    j = path_pairs(pred, gt) if pairs is None else pairs
    t = tangents[1:] + tangents[:-1]  # the stroke's direction over each frame step
    t = (t / t.norm(dim=-1, keepdim=True).clamp(min=1e-12))[:, j]
    n = torch.stack([-t[..., 1], t[..., 0]], dim=-1)
    vp, vg = pred[1:] - pred[:-1], (gt[1:] - gt[:-1])[:, j]
    err, still = vp - vg, max(float(vg.norm(dim=-1).mean()), 1e-12)
    across_gt, across_pred = (vg * n).sum(-1), (vp * n).sum(-1)
    fast = across_gt.abs() > 0.5 * across_gt.abs().mean()
    wrong = (across_pred * across_gt < 0) & fast
    return {"along": float((err * t).sum(-1).abs().mean()) / still,
            "across": float((err * n).sum(-1).abs().mean()) / still,
            "floor": float((vg * t).sum(-1).abs().mean()) / still,
            "wrong_way": float(wrong.sum()) / max(int(fast.sum()), 1)}


@torch.no_grad()
def motion_report(pred: torch.Tensor, gt: torch.Tensor, cameras=None, gt_segments=None) -> dict:
    """Recovered motion against the truth, in scale-free numbers (trajectories [T, N, 3] vs [T, M, 3]).

    - chamfer_pct: Chamfer distance as % of the scene diagonal (`scene_diagonal`);
    - velocity_ratio / tracking_ratio: velocity error ("first" correspondence) and tracking error of
      pred divided by those of the same prediction held still at its first frame (1 = no better than
      not moving, 0 = exact);
    - with `cameras` (one per frame, core.camera.Cameras): the same ratio for the projections in pixels
      (what a fixed camera can observe), image_velocity_ratio with pairs made in the image at frame 0 and
      image_velocity_ratio_paths with pairs by nearest image path (`path_pairs`): where parts cross in the
      image at frame 0 (the bird's level wings over its body, a box's front and back edges) the frame-0 pair
      is arbitrary between them; elsewhere the two agree;
    - with cameras and gt_segments ([M] the segment of each gt sample, samples ordered along their segments):
      image_split, `image_velocity_split` of the projections with the nearest-path pairs.
    """
    pred, gt = _frames(pred, "pred"), _frames(gt, "gt")
    still = pred[:1].expand_as(pred)
    diag = max(scene_diagonal(gt), 1e-12)
    out = {"chamfer_pct": 100.0 * chamfer_distance(pred, gt) / diag, "diagonal": diag}
    if pred.shape[0] > 1:
        ve, ve0 = velocity_error(pred, gt), velocity_error(still, gt)
        te, te0 = tracking_error(pred, gt), tracking_error(still, gt)
        out.update(velocity_error=ve, velocity_ratio=ve / max(ve0, 1e-12), tracking_error=te,
                   tracking_ratio=te / max(te0, 1e-12))
        if cameras is not None:
            pp, pg, ps = cameras.project(pred)[0], cameras.project(gt)[0], cameras.project(still)[0]
            out["image_velocity_ratio"] = velocity_error(pp, pg) / max(velocity_error(ps, pg), 1e-12)
            j = path_pairs(pp, pg)
            out["image_velocity_ratio_paths"] = (velocity_error(pp, pg, pairs=j)
                                                 / max(velocity_error(ps, pg, pairs=j), 1e-12))
            if gt_segments is not None:
                out["image_split"] = image_velocity_split(pp, pg, curve_tangents(pg, gt_segments), pairs=j)
    return out


# The paper's 2D animation metrics (CLIP consistency, X-CLIP alignment) live in metrics_clip.py.
from .metrics_clip import measure_animation, sketch_video_consistency, text_video_alignment  # noqa: E402,F401
