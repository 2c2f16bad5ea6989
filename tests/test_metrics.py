"""Chamfer distance and velocity error: known answers."""

import pytest
import torch

from sketchmotion.core.errors import SketchError
from sketchmotion.core.metrics import chamfer_distance, motion_metrics, velocity_error


def grid(n=6, spacing=0.1):
    r = torch.arange(n, dtype=torch.float32) * spacing
    return torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)


def test_chamfer_known_answers():
    a = grid()
    assert chamfer_distance(a, a) == 0.0
    s = torch.tensor([0.02, -0.01, 0.03])  # |s| < half the spacing: every nearest neighbour is the twin
    assert abs(chamfer_distance(a, a + s) - float(s.norm())) < 1e-6
    # one extra far point in b: a->b unchanged (0), b->a gains 1/(N+1) of its distance
    far = torch.tensor([[10.0, 0.0, 0.0]])
    b = torch.cat([a, far])
    d_far = float((far - a).norm(dim=-1).min())
    assert abs(chamfer_distance(a, b) - 0.5 * d_far / b.shape[0]) < 1e-5
    per = chamfer_distance(torch.stack([a, a]), torch.stack([a, a + s]), per_frame=True)
    assert torch.allclose(per, torch.tensor([0.0, float(s.norm())]), atol=1e-6)


def test_velocity_error_known_answers():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(50, 3, generator=g)
    v = torch.tensor([0.1, 0.0, 0.0])
    gt = torch.stack([base + i * v for i in range(4)])
    assert velocity_error(gt, gt) == pytest.approx(0.0, abs=1e-7)
    static = base[None].expand(4, -1, -1)
    assert velocity_error(static, gt) == pytest.approx(0.1, abs=1e-6)  # no motion: error = speed
    assert velocity_error(static, gt, "nearest") == pytest.approx(0.1, abs=1e-6)
    double = torch.stack([base + 2 * i * v for i in range(4)])
    assert velocity_error(double, gt) == pytest.approx(0.1, abs=1e-6)
    m = motion_metrics(static, gt)
    assert m["gt_speed"] == pytest.approx(0.1, abs=1e-6)
    assert m["velocity_error"] == pytest.approx(0.1, abs=1e-6)


def test_metric_errors():
    with pytest.raises(SketchError):
        chamfer_distance(torch.zeros(2, 5, 3), torch.zeros(3, 5, 3))
    with pytest.raises(SketchError):
        velocity_error(torch.zeros(1, 5, 3), torch.zeros(1, 5, 3))
    with pytest.raises(SketchError):
        chamfer_distance(torch.full((4, 3), float("nan")), torch.zeros(4, 3))
    with pytest.raises(SketchError):
        velocity_error(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), correspondence="magic")


def test_motion_report_ratios_known_answers():
    from sketchmotion.core.metrics import motion_report, scene_diagonal, tracking_error

    torch.manual_seed(0)
    base = torch.rand(50, 3)
    t = torch.linspace(0, 1, 6)[:, None, None]
    gt = base[None] + t * torch.tensor([1.0, 0.0, 0.0])  # a translation by 1 unit over the clip
    exact = motion_report(gt, gt)
    assert exact["chamfer_pct"] < 1e-4 and exact["velocity_ratio"] < 1e-6 and exact["tracking_ratio"] < 1e-6
    still = motion_report(gt[:1].expand_as(gt), gt)
    assert abs(still["velocity_ratio"] - 1) < 1e-6 and abs(still["tracking_ratio"] - 1) < 1e-6
    half = base[None] + 0.5 * t * torch.tensor([1.0, 0.0, 0.0])  # half the motion: both ratios 0.5
    r = motion_report(half, gt)
    assert abs(r["velocity_ratio"] - 0.5) < 1e-5 and abs(r["tracking_ratio"] - 0.5) < 1e-5
    assert abs(scene_diagonal(gt) - float((gt.reshape(-1, 3).amax(0) - gt.reshape(-1, 3).amin(0)).norm())) < 1e-6
    assert abs(tracking_error(gt + 0.01, gt) - 0.01 * 3**0.5) < 1e-5


def test_path_correspondence_follows_the_part_a_point_tracks():
    from sketchmotion.core.metrics import path_pairs

    x = torch.linspace(0, 1, 20)
    t = torch.arange(5, dtype=torch.float32)[:, None]
    up = torch.stack([x.expand(5, -1), 0.1 * t.expand(-1, 20)], -1)  # part A rises
    down = torch.stack([x.expand(5, -1) + 0.002, -0.1 * t.expand(-1, 20)], -1)  # part B, crossing A at frame 0, falls
    gt = torch.cat([up, down], 1)
    pred = up + torch.tensor([0.0015, 0.0])  # follows A exactly, but lies nearer B at frame 0
    assert velocity_error(pred, gt) == pytest.approx(0.2, abs=1e-5)  # frame-0 pairs: every point scored against B
    assert velocity_error(pred, gt, "path") == pytest.approx(0.0, abs=1e-6)
    j = path_pairs(pred, gt)
    assert bool((j < 20).all())
    assert velocity_error(pred[:1].expand_as(pred), gt, pairs=j) == pytest.approx(0.1, abs=1e-6)


def test_image_velocity_split_separates_motion_along_and_across_a_stroke():
    """Two straight strokes at right angles translating diagonally: half of each one's motion runs along it,
    which a single view cannot see on a straight edge (the aperture problem)."""
    from sketchmotion.core.metrics import curve_tangents, image_velocity_split

    s = torch.linspace(0, 20, 21)
    h = torch.stack([s, torch.zeros_like(s)], -1)  # horizontal stroke
    v = torch.stack([torch.full_like(s, 40.0), s], -1)  # vertical stroke
    base, seg = torch.cat([h, v]), torch.cat([torch.zeros(21), torch.ones(21)]).long()
    t = torch.arange(6, dtype=torch.float32)[:, None, None]
    gt = base[None] + t * torch.tensor([1.0, 1.0])
    tan = curve_tangents(gt, seg)
    assert torch.allclose(tan[0, :20], torch.tensor([1.0, 0.0]).expand(20, 2))
    assert torch.allclose(tan[0, 21:41], torch.tensor([0.0, 1.0]).expand(20, 2))
    assert torch.allclose(tan[0, 20], torch.tensor([1.0, 0.0])) and torch.allclose(tan[0, 41], torch.tensor([0.0, 1.0]))
    pairs = torch.arange(42)
    still = image_velocity_split(gt[:1].expand_as(gt), gt, tan, pairs)
    assert still["along"] == pytest.approx(0.5**0.5, abs=1e-5) and still["across"] == pytest.approx(0.5**0.5, abs=1e-5)
    assert still["floor"] == pytest.approx(0.5**0.5, abs=1e-5) and still["wrong_way"] == 0.0
    # exact across each stroke, still along it: only the along part remains, at the floor
    normal = torch.where((seg == 0)[:, None], torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))
    slide = base[None] + t * normal
    r = image_velocity_split(slide, gt, tan, pairs)
    assert r["along"] == pytest.approx(r["floor"], abs=1e-5) and r["across"] == pytest.approx(0.0, abs=1e-6)
    assert r["wrong_way"] == 0.0
    exact = image_velocity_split(gt, gt, tan, pairs)
    assert exact["along"] < 1e-6 and exact["across"] < 1e-6
    # motion across the strokes the other way
    back = image_velocity_split(base[None] - t * normal, gt, tan, pairs)
    assert back["wrong_way"] == 1.0 and back["across"] == pytest.approx(2 * 0.5**0.5, abs=1e-5)
    with pytest.raises(SketchError):
        curve_tangents(gt, seg[:-1])
