"""ComfyUI Video Prior: the MODEL / VAE / CONDITIONING ComfyUI has loaded -> video prior for Animate Sketch."""

from __future__ import annotations

from comfy_api.latest import io

from ..core.options import DEFAULT_EXPERT_BOUNDARY, DEFAULT_PERCENT_RANGE, NOISE_LEVELS, PAPER_T_RANGE, WEIGHTINGS
from ._types import CATEGORY_ANIMATE, VideoPrior

# Same io_types as io.Model / io.Vae / io.Conditioning (io.Custom keeps the CI stand-in small).
Model, Vae, Conditioning, Clip = io.Custom("MODEL"), io.Custom("VAE"), io.Custom("CONDITIONING"), io.Custom("CLIP")

FRAME_NOTE = (
    "The VAE decides which frame counts a video can have: Wan and HunyuanVideo take 4k+1 frames, LTX-Video 8k+1, "
    "Mochi 6k+1, image VAEs (AnimateDiff; or a TAESD with a video model: frames encoded one by one and stacked in "
    "time) any. The animation keeps the frame count set in Animate Sketch: while "
    "training, its continuous-time motion is rendered at the next valid count (24 -> 25 evenly spaced times for "
    "Wan), and the result is sampled back at your count; the log says what is rendered and encoded."
)


class ComfyVideoPrior(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionComfyVideoPrior",
            display_name="ComfyUI Video Prior",
            category=CATEGORY_ANIMATE,
            description="Uses the video model ComfyUI has loaded (Wan 2.1/2.2, LTX-Video, HunyuanVideo, Mochi, Cosmos, "
            "or an image model with AnimateDiff) as the score-distillation prior of Animate Sketch. Training runs "
            "inside ComfyUI's own sampler, so LoRAs and other model patches apply and the model is not loaded twice. "
            "Wan 2.2 A14B: connect the high-noise expert to model and the low-noise expert to model_low_noise. "
            + FRAME_NOTE,
            inputs=[
                Model.Input("model", tooltip="A text-to-video model, e.g. Wan 2.1 T2V 1.3B from Load Diffusion Model "
                            "(Wan 2.2 A14B: the high-noise expert; the low-noise one goes to model_low_noise)."),
                Vae.Input("vae", tooltip="The model's own VAE (wan_2.1_vae for Wan 2.1). " + FRAME_NOTE),
                Conditioning.Input("positive", tooltip="What the animation should show (CLIP Text Encode)."),
                Conditioning.Input("negative", tooltip="What to avoid (CLIP Text Encode; may be empty text)."),
                io.Float.Input("cfg", default=0.0, min=0.0, max=100.0, step=0.5,
                               tooltip="Classifier-free guidance. 0 uses Animate Sketch's guidance_local / "
                               "guidance_global (paper: 30 / 40); score distillation needs far more than sampling."),
                io.Float.Input("start_percent", default=DEFAULT_PERCENT_RANGE[0], min=0.001, max=0.999, step=0.001,
                               tooltip="Noisiest end of the noise range as a sampling percent p (0 = pure noise): "
                               f"DDPM t = (1 - p) * 999, default the paper's t = {PAPER_T_RANGE[1]} of 1000. With "
                               "noise_levels 'paper' the model is scored at its own sigma of the same signal-to-noise "
                               "ratio as that t on ModelScope's schedule; with 'model', p goes through the model's "
                               "schedule (flow models apply their shift, Wan: 8; a ModelSamplingSD3 node changes it)."),
                io.Float.Input("end_percent", default=DEFAULT_PERCENT_RANGE[1], min=0.001, max=0.999, step=0.001,
                               tooltip=f"Least noisy end of the range (default: the paper's t = {PAPER_T_RANGE[0]}); "
                               "read like start_percent."),
                io.Combo.Input("weighting", options=list(WEIGHTINGS), default=WEIGHTINGS[0],
                               tooltip="w(t) of the score-distillation gradient; 1-alpha_bar as in LiveSketch."),
                Clip.Input("clip", optional=True,
                           tooltip="Optional: the model's text encoder (Load CLIP). Connected, the Animate nodes' own "
                           "prompts are encoded with it - needed for Animate Objects' per-object prompts; not "
                           "connected, positive / negative are the prompt for every stage and the Animate node's "
                           "prompt must be empty (a typed prompt is an error, never silently ignored)."),
                io.Combo.Input("noise_levels", options=list(NOISE_LEVELS), default="paper", optional=True,
                               tooltip="; ".join(f"{k}: {v}" for k, v in NOISE_LEVELS.items()) + ". With 'paper', "
                               "Wan (shift 8) and Cosmos see the same SNR distribution as ModelScope in LiveSketch; "
                               "for eps models on the scaled-linear schedule both options are the same."),
                Model.Input("model_low_noise", optional=True,
                            tooltip="Wan 2.2 A14B: connect the low-noise expert here and the high-noise expert to "
                            "`model`. Each score-distillation draw is then scored by the expert Wan 2.2 uses at that "
                            "noise level: sigma >= expert_boundary by model, below by this one (as ComfyUI's Wan 2.2 "
                            "14B templates split the steps between two KSamplerAdvanced). Both must work on the same "
                            "latents (same VAE). Leave empty for a single model."),
                io.Float.Input("expert_boundary", default=DEFAULT_EXPERT_BOUNDARY, min=0.001, max=1.0, step=0.005,
                               optional=True,
                               tooltip="With model_low_noise: the sigma (flow models: 0..1, the Wan 2.2 timestep / "
                               "1000) at and above which `model` (high noise) scores, below it model_low_noise. Wan "
                               "2.2 T2V-A14B: 0.875, I2V-A14B: 0.9. Unused without model_low_noise."),
            ],
            outputs=[VideoPrior.Output(display_name="video_prior",
                                       tooltip="The model as a score-distillation loss, for Animate Sketch / Objects.")],
        )

    @classmethod
    def validate_inputs(cls, start_percent=None, end_percent=None):
        from ..core.errors import SketchError
        from ..core.guidance.frame_rules import check_percent_range

        if start_percent is None or end_percent is None:
            return True  # linked from another node: checked when the prior is built
        try:
            check_percent_range(start_percent, end_percent)
        except SketchError as e:
            return str(e)
        return True

    @classmethod
    def execute(cls, model, vae, positive, negative, cfg, start_percent, end_percent, weighting,
                clip=None, noise_levels="paper", model_low_noise=None,
                expert_boundary=DEFAULT_EXPERT_BOUNDARY) -> io.NodeOutput:
        import logging

        from .comfy_prior import ComfyVideoPrior as Prior

        prior = Prior(model, vae, positive, negative, cfg=cfg, start_percent=start_percent, end_percent=end_percent,
                      weighting=weighting, clip=clip, noise_levels=noise_levels, model_low_noise=model_low_noise,
                      expert_boundary=expert_boundary)
        from ..core.guidance.frame_rules import describe_frames

        examples = "; ".join(describe_frames(t, prior.rule) for t in (16, 24))
        logging.getLogger("sketchmotion").info("ComfyUI Video Prior: %s. For example %s.", prior.rule.describe(), examples)
        return io.NodeOutput(prior)
