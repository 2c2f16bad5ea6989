"""Animate Sketch: SKETCH + video prior + prompt -> SKETCH_ANIMATION (LiveSketch)."""

from __future__ import annotations

from comfy_api.latest import io

from ._types import CATEGORY, Sketch, SketchAnimation, VideoPrior


class AnimateSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionAnimateSketch",
            display_name="Animate Sketch",
            category=CATEGORY,
            description="Trains a neural displacement field so the sketch moves as the prompt says, by score "
            "distillation from a text-to-video model (LiveSketch). Cancel keeps the progress: run again to resume.",
            inputs=[
                Sketch.Input("sketch"),
                VideoPrior.Input("video_prior"),
                io.String.Input("prompt", multiline=True, default="The cat is walking, moving its tail."),
                io.String.Input("negative_prompt", multiline=True, default="", optional=True,
                                tooltip="Ignored by priors that take their own negative CONDITIONING."),
                io.Int.Input("frames", default=24, min=2, max=128, tooltip="Frames of the animation (paper: 24)."),
                io.Int.Input("steps", default=500, min=1, max=10000,
                             tooltip="Iterations, each with a local-path and a global-path pass (paper: 1000; ~500 "
                             "often suffice)."),
                io.Float.Input("fps", default=8.0, min=1.0, max=60.0),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1),
                io.Float.Input("guidance_local", default=30.0, min=1.0, max=100.0, step=0.5),
                io.Float.Input("guidance_global", default=40.0, min=1.0, max=100.0, step=0.5),
                io.Combo.Input("motion", options=["local + global", "local only", "global only"],
                               default="local + global", tooltip="Which paths of the displacement field train."),
                io.Int.Input("render_size", default=256, min=64, max=1024, step=8,
                             tooltip="Frames fed to the video model are render_size x render_size (paper: 256)."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation"),
                     io.Image.Output(display_name="frames", tooltip="The animation rendered at render_size.")],
        )

    @classmethod
    def execute(cls, sketch, video_prior, prompt, frames, steps, fps, seed, guidance_local, guidance_global,
                motion, render_size, negative_prompt="") -> io.NodeOutput:
        import hashlib
        import os

        import torch

        from ..core.pipelines.animate import AnimateConfig, AnimationTrainer
        from ._progress import checkpoint_path, comfy_callbacks

        cfg = AnimateConfig(prompt=prompt, negative_prompt=negative_prompt, num_frames=frames, steps=steps, fps=fps,
                            seed=seed, guidance_local=guidance_local, guidance_global=guidance_global,
                            render_size=render_size, train_local=motion != "global only",
                            train_global=motion != "local only")
        digest = hashlib.sha256(sketch.points.detach().cpu().numpy().tobytes()).hexdigest()
        cfg.checkpoint_path = checkpoint_path(digest, cfg.to_dict(), getattr(video_prior, "name", type(video_prior).__name__))
        with torch.inference_mode(False), torch.enable_grad():
            trainer = AnimationTrainer(sketch, video_prior, cfg)
            if os.path.exists(cfg.checkpoint_path):
                trainer.load_checkpoint(cfg.checkpoint_path)
            anim = trainer.run(comfy_callbacks(steps)).to("cpu")
            with torch.no_grad():
                images = trainer.render_frames().detach().float().cpu()
        os.remove(cfg.checkpoint_path)  # finished: nothing to resume
        return io.NodeOutput(anim, images)
