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
        sigma: by default the paper's SNR range (DDPM t ~ U{50..948} of the scaled-linear schedule,
        mapped to the sigma of this model's own sampling with the same signal-to-noise ratio;
        core.guidance.frame_rules.NoiseLevels), or the model's schedule (p ~ U[start, end] through
        model_sampling.percent_to_sigma) with noise_levels="model"
        x0 = model_wrap(z_t, sigma) under no_grad (CFG-combined denoised latent; the diffusion
        model never sees a gradient); everything else - z_t = a z + s eps, the weighting, the
        x0-space gradient w (a / s)(z - x0) (= w (eps_hat - eps), any flow or eps model), its
        injection and stats - is core.guidance.sds.ScoreDistillation.step_x0

Why the copies: ComfyUI runs nodes under torch.inference_mode(), so a VAE loaded by a
loader node holds inference tensors, which autograd refuses to save for backward; so
does the model's latent format (Wan divides by a per-channel std created at load).
Both are deep-copied once per run inside the grad region.
A video model with an image VAE (the pack's learned Wan prior with its TAESD, assets/motion_prior/wan_tiny):
each frame is encoded on its own and the latents are stacked on the time axis, [1, C, T, h, w], so any
frame count works (temporal rule 1).
Families: every text-to-video family ComfyUI 0.3.64 loads works through this prior (Wan 2.1, Wan 2.2
TI2V-5B, LTX-Video, HunyuanVideo, Mochi, Cosmos-1, Cosmos-Predict2; tests/test_comfy_prior_families.py).
The VAE must be the model's own: a different channel count, or a known video VAE of another family
(Wan 2.1, HunyuanVideo and Cosmos-1 all make 16 channels) is a SketchError (check_vae_matches_model).
Two experts (Wan 2.2 A14B: a high-noise and a low-noise model): with model_low_noise, run() nests one
CFGGuider per expert (both guiders' conds, patches and wrappers are live) and each SDS draw is scored by
the expert for its sigma: sigma >= expert_boundary -> model (high noise), else model_low_noise. This is
Wan 2.2's own switch (wan/text2video.py, wan/image2video.py: t >= boundary * 1000 on the shifted timestep;
ComfyUI's flow timestep is sigma * 1000). Before a draw on the other expert than the last one,
model_management.load_models_gpu loads it, so ComfyUI may offload the idle one when memory is short.
comfy is imported inside functions only (this module is imported lazily by the node).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.errors import SketchError
from ..core.options import DEFAULT_EXPERT_BOUNDARY
from ..core.guidance.frame_rules import (
    DEFAULT_PERCENT_RANGE,
    LATENT_FORMAT_VAE,
    FrameRule,
    NoiseLevels,
    check_percent_range,
    describe_frames,
    frame_index_map,
    frames_to_encode,
    latent_frames,
    noise_coefficients,
    resample_frames,
    temporal_factor,
)
from ..core.guidance.prior import validate_frames
from ..core.guidance.sds import NoiseLevel, ScoreDistillation, sds_weight

log = logging.getLogger("sketchmotion")

OOM_ADVICE = "use fewer frames or a smaller render_size in Animate Sketch (the encoder must keep gradients, so " \
             "ComfyUI's tiled VAE fallback cannot be used)"


def is_oom(error: BaseException) -> bool:
    """ComfyUI's own out-of-memory test: model_management.is_oom where it exists (newer ComfyUI also
    counts torch.AcceleratorError "out of memory"), else isinstance(error, OOM_EXCEPTION). Where
    OOM_EXCEPTION is the bare Exception (ComfyUI without CUDA), the message must also say
    "out of memory", so an unrelated error is never reported as one."""
    import comfy.model_management as mm

    check = getattr(mm, "is_oom", None)
    if callable(check):
        return bool(check(error))
    oom = getattr(mm, "OOM_EXCEPTION", Exception)
    if not isinstance(error, oom):
        return False
    return oom is not Exception or "out of memory" in str(error).lower()


# comfy.sd.VAE's first_stage_model module -> core.guidance.frame_rules.VAE_FAMILIES key, and the names logs use
VAE_MODULES = {"comfy.ldm.wan.vae": "wan2.1", "comfy.ldm.wan.vae2_2": "wan2.2", "comfy.ldm.lightricks": "ltxv",
               "comfy.ldm.genmo": "mochi", "comfy.ldm.cosmos": "cosmos"}
VAE_NAMES = {"wan2.1": "Wan", "wan2.2": "Wan 2.2", "ltxv": "LTX-Video", "mochi": "Mochi", "cosmos": "Cosmos",
             "hunyuan": "HunyuanVideo"}


def vae_family(vae) -> str | None:
    """The VAE_FAMILIES key of a comfy.sd.VAE's video VAE, None when unknown (an image VAE, a newer family).
    HunyuanVideo's VAE is ComfyUI's generic AutoencoderKL built with 3D convolutions (latent_dim 3)."""
    module = type(vae.first_stage_model).__module__
    for prefix, family in VAE_MODULES.items():
        if module == prefix or module.startswith(prefix + "."):
            return family
    if module == "comfy.ldm.models.autoencoder" and getattr(vae, "latent_dim", 2) == 3 \
            and not getattr(vae, "not_video", False):
        return "hunyuan"
    return None


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
    family = vae_family(vae)
    name = VAE_NAMES[family] if family else type(vae.first_stage_model).__name__
    return FrameRule(temporal=f, spatial=s, latent_channels=int(vae.latent_channels), name=name)


def check_vae_matches_model(vae, rule: FrameRule, model) -> None:
    """SketchError when the VAE cannot make the model's latents: other channel count, or a known video VAE of
    another family (equal channel counts do not make equal latent spaces: Wan 2.1 / HunyuanVideo / Cosmos-1)."""
    fmt = model.model.latent_format
    if fmt.latent_channels != rule.latent_channels:
        raise SketchError(
            f"The VAE makes {rule.latent_channels}-channel latents but the model takes {fmt.latent_channels}: "
            "connect the VAE that belongs to the model (e.g. wan_2.1_vae for Wan 2.1, the Wan 2.2 VAE for Wan 2.2 5B).")
    want, have = LATENT_FORMAT_VAE.get(type(fmt).__name__), vae_family(vae)
    if rule.video and want and have and want != have:
        raise SketchError(
            f"This is the {VAE_NAMES[have]} VAE, but the model ({type(model.model).__name__}) works on "
            f"{VAE_NAMES[want]} VAE latents; both have {rule.latent_channels} channels, but the latent spaces differ, "
            f"so the score would be meaningless. Connect the {VAE_NAMES[want]} VAE (the one that belongs to the "
            "model).")


# comfy.supported_models classes whose diffusion model also takes an image latent, each with the ComfyUI node that
# puts it in the CONDITIONING (concat_latent_image). Where the CONDITIONING carries none, ComfyUI feeds an all-zero
# latent, an input these models were not made for. WanFunControlToVideo sets it even without a start image or
# control video (the model's own text-to-video use), so only a CONDITIONING that never went through the node is
# refused.
IMAGE_CONDITIONED_MODELS = {"WAN21_I2V": "WanImageToVideo", "WAN21_FunControl2V": "WanFunControlToVideo",
                            "WAN21_Camera": "WanCameraImageToVideo", "WAN22_Camera": "WanCameraImageToVideo",
                            "HunyuanVideoI2V": "HunyuanImageToVideo", "HunyuanVideoSkyreelsI2V": "HunyuanImageToVideo"}


def check_image_conditioning(model, positive, negative) -> None:
    """SketchError for an image-to-video model whose positive or negative CONDITIONING holds no image latent."""
    kind = type(getattr(model.model, "model_config", None)).__name__
    if kind not in IMAGE_CONDITIONED_MODELS:
        return
    if not all(cond and all("concat_latent_image" in c[1] for c in cond) for cond in (positive, negative)):
        raise SketchError(
            f"This is an image-to-video model ({kind}) and its positive / negative CONDITIONING carry no start image, "
            "so ComfyUI would feed it an all-zero image latent and the score would be meaningless. Load the family's "
            "text-to-video model (e.g. Wan 2.1 T2V 1.3B or 14B), or pass both CONDITIONING through "
            f"{IMAGE_CONDITIONED_MODELS[kind]} with a start image, the render size and the frame count, and clear "
            "the Animate node's prompt (a prompt encoded by the prior's CLIP would drop the image).")


def start_image_spans_every_frame(model) -> bool:
    """Whether the diffusion model needs its CONDITIONING's concat_latent_image to span every latent frame. Wan's
    own concat_cond does (WanImageToVideo encodes the whole length); ComfyUI's BaseModel.concat_cond, which
    HunyuanVideo I2V uses, pads a shorter one with zeros in time (HunyuanImageToVideo encodes the start image
    alone: 1 latent frame) or crops a longer one."""
    method = getattr(type(model.model), "concat_cond", None)
    return getattr(method, "__qualname__", "") != "BaseModel.concat_cond"


def check_experts_match(model, low) -> None:
    """SketchError unless the low-noise expert is a ComfyUI MODEL on the same latents as the high-noise one."""
    if not hasattr(low, "get_model_object") or not hasattr(low, "model"):
        raise SketchError("model_low_noise must be a ComfyUI MODEL (Load Diffusion Model), the low-noise expert.")
    high_fmt, low_fmt = model.model.latent_format, low.model.latent_format
    if type(high_fmt) is not type(low_fmt) or high_fmt.latent_channels != low_fmt.latent_channels:
        raise SketchError(
            f"The two experts work on different latents: model ({type(model.model).__name__}) on "
            f"{type(high_fmt).__name__} ({high_fmt.latent_channels} channels), model_low_noise "
            f"({type(low.model).__name__}) on {type(low_fmt).__name__} ({low_fmt.latent_channels} channels). "
            "Connect the two experts of one model: for Wan 2.2 A14B the high_noise file to model and the "
            "low_noise file to model_low_noise (both T2V or both I2V), or leave model_low_noise empty.")


@dataclass
class _Guided:
    """One expert's CFGGuider (model_wrap) while run() is inside its sample()."""

    patcher: object
    model_wrap: object
    extra_args: dict
    noise_shape: tuple

    def load(self) -> None:
        """Load the expert (and its guider's additional models) as the guider's prepare_sampling did, reserving the
        same memory: the model's estimate plus what its ControlNets ask for at inference."""
        import comfy.model_management
        import comfy.sampler_helpers

        conds = self.model_wrap.conds
        memory, minimum = comfy.sampler_helpers.estimate_memory(self.patcher, self.noise_shape, conds)
        _, control_memory = comfy.sampler_helpers.get_additional_models(conds, self.patcher.model_dtype())
        comfy.model_management.load_models_gpu([self.patcher] + list(getattr(self.model_wrap, "loaded_models", [])),
                                               memory_required=memory + control_memory,
                                               minimum_memory_required=minimum + control_memory)


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
    start_percent/end_percent: the noise range in ComfyUI's sampling percent (0.051..0.95 =
    LiveSketch's t in 50..948, t = (1 - p) 999). noise_levels: "paper" (default) draws t in that
    range and scores at the model's sigma of equal signal-to-noise ratio; "model" draws p
    uniformly through the model's percent_to_sigma (its own schedule, shift included); see
    core.guidance.frame_rules.NoiseLevels. weighting: see core.guidance.sds.WEIGHTINGS.
    checkpoint_vae: recompute the encoder in backward instead of holding its activations.
    clip: optional text encoder; without it the positive / negative CONDITIONING are the prompt
    and a non-empty prompt from the Animate node is an error (it would be ignored).
    model_low_noise: optional second expert (Wan 2.2 A14B's low-noise model; `model` is then the
    high-noise one); a draw with sigma >= expert_boundary is scored by model, below by model_low_noise.
    The noise levels (and the sigma -> timestep map) come from `model`'s sampling.
    """

    num_frames_hint = None
    size_hint = None

    def __init__(self, model, vae, positive, negative, *, cfg: float = 0.0,
                 start_percent: float = DEFAULT_PERCENT_RANGE[0], end_percent: float = DEFAULT_PERCENT_RANGE[1],
                 weighting: str = "1-alpha_bar", checkpoint_vae: bool = True, seed: int = 0, clip=None,
                 noise_levels: str = "paper", model_low_noise=None,
                 expert_boundary: float = DEFAULT_EXPERT_BOUNDARY):
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
        ms = model.get_model_object("model_sampling")
        self.levels = NoiseLevels(ms.percent_to_sigma, ms.noise_scaling, noise_levels, self.start, self.end)
        self.weighting, self.checkpoint_vae, self.seed = weighting, bool(checkpoint_vae), int(seed)
        self.rule = vae_frame_rule(vae)
        check_vae_matches_model(vae, self.rule, model)
        check_image_conditioning(model, positive, negative)
        if model_low_noise is model:  # the same MODEL twice: one expert
            model_low_noise = None
        if model_low_noise is not None:
            check_experts_match(model, model_low_noise)
            check_image_conditioning(model_low_noise, positive, negative)
        self.model_low_noise = model_low_noise
        self.boundary = float(expert_boundary)
        if model_low_noise is not None and not 0.0 < self.boundary <= float(ms.sigma_max) + 1e-6:
            raise SketchError(f"expert_boundary must be a sigma in (0, {float(ms.sigma_max):g}] of the model's "
                              f"sampling (Wan 2.2: T2V-A14B 0.875, I2V-A14B 0.9), got {expert_boundary}.")
        fmt = model.model.latent_format
        # a video model with an image VAE (e.g. the pack's learned Wan prior with its TAESD): frames are encoded
        # one by one and stacked on the time axis, [1, C, T, h, w]; any frame count (temporal rule 1)
        self.per_frame = getattr(fmt, "latent_dimensions", 2) == 3 and not self.rule.video
        self.device = model.load_device
        self.name = (f"comfyui:{type(model.model).__name__}:{self.start:.3f}-{self.end:.3f}:{noise_levels}:{weighting}:"
                     f"cfg{self.cfg:g}")
        if model_low_noise is not None:
            self.name += f":experts@{self.boundary:g}"
        self._shape = None  # latent shape planned by check_video
        self._active = None  # (model_wrap, extra_args) of `model` while run() is inside its guider
        self._guided = {}  # id(expert ModelPatcher) -> _Guided while run() is inside its guider
        self._on_device = None  # the expert last (re)loaded for a draw
        self._encoder = self._latent_format = None  # per-run copies (see run)

    # ------------------------------------------------------------- protocol
    def prepare(self, prompt: str, negative_prompt: str = "") -> None:
        """With a CLIP connected, encode the stage's prompt (and negative prompt, if any) the way CLIP
        Text Encode does; without one, the positive / negative CONDITIONING inputs are the prompt."""
        if self.clip is None:
            if prompt or negative_prompt:
                raise SketchError(
                    f"ComfyUI Video Prior has no CLIP connected, so it cannot encode the prompt typed in the Animate "
                    f"node ({(prompt or negative_prompt)[:60]!r}). Either connect the model's text encoder (Load CLIP) "
                    "to the prior's clip input so that prompt is used, or clear the Animate node's prompt (and "
                    "negative prompt) to animate with the prior's positive / negative CONDITIONING.")
            return
        encode = lambda text: self.clip.encode_from_tokens_scheduled(self.clip.tokenize(text))  # noqa: E731
        self.positive = encode(prompt) if prompt else self.given[0]
        self.negative = encode(negative_prompt) if negative_prompt else self.given[1]
        for m in self.experts():
            check_image_conditioning(m, self.positive, self.negative)

    def experts(self) -> list:
        """The ModelPatchers the prior scores with: [model] or [model (high noise), model_low_noise]."""
        return [self.model] + ([self.model_low_noise] if self.model_low_noise is not None else [])

    def expert_for(self, sigma: float):
        """The ModelPatcher that scores a draw at this sigma (Wan 2.2: t >= boundary * 1000 -> high noise)."""
        if self.model_low_noise is None or sigma >= self.boundary:
            return self.model
        return self.model_low_noise

    def fingerprint(self) -> str:
        """Identifies what the prior scores against (model, patches, conditioning) for resumable runs."""
        import hashlib

        h = hashlib.sha256(self.name.encode())
        for m in self.experts():
            h.update(str(getattr(m, "patches_uuid", "")).encode())
        for cond in self.given:
            for c in cond:
                h.update(c[0].detach().float().cpu().numpy().tobytes())
        return h.hexdigest()

    def frames_to_render(self, num_frames: int) -> int:
        """How many frames a trainer should render for a clip of num_frames: the VAE's next valid count
        (Wan: 4k+1, 24 -> 25), so the motion field is sampled at exactly the frames the model sees."""
        return frames_to_encode(num_frames, self.rule.temporal)

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, ...]:
        r = self.rule
        h, w = height // r.spatial, width // r.spatial
        if r.video:
            return (1, r.latent_channels, latent_frames(frames_to_encode(num_frames, r.temporal), r.temporal), h, w)
        if self.per_frame:
            return (1, r.latent_channels, num_frames, h, w)
        return (num_frames, r.latent_channels, h, w)

    def describe(self, num_frames: int, height: int, width: int) -> str:
        shape = "x".join(map(str, self.latent_shape(num_frames, height, width)))
        how = " (image VAE on a video model: frames encoded one by one, stacked on the time axis)" if self.per_frame else ""
        return (f"{self.rule.describe()}{how}: {describe_frames(num_frames, self.rule)}; {width}x{height} px -> "
                f"latent {shape}")

    def check_video(self, num_frames: int, height: int, width: int) -> None:
        s = self.rule.spatial
        if num_frames < 1:
            raise SketchError("The video needs at least one frame.")
        if height % s or width % s:
            raise SketchError(f"This VAE needs frame sizes that are multiples of {s} px; got {width}x{height}. "
                              f"Set render_size to a multiple of {s} (e.g. {max(s, round(max(height, width) / s) * s)}).")
        shape = self.latent_shape(num_frames, height, width)
        exact = any(start_image_spans_every_frame(m) for m in self.experts())
        for cond in (self.positive, self.negative):  # Wan's image-to-video start image must span the same latent frames
            for c in cond:
                image = c[1].get("concat_latent_image")
                if exact and image is not None and image.ndim == 5 and len(shape) == 5 and image.shape[2] != shape[2]:
                    E = frames_to_encode(num_frames, self.rule.temporal)
                    raise SketchError(
                        f"The start image in the CONDITIONING spans {image.shape[2]} latent frames but the prior "
                        f"encodes {E} frames ({shape[2]} latent frames): set the image-to-video node's length to {E}.")
        self._shape = shape
        log.info("ComfyUI Video Prior: %s; %s", self.describe(num_frames, height, width), self.levels.describe())

    # ------------------------------------------------------------- the guider
    def run(self, fn):
        """Run fn() inside CFGGuider(model).sample with a sampler whose sample() is fn (with a low-noise expert:
        inside both experts' guiders, nested); return fn's result."""
        import comfy.model_management

        if self._shape is None:
            raise SketchError("Call prior.check_video(frames, height, width) before prior.run(fn).")
        with torch.inference_mode(False), torch.enable_grad():
            vae = self.vae
            # once per run, inside the grad region: copies hold normal tensors, not inference tensors
            self._encoder = _encoder_copy(vae.first_stage_model, vae.device, vae.vae_dtype)
            self._latent_format = copy.deepcopy(self.model.model.latent_format)  # Wan: per-channel mean / std
            try:
                return self._inside_guiders(self.experts(), fn)
            finally:
                self._encoder = self._latent_format = None
                self._guided, self._active, self._on_device = {}, None, None
                comfy.model_management.soft_empty_cache()

    def _inside_guiders(self, patchers: list, fn):
        """fn() inside CFGGuider(p).sample for every p in patchers, the first outermost; while inside,
        self._guided[id(p)] holds that guider's model_wrap, extra_args and what reloading it needs."""
        import comfy.samplers

        if not patchers:
            self._on_device = self.experts()[-1]  # the last guider entered loaded it
            return fn()
        patcher, rest = patchers[0], patchers[1:]
        result = {}
        prior = self

        class _LoopSampler(comfy.samplers.Sampler):
            def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
                       disable_pbar=False):
                prior._guided[id(patcher)] = _Guided(patcher, model_wrap, extra_args, tuple(noise.shape))
                if patcher is prior.model:
                    prior._active = (model_wrap, extra_args)
                try:
                    result["value"] = prior._inside_guiders(rest, fn)
                finally:
                    prior._guided.pop(id(patcher), None)
                    if patcher is prior.model:
                        prior._active = None
                return torch.zeros_like(noise)

        ms = patcher.get_model_object("model_sampling")
        sigmas = torch.tensor([float(ms.percent_to_sigma(self.start)), float(ms.percent_to_sigma(self.end))])
        guider = comfy.samplers.CFGGuider(patcher)
        guider.set_conds(self.positive, self.negative)
        guider.set_cfg(self.cfg or 1.0)
        dummy = torch.zeros(self._shape)
        guider.sample(dummy, dummy.clone(), _LoopSampler(), sigmas, seed=self.seed, disable_pbar=True)
        return result.get("value")

    def _guider_for(self, sigma: float) -> "_Guided":
        """The active guider of the expert for this sigma, its model (re)loaded by ComfyUI when the last draw
        used the other expert (ComfyUI may have offloaded it to make room)."""
        patcher = self.expert_for(sigma)
        guided = self._guided[id(patcher)]
        if len(self._guided) > 1 and patcher is not self._on_device:
            guided.load()
            self._on_device = patcher
        return guided

    # ------------------------------------------------------------- encode
    def _encode_pixels(self, x: Tensor) -> Tensor:
        import comfy.model_management

        try:
            return self._encoder.encode(x).float()
        except Exception as e:  # noqa: BLE001 - only out-of-memory is translated; everything else re-raises
            if not is_oom(e):
                raise
        # raised outside the handler, so the failed attempt's tensors are freed first
        comfy.model_management.soft_empty_cache()
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
        if self.per_frame:
            lat = lat.movedim(0, 1).unsqueeze(0)  # [T, C, h, w] -> [1, C, T, h, w] for the video model
        return self._latent_format.process_in(lat.to(self.device))  # = model.model.process_latent_in

    # ------------------------------------------------------------- sds
    def sds_loss(self, frames: Tensor, *, guidance_scale: float = 30.0, generator: torch.Generator | None = None):
        """(loss, stats) for frames [T,H,W,3] in 0..1; call inside run(fn) (the trainer does).

        The adapter only predicts x0 (ComfyUI's guider: CFG-combined denoised latent); the rest is
        core.guidance.sds.ScoreDistillation.step_x0. Frames at a count the VAE cannot take are spread
        over the next valid count (frame_rules.resample_frames); trainers render that count directly
        (frames_to_render). Cancel is honoured between steps (the progress bar checks it); an
        interruption inside a step is handled by the trainer's run, which keeps the last whole step.
        """
        validate_frames(frames)
        if self._active is None:
            raise SketchError("The ComfyUI prior computes its loss inside ComfyUI's sampler: call it within "
                              "prior.run(fn) (core.pipelines.animate.run_inside does).")
        T = frames.shape[0]
        E = frames_to_encode(T, self.rule.temporal)
        video = resample_frames(frames, frame_index_map(T, E)) if self.rule.video and E != T else frames
        z = self.encode(video)

        ms = self.model.get_model_object("model_sampling")
        sigma, ddpm_t = self.levels.sample(generator)
        guided = self._guider_for(sigma)
        model_wrap, extra_args = guided.model_wrap, guided.extra_args
        a, s = noise_coefficients(ms.noise_scaling, sigma)
        level = NoiseLevel(alpha=a, sigma=s, timestep=float(ms.timestep(torch.tensor([sigma])).reshape(-1)[0]))
        cfg = self.cfg or float(guidance_scale)

        def predict_x0(z_t: Tensor, _level: NoiseLevel) -> Tensor:
            sig = torch.full((z_t.shape[0],), sigma, device=z_t.device, dtype=torch.float32)
            setattr(model_wrap, "cfg", cfg)  # the CFGGuider itself; read at every call
            return model_wrap(z_t, sig, **extra_args)

        sds = ScoreDistillation(None, self.weighting)
        loss, stats = sds.step_x0(z, predict_x0, guidance_scale=cfg, generator=generator, level=level)
        stats.update(encoded_frames=E, ddpm_t=ddpm_t, model_sigma=sigma)
        if self.model_low_noise is not None:
            stats["expert"] = "high_noise" if model_wrap.model_patcher is self.model else "low_noise"
        return loss, stats
