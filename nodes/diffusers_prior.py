"""Diffusers Video Prior: a diffusers text-to-video model (ModelScope, ZeroScope) -> video prior."""

from __future__ import annotations

from comfy_api.latest import io

from ._common import model_dirs, model_options
from ._types import CATEGORY_ANIMATE, VideoPrior

KNOWN_MODELS = ["damo-vilab/text-to-video-ms-1.7b", "cerspense/zeroscope_v2_576w"]


class DiffusersVideoPrior(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionDiffusersVideoPrior",
            display_name="Diffusers Video Prior",
            category=CATEGORY_ANIMATE,
            description="Loads a diffusers text-to-video model (ModelScope as in LiveSketch, or ZeroScope) as the "
            "score-distillation prior of Animate Sketch. Looks in models/diffusers, then the Hugging Face cache.",
            inputs=[
                io.Combo.Input("model", options=model_options("diffusers", "model_index.json", KNOWN_MODELS),
                               tooltip="A folder in ComfyUI/models/diffusers, or a Hugging Face id already cached."),
                io.Combo.Input("precision", options=["auto", "fp16", "bf16", "fp32"], default="auto",
                               tooltip="auto: fp16 on GPU, fp32 on CPU."),
                io.Int.Input("t_min", default=50, min=1, max=999, tooltip="Smallest diffusion timestep sampled."),
                io.Int.Input("t_max", default=948, min=1, max=999, tooltip="Largest diffusion timestep sampled."),
                io.Boolean.Input("allow_download", default=False,
                                 tooltip="Download the model into the Hugging Face cache if it is not found."),
            ],
            outputs=[VideoPrior.Output(display_name="video_prior",
                                       tooltip="The model as a score-distillation loss, for Animate Sketch / Objects.")],
        )

    @classmethod
    def execute(cls, model, precision, t_min, t_max, allow_download) -> io.NodeOutput:
        import torch

        import comfy.model_management

        from ..core.guidance.diffusers_prior import load_diffusers_prior

        with torch.inference_mode(False):  # weights must be normal tensors: the VAE encoder backpropagates
            prior = load_diffusers_prior(
                model, search_dirs=model_dirs("diffusers"),
                device=comfy.model_management.get_torch_device(), precision=precision,
                allow_download=allow_download, t_min=t_min, t_max=t_max,
            )
        return io.NodeOutput(prior)
