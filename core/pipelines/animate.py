"""Text-driven sketch animation (LiveSketch): train a displacement field by score distillation.

    anim = animate(sketch, prior, AnimateConfig(prompt="a cat walking", steps=500))

Each step does two score-distillation passes, as in the paper: pass A updates the
local path (guidance 30), pass B the global path (guidance 40), each with its own
Adam (betas 0.9/0.9, eps 1e-6) and the delayed exponential learning-rate schedule,
and each on a freshly augmented render (one random perspective + resized crop
shared by all frames). A step whose SDS gradient is NaN/inf is skipped and
counted, never applied. Progress, previews and Cancel go through `Callbacks`;
a stopped run returns the animation it has. Checkpoints, resuming and interrupts
are one object, core.training_run.TrainingRun (the CLI and the nodes call it the
same way); checkpoints hold everything needed to resume bit-for-bit (same seed,
same result as an uninterrupted run), and an interruption at any moment keeps the
last completed step.

Presets (`preset_config`): "paper" reproduces the reference LiveSketch run as it
really behaves; "default" is the pack's choice (see PRESETS for both and why).

Frame counts: a prior may need another count than the user's T (Wan: 4k+1); it says
so through `frames_to_render(T)`, and the trainer renders its motion at that many
evenly spaced times of the clip, then returns the animation sampled at the user's T.

Video size: num_frames / render_size left at None take what the prior was trained on
(its num_frames_hint / size_hint: ModelScope 24 frames at 256x256, ZeroScope 576x320,
the pack's learned prior 8 at 64x64), else 24 frames at 256x256 (`fit_to_prior`);
explicit values always win. A non-square size letterboxes the sketch into that frame.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ..augment import AugmentConfig, augment_video
from ..callbacks import NO_CALLBACKS, Callbacks
from ..errors import SketchError
from ..motion.displacement_field import FieldConfig
from ..motion.object_fields import ObjectFields
from ..motion.registry import StoredMotion
from ..raster import render
from ..sketch import Sketch, SketchAnimation

CHECKPOINT_VERSION = 2
GLOBAL_GRADS = ("zeroed", "accumulated")
DEFAULT_FRAMES, DEFAULT_RENDER_SIZE = 24, 256  # the paper's, when neither the config nor the prior says
MULTI_OBJECT_GUIDANCE_GLOBAL = 10.0  # MultiSketch: the best global guidance for the per-object stages


@dataclass
class AnimateConfig:
    """Settings of one animation run: the building block (defaults: the paper's numbers, the continuous
    field, zeroed global gradients). The CLI and the nodes start from `preset_config` ("default" or
    "paper", see PRESETS), not from these defaults."""

    prompt: str = ""
    negative_prompt: str = ""
    num_frames: int | None = None  # None: the prior's num_frames_hint, else 24 (see fit_to_prior)
    fps: float = 8.0
    steps: int = 1000
    # frames fed to the video prior: an int for a square, (width, height), or None: the prior's size_hint, else 256
    render_size: int | tuple[int, int] | None = None
    lr_local: float = 5e-3
    lr_global: float = 1e-4
    guidance_local: float = 30.0
    guidance_global: float = 40.0
    lr_schedule: str = "livesketch"  # or "constant"
    train_local: bool = True
    train_global: bool = True
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    field: FieldConfig = field(default_factory=FieldConfig)
    canonical_lr: float = 0.0  # > 0: canonical score distillation also refines the strokes themselves
    canonical_centering: float = 10.0  # weight of ||mean_t(frame - canonical)||^2 (px^2) when refining
    canonical_anchor: float = 0.01  # weight of ||canonical - input||^2 (px^2): stay near the drawing
    # weight of ||mean over frames and moving points of (frame - drawing)||^2 (px^2), added to every pass: holds
    # the clip's average position at the drawing's, so the motion is relative to it. 0 (off) keeps the paper's
    # objective. For priors with no sense of place (the pack's hand-set flow prior is translation invariant):
    # guidance multiplies its noise's common mode, and the whole sketch wanders between steps; 300 holds it
    # (assets/motion_prior/README.md, "The wander").
    motion_centering: float = 0.0
    # "zeroed": each pass sees only its own gradient. "accumulated": the reference code's behaviour -
    # the global path's own parameters are never zeroed, so every global step uses the running sum
    # of both passes' gradients of every step so far (it moves the global path 2-19x further).
    global_grads: str = "zeroed"
    checkpoint_path: str | None = None  # save here every `checkpoint_every` steps and at the end
    checkpoint_every: int = 0

    def validate(self) -> "AnimateConfig":
        if self.num_frames is not None and self.num_frames < 1:
            raise SketchError(f"num_frames must be >= 1, got {self.num_frames}.")
        if self.motion_centering < 0:
            raise SketchError(f"motion_centering must be >= 0 (0 = off), got {self.motion_centering}.")
        if self.steps < 1:
            raise SketchError(f"steps must be >= 1 (got {self.steps}): each step is one local-path and one "
                              "global-path pass; the paper runs 1000, ~500 often suffice.")
        if self.global_grads not in GLOBAL_GRADS:
            raise SketchError(f"Unknown global_grads {self.global_grads!r}; use one of {GLOBAL_GRADS}.")
        if self.render_size is not None and min(render_dims(self.render_size)) < 16:
            raise SketchError(f"render_size {self.render_size} is too small; use 256 (the paper) or more.")
        if self.lr_schedule not in ("livesketch", "constant"):
            raise SketchError(f"Unknown lr_schedule {self.lr_schedule!r}; use 'livesketch' or 'constant'.")
        if not (self.train_local or self.train_global):
            raise SketchError("Train at least one of the local and global paths.")
        self.field.validate()
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AnimateConfig":
        d = dict(d)
        aug = d.pop("augment", {}) or {}
        aug = {**aug, "crop_scale": tuple(aug["crop_scale"])} if "crop_scale" in aug else aug
        fld = FieldConfig.from_dict(d.pop("field", {}) or {})
        if isinstance(d.get("render_size"), list):  # (width, height) comes back from JSON as a list
            d["render_size"] = tuple(d["render_size"])
        return cls(**d, augment=AugmentConfig(**aug), field=fld)


def render_dims(render_size: int | tuple[int, int]) -> tuple[int, int]:
    """(width, height) of a render_size given as one int (a square) or (width, height)."""
    if isinstance(render_size, (tuple, list)):
        return int(render_size[0]), int(render_size[1])
    return int(render_size), int(render_size)


def fit_to_prior(config: AnimateConfig, prior) -> AnimateConfig:
    """`config` with num_frames / render_size that are None taken from what the prior was trained on
    (num_frames_hint / size_hint of core.guidance.prior.VideoPrior), else 24 frames at 256 px."""
    frames = config.num_frames
    if frames is None:
        frames = getattr(prior, "num_frames_hint", None) or DEFAULT_FRAMES
    size = config.render_size
    if size is None:
        hint = getattr(prior, "size_hint", None)
        size = DEFAULT_RENDER_SIZE if hint is None else render_dims(hint)
    w, h = render_dims(size)
    return replace(config, num_frames=int(frames), render_size=w if w == h else (w, h))


PRESETS = {
    # The reference LiveSketch run (yael-vinker/live_sketch, REFERENCE.md sections 1 and 7) as it really
    # behaves: the flattened ~51M-parameter displacement field with its random (not zero) initial offsets,
    # 1000 steps of two SDS passes (local guidance 30, global 40), lr 5e-3 / 1e-4 with the delayed
    # exponential schedule, Adam betas (0.9, 0.9) eps 1e-6, and global-path gradients that are never zeroed.
    # Not reproduced (accidents of the reference code): dropout on the positional encoding, the unused
    # learned embedding, the scale taken from the shear head; the reference also runs one extra step (1001).
    "paper": dict(steps=1000, guidance_local=30.0, guidance_global=40.0, lr_local=5e-3, lr_global=1e-4,
                  lr_schedule="livesketch", global_grads="accumulated",
                  field=dict(architecture="paper", zero_init=False)),
    # The pack's default: the continuous-time field (0.19M parameters, any frame count, starts exactly at
    # the sketch), 500 steps, the paper's guidance, lrs, schedule and optimiser, and the reference's
    # accumulated global gradients (zeroed ones leave short runs with almost no global motion).
    "default": dict(steps=500, guidance_local=30.0, guidance_global=40.0, lr_local=5e-3, lr_global=1e-4,
                    lr_schedule="livesketch", global_grads="accumulated",
                    field=dict(architecture="continuous", zero_init=True)),
}


def preset_config(name: str = "default", **overrides) -> AnimateConfig:
    """An AnimateConfig from a preset (PRESETS) with explicit settings on top.

    overrides: AnimateConfig fields; `field` may be a FieldConfig or a dict of FieldConfig fields
    (merged over the preset's field settings).
    """
    if name not in PRESETS:
        raise SketchError(f"Unknown preset {name!r}; use one of {sorted(PRESETS)}.")
    base = {k: v for k, v in PRESETS[name].items() if k != "field"}
    field_kw = dict(PRESETS[name].get("field", {}))
    fld = overrides.pop("field", None)
    if isinstance(fld, FieldConfig):
        fld = {k: v for k, v in asdict(fld).items() if v != getattr(FieldConfig(), k)}
    field_kw.update(fld or {})
    return AnimateConfig(**{**base, **overrides}, field=FieldConfig(**field_kw)).validate()


def livesketch_lr_lambda(steps: int):
    """VectorFusion-style multiplier: delay(s) * exp((1-u) ln 0.002 + u ln 0.0008) / 0.002.

    delay(s) = 0.1 + 0.9 sin(pi/2 min(s/100, 1)); u = s / steps. 0.1 at step 0, 0.4 at the end.
    """
    total = max(1, steps)

    def f(s: int) -> float:
        u = min(s / total, 1.0)
        delay = 0.1 + 0.9 * math.sin(0.5 * math.pi * min(s / 100.0, 1.0))
        return delay * math.exp((1 - u) * math.log(0.002) + u * math.log(0.0008)) / 0.002

    return f


class _Pass:
    """One SDS pass: which parameters it trains, with which optimiser and guidance.

    extra: more (params, lr) groups updated by the same pass (the canonical points).
    """

    def __init__(self, name, params, lr, guidance, steps, schedule, extra=()):
        self.name = name
        groups = [{"params": params, "lr": lr}] + [{"params": p, "lr": r} for p, r in extra if p]
        self.params = [q for g in groups for q in g["params"]]
        self.guidance = guidance
        self.opt = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.9), eps=1e-6)
        fn = livesketch_lr_lambda(steps) if schedule == "livesketch" else (lambda s: 1.0)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, fn)


def _letterbox(sketch: Sketch, aspect: float):
    """A copy whose canvas has the frames' aspect (width / height), the drawing centred in it, so it renders
    undistorted; and the offset (px) that centres it."""
    w, h = sketch.canvas
    cw, ch = (h * aspect, h) if w / h < aspect else (w, w / aspect)
    offset = torch.tensor([(cw - w) / 2, (ch - h) / 2], device=sketch.device)
    return replace(sketch, canvas=(cw, ch)), offset


def sketch_digest(sketch: Sketch) -> str:
    """A hash of a sketch's control points and object groups (identifies a run's input)."""
    import hashlib

    h = hashlib.sha256(sketch.points.detach().cpu().numpy().tobytes())
    h.update(sketch.group.detach().cpu().numpy().astype("<i8").tobytes())
    return h.hexdigest()


def run_inside(prior, loop):
    """Run the optimisation loop through the prior when it must own it (a ComfyUI model runs
    inside ComfyUI's guider, which loads the model, its patches and memory policy around
    the call); other priors just call it."""
    runner = getattr(prior, "run", None)
    return runner(loop) if callable(runner) else loop()


@dataclass
class Stage:
    """One stage of a schedule: which objects are rendered and trained, which paths, which prompt.

    objects: group ids (None = every object). train: "local+global", "local" or "global".
    others: objects outside the stage are "hidden" (not rendered) or "static" (rendered
    unmoved, as context). prompt/steps/guidance_global: None = the run's.
    """

    objects: list[int] | None = None
    train: str = "local+global"
    prompt: str | None = None
    steps: int | None = None
    others: str = "hidden"
    guidance_global: float | None = None  # None: the run's guidance_global

    def validate(self) -> "Stage":
        if self.steps is not None and int(self.steps) < 1:
            raise SketchError(f"A stage needs at least one step, got {self.steps}.")
        if self.train not in ("local+global", "local", "global"):
            raise SketchError(f"Stage train must be 'local+global', 'local' or 'global', got {self.train!r}.")
        if self.others not in ("hidden", "static"):
            raise SketchError(f"Stage others must be 'hidden' or 'static', got {self.others!r}.")
        return self


class AnimationTrainer:
    """The optimisation loop behind `animate` and `animate_objects`.

    stages: the schedule (default: one stage training every object's local and global
    paths on config.prompt for config.steps). per_object: one displacement field per
    object group (multi-object) or one for the whole sketch (LiveSketch).
    """

    def __init__(self, sketch: Sketch, prior, config: AnimateConfig, device=None,
                 stages: list[Stage] | None = None, per_object: bool = False):
        if sketch.dim != 2:
            raise SketchError("Text-driven animation needs a 2D sketch; use reconstruct3d for 3D strokes.")
        self.config = config = fit_to_prior(config.validate(), prior).validate()
        self.device = torch.device(device) if device is not None else getattr(prior, "device", torch.device("cpu"))
        self.sketch = sketch.to(self.device).clone()  # own tensors (ComfyUI hands out inference tensors)
        self.prior = prior
        W, H = render_dims(config.render_size)
        prior.check_video(config.num_frames, H, W)
        # the count the prior sees (Wan: 4k+1): the motion is rendered at that many times of the same clip
        count = getattr(prior, "frames_to_render", None)
        self.render_count = int(count(config.num_frames)) if callable(count) else config.num_frames
        if self.render_count < config.num_frames:
            raise SketchError(f"The prior asks for {self.render_count} frames, fewer than the {config.num_frames} "
                              "of the animation.")
        self.view, self.offset = _letterbox(self.sketch, W / H)
        self.motion = ObjectFields(self.sketch, config.field, per_object=per_object, seed=config.seed,
                                   num_frames=self.render_count).to(self.device)
        self.times = self.motion.frame_times(config.num_frames)  # the animation's frames
        self.train_times = self.motion.frame_times(self.render_count)  # the frames the prior scores
        # canonical score distillation: the strokes themselves are refined through their warp
        self.canonical = (torch.nn.Parameter(self.sketch.points.clone()) if config.canonical_lr > 0 else None)
        self.stages = [st.validate() for st in (stages or [Stage()])]
        for st in self.stages:
            unknown = set(st.objects or []) - set(self.motion.object_ids)
            if unknown:
                raise SketchError(f"Stage names objects {sorted(unknown)} but the sketch has {self.motion.object_ids}.")
        prompts = {st.prompt if st.prompt is not None else config.prompt for st in self.stages}
        if len(prompts) > 1 and not getattr(prior, "encodes_text", True):
            raise SketchError("The stages have their own prompts but this video prior cannot encode text: connect the "
                              "model's CLIP to ComfyUI Video Prior, or use the 'joint' schedule with one prompt.")
        self.generator = torch.Generator(device="cpu").manual_seed(int(config.seed))
        self.stage_index = 0
        self.step = 0  # within the current stage
        self.skipped = 0
        self.history: list[dict] = []
        self._mid_step = False
        self.snapshots = False  # TrainingRun sets it: keep the last completed step while a step runs
        self._snapshot = None
        self._fingerprint = None
        self._enter_stage()

    # ----------------------------------------------------------------- stages
    @property
    def stage(self) -> Stage:
        return self.stages[self.stage_index]

    def stage_steps(self, stage: Stage | None = None) -> int:
        st = stage or self.stage
        return self.config.steps if st.steps is None else int(st.steps)

    @property
    def total_steps(self) -> int:
        return sum(self.stage_steps(st) for st in self.stages)

    @property
    def steps_done(self) -> int:
        return sum(self.stage_steps(st) for st in self.stages[: self.stage_index]) + self.step

    def _enter_stage(self) -> None:
        """Build the passes (fresh optimisers) and the render subset of the current stage."""
        cfg, st = self.config, self.stage
        objs = st.objects
        self.passes = []
        steps = self.stage_steps()
        canonical = [([self.canonical], cfg.canonical_lr)] if self.canonical is not None else []
        if cfg.train_local and cfg.field.use_local and st.train != "global":
            self.passes.append(_Pass("local", self.motion.local_parameters(objs), cfg.lr_local, cfg.guidance_local,
                                     steps, cfg.lr_schedule, extra=canonical))
            canonical = []
        if cfg.train_global and cfg.field.use_global and st.train != "local":
            self.passes.append(_Pass("global", self.motion.global_parameters(objs), cfg.lr_global,
                                     cfg.guidance_global, steps, cfg.lr_schedule, extra=canonical))
        self.passes = [p for p in self.passes if p.params]
        if not self.passes:
            raise SketchError("Nothing to train in this stage: the enabled paths of the field and the config do not overlap.")
        if st.guidance_global is not None:
            for p in self.passes:
                if p.name == "global":
                    p.guidance = float(st.guidance_global)
        # accumulated global gradients (the reference code): the global path's OWN parameters (not those it
        # shares with the local path) keep a running sum of both passes' gradients over the stage
        local_ids = {id(q) for p in self.passes if p.name == "local" for q in p.params}
        self.accumulated = [q for p in self.passes if p.name == "global" for q in p.params if id(q) not in local_ids] \
            if cfg.global_grads == "accumulated" else []
        self.grad_sums = [None] * len(self.accumulated)
        if objs is None:
            self.moving_paths = list(range(self.sketch.num_paths))
        else:
            self.moving_paths = [p for p in range(self.sketch.num_paths) if int(self.sketch.group[p]) in objs]
        shown = self.moving_paths if st.others == "hidden" else list(range(self.sketch.num_paths))
        self.shown_paths = shown
        self.stage_view = self.view if len(shown) == self.sketch.num_paths else self.view.select_paths(shown)
        idx = torch.cat([torch.arange(self.sketch.path_offsets[p], self.sketch.path_offsets[p + 1]) for p in shown])
        self.shown_points = idx.to(self.device)
        moving = torch.zeros(self.sketch.num_points, dtype=torch.bool, device=self.device)
        for p in self.moving_paths:
            moving[self.sketch.path_offsets[p] : self.sketch.path_offsets[p + 1]] = True
        self.moving_points = moving
        self.prior.prepare(st.prompt if st.prompt is not None else cfg.prompt, cfg.negative_prompt)

    # ----------------------------------------------------------------- frames
    def frames(self, times=None) -> torch.Tensor:
        """Points of the animation's frames [T, N, 2] in canvas px (objects never trained stay still)."""
        return self.motion(self.times if times is None else times, base=self.canonical)

    def render_frames(self, points: torch.Tensor | None = None) -> torch.Tensor:
        """Render the current stage's frames [T, H, W, 3] (default: the animation's frames; training renders
        the prior's count) as the prior sees them (before augmentation).

        Objects outside the stage are hidden, or drawn unmoved when the stage says "static".
        """
        pts = self.frames() if points is None else points
        still = self.motion.base_points if self.canonical is None else self.canonical.detach()
        pts = torch.where(self.moving_points[None, :, None], pts, still[None])
        return render(self.stage_view, pts[:, self.shown_points] + self.offset, size=self.config.render_size)

    # ------------------------------------------------------------------- loop
    def train_step(self) -> dict:
        """One iteration: every pass renders, augments, scores and updates its parameters."""
        stats = {"stage": self.stage_index, "step": self.step}
        if self.snapshots:
            self._snapshot = _detached_copy(self.state_dict())  # the last completed step, kept while this one runs
        self._mid_step = True
        for p in self.passes:
            pts = self.frames(self.train_times)
            video = augment_video(self.render_frames(pts), self.config.augment, self.generator)
            loss, s = self.prior.sds_loss(video, guidance_scale=p.guidance, generator=self.generator)
            if self.canonical is not None and any(q is self.canonical for q in p.params):
                # the motion is centred on the canonical strokes (zero mean over time), so what every
                # frame shares goes into the strokes and only what changes into the warp
                loss = loss + self.config.canonical_centering * ((pts - self.canonical).mean(0) ** 2).sum()
                loss = loss + self.config.canonical_anchor * ((self.canonical - self.sketch.points) ** 2).sum()
            if self.config.motion_centering > 0:
                drift = (pts - self.motion.base_points)[:, self.moving_points].mean((0, 1))
                loss = loss + self.config.motion_centering * (drift ** 2).sum()
            ok = bool(s.get("finite", True))
            if ok:
                ok = self._backward(p, loss)
            if ok:
                p.opt.step()
            else:
                self.skipped += 1
            p.opt.zero_grad(set_to_none=True)
            stats[p.name] = {k: s[k] for k in ("timestep", "grad_norm", "loss") if k in s} | {"applied": ok}
        with warnings.catch_warnings():  # a skipped step leaves the schedule ahead of optimizer.step()
            warnings.simplefilter("ignore", UserWarning)
            for p in self.passes:
                p.sched.step()
        self.step += 1
        self._mid_step = False
        self._snapshot = None
        stats["skipped"] = self.skipped
        self.history.append(stats)
        return stats

    def _backward(self, p: "_Pass", loss) -> bool:
        """Gradients of one pass; False (nothing kept) if any is not finite.

        With accumulated global gradients (the reference), the global path's own parameters also
        receive the local pass's gradient, every fresh gradient is added to their running sums, and
        the global pass steps on those sums.
        """
        acc = [q for q in self.accumulated if not any(q is r for r in p.params)] if p.name == "local" else []
        for q in p.params + acc:
            q.grad = None
        loss.backward(inputs=p.params + acc)
        if not all(q.grad is None or bool(torch.isfinite(q.grad).all()) for q in p.params + acc):
            for q in p.params + acc:
                q.grad = None
            return False
        if self.accumulated:
            for i, q in enumerate(self.accumulated):
                if q.grad is not None:
                    g = q.grad.detach()
                    self.grad_sums[i] = g.clone() if self.grad_sums[i] is None else self.grad_sums[i] + g
                    q.grad = None
            if p.name == "global":
                for q, total in zip(self.accumulated, self.grad_sums):
                    q.grad = None if total is None else total.clone()
        return True

    def run(self, callbacks: Callbacks = NO_CALLBACKS, run=None) -> SketchAnimation:
        """Train every stage (or until a stop request) and return the animation.

        run: the core.training_run.TrainingRun that owns checkpoints and interrupts (None: a run
        built from config.checkpoint_path / checkpoint_every). Whatever interrupts the loop (Cancel
        in ComfyUI raises from the progress callback, Ctrl-C, out of memory), the last completed
        step is saved before the exception propagates, so a re-run resumes.
        """
        if run is None:
            from ..training_run import TrainingRun

            return TrainingRun(self.config.checkpoint_path, every=self.config.checkpoint_every).execute(self, callbacks)
        state = {"stopped": False}
        total = self.total_steps

        def stage_loop():
            while self.step < self.stage_steps():
                if callbacks.stop_requested():
                    state["stopped"] = True
                    return
                stats = self.train_step()
                callbacks.report(self.steps_done, total, stats, preview_fn=self.render_frames)
                run.step_completed(self)

        while True:
            if self.step < self.stage_steps():
                run_inside(self.prior, stage_loop)  # a prior that owns the loop sees each stage's prompt
            if state["stopped"] or self.stage_index + 1 >= len(self.stages):
                break
            self.stage_index, self.step = self.stage_index + 1, 0
            self._enter_stage()
        return self.result(stopped=state["stopped"])

    def result(self, stopped: bool = False) -> SketchAnimation:
        with torch.no_grad():
            pts = self.frames().detach()
        sketch = self.sketch if self.canonical is None else self.sketch.with_points(self.canonical.detach().clone())
        settings = {
            "method": "livesketch" if len(self.stages) == 1 else "livesketch-multi-object",
            "config": self.config.to_dict(),
            "stages": [asdict(st) for st in self.stages],
            "steps_done": self.steps_done,
            "skipped_steps": self.skipped,
            "stopped_early": stopped,
            "prior": type(self.prior).__name__,
        }
        motion_config = {"kind": "object_fields", "per_object": self.motion.per_object,
                         "field": asdict(self.motion.fields[0].config), "seed": self.config.seed}
        state = {k: v.detach().cpu().clone() for k, v in self.motion.state_dict().items()}
        return SketchAnimation(sketch, pts, fps=self.config.fps, settings=settings, motion=StoredMotion(state, motion_config))

    # ------------------------------------------------------------ checkpoints
    def fingerprint(self) -> str:
        """Identifies the run (sketch, settings, schedule, prior): a checkpoint only resumes the same run."""
        if self._fingerprint is None:
            import hashlib
            import json

            cfg = {k: v for k, v in self.config.to_dict().items() if k not in ("checkpoint_path", "checkpoint_every")}
            blob = json.dumps([cfg, [asdict(st) for st in self.stages], self.motion.per_object], sort_keys=True,
                              default=str)
            h = hashlib.sha256(blob.encode())
            h.update(sketch_digest(self.sketch).encode())
            prior_id = getattr(self.prior, "fingerprint", None)
            h.update((prior_id() if callable(prior_id) else type(self.prior).__name__).encode())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    @property
    def completed_steps(self) -> int:
        """Steps whose updates are complete (inside a step: the ones before it)."""
        return self.steps_done

    def state_dict(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint(),
            "stage": self.stage_index,
            "step": self.step,
            "skipped": self.skipped,
            "motion": self.motion.state_dict(),
            "canonical": None if self.canonical is None else self.canonical.detach().clone(),
            "optimizers": [p.opt.state_dict() for p in self.passes],
            "schedulers": [p.sched.state_dict() for p in self.passes],
            "generator": self.generator.get_state(),
            "grad_sums": [g for g in self.grad_sums],
            "num_points": self.sketch.num_points,
            "num_stages": len(self.stages),
        }

    def complete_state(self) -> dict:
        """The state after the last completed step, also while a step is half applied (then the snapshot
        taken when it began; TrainingRun turns snapshots on when it saves)."""
        if self._mid_step:
            if self._snapshot is None:
                raise SketchError("Interrupted inside a step without a snapshot: nothing consistent to save.")
            return self._snapshot
        return self.state_dict()

    def accepts(self, state: dict) -> bool:
        """True when a checkpoint state belongs to this run (same version and fingerprint)."""
        return bool(state) and state.get("version") == CHECKPOINT_VERSION and state.get("fingerprint") == self.fingerprint()

    def load_state_dict(self, state: dict) -> None:
        if not self.accepts(state):
            raise SketchError("This checkpoint belongs to another run (sketch, prompt, settings or version changed); "
                              "delete it or start without resuming.")
        self.motion.load_state_dict(state["motion"])
        if self.canonical is not None:
            with torch.no_grad():
                self.canonical.copy_(state["canonical"].to(self.canonical.device))
        self.stage_index, self.step = int(state["stage"]), int(state["step"])
        self._enter_stage()
        for p, o, s in zip(self.passes, state["optimizers"], state["schedulers"]):
            p.opt.load_state_dict(o)
            p.sched.load_state_dict(s)
        self.grad_sums = [None if g is None else g.to(self.device) for g in state.get("grad_sums", [])] \
            or [None] * len(self.accumulated)
        self.generator.set_state(state["generator"].cpu())
        self.skipped = int(state["skipped"])


def _detached_copy(obj):
    """A deep copy of a (nested) state dict whose tensors are detached clones."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _detached_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_detached_copy(v) for v in obj)
    return obj


def animate(
    sketch: Sketch,
    prior,
    config: AnimateConfig | None = None,
    callbacks: Callbacks = NO_CALLBACKS,
    resume: str | Path | None = None,
    device=None,
) -> SketchAnimation:
    """Animate `sketch` so that its video matches `config.prompt` under the video `prior`.

    prior: any core.guidance VideoPrior (diffusers, ComfyUI model, known-answer).
    resume: a checkpoint written by an earlier run with the same sketch and config (the
    core.training_run policy: another run's checkpoint is not loaded, the run starts afresh).
    Saves to config.checkpoint_path every config.checkpoint_every steps and whenever it ends.
    """
    from ..training_run import TrainingRun

    config = config or AnimateConfig()
    trainer = AnimationTrainer(sketch, prior, config, device=device)
    run = TrainingRun(config.checkpoint_path, resume_from=resume, every=config.checkpoint_every)
    return run.execute(trainer, callbacks)
