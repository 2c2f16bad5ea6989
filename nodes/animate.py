"""Animate Sketch (LiveSketch) and Animate Objects (multi-object schedule) -> SKETCH_ANIMATION."""

from __future__ import annotations

from comfy_api.latest import io

from ._types import CATEGORY_ANIMATE, Sketch, SketchAnimation, VideoPrior


PRIOR_TOOLTIP = ("The text-to-video model seen as a loss: ComfyUI Video Prior (a model ComfyUI loaded, e.g. Wan) "
                 "or Diffusers Video Prior (ModelScope).")


def _training_inputs(steps_tooltip: str):
    return [
        io.Int.Input("frames", default=0, min=0, max=128,
                     tooltip="Frames of the animation; 0 = the video model's own count (ModelScope, ZeroScope: 24 as "
                     "in the paper; the pack's learned prior: 8; any other model: 24)."),
        io.Int.Input("steps", default=500, min=1, max=10000, tooltip=steps_tooltip),
        io.Float.Input("fps", default=8.0, min=1.0, max=60.0,
                       tooltip="Playback rate stored with the animation (paper: 8). The frame count sets the length."),
        io.Int.Input("seed", default=0, min=0, max=2**31 - 1,
                     tooltip="Seeds the field's initial weights, the noise and the augmentations: same seed, same run."),
        io.Float.Input("guidance_local", default=30.0, min=1.0, max=100.0, step=0.5,
                       tooltip="Classifier-free guidance of the local-path pass (paper: 30). Higher follows the prompt "
                       "harder, with more jitter."),
        io.Float.Input("guidance_global", default=40.0, min=1.0, max=100.0, step=0.5,
                       tooltip="Classifier-free guidance of the global-path pass (paper: 40; MultiSketch: 10 per object)."),
        io.Int.Input("render_size", default=0, min=0, max=1024, step=8,
                     tooltip="Frames fed to the video model are render_size x render_size; 0 = the model's own size "
                     "(ModelScope 256 as in the paper, ZeroScope 576 x 320, the learned prior 64; any other model: "
                     "256). A non-square size letterboxes the sketch."),
    ]


def _advanced_inputs():
    """Optional knobs of the method (defaults: the LiveSketch paper)."""
    f = io.Float.Input
    return [
        f("lr_local", default=5e-3, min=0.0, max=1.0, step=1e-4, optional=True, tooltip="Adam lr of the local path."),
        f("lr_global", default=1e-4, min=0.0, max=1.0, step=1e-5, optional=True, tooltip="Adam lr of the global path."),
        f("lambda_t", default=1.0, min=0.0, max=10.0, step=0.01, optional=True, tooltip="Global path: translation scale."),
        f("lambda_r", default=0.01, min=0.0, max=1.0, step=0.001, optional=True, tooltip="Global path: rotation scale."),
        f("lambda_sh", default=0.1, min=0.0, max=1.0, step=0.01, optional=True, tooltip="Global path: shear scale."),
        f("lambda_s", default=0.05, min=0.0, max=1.0, step=0.01, optional=True, tooltip="Global path: scale scale."),
        io.Boolean.Input("augment", default=True, optional=True,
                         tooltip="Random perspective + crop shared by all frames in every pass (paper: on)."),
        f("canonical_lr", default=0.0, min=0.0, max=1.0, step=0.01, optional=True,
          tooltip="> 0 also refines the strokes themselves through their warp (canonical score distillation)."),
        io.Combo.Input("architecture", options=["continuous", "paper"], default="continuous", optional=True,
                       tooltip="Displacement field: continuous-time (ours, 0.19M parameters, any frame count, starts "
                       "exactly at the sketch) or the paper's flattened network (~51M parameters at 24 frames x 64 "
                       "points)."),
        io.Combo.Input("global_gradients", options=["accumulated", "zeroed"], default="accumulated", optional=True,
                       tooltip="accumulated: as the reference LiveSketch code, the global path's own gradients are "
                       "never zeroed, so each global step uses the running sum of both passes' gradients (it moves "
                       "2-19x further); zeroed: each pass uses only its own gradient."),
    ]


def _centering_input():
    """AnimateConfig.motion_centering, the last optional input (after what older saved workflows hold)."""
    return io.Float.Input("motion_centering", default=0.0, min=0.0, max=10000.0, step=1.0, optional=True,
                          tooltip="> 0 holds the clip's average position at the drawing's, so the motion is relative "
                          "to it (weight, px^2). 0 = off, the paper. For video priors whose whole sketch wanders "
                          "across the canvas between steps, e.g. the pack's small flow prior (300 holds it).")


_OUTPUTS = [SketchAnimation.Output(display_name="animation",
                                   tooltip="The strokes over time, with the trained motion model (Sample Animation "
                                   "re-samples it exactly)."),
            io.Image.Output(display_name="rendered", tooltip="The animation as the video model saw it (render_size)."),
            io.Float.Output(display_name="fps", tooltip="The animation's frame rate (for a video node's fps).")]


def _train(sketch, video_prior, cfg, stages=None, per_object=False):
    """Run the trainer inside ComfyUI (grad enabled, progress bar, resumable after Cancel)."""
    import logging

    import torch

    from ..core.pipelines.animate import AnimationTrainer
    from ..core.training_run import TrainingRun
    from ._progress import checkpoint_path, comfy_callbacks

    with torch.inference_mode(False), torch.enable_grad():
        trainer = AnimationTrainer(sketch, video_prior, cfg, stages=stages, per_object=per_object)
        # a temp file named after the run: Cancel (or any error) keeps the last whole step, a re-run with the same
        # inputs resumes, a finished run deletes it; the policy is the CLI's (core.training_run)
        run = TrainingRun(checkpoint_path(trainer.fingerprint()), every=50, keep_finished=False,
                          log=logging.getLogger("sketchmotion").info)
        anim = run.execute(trainer, comfy_callbacks(trainer.total_steps)).to("cpu")
        with torch.no_grad():
            images = trainer.render_frames().detach().float().cpu()
    return io.NodeOutput(anim, images, float(anim.fps))


def _config(*, frames: int, render_size: int, advanced: dict, **settings):
    """The "default" preset with the node's inputs on top. frames / render_size 0: the prior's own
    (core.pipelines.animate.fit_to_prior). settings: AnimateConfig fields by name."""
    from ..core.augment import AugmentConfig
    from ..core.pipelines.animate import preset_config

    a = {k: v for k, v in advanced.items() if v is not None}
    field = {k: a.pop(k) for k in ("lambda_t", "lambda_r", "lambda_sh", "lambda_s", "architecture") if k in a}
    if "global_gradients" in a:
        a["global_grads"] = a.pop("global_gradients")
    augment = AugmentConfig(enabled=a.pop("augment", True))
    return preset_config("default", num_frames=frames or None, render_size=render_size or None, field=field,
                         augment=augment, **a, **settings)


class AnimateSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionAnimateSketch",
            display_name="Animate Sketch",
            category=CATEGORY_ANIMATE,
            description="Trains a neural displacement field so the sketch moves as the prompt says, by score "
            "distillation from a text-to-video model (LiveSketch). Cancel keeps the progress: run again to resume.",
            inputs=[
                Sketch.Input("sketch", tooltip="The sketch to animate; LiveSketch expects ~16 black strokes on "
                             "256 x 256 (Load Sketch with normalize 256)."),
                VideoPrior.Input("video_prior", tooltip=PRIOR_TOOLTIP),
                io.String.Input("prompt", multiline=True, default="The cat is walking, moving its tail.",
                                tooltip="The motion to give the sketch, e.g. 'The cat is walking, moving its tail.' "
                                "Describe the motion rather than the drawing."),
                io.String.Input("negative_prompt", multiline=True, default="", optional=True,
                                tooltip="Ignored by priors that take their own negative CONDITIONING."),
                *_training_inputs("Iterations, each with a local-path and a global-path pass (paper: 1000; ~500 "
                                  "often suffice)."),
                io.Combo.Input("motion", options=["local + global", "local only", "global only"],
                               default="local + global", tooltip="Which paths of the displacement field train."),
                *_advanced_inputs(),
                _centering_input(),
            ],
            outputs=_OUTPUTS,
        )

    @classmethod
    def execute(cls, sketch, video_prior, prompt, frames, steps, fps, seed, guidance_local, guidance_global,
                render_size, motion, negative_prompt="", **advanced) -> io.NodeOutput:
        cfg = _config(prompt=prompt, negative_prompt=negative_prompt, frames=frames, steps=steps, fps=fps, seed=seed,
                      guidance_local=guidance_local, guidance_global=guidance_global, render_size=render_size,
                      advanced=advanced, train_local=motion != "global only", train_global=motion != "local only")
        return _train(sketch, video_prior, cfg)


class AnimateObjects(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        from ..core.options import SCHEDULES

        return io.Schema(
            node_id="SketchMotionAnimateObjects",
            display_name="Animate Objects",
            category=CATEGORY_ANIMATE,
            description="Animates a grouped sketch with one displacement field per object: each object alone with "
            "its own prompt, then the whole scene together (the multi-object iterative schedule).",
            inputs=[
                Sketch.Input("sketch", tooltip="A sketch with object groups (Group Strokes, or data-object SVG groups)."),
                VideoPrior.Input("video_prior", tooltip=PRIOR_TOOLTIP),
                io.String.Input("scene_prompt", multiline=True, default="A bird flies past a swaying tree.",
                                tooltip="The motion of the whole scene, used in the stages that train all objects "
                                "together. Empty: no scene stage (with no prompt it would only pull the objects "
                                "back toward stillness)."),
                io.String.Input("object_prompts", multiline=True, default="The bird flaps its wings.\nThe tree sways.",
                                tooltip="One prompt per object, one per line (or separated by ';'), in object order "
                                "(0, 1, ...)."),
                io.Combo.Input("schedule", options=list(SCHEDULES), default="paper",
                               tooltip="; ".join(f"{k}: {v}" for k, v in SCHEDULES.items())),
                io.Combo.Input("others", options=["hidden", "static"], default="hidden",
                               tooltip="Objects outside a stage: not drawn, or drawn unmoved as context."),
                *_training_inputs("Iterations of EACH stage (paper: 1000)."),
                io.String.Input("negative_prompt", multiline=True, default="", optional=True,
                                tooltip="Ignored by priors that take their own negative CONDITIONING."),
                *_advanced_inputs(),
                io.Float.Input("object_guidance_global", default=10.0, min=1.0, max=100.0, step=0.5, optional=True,
                               tooltip="Global guidance of the per-object stages (the multi-object paper's best: 10); "
                               "guidance_global applies to the scene stage."),
                _centering_input(),
            ],
            outputs=_OUTPUTS,
        )

    @classmethod
    def execute(cls, sketch, video_prior, scene_prompt, object_prompts, schedule, others, frames, steps, fps, seed,
                guidance_local, guidance_global, render_size, negative_prompt="", object_guidance_global=10.0,
                **advanced) -> io.NodeOutput:
        from ..core.pipelines.multi_object import make_schedule, parse_object_prompts

        ids = sorted(set(sketch.group.tolist()))
        stages = make_schedule(ids, parse_object_prompts(object_prompts), scene_prompt, schedule, others=others,
                               object_guidance_global=object_guidance_global)
        cfg = _config(prompt=scene_prompt, negative_prompt=negative_prompt, frames=frames, steps=steps, fps=fps,
                      seed=seed, guidance_local=guidance_local, guidance_global=guidance_global,
                      render_size=render_size, advanced=advanced)
        return _train(sketch, video_prior, cfg, stages=stages, per_object=True)
