"""A ComfyUI MODEL + VAE + positive/negative CONDITIONING as a core VideoPrior.

The whole optimisation runs inside ComfyUI's own guider, so model-specific conds,
model patches (LoRA, AnimateDiff-Evolved wrappers) and ComfyUI's memory management
apply exactly as in a KSampler run, on the model object the user loaded (no copy):

    prior.run(fn)  ->  CFGGuider(model).sample(noise, dummy latent, _LoopSampler, sigmas)
                       -> _LoopSampler.sample(model_wrap, ...) runs fn() (the trainer's loop)
    prior.sds_loss(frames) inside fn:
        frames [T,H,W,3] -> resampled to the VAE's frame rule (frame_rules) -> VAE encoder
        WITH gradient (a private copy of the encoder, made once per run, recomputed in
        backward) -> model.model.process_latent_in -> z
        p ~ U[start, end]; sigma = model_sampling.percent_to_sigma(p)
        z_t = model_sampling.noise_scaling(sigma, eps, z); x0 = model_wrap(z_t, sigma) under
        no_grad (CFG-combined denoised latent; the diffusion model never sees a gradient)
        grad = w * (a / s) (z - x0)  (= w (eps_hat - eps), any flow or eps model)

Why the copies: ComfyUI runs nodes under torch.inference_mode(), so a VAE loaded by a
loader node holds inference tensors, which autograd refuses to save for backward; so
does the model's latent format (Wan divides by a per-channel std created at load).
Both are deep-copied once per run inside the grad region.
comfy is imported inside functions only (this module is imported lazily by the node).
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import Tensor

from ..core.errors import SketchError
from ..core.guidance.frame_rules import (
    DEFAULT_PERCENT_RANGE,
    FrameRule,
    check_percent_range,
    describe_frames,
    frame_index_map,
    frames_to_encode,
    latent_frames,
    noise_coefficients,
    resample_frames,
    sample_percent,
    temporal_factor,
)
from ..core.guidance.prior import validate_frames
from ..core.guidance.sds import NoiseLevel, eps_residual_from_x0, inject_gradient, sds_weight

log = logging.getLogger("sketchmotion")

OOM_ADVICE = "use fewer frames or a smaller render_size in Animate Sketch (the encoder must keep gradients, so " \
             "ComfyUI's tiled VAE fallback cannot be used)"


VAE_NAMES = {"wan": "Wan", "lightricks": "LTX-Video", "genmo": "Mochi", "cosmos": "Cosmos", "hunyuan_video": "HunyuanVideo"}


def vae_frame_rule(vae) -> FrameRule:
    """The FrameRule of a comfy.sd.VAE, read from its downscale_ratio (and latent_channels)."""
    if getattr(vae, "first_stage_model", None) is None:
        raise SketchError("This VAE is empty (the checkpoint had no VAE weights); load one with Load VAE.")
    if getattr(vae, "latent_dim", 2) not in (2, 3) or getattr(vae, "output_channels", 3) != 3:
        raise SketchError("This VAE is not an image or video VAE; connect the VAE that belongs to the video model.")
    down = vae.downscale_ratio
    if isinstance(down, (tuple, list)):
        f, s = (1 if getattr(vae, "not_video", False) else temporal_factor(down[0])), int(down[1])
    else:
        f, s = 1, int(down)
    package = type(vae.first_stage_model).__module__.replace("comfy.ldm.", "").split(".")[0]
    name = VAE_NAMES.get(package, type(vae.first_stage_model).__name__)
    return FrameRule(temporal=f, spatial=s, latent_channels=int(vae.latent_channels), name=name)


class _EncodeWithRecompute(torch.autograd.Function):
    """Encode without keeping activations; backward re-encodes with gradient (activation
    checkpointing), so the encoder's activations are not held while the diffusion model runs.
    Out-of-memory in either direction becomes a SketchError."""

    @staticmethod
    def forward(ctx, pixels, encode):
        ctx.encode = encode
        ctx.save_for_backward(pixels)
        return encode(pixels)

    @staticmethod
    def backward(ctx, grad):
        (pixels,) = ctx.saved_tensors
        with torch.enable_grad():
            x = pixels.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(ctx.encode(x), x, grad)
        return gx, None


def _encoder_copy(module: torch.nn.Module, device, dtype) -> torch.nn.Module:
    """A gradient-capable copy of a VAE module (deepcopy outside inference mode turns inference
    tensors into normal ones). The decoder comes along: some encoders read it (Wan sizes its
    feature cache from the decoder), and it costs only weights, no activations."""
    import comfy.model_management

    size = sum(p.numel() for p in module.parameters()) * torch.empty((), dtype=dtype).element_size()
    comfy.model_management.free_memory(size, torch.device(device))  # let ComfyUI offload other models first
    return copy.deepcopy(module).to(device=device, dtype=dtype).eval().requires_grad_(False)


class ComfyVideoPrior:
    """VideoPrior over a ComfyUI ModelPatcher, VAE and CONDITIONING (see the module docstring).

    cfg: classifier-free guidance; 0 uses the guidance Animate Sketch passes per pass.
    start_percent/end_percent: the sampled noise range in ComfyUI's sampling percent
    (default ~ LiveSketch's t in 50..948). weighting: see core.guidance.sds.WEIGHTINGS.
    checkpoint_vae: recompute the encoder in backward instead of holding its activations.
    """

    num_frames_hint = None
    size_hint = None

    def __init__(self, model, vae, positive, negative, *, cfg: float = 0.0,
                 start_percent: float = DEFAULT_PERCENT_RANGE[0], end_percent: float = DEFAULT_PERCENT_RANGE[1],
                 weighting: str = "1-alpha_bar", checkpoint_vae: bool = True, seed: int = 0, clip=None):
        if not hasattr(model, "get_model_object") or not hasattr(model, "model"):
            raise SketchError("The model input must be a ComfyUI MODEL (from Load Diffusion Model or a checkpoint loader).")
        if not positive or negative is None:
            raise SketchError("Connect both positive and negative CONDITIONING (CLIP Text Encode).")
        self.model, self.vae, self.positive, self.negative = model, vae, positive, negative
        self.given = (positive, negative)
        self.clip = clip  # optional: encodes Animate Sketch's / Animate Objects' own prompts per stage
        self.encodes_text = clip is not None
        self.cfg = float(cfg)
        if self.cfg < 0:
            raise SketchError(f"cfg must be >= 0 (0: use Animate Sketch's guidance), got {cfg}.")
        self.start, self.end = check_percent_range(start_percent, end_percent)
        sds_weight(NoiseLevel(1.0, 1.0, 0.0), weighting)  # validates the name
        self.weighting, self.checkpoint_vae, self.seed = weighting, bool(checkpoint_vae), int(seed)
        self.rule = vae_frame_rule(vae)
        fmt = model.model.latent_format
        if fmt.latent_channels != self.rule.latent_channels:
            raise SketchError(
                f"The VAE makes {self.rule.latent_channels}-channel latents but the model takes {fmt.latent_channels}: "
                "connect the VAE that belongs to the model (e.g. wan_2.1_vae for Wan 2.1, the Wan 2.2 VAE for Wan 2.2 5B).")
        if getattr(fmt, "latent_dimensions", 2) == 3 and not self.rule.video:
            raise SketchError("The model is a video model but the VAE is an image VAE; connect the model's video VAE.")
        self.device = model.load_device
        self.name = (f"comfyui:{type(model.model).__name__}:{self.start:.3f}-{self.end:.3f}:{weighting}:cfg{self.cfg:g}")
        self._shape = None  # latent shape planned by check_video
        self._active = None  # (model_wrap, extra_args) while run() is inside the guider
        self._encoder = self._latent_format = None  # per-run copies (see run)

    # ------------------------------------------------------------- protocol
    def prepare(self, prompt: str, negative_prompt: str = "") -> None:
        """With a CLIP connected, encode the stage's prompt (and negative prompt, if any) the way CLIP
        Text Encode does; without one, the positive / negative CONDITIONING inputs are the prompt."""
        if self.clip is None:
            if prompt:
                log.info("ComfyUI Video Prior: no CLIP connected, so the prompt is the positive CONDITIONING; the "
                         "Animate node's prompt text is not used.")
            return
        encode = lambda text: self.clip.encode_from_tokens_scheduled(self.clip.tokenize(text))  # noqa: E731
        self.positive = encode(prompt) if prompt else self.given[0]
        self.negative = encode(negative_prompt) if negative_prompt else self.given[1]

    def fingerprint(self) -> str:
        """Identifies what the prior scores against (model, patches, conditioning) for resumable runs."""
        import hashlib

        h = hashlib.sha256(self.name.encode())
        h.update(str(getattr(self.model, "patches_uuid", "")).encode())
        for cond in self.given:
            for c in cond:
                h.update(c[0].detach().float().cpu().numpy().tobytes())
        return h.hexdigest()

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, ...]:
        r = self.rule
        h, w = height // r.spatial, width // r.spatial
        if r.video:
            return (1, r.latent_channels, latent_frames(frames_to_encode(num_frames, r.temporal), r.temporal), h, w)
        return (num_frames, r.latent_channels, h, w)

    def describe(self, num_frames: int, height: int, width: int) -> str:
        shape = "x".join(map(str, self.latent_shape(num_frames, height, width)))
        return f"{self.rule.describe()}: {describe_frames(num_frames, self.rule)}; {width}x{height} px -> latent {shape}"

    def check_video(self, num_frames: int, height: int, width: int) -> None:
        s = self.rule.spatial
        if num_frames < 1:
            raise SketchError("The video needs at least one frame.")
        if height % s or width % s:
            raise SketchError(f"This VAE needs frame sizes that are multiples of {s} px; got {width}x{height}. "
                              f"Set render_size to a multiple of {s} (e.g. {max(s, round(max(height, width) / s) * s)}).")
        self._shape = self.latent_shape(num_frames, height, width)
        log.info("ComfyUI Video Prior: %s", self.describe(num_frames, height, width))

    # ------------------------------------------------------------- the guider
    def run(self, fn):
        """Run fn() inside CFGGuider(model).sample with a sampler whose sample() is fn; return fn's result."""
        import comfy.model_management
        import comfy.samplers

        if self._shape is None:
            raise SketchError("Call prior.check_video(frames, height, width) before prior.run(fn).")
        result = {}
        prior = self

        class _LoopSampler(comfy.samplers.Sampler):
            def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
                       disable_pbar=False):
                prior._active = (model_wrap, extra_args)
                try:
                    result["value"] = fn()
                finally:
                    prior._active = None
                return torch.zeros_like(noise)

        ms = self.model.get_model_object("model_sampling")
        sigmas = torch.tensor([float(ms.percent_to_sigma(self.start)), float(ms.percent_to_sigma(self.end))])
        with torch.inference_mode(False), torch.enable_grad():
            guider = comfy.samplers.CFGGuider(self.model)
            guider.set_conds(self.positive, self.negative)
            guider.set_cfg(self.cfg or 1.0)
            vae = self.vae
            # once per run, inside the grad region: copies hold normal tensors, not inference tensors
            self._encoder = _encoder_copy(vae.first_stage_model, vae.device, vae.vae_dtype)
            self._latent_format = copy.deepcopy(self.model.model.latent_format)  # Wan: per-channel mean / std
            try:
                dummy = torch.zeros(self._shape)
                guider.sample(dummy, dummy.clone(), _LoopSampler(), sigmas, seed=self.seed, disable_pbar=True)
            finally:
                self._encoder = self._latent_format = None
                comfy.model_management.soft_empty_cache()
        return result.get("value")

    # ------------------------------------------------------------- encode
    def _encode_pixels(self, x: Tensor) -> Tensor:
        import comfy.model_management

        try:
            return self._encoder.encode(x).float()
        except comfy.model_management.OOM_EXCEPTION:
            pass
        raise SketchError(f"Out of memory while encoding {tuple(x.shape)} pixels with gradient: {OOM_ADVICE}.")

    def encode(self, frames: Tensor) -> Tensor:
        """[T,H,W,3] in 0..1 (a valid frame count) -> the model's latent (process_latent_in applied), differentiable."""
        vae = self.vae
        x = vae.process_input(frames).movedim(-1, 1)  # [T, 3, H, W]
        if self.rule.video:
            x = x.movedim(1, 0).unsqueeze(0)  # [1, 3, T, H, W]
        elif getattr(vae, "latent_dim", 2) == 3:
            x = x.unsqueeze(2)  # image VAE with a time axis of 1
        x = x.to(vae.device, vae.vae_dtype)
        if self.checkpoint_vae and x.requires_grad:
            lat = _EncodeWithRecompute.apply(x, self._encode_pixels)
        else:
            lat = self._encode_pixels(x)
        if lat.ndim == 5 and not self.rule.video:
            lat = lat.squeeze(2)
        return self._latent_format.process_in(lat.to(self.device))  # = model.model.process_latent_in

    # ------------------------------------------------------------- sds
    def sds_loss(self, frames: Tensor, *, guidance_scale: float = 30.0, generator: torch.Generator | None = None):
        """(loss, stats) for frames [T,H,W,3] in 0..1; call inside run(fn) (the trainer does).

        Cancel is honoured between steps (the progress bar checks it), never between the two passes of
        one step, so a cancelled run always checkpoints a whole step.
        """
        validate_frames(frames)
        if self._active is None:
            raise SketchError("The ComfyUI prior computes its loss inside ComfyUI's sampler: call it within "
                              "prior.run(fn) (core.pipelines.animate.run_inside does).")
        model_wrap, extra_args = self._active
        T = frames.shape[0]
        E = frames_to_encode(T, self.rule.temporal)
        video = resample_frames(frames, frame_index_map(T, E)) if self.rule.video and E != T else frames
        z = self.encode(video)

        ms = self.model.get_model_object("model_sampling")
        sigma = float(ms.percent_to_sigma(sample_percent(self.start, self.end, generator)))
        a, s = noise_coefficients(ms.noise_scaling, sigma)
        level = NoiseLevel(alpha=a, sigma=s, timestep=float(ms.timestep(torch.tensor([sigma])).reshape(-1)[0]))
        dev = generator.device if generator is not None else z.device
        eps = torch.randn(z.shape, generator=generator, device=dev, dtype=torch.float32).to(z.device)
        sig = torch.full((z.shape[0],), sigma, device=z.device, dtype=torch.float32)
        cfg = self.cfg or float(guidance_scale)
        with torch.no_grad():
            z_t = ms.noise_scaling(sig, eps, z.detach().float())
            setattr(model_wrap, "cfg", cfg)  # the CFGGuider itself; read at every call
            x0 = model_wrap(z_t, sig, **extra_args).float()
        grad = sds_weight(level, self.weighting) * eps_residual_from_x0(z.detach().float(), x0, level)
        finite = bool(torch.isfinite(grad).all())
        if not finite:
            grad = torch.zeros_like(grad)
        loss = inject_gradient(z, grad.to(z.dtype))
        stats = {"timestep": level.timestep, "alpha": a, "sigma": s, "weight": sds_weight(level, self.weighting),
                 "guidance_scale": cfg, "grad_norm": float(grad.norm()), "finite": finite, "loss": float(loss.detach()),
                 "encoded_frames": E}
        return loss, stats
