"""Sample Animation: a SKETCH_ANIMATION at another frame count (same duration)."""

from __future__ import annotations

from comfy_api.latest import io

from ._types import CATEGORY_ANIMATE, SketchAnimation


class SampleAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSampleAnimation",
            display_name="Sample Animation",
            category=CATEGORY_ANIMATE,
            description="Re-samples an animation to any frame count over the same duration. An animation trained "
            "by Animate Sketch / Animate Objects carries its continuous-time motion model and is sampled exactly "
            "at the new times; others are interpolated linearly between frames. Render or export it at any size.",
            inputs=[
                SketchAnimation.Input("animation", tooltip="Any sketch animation (2D or 3D)."),
                io.Int.Input("frames", default=48, min=1, max=2048, tooltip="Frames of the re-sampled animation."),
            ],
            outputs=[SketchAnimation.Output(display_name="resampled", tooltip="The same motion with the new frame count."),
                     io.Float.Output(display_name="fps", tooltip="The new frame rate (same duration).")],
        )

    @classmethod
    def execute(cls, animation, frames: int) -> io.NodeOutput:
        out = animation.sample(frames)
        return io.NodeOutput(out, float(out.fps))
