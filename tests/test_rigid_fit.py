"""core.motion.rigid_fit: a rigid motion costs nothing, an edge sliding along itself does, in 3D and in one view's
image tracks (< 1 s)."""

import math

import torch

from sketchmotion.core.motion.rigid_fit import farthest_point_sample, rigid_fit_loss, rigid_groups, track_rank_loss


def _box_edges(n: int = 40) -> torch.Tensor:
    """Points on the 12 edges of a 20 x 12 x 8 box (pixels), [12 n, 3]."""
    corners = torch.tensor([(x, y, z) for z in (-4.0, 4.0) for y in (-6.0, 6.0) for x in (-10.0, 10.0)])
    edges = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    s = torch.linspace(0, 1, n)[:, None]
    return torch.cat([corners[i] + s * (corners[j] - corners[i]) for i, j in edges])


def _rotation(axis, angle: float) -> torch.Tensor:
    k = torch.tensor(axis, dtype=torch.float32)
    k = k / k.norm()
    K = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return torch.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def test_rigid_motion_costs_nothing_and_a_sliding_edge_does():
    x = _box_edges()
    groups = rigid_groups(x, 8, 128)
    assert groups.shape == (8, 128)
    frames = torch.stack([x @ _rotation((0.2, 1.0, 0.3), a).T + torch.tensor([3.0, -2.0, 1.0]) * a
                          for a in (0.0, 0.4, 1.2, 2.5)])
    assert float(rigid_fit_loss(x, frames, groups)) < 1e-6
    slid = frames.clone()
    slid[:, :40, 0] += 1.0  # the first edge (along x) slides 1 px along itself
    assert float(rigid_fit_loss(x, slid, groups)) > 0.01
    # the k-NN distance view misses it: neighbours along the sliding edge keep their distances
    assert torch.allclose((slid[:, 1:40] - slid[:, :39]).norm(dim=-1), (x[1:40] - x[:39]).norm(dim=-1)[None])


def test_gradient_is_finite_on_degenerate_groups_and_pulls_towards_rigid():
    line = torch.stack([torch.linspace(0, 20, 50), torch.zeros(50), torch.zeros(50)], 1)
    moved = (line + torch.tensor([1.0, 2.0, 0.0]))[None].clone()
    moved[0, 25:, 1] += 0.5  # a kink
    moved.requires_grad_(True)
    loss = rigid_fit_loss(line, moved, rigid_groups(line, 2, 50))
    loss.backward()
    assert torch.isfinite(moved.grad).all() and loss.item() > 0
    stepped = (moved - 10.0 * moved.grad).detach()
    assert float(rigid_fit_loss(line, stepped, rigid_groups(line, 2, 50))) < loss.item()


def test_farthest_point_sample_spreads_out():
    x = torch.cat([torch.zeros(100, 3), torch.tensor([[10.0, 0, 0], [0, 10.0, 0]])])
    assert set(farthest_point_sample(x, 3).tolist()[1:]) == {100, 101}


def test_robust_fit_follows_the_majority_part_and_lets_the_other_move():
    """A door and its frame in one group: the door (70 % of the points) turns 0.5 rad about its hinge, the frame
    stays. Plain least squares fits neither and pulls both; the robust fit (scale 1 px) fits the door and hardly
    pulls the frame's points."""
    door = torch.stack([torch.linspace(0, 20, 70), torch.zeros(70), torch.linspace(0, 6, 70)], 1)
    frame = torch.stack([torch.linspace(0, 20, 30), torch.full((30,), 0.5), torch.linspace(0, 6, 30)], 1)
    x = torch.cat([door, frame])
    moved = torch.cat([door @ _rotation((0.0, 0.0, 1.0), 0.5).T, frame])[None].requires_grad_(True)
    groups = torch.arange(100)[None]
    plain = rigid_fit_loss(x, moved, groups)
    robust = rigid_fit_loss(x, moved, groups, scale=1.0)
    (g_plain,) = torch.autograd.grad(plain, moved)
    (g_robust,) = torch.autograd.grad(robust, moved)
    assert g_robust[0, :70].norm(dim=-1).max() < 1e-3  # the door fits its rigid motion exactly
    # the frame's pull (per point) is a fraction of the plain fit's
    assert g_robust[0, 70:].norm(dim=-1).mean() < 0.2 * g_plain[0, 70:].norm(dim=-1).mean()
    assert g_plain[0, :70].norm(dim=-1).max() > 1e-2  # while the plain fit pulls the door too


def _project(points: torch.Tensor, distance: float = 200.0, focal: float = 200.0) -> torch.Tensor:
    """Pinhole image positions (px) of points [..., 3] seen down -z from `distance` (the camera looks at the origin)."""
    return focal * points[..., :2] / (distance - points[..., 2:3])


def test_image_tracks_of_a_rigid_motion_fit_rank_three_and_sliding_does_not():
    """One camera, no depth known: a box turning and tilting in depth (the fixed-camera scene's motion) leaves its
    groups' image tracks rank 3 up to perspective; one edge sliding 1 px along itself in the image does not, even where
    the frames cannot see it (the aperture problem: the slid edge covers the same pixels)."""
    x = _box_edges()
    groups = rigid_groups(x, 8, 128)
    frames = torch.stack([x @ (_rotation((0.0, 1.0, 0.0), a) @ _rotation((1.0, 0.0, 0.0), 0.25 * a)).T
                          for a in (0.0, 0.3, 0.7, 1.1, 1.5)])
    tracks = _project(frames)
    rigid = float(track_rank_loss(tracks, groups))
    assert rigid < 1e-3  # perspective's departure from rank 3 at this distance
    slid = tracks.clone()
    along = tracks[:, 39] - tracks[:, 0]  # the first edge's image direction per frame
    slid[:, :40] += (torch.tensor([0.0, 1.0, 0.5, -1.0, 0.3])[:, None] * along / along.norm(dim=-1, keepdim=True))[:, None]
    assert float(track_rank_loss(slid, groups)) > max(20 * rigid, 0.01)
    assert float(track_rank_loss(tracks, groups, rank=2)) > 1.0  # a turn in depth needs the third dimension


def test_track_rank_gradient_is_finite_on_a_collinear_group_and_pulls_towards_rigid():
    s = torch.linspace(0, 20, 50)
    tracks = torch.stack([torch.stack([s * (1 + 0.1 * f), torch.zeros(50)], 1) for f in range(4)])
    tracks[2, 25:, 1] += 0.5  # a kink in one frame
    tracks.requires_grad_(True)
    groups = torch.arange(50)[None]
    loss = track_rank_loss(tracks, groups, rank=1)
    loss.backward()
    assert torch.isfinite(tracks.grad).all() and loss.item() > 0
    assert float(track_rank_loss((tracks - 10.0 * tracks.grad).detach(), groups, rank=1)) < loss.item()
