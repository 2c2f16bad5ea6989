"""A moving camera's temporal term lets a whole object's sustained acceleration through (issue 11).

The held-out hopper (core.scenes3d.hopper: a small house hopping twice, ~0.9 px/frame^2 at 96 px in flight, a cusp
at each landing) came out with its hops flattened while stage 1's temporal term was robust only beyond 0.5
px/frame^2: the cloud's centroid sat 1.2 px above the truth at the landings and up to 1.4 px below it in flight, and
the strokes missed the Chamfer target (1.63 / 2.07 % of the diagonal, seeds 0 / 1). At 0.25 (MOVING_CAMERA_TEMP_SCALE)
they meet it (bench/reconstruct3d.py --scenes hopper --cameras moving --seeds 0,1). These tests pin the trade-off in
`temporal_loss` itself (milliseconds): how hard the term pulls on a uniformly accelerating body and on jitter.
"""

from __future__ import annotations

import pytest
import torch

from sketchmotion.core.pipelines.reconstruct3d import MOVING_CAMERA_TEMP_SCALE, FramePick, temporal_loss


def pull(acceleration: float, scale: float | None) -> float:
    """|d temporal_loss / d x| at the middle of three frames of one point accelerating by `acceleration` px/frame^2."""
    x = torch.tensor([[[0.0, 0.0]], [[0.0, 0.0]], [[acceleration, 0.0]]], requires_grad=True)  # [3 frames, 1, 2]
    fp = FramePick(pick=torch.tensor([1]), need=torch.arange(3), sel=torch.tensor([1]), triples=torch.tensor([[0, 1, 2]]))
    temporal_loss(x, fp, scale).backward()
    return float(x.grad[1].norm())


def test_a_hop_is_not_held_back():
    """A body accelerating like the hopper's hops (0.6-0.9 px/frame^2 at 64-96 px) feels under 3 % of the plain
    term's pull (at the earlier scale 0.5: 5.6-17 %, which flattened the hops)."""
    for a in (0.6, 0.9):
        ratio = pull(a, MOVING_CAMERA_TEMP_SCALE) / pull(a, None)
        assert ratio < 0.03, f"{a} px/frame^2: {ratio:.3f} of the plain pull"
    assert pull(0.9, 0.5) / pull(0.9, None) > 0.05  # the measure tells the two scales apart


def test_jitter_is_still_damped():
    """Sub-pixel jitter of near-still parts (~0.05 px/frame^2) keeps over 90 % of the plain term's pull."""
    assert pull(0.05, MOVING_CAMERA_TEMP_SCALE) / pull(0.05, None) > 0.9
    assert pull(0.05, MOVING_CAMERA_TEMP_SCALE) == pytest.approx(2 * 2 * 0.05 / (1 + 0.05**2 / MOVING_CAMERA_TEMP_SCALE**2) ** 2, rel=1e-4)
