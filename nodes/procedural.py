"""Sketch to Animation (procedural): a model-free motion (core.procedural), for previews and export tests."""

from __future__ import annotations

from comfy_api.latest import io

from ._types import CATEGORY_ANIMATE, Sketch, SketchAnimation


class SketchToAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSketchToAnimation",
            display_name="Sketch to Animation (procedural)",
            category=CATEGORY_ANIMATE,
            description="Animates a sketch without a model: a looping hand-drawn wiggle, a sway about its centre, "
            "or no motion. For previews and for testing exports.",
            inputs=[
                Sketch.Input("sketch", tooltip="The sketch to move."),
                io.Combo.Input("motion", options=["wiggle", "sway", "none"], default="wiggle",
                               tooltip="wiggle: every control point jitters smoothly (hand-drawn 'line boil'); sway: "
                               "the whole sketch rocks about its centre; none: a still animation."),
                io.Int.Input("num_frames", default=24, min=1, max=480, tooltip="Frames of the animation."),
                io.Float.Input("fps", default=8.0, min=0.5, max=240.0, step=0.5, tooltip="Playback frame rate."),
                io.Float.Input("amplitude", default=2.0, min=0.0, max=180.0, step=0.1,
                               tooltip="wiggle: typical displacement in canvas pixels; sway: largest angle in degrees."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Random pattern of the wiggle."),
            ],
            outputs=[SketchAnimation.Output(display_name="animation", tooltip="The sketch over time (a looping motion).")],
        )

    @classmethod
    def execute(cls, sketch, motion: str, num_frames: int, fps: float, amplitude: float, seed: int) -> io.NodeOutput:
        from ..core.procedural import procedural_motion

        return io.NodeOutput(procedural_motion(sketch, num_frames, motion, amplitude, seed, fps=fps))
