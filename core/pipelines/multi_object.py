"""Multi-object sketch animation: one displacement field per object and a stage schedule.

The iterative schedule of the multi-object SDS paper: each object is first animated
alone (its local and global paths, its own prompt), then the whole scene is trained
together (local paths only by default) on a scene prompt, which keeps the objects
coherent while each keeps its own motion. An empty scene prompt means no scene stage:
with nothing to ask for, that stage only pulls every object toward the prior's
unconditional (average, nearly still) video and undoes the per-object motion (measured
with the learned prior: a kite prompted "moving up" went dy -31 px in its own stage and
back to -2.3 px after an empty-prompt scene stage). Objects are the sketch's group ids
(core.grouping makes them; SVG files keep them as <g data-object="k">).

    anim = animate_objects(sketch, prior, AnimateConfig(steps=500),
                           object_prompts=["The bird flaps its wings.", "The tree sways."],
                           scene_prompt="A bird flies past a swaying tree.")
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..callbacks import NO_CALLBACKS, Callbacks
from ..errors import SketchError
from ..options import SCHEDULES
from ..sketch import Sketch, SketchAnimation
from .animate import MULTI_OBJECT_GUIDANCE_GLOBAL, AnimateConfig, AnimationTrainer, Stage


def parse_object_prompts(text: str) -> list[str]:
    """Per-object prompts, in object order, from one text (the node's multiline input and the CLI's
    --objects-prompts alike): one per line, and ';' also separates prompts; empty entries are dropped."""
    return [part.strip() for line in text.splitlines() for part in line.split(";") if part.strip()]


def make_schedule(object_ids: Sequence[int], object_prompts: Sequence[str], scene_prompt: str,
                  preset: str = "paper", steps_per_stage: int | None = None, others: str = "hidden",
                  object_guidance_global: float | None = MULTI_OBJECT_GUIDANCE_GLOBAL) -> list[Stage]:
    """The stages of a schedule preset (see SCHEDULES).

    object_guidance_global: global guidance of the per-object stages (default 10, the best value in the
    multi-object paper; None: the run's guidance_global); the scene stage uses the run's.
    An empty (or blank) scene_prompt leaves out the scene stage of the per-object presets (see the module
    docstring); "joint" keeps its one stage.
    """
    if preset not in SCHEDULES:
        raise SketchError(f"Unknown schedule {preset!r}; use one of {sorted(SCHEDULES)}.")
    if preset == "joint":
        return [Stage(None, "local+global", scene_prompt, steps_per_stage, others)]
    if len(object_ids) < 2:
        raise SketchError("The sketch has one object; group its strokes first (Group Strokes, or "
                          "`python -m sketchmotion group`), or animate it as one sketch.")
    if len(object_prompts) != len(object_ids):
        raise SketchError(
            f"The sketch has {len(object_ids)} objects but {len(object_prompts)} object prompts were given; "
            "write one prompt per object (one per line), in object order."
        )
    stages = [Stage([k], "local+global", prompt, steps_per_stage, others, object_guidance_global)
              for k, prompt in zip(object_ids, object_prompts)]
    if (scene_prompt or "").strip():
        combined = "local" if preset == "paper" else "local+global"
        stages.append(Stage(None, combined, scene_prompt, steps_per_stage, others))
    return stages


def animate_objects(
    sketch: Sketch,
    prior,
    config: AnimateConfig | None = None,
    object_prompts: Sequence[str] = (),
    scene_prompt: str | None = None,
    schedule: str | list[Stage] = "paper",
    others: str = "hidden",
    callbacks: Callbacks = NO_CALLBACKS,
    resume: str | Path | None = None,
    device=None,
) -> SketchAnimation:
    """Animate every object of `sketch` with its own displacement field, stage by stage.

    config.steps is the step count of each stage; scene_prompt defaults to config.prompt;
    others: objects outside a stage are "hidden" or drawn "static" as context.
    """
    config = config or AnimateConfig()
    object_ids = sorted(set(sketch.group.tolist()))
    if isinstance(schedule, str):
        stages = make_schedule(object_ids, list(object_prompts), scene_prompt or config.prompt, schedule,
                               others=others)
    else:
        stages = list(schedule)
    from ..training_run import TrainingRun

    trainer = AnimationTrainer(sketch, prior, config, device=device, stages=stages, per_object=True)
    run = TrainingRun(config.checkpoint_path, resume_from=resume, every=config.checkpoint_every)
    return run.execute(trainer, callbacks)
