"""Image -> sketch (core/pipelines/sketchify.py) on problems with known answers.

- an image rendered from a known sketch comes back as strokes whose ink matches it (Chamfer
  between sampled strokes < 2 px at 256 px, ink IoU > 0.7) with the model-free loss, on several seeds;
- with two masks every stroke stays inside its own mask and the groups are the masks;
- with a tiny random CLIP (an open_clip folder loaded the way users load theirs) the CLIP losses
  run with finite gradients, and the true sketch's geometric loss is below random sketches';
- same seed, same sketch; the stop check ends the run early; errors a user can cause.

Numbers per seed:  .venv/bin/python -m pytest tests/test_sketchify.py -q -s -k known
"""

from __future__ import annotations

import math

import pytest
import torch

from sketchmotion.core.callbacks import Callbacks
from sketchmotion.core.errors import SketchError
from sketchmotion.core.pipelines.sketchify import SketchifyConfig, allocate_strokes, sketchify
from sketchmotion.core.pipelines.sketchify_losses import OpenClipFeatures, clip_losses, line_map
from sketchmotion.core.raster import WHITE, render
from sketchmotion.core.sketch import sketch_from_paths
from sketchmotion.core.synthetic import random_strokes

MODEL_FREE = "multi-scale line map (no model)"


def samples(sketch, n: int = 64) -> torch.Tensor:
    """Points along every cubic of a sketch [S * n, 2]."""
    c = sketch.points[sketch.segment_index]
    t = torch.linspace(0, 1, n)[:, None]
    pts = (1 - t) ** 3 * c[:, None, 0] + 3 * (1 - t) ** 2 * t * c[:, None, 1] + 3 * (1 - t) * t**2 * c[:, None, 2] \
        + t**3 * c[:, None, 3]
    return pts.reshape(-1, 2)


def chamfer(a, b) -> float:
    d = torch.cdist(samples(a), samples(b))
    return 0.5 * float(d.min(1).values.mean() + d.min(0).values.mean())


def ink_iou(a, b) -> float:
    ia = (1 - render(a, background=WHITE).mean(-1)) > 0.5
    ib = (1 - render(b, background=WHITE).mean(-1)) > 0.5
    return float((ia & ib).sum()) / float((ia | ib).sum())


# ------------------------------------------------------------------ known answers
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_sketch_is_recovered_by_the_model_free_loss(seed, one_thread):
    true = random_strokes(16, 256, seed=seed)  # LiveSketch-like: 16 cubics, width 3, 256 px
    image = render(true, background=WHITE)
    res = sketchify(image, config=SketchifyConfig(strokes=16, iterations=100, seed=seed, lpips="off"))
    sk = res.sketch
    ch, iou = chamfer(sk, true), ink_iou(sk, true)
    print(f"seed {seed}: chamfer {ch:.2f} px, ink IoU {iou:.2f}, loss {res.history[0]:.3f} -> {res.history[-1]:.3f}")
    assert res.loss == MODEL_FREE and res.iterations == 100 and not res.stopped
    assert sk.num_paths == 16 and sk.canvas == (256, 256) and torch.allclose(sk.stroke_width, torch.tensor(3.0))
    assert ch < 2.0 and iou > 0.7
    assert res.history[-1] < 0.7 * res.history[0]  # the optimisation itself improves on the traced start


def _two_objects():
    """Two objects of strokes in known places, and a mask for each (the right one has half the area)."""
    left = random_strokes(8, 256, seed=11, length=30.0).points * torch.tensor([0.42, 0.9]) + torch.tensor([6.0, 12.0])
    right = random_strokes(5, 256, seed=12, length=30.0).points * torch.tensor([0.42, 0.42]) + torch.tensor([140.0, 8.0])
    paths = list(left.reshape(-1, 4, 2)) + list(right.reshape(-1, 4, 2))
    sketch = sketch_from_paths(paths, stroke_width=3.0, canvas=(256, 256))
    masks = torch.zeros(2, 128, 128)  # any resolution: stretched over the image
    masks[0, :, :62] = 1  # x < 124 px
    masks[1, :64, 66:] = 1  # x >= 132 px, y < 128 px
    return sketch, masks


def test_two_masks_hold_their_strokes_and_become_the_groups(one_thread):
    sketch, masks = _two_objects()
    image = render(sketch, background=WHITE)
    res = sketchify(image, masks=masks, config=SketchifyConfig(strokes=16, iterations=80, seed=0, lpips="off"))
    sk = res.sketch
    counts = allocate_strokes([124 * 256, 124 * 128], 16)
    assert counts == [10, 6]  # by area, largest remainder
    assert sk.group.tolist() == [0] * 10 + [1] * 6 and sk.num_groups == 2
    big = torch.nn.functional.interpolate(masks[:, None], size=(256, 256), mode="nearest")[:, 0] > 0.5
    grown = torch.nn.functional.max_pool2d(big.float()[:, None], 7, stride=1, padding=3)[:, 0] > 0  # 3 px tolerance
    for p in range(sk.num_paths):
        pts = samples(sk.select_paths([p])).round().long().clamp(0, 255)
        inside = grown[int(sk.group[p])][pts[:, 1], pts[:, 0]]
        assert bool(inside.all()), f"stroke {p} (group {int(sk.group[p])}) leaves its mask"
    assert chamfer(sk, sketch) < 3.0  # and they still draw the objects


def test_allocation_rules():
    assert allocate_strokes([1.0, 1.0, 1.0], 16) == [6, 5, 5]
    assert allocate_strokes([100.0, 1.0], 4) == [3, 1]  # every mask gets a stroke
    with pytest.raises(SketchError, match="at least 3 strokes"):
        allocate_strokes([1.0, 1.0, 1.0], 2)


# ------------------------------------------------------------------ CLIP losses (tiny random CLIP)
@pytest.fixture(scope="module")
def tiny_clip_folder(tmp_path_factory):
    pytest.importorskip("open_clip")
    from sketchmotion.testing.tiny_clip import build_tiny_open_clip

    return build_tiny_open_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def test_clip_losses_run_with_finite_gradients_and_rank_the_true_sketch_first(tiny_clip_folder, one_thread):
    from sketchmotion.core.metrics_clip import load_clip

    feats = OpenClipFeatures(load_clip(str(tiny_clip_folder), device="cpu"))  # the users' loading path
    true = random_strokes(16, 224, seed=3)
    target = render(true, background=WHITE)[None]
    geo_true, sem_true = clip_losses(feats, target, target)
    assert float(geo_true) < 1e-6 and float(sem_true) < 1e-5
    for s in range(3):
        rnd = random_strokes(16, 224, seed=100 + s)
        geo, sem = clip_losses(feats, render(rnd, background=WHITE)[None], target)
        assert float(geo) > 0.02 and float(sem) > float(sem_true)
        nudged = true.with_points(true.points + 3.0 * torch.randn(true.points.shape, generator=torch.Generator().manual_seed(s)))
        geo_nudged, _ = clip_losses(feats, render(nudged, background=WHITE)[None], target)
        assert float(geo_true) < float(geo_nudged) < float(geo)  # closer drawings score closer
    pts = rnd.points.clone().requires_grad_(True)
    geo, sem = clip_losses(feats, render(rnd, pts, background=WHITE)[None], target)
    (geo + 0.1 * sem).backward()
    assert torch.isfinite(pts.grad).all() and float(pts.grad.abs().sum()) > 0


def test_sketchify_with_a_clip_folder_reports_the_clip_loss(tiny_clip_folder, one_thread):
    image = render(random_strokes(12, 224, seed=4), background=WHITE)
    res = sketchify(image, clip=str(tiny_clip_folder),
                    config=SketchifyConfig(strokes=8, iterations=6, augmentations=2, lpips="off"))
    assert res.loss.startswith("CLIP geometric (layers 1, 2) + semantic")
    assert len(res.history) == 6 and all(math.isfinite(v) for v in res.history)
    both = sketchify(image, clip=str(tiny_clip_folder), config=SketchifyConfig(strokes=8, iterations=2, loss="clip+lines",
                                                                               lpips="off"))
    assert "CLIP geometric" in both.loss and "line map" in both.loss
    wide = render(random_strokes(8, 128, seed=5), size=(192, 128), background=WHITE)  # 3:2: views of two sizes
    res = sketchify(wide, clip=str(tiny_clip_folder), config=SketchifyConfig(strokes=4, iterations=2, augmentations=2,
                                                                             lpips="off"))
    assert res.sketch.canvas == (256, 171) and all(math.isfinite(v) for v in res.history)
    with pytest.raises(SketchError, match="needs a CLIP model"):
        sketchify(image, config=SketchifyConfig(loss="clip", iterations=1))


# ------------------------------------------------------------------ behaviour
def test_same_seed_same_sketch_and_stop_ends_early(one_thread):
    image = render(random_strokes(10, 128, seed=7), background=WHITE)
    cfg = SketchifyConfig(strokes=8, iterations=12, seed=5, lpips="off", canvas=128, work_size=128)
    a, b = sketchify(image, config=cfg), sketchify(image, config=cfg)
    assert torch.equal(a.sketch.points, b.sketch.points), (float((a.sketch.points - b.sketch.points).abs().max()), a.history[:3], b.history[:3])
    c = sketchify(image, config=SketchifyConfig(strokes=8, iterations=12, seed=6, lpips="off", canvas=128, work_size=128))
    assert not torch.equal(a.sketch.points, c.sketch.points)

    seen = []
    cb = Callbacks(progress=lambda step, total, preview, stats: seen.append((step, preview, stats)),
                   should_stop=lambda: len(seen) >= 5, preview_every=2)
    res = sketchify(image, config=cfg, callbacks=cb)
    assert res.stopped and res.iterations == 5 and len(res.history) == 5
    assert seen[1][1] is not None and seen[1][1].shape == (1, 128, 128, 3)  # previews every 2 steps
    assert seen[0][2]["loss_name"] == MODEL_FREE


def test_colour_sampled_from_the_image_and_canvas_aspect(one_thread):
    true = random_strokes(6, 128, seed=8).with_style(stroke_color=(0.9, 0.1, 0.1, 1.0), stroke_width=4.0)
    image = render(true, size=(192, 128), background=WHITE)  # 3:2 picture
    res = sketchify(image, config=SketchifyConfig(strokes=6, iterations=10, color="image", lpips="off"))
    sk = res.sketch
    assert sk.canvas == (256, 171)
    rgb = sk.stroke_color[:, :3]
    assert float(rgb[:, 0].mean()) > 0.6 and float(rgb[:, 1:].mean()) < 0.45  # reddish, like the lines under them


def test_line_map_marks_lines_and_outlines(one_thread):
    img = torch.ones(64, 64, 3)
    img[30:33, 5:60] = 0.0  # a 3-px dark line
    img[40:60, 10:30] = torch.tensor([0.2, 0.3, 0.9])  # a filled blue square
    m = line_map(img, scale=3.0)
    assert float(m[31, 10:55].min()) > 0.8  # the line, whole
    assert float(m[50, 11]) > 0.5 and float(m[50, 20]) < 0.05  # the square's outline, not its inside
    assert float(m[10:25].max()) < 0.05  # blank paper


def test_user_errors(one_thread):
    img = torch.ones(64, 64, 3)
    with pytest.raises(SketchError, match="one image"):
        sketchify(torch.ones(2, 64, 64, 3))
    with pytest.raises(SketchError, match="Mask 1 is empty"):
        sketchify(img, masks=torch.stack([torch.ones(64, 64), torch.zeros(64, 64)]))
    with pytest.raises(SketchError, match="Unknown stroke colour"):
        sketchify(img, config=SketchifyConfig(color="red"))
    res = sketchify(img, config=SketchifyConfig(strokes=3, iterations=2, lpips="off"))  # blank page: still a sketch
    assert res.sketch.num_paths == 3


# ------------------------------------------------------------------ end to end: picture -> sketch -> prompted motion
@pytest.mark.slow
def test_learned_prior_animates_a_sketch_made_from_a_picture(tmp_path, one_thread):
    """The bundled picture -> 16 strokes (model-free) -> `animate` with the pack's learned motion prior:
    the strokes move the prompted way ("growing")."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from sketchmotion.core import svg
    from sketchmotion.core.animation_io import load_animation
    from sketchmotion.core.guidance.learned_prior import bundled_motion_prior_path, matches, points_motion

    prior = bundled_motion_prior_path("modelscope")
    picture = Path(__file__).resolve().parents[1] / "sketches" / "pictures" / "fish.png"
    image = torch.from_numpy(np.asarray(Image.open(picture).convert("RGB")).astype(np.float32) / 255)
    res = sketchify(image, config=SketchifyConfig(strokes=16, iterations=100, lpips="off"))
    assert res.loss == MODEL_FREE
    svg.save(res.sketch, tmp_path / "fish.svg")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "sketchmotion", "animate", str(tmp_path / "fish.svg"), "--prompt", "growing",
                        "--model", str(prior), "--frames", "8", "--size", "64", "--steps", "300", "--seed", "0",
                        "--out", str(tmp_path / "anim")], env=env, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = points_motion(load_animation(tmp_path / "anim" / "animation.safetensors").frames)
    print(m)
    assert matches("growing", m) and not matches("shrinking", m), m
