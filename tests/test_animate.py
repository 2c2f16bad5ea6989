"""The animation trainer on problems with known answers (no weights needed)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from sketchmotion.core.augment import AugmentConfig, augment_video
from sketchmotion.core.callbacks import Callbacks
from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance.learned_prior import points_motion
from sketchmotion.core.guidance.target_prior import TargetVideoPrior
from sketchmotion.core.pipelines.animate import AnimateConfig, AnimationTrainer, animate, livesketch_lr_lambda
from sketchmotion.core.raster import render
from sketchmotion.core.synthetic import random_strokes

T = 5


def known_motion(sketch):
    """Rotate up to 10 degrees about the centre and move 6 px right over the clip."""
    t = torch.linspace(0, 1, T)
    c = sketch.points.mean(0)
    ang = t * math.radians(10)
    R = torch.stack([torch.stack([ang.cos(), -ang.sin()], -1), torch.stack([ang.sin(), ang.cos()], -1)], -2)
    return torch.einsum("tij,nj->tni", R, sketch.points - c) + c + torch.stack([t * 6, t * 0], -1)[:, None]


@pytest.fixture(scope="module")
def problem():
    sketch = random_strokes(6, 64, seed=1, width=3.0, length=20.0)
    target_pts = known_motion(sketch)
    return sketch, target_pts, render(sketch, target_pts)


def config(**kw):
    base = dict(num_frames=T, render_size=64, augment=AugmentConfig(enabled=False), lr_schedule="constant",
                lr_local=5e-3, lr_global=1e-3, steps=4)
    return AnimateConfig(**{**base, **kw})


def test_converges_to_a_known_motion(problem):
    sketch, target_pts, target = problem
    anim = animate(sketch, TargetVideoPrior(target, blur=1.5), config(steps=150))
    err = (anim.frames - target_pts).norm(dim=-1).mean().item()
    start = (sketch.points[None] - target_pts).norm(dim=-1).mean().item()
    assert start > 3.0
    assert err < 0.6, f"mean control-point error {err:.3f} px (start {start:.2f})"
    assert anim.num_frames == T and anim.settings["skipped_steps"] == 0


def test_same_seed_same_result_and_resume_is_exact(problem, tmp_path):
    sketch, _, target = problem
    cfg = config(steps=6, augment=AugmentConfig(enabled=True), lr_schedule="livesketch")
    a = animate(sketch, TargetVideoPrior(target, blur=1.5), cfg)
    b = animate(sketch, TargetVideoPrior(target, blur=1.5), cfg)
    assert torch.equal(a.frames, b.frames)
    assert not torch.equal(a.frames, sketch.points[None].expand_as(a.frames))

    ckpt = tmp_path / "run.ckpt"
    stop_after = {"n": 0}

    def should_stop():
        stop_after["n"] += 1
        return stop_after["n"] > 3

    half = animate(sketch, TargetVideoPrior(target, blur=1.5),
                   config(steps=6, augment=AugmentConfig(enabled=True), lr_schedule="livesketch",
                          checkpoint_path=str(ckpt)), callbacks=Callbacks(should_stop=should_stop))
    assert half.settings["steps_done"] == 3 and half.settings["stopped_early"]
    assert ckpt.exists()
    resumed = animate(sketch, TargetVideoPrior(target, blur=1.5),
                      config(steps=6, augment=AugmentConfig(enabled=True), lr_schedule="livesketch"), resume=ckpt)
    assert resumed.settings["steps_done"] == 6
    assert torch.equal(resumed.frames, a.frames)


class NaNPrior(TargetVideoPrior):
    """Every other call yields a non-finite gradient."""

    def sds_loss(self, frames, *, guidance_scale=1.0, generator=None):
        loss, stats = super().sds_loss(frames, guidance_scale=guidance_scale, generator=generator)
        if self.calls % 2 == 0:
            stats = {**stats, "finite": False}
            loss = loss * float("nan")
        return loss, stats


def test_non_finite_steps_are_skipped_and_counted(problem):
    sketch, _, target = problem
    anim = animate(sketch, NaNPrior(target, blur=1.5), config(steps=4))
    assert anim.settings["skipped_steps"] == 4  # the global pass of every step
    assert torch.isfinite(anim.frames).all()


def test_progress_previews_and_cancel(problem):
    sketch, _, target = problem
    seen = []

    def progress(step, total, preview, stats):
        seen.append((step, total, None if preview is None else tuple(preview.shape)))

    anim = animate(sketch, TargetVideoPrior(target), config(steps=4),
                   callbacks=Callbacks(progress=progress, preview_every=2))
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert seen[1][2] == (T, 64, 64, 3) and seen[0][2] is None
    assert anim.settings["steps_done"] == 4


def test_wrong_video_size_for_the_prior_is_a_clear_error(problem):
    sketch, _, target = problem
    with pytest.raises(SketchError, match="frames"):
        AnimationTrainer(sketch, TargetVideoPrior(target), config(num_frames=T + 1))


def test_learning_rate_schedule_matches_the_paper():
    f = livesketch_lr_lambda(1000)
    assert f(0) == pytest.approx(0.1)
    assert f(100) == pytest.approx(0.91, abs=0.01)
    assert f(500) == pytest.approx(0.63, abs=0.01)
    assert f(1000) == pytest.approx(0.4, abs=0.001)


def test_augmentation_is_shared_by_all_frames_and_identity_when_off():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(3, 32, 32, 3)
    same = augment_video(frames, AugmentConfig(distortion=0.0, crop_scale=(1.0, 1.0)), g)
    assert torch.allclose(same, frames, atol=1e-6)
    video = torch.stack([frames[0]] * 3)
    out = augment_video(video, AugmentConfig(), torch.Generator().manual_seed(1))
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    assert not torch.allclose(out[0], video[0])
    white = augment_video(torch.ones(2, 32, 32, 3), AugmentConfig(), torch.Generator().manual_seed(2))
    assert torch.allclose(white, torch.ones_like(white), atol=1e-6)  # white fill outside


def test_canonical_refinement_moves_the_strokes_themselves(problem):
    """A prior whose target redraws one stroke 4 px lower in EVERY frame: with canonical score
    distillation the returned sketch (the canonical strokes) takes that shape; without, it cannot."""
    sketch, _, _ = problem
    offset = torch.zeros_like(sketch.points)
    offset[sketch.path_offsets[0] : sketch.path_offsets[1], 1] = 4.0
    target_pts = (sketch.points + offset)[None].expand(T, -1, -1)
    target = render(sketch, target_pts)
    plain = animate(sketch, TargetVideoPrior(target, blur=1.5), config(steps=60))
    assert torch.equal(plain.sketch.points, sketch.points)
    refined = animate(sketch, TargetVideoPrior(target, blur=1.5), config(steps=60, canonical_lr=0.1))
    before = ((render(sketch) - target[0]) ** 2).mean().item()
    after = ((render(refined.sketch) - target[0]) ** 2).mean().item()  # the canonical strokes alone
    assert after < 0.2 * before, f"canonical render error {after:.5f} (input sketch: {before:.5f})"
    assert ((render(refined.sketch, refined.frames) - target) ** 2).mean().item() < 0.2 * before


def test_motion_centering_holds_the_clip_mean_and_keeps_the_motion(problem):
    # the known motion drifts the clip's mean 3 px right (a 0..6 px ramp); centring holds the mean at the
    # drawing's and leaves most of the relative motion (the ramp; the target's thin strokes pull a shifted
    # clip less surely, so some of the ramp is lost)
    sketch, _, target = problem
    drifts, slopes = [], []
    for weight in (0.0, 100.0):
        anim = animate(sketch, TargetVideoPrior(target, blur=1.5), config(steps=150, motion_centering=weight))
        drifts.append((anim.frames - sketch.points).mean((0, 1)))
        slopes.append(points_motion(anim.frames)["dx"])
    assert drifts[0][0] > 2.5 and drifts[1].norm() < 0.5, drifts
    assert min(slopes) > 3.5, slopes  # 4.5-5.0 with centring at 1 or 2 threads (6 px without)
    with pytest.raises(SketchError, match="motion_centering"):
        config(motion_centering=-1.0).validate()


def test_global_path_alone_recovers_a_known_affine_motion(problem):
    sketch, target_pts, target = problem  # rotation + translation: exactly what the global path can express
    anim = animate(sketch, TargetVideoPrior(target, blur=1.5), config(steps=150, train_local=False, lr_global=3e-3))
    err = (anim.frames - target_pts).norm(dim=-1).mean().item()
    assert err < 0.5, f"mean control-point error {err:.3f} px"


# ------------------------------------------------------------- video size from the prior
class _NoHints:
    """A prior that says nothing about what it was trained on (like ComfyUI's)."""

    num_frames_hint = size_hint = None


def test_frames_and_render_size_come_from_the_prior_unless_given():
    from sketchmotion.core.pipelines.animate import fit_to_prior

    wide = TargetVideoPrior(torch.rand(3, 32, 48, 3))  # trained on 3 frames at 48x32
    fitted = fit_to_prior(AnimateConfig(), wide)
    assert (fitted.num_frames, fitted.render_size) == (3, (48, 32))
    assert fit_to_prior(AnimateConfig(num_frames=7, render_size=64), wide).render_size == 64  # explicit wins
    plain = fit_to_prior(AnimateConfig(), _NoHints())
    assert (plain.num_frames, plain.render_size) == (24, 256)  # the paper's, as before
    square = TargetVideoPrior(torch.rand(2, 64, 64, 3))
    assert fit_to_prior(AnimateConfig(), square).render_size == 64  # a square hint is stored as one int
    with pytest.raises(SketchError, match="48x32"):  # an explicit size the prior cannot take is its error
        AnimationTrainer(random_strokes(3, 64, seed=0), wide, AnimateConfig(render_size=64, steps=1))


def test_non_square_frames_letterbox_the_sketch_and_recover_a_known_motion():
    """A 48x32 prior: a 32x32 sketch is drawn centred (8 px each side) and still trains to the known motion."""
    sketch = random_strokes(4, 32, seed=2, width=3.0, length=12.0)
    shift = torch.stack([torch.linspace(0, 4, T), torch.zeros(T)], -1)[:, None]
    target_pts = sketch.points[None] + shift
    wide_canvas = replace(sketch, canvas=(48, 32))
    offset = torch.tensor([8.0, 0.0])
    target = render(wide_canvas, target_pts + offset, size=(48, 32))
    prior = TargetVideoPrior(target, blur=1.5)
    trainer = AnimationTrainer(sketch, prior, config(num_frames=None, render_size=None, steps=60))
    assert trainer.config.render_size == (48, 32) and trainer.config.num_frames == T
    first = trainer.render_frames()
    assert first.shape == (T, 32, 48, 3)
    assert torch.allclose(first[0], render(wide_canvas, sketch.points + offset, size=(48, 32)), atol=1e-5)
    anim = trainer.run()
    err = (anim.frames - target_pts).norm(dim=-1).mean().item()
    assert err < 0.6, f"mean control-point error {err:.3f} px (start 2.0; seeds 0-3 measured 0.06-0.15)"
