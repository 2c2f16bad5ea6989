"""Render Sketch: SKETCH or SKETCH_ANIMATION -> IMAGE frames + MASK (stroke coverage)."""

from __future__ import annotations

from comfy_api.latest import io

from ._common import background_inputs, background_rgb
from ._types import CATEGORY_SKETCH, Sketch, SketchAnimation

def _output_size(canvas, size: int):
    """(W, H) whose longer side is `size`, keeping the canvas aspect; the canvas itself for 0."""
    if size <= 0:
        return canvas
    w, h = canvas
    return (max(1, round(w * size / max(w, h))), max(1, round(h * size / max(w, h))))


class RenderSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionRenderSketch",
            display_name="Render Sketch",
            category=CATEGORY_SKETCH,
            description="Rasterises a sketch (one frame) or a sketch animation (one frame per animation frame).",
            inputs=[
                io.MultiType.Input("sketch", types=[Sketch, SketchAnimation],
                                   tooltip="A sketch (one image) or a sketch animation (one image per frame)."),
                io.Int.Input("size", default=512, min=0, max=4096,
                             tooltip="Longer side of the output in pixels (aspect kept); 0 = the sketch's canvas size."),
                io.Float.Input("width_scale", default=1.0, min=0.05, max=20.0, step=0.05,
                               tooltip="Multiplies every stroke width."),
                *background_inputs(),
            ],
            outputs=[
                io.Image.Output(display_name="image", tooltip="[frames, H, W, 3] in 0..1."),
                io.Mask.Output(display_name="mask",
                               tooltip="Stroke coverage (alpha): 1 where the sketch draws. LoadImage's masks are the "
                               "inverse (1 = transparent); use InvertMask to match them."),
            ],
        )

    @classmethod
    def execute(cls, sketch, size: int, width_scale: float, background: str, custom_color: str = "#ffffff") -> io.NodeOutput:
        from ..core.errors import SketchError
        from ..core.raster import composite, render
        from ..core.sketch import SketchAnimation as Animation

        base, points = (sketch.sketch, sketch.frames) if isinstance(sketch, Animation) else (sketch, sketch.points[None])
        if points.shape[-1] != 2:
            raise SketchError("This is a 3D sketch; render it through a camera (a 3D render node), not Render Sketch.")
        bg = background_rgb(background, custom_color)
        rgba = render(base, points=points, size=_output_size(base.canvas, size), background=None, width_scale=width_scale)
        rgba = rgba.detach().float().cpu()
        image = composite(rgba, bg)  # bg None: straight colour, what IMAGE + MASK (JoinImageWithAlpha) expect
        return io.NodeOutput(image.clamp(0, 1).contiguous(), rgba[..., 3].clamp(0, 1).contiguous())
