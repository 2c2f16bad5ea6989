"""The run object (core.training_run) and the trainer's step semantics, on known-answer problems.

- an interruption at any moment (a real SIGINT inside a step) keeps the last COMPLETED step, and a
  re-run resumes to exactly the uninterrupted result;
- the checkpoint policy: same run resumes, a foreign checkpoint is never loaded (and is overwritten);
- --steps 0 is a user error;
- accumulated global gradients are the running sum of both passes (the reference's behaviour);
- the paper preset; frames rendered at the prior's count and sampled back at the user's.
"""

from __future__ import annotations

import signal

import pytest
import torch

from sketchmotion.core.augment import AugmentConfig
from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance.sds import DiscreteSchedule
from sketchmotion.core.guidance.target_prior import TargetVideoPrior
from sketchmotion.core.pipelines.animate import AnimateConfig, AnimationTrainer, PRESETS, preset_config
from sketchmotion.core.raster import render
from sketchmotion.core.synthetic import random_strokes
from sketchmotion.core.training_run import TrainingRun

T = 4


def shifted(sketch, frames: int, dx: float = 6.0):
    t = torch.linspace(0, 1, frames)[:, None, None]
    return sketch.points[None] + t * torch.tensor([dx, 0.0])


@pytest.fixture(scope="module")
def sketch():
    return random_strokes(5, 64, seed=3, width=3.0, length=18.0)


def config(**kw):
    base = dict(num_frames=T, render_size=64, augment=AugmentConfig(enabled=True), lr_schedule="livesketch",
                lr_local=5e-3, lr_global=1e-3, steps=5)
    return AnimateConfig(**{**base, **kw})


class SigintPrior(TargetVideoPrior):
    """Sends the process a real SIGINT (Ctrl-C) during call number `at` (counting from 1)."""

    def __init__(self, *a, at: int = 0, **kw):
        super().__init__(*a, **kw)
        self.at, self.n = at, 0

    def sds_loss(self, frames, **kw):
        self.n += 1
        if self.n == self.at:
            signal.raise_signal(signal.SIGINT)  # Python's default handler raises KeyboardInterrupt here
        return super().sds_loss(frames, **kw)


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt as in a terminal (a shell that starts pytest in the background
    makes the process ignore SIGINT, and the test would then see no interruption)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_inside_a_step_keeps_the_last_completed_step_and_resumes_exactly(sketch, tmp_path, ctrl_c_raises):
    target = render(sketch, shifted(sketch, T))
    straight = AnimationTrainer(sketch, TargetVideoPrior(target, blur=1.5), config())
    full = TrainingRun(None).execute(straight)
    after2 = AnimationTrainer(sketch, TargetVideoPrior(target, blur=1.5), config(steps=5))
    ckpt = tmp_path / "run" / "checkpoint.pt"
    # call 6 = the global pass of step 3 (two passes a step): step 3's local update is already applied
    trainer = AnimationTrainer(sketch, SigintPrior(target, blur=1.5, at=6), config())
    logs = []
    with pytest.raises(KeyboardInterrupt):
        TrainingRun.in_folder(tmp_path / "run", log=logs.append).execute(trainer)
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 2 and "step 2 of 5 is saved" in logs[-1]
    # the saved state is exactly the state after two whole steps of an uninterrupted run
    for _ in range(2):
        after2.train_step()
    ref = after2.state_dict()
    assert all(torch.equal(state["motion"][k], ref["motion"][k]) for k in ref["motion"])
    resumed = AnimationTrainer(sketch, TargetVideoPrior(target, blur=1.5), config())
    run = TrainingRun.in_folder(tmp_path / "run", log=logs.append)
    anim = run.execute(resumed)
    assert run.status == "resumed" and "resuming from step 2 of 5" in logs[-1]
    assert anim.settings["steps_done"] == 5 and torch.equal(anim.frames, full.frames)


def test_foreign_checkpoints_are_never_loaded_and_get_overwritten(sketch, tmp_path):
    target = render(sketch, shifted(sketch, T))
    logs = []
    TrainingRun.in_folder(tmp_path, log=logs.append).execute(
        AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=2, prompt="a")))
    other = AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=2, prompt="b"))
    run = TrainingRun.in_folder(tmp_path, log=logs.append)
    anim = run.execute(other)
    assert run.status == "foreign" and "belongs to another run" in logs[-1] and anim.settings["steps_done"] == 2
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["fingerprint"] == other.fingerprint()
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")  # unreadable: foreign too, no error
    run = TrainingRun.in_folder(tmp_path, log=logs.append)
    run.execute(AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=1)))
    assert run.status == "foreign"
    fresh = TrainingRun.in_folder(tmp_path, fresh=True, log=logs.append)
    fresh.execute(AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=1)))
    assert fresh.status == "fresh"
    temp = tmp_path / "node.ckpt"  # the nodes' policy: the same, but a finished run deletes its file
    TrainingRun(temp, keep_finished=False).execute(AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=1)))
    assert not temp.exists()


def test_zero_steps_is_a_user_error(sketch):
    target = render(sketch, shifted(sketch, T))
    with pytest.raises(SketchError, match="steps must be >= 1"):
        AnimationTrainer(sketch, TargetVideoPrior(target), config(steps=0))


def fixed_t_prior(target):
    """Known gradient: fixed t, target denoiser, no augmentation -> every pass sees the same gradient
    while the parameters do not change (lr 0)."""
    ac = DiscreteSchedule.scaled_linear().alphas_cumprod
    return TargetVideoPrior(target, blur=1.5, schedule=DiscreteSchedule(ac, t_min=500, t_max=500))


def global_step_grads(sketch, target, mode, architecture, steps=3):
    """The gradients the global optimiser steps on, per step: (own parameters, parameters shared with the local path)."""
    cfg = dict(augment=AugmentConfig(enabled=False), lr_local=0.0, lr_global=0.0, lr_schedule="constant", steps=steps)
    fld = preset_config(field={"architecture": architecture}).field
    tr = AnimationTrainer(sketch, fixed_t_prior(target), config(**cfg, global_grads=mode, field=fld))
    glob = next(p for p in tr.passes if p.name == "global")
    local = tr.motion.local_parameters()
    own = [q for q in glob.params if all(q is not r for r in local)]
    shared = [q for q in glob.params if any(q is r for r in local)]
    grads, step = [], glob.opt.step

    def spy(*a, **k):
        grads.append(([q.grad.clone() for q in own], [q.grad.clone() for q in shared]))
        return step(*a, **k)

    glob.opt.step = spy
    for _ in range(steps):
        tr.train_step()
    return grads, tr


@pytest.mark.parametrize("architecture", ["continuous", "paper"])
def test_accumulated_global_gradients_are_the_running_sum_of_both_passes(sketch, architecture):
    target = render(sketch, shifted(sketch, T))
    z, keep_z = global_step_grads(sketch, target, "zeroed", architecture)
    a, keep_a = global_step_grads(sketch, target, "accumulated", architecture)
    for k in range(3):  # step k+1 uses 2 (k+1) copies of the one gradient: both passes of every step so far
        for gz, ga in zip(z[k][0], a[k][0]):
            assert torch.allclose(ga, 2 * (k + 1) * gz, rtol=1e-4, atol=1e-6)
        for gz, ga in zip(z[k][1], a[k][1]):  # the projection shared with the local path is zeroed each pass
            assert torch.allclose(ga, gz, rtol=1e-4, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in z[0][0])
    assert (architecture == "paper") == bool(z[0][1])  # only the paper's field shares parameters


def test_the_paper_preset_is_the_reference_run():
    cfg = preset_config("paper")
    assert cfg.steps == 1000 and (cfg.guidance_local, cfg.guidance_global) == (30.0, 40.0)
    assert (cfg.lr_local, cfg.lr_global, cfg.lr_schedule) == (5e-3, 1e-4, "livesketch")
    assert cfg.global_grads == "accumulated" and cfg.field.architecture == "paper" and not cfg.field.zero_init
    assert preset_config("paper", steps=7, field={"hidden": 16}).field.architecture == "paper"
    assert set(PRESETS) == {"paper", "default"}
    with pytest.raises(SketchError):
        preset_config("fast")


def test_paper_preset_trains_with_the_reference_optimiser(sketch):
    target = render(sketch, shifted(sketch, T))
    cfg = preset_config("paper", num_frames=T, render_size=64, steps=2, field={"hidden": 16})
    tr = AnimationTrainer(sketch, TargetVideoPrior(target, blur=1.5), cfg)
    for p in tr.passes:
        assert p.opt.defaults["betas"] == (0.9, 0.9) and p.opt.defaults["eps"] == 1e-6
    assert [p.guidance for p in tr.passes] == [30.0, 40.0]
    start = tr.frames().detach()
    assert (start - sketch.points).abs().amax() > 0  # the reference's random initial offsets
    anim = TrainingRun(None).execute(tr)
    assert anim.settings["steps_done"] == 2 and torch.isfinite(anim.frames).all()


class FourKPlusOnePrior(TargetVideoPrior):
    """A known-answer prior that, like Wan's VAE, scores 4k+1 frames."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.shapes = []

    def frames_to_render(self, num_frames):
        return 1 + -(-(num_frames - 1) // 4) * 4

    def check_video(self, num_frames, height, width):
        super().check_video(self.frames_to_render(num_frames), height, width)

    def sds_loss(self, frames, **kw):
        self.shapes.append(frames.shape[0])
        return super().sds_loss(frames, **kw)


def test_the_field_is_rendered_at_the_priors_count_and_sampled_back(sketch):
    """4 user frames, a 4k+1 prior: the field is rendered at 5 times (0, 1/4, ..., 1) of a target moving 8 px;
    the returned 4 frames are the same motion at 0, 1/3, 2/3, 1 - not a repeated frame."""
    E = 5
    prior = FourKPlusOnePrior(render(sketch, shifted(sketch, E, dx=8.0)), blur=1.5)
    anim = TrainingRun(None).execute(AnimationTrainer(
        sketch, prior, config(steps=120, augment=AugmentConfig(enabled=False), lr_schedule="constant", lr_global=3e-3,
                              train_local=False)))
    assert set(prior.shapes) == {E} and anim.num_frames == T
    want = shifted(sketch, T, dx=8.0)  # the motion at the user's times
    err = (anim.frames - want).norm(dim=-1).mean().item()
    assert err < 0.8, f"mean control-point error {err:.2f} px at the user's frame times"
