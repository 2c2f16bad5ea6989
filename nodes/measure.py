"""Measure Animation: the LiveSketch paper's sketch-to-video consistency (CLIP) and text-to-video alignment (X-CLIP)."""

from __future__ import annotations

from comfy_api.latest import io

from ._common import model_dirs, model_options
from ._types import CATEGORY_ANIMATE, Sketch, SketchAnimation

DEFAULT_CLIP = "ViT-B-32:openai"  # = core.metrics_clip defaults (not imported at load time)
DEFAULT_XCLIP = "microsoft/xclip-base-patch32"


class MeasureAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionMeasureAnimation",
            display_name="Measure Animation",
            category=CATEGORY_ANIMATE,
            description="The LiveSketch paper's measures: sketch-to-video consistency (mean CLIP image similarity of "
            "every frame to the input sketch; the paper reports 0.965) and text-to-video alignment (X-CLIP similarity "
            "of the prompt and the animation; 0.142). Models come from models/open_clip and models/xclip, or the "
            "Hugging Face cache.",
            inputs=[
                SketchAnimation.Input("animation", tooltip="The animation to score (2D)."),
                io.String.Input("prompt", default="", multiline=True,
                                tooltip="The motion prompt. Empty: alignment is not measured (outputs NaN)."),
                io.Combo.Input("clip_model",
                               options=model_options("open_clip", "open_clip_config.json", [DEFAULT_CLIP]),
                               tooltip="An open_clip folder in models/open_clip, or ARCH:TAG found in the HF cache."),
                io.Combo.Input("xclip_model", options=model_options("xclip", "config.json", [DEFAULT_XCLIP]),
                               tooltip="An X-CLIP folder in models/xclip, or a Hugging Face id found in the HF cache."),
                io.Boolean.Input("allow_download", default=False,
                                 tooltip="Download a missing model into the Hugging Face cache."),
                Sketch.Input("sketch", optional=True,
                             tooltip="Reference sketch for consistency (default: the animation's own base sketch)."),
            ],
            outputs=[
                io.Float.Output(display_name="consistency",
                                tooltip="Mean CLIP image similarity of each frame to the sketch (1 = unchanged)."),
                io.Float.Output(display_name="alignment",
                                tooltip="X-CLIP similarity of the prompt and the animation; NaN without a prompt."),
                io.String.Output(display_name="report", tooltip="Both numbers in words, with the paper's values."),
            ],
        )

    @classmethod
    def execute(cls, animation, prompt, clip_model, xclip_model, allow_download, sketch=None) -> io.NodeOutput:
        import comfy.model_management

        from ..core.metrics_clip import format_report, measure_animation

        result = measure_animation(
            animation, prompt, clip_model=clip_model, xclip_model=xclip_model,
            device=comfy.model_management.get_torch_device(), sketch=sketch,
            search_dirs=model_dirs("open_clip") + model_dirs("xclip"), allow_download=allow_download,
        )
        alignment = float("nan") if result["alignment"] is None else result["alignment"]
        return io.NodeOutput(result["consistency"], alignment, format_report(result))
