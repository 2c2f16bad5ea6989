"""Text-to-video priors from diffusers: ModelScope (LiveSketch's model) and ZeroScope.

Both are eps-prediction UNet3DConditionModel + Stable Diffusion AutoencoderKL +
CLIP text encoder, loaded component by component from a diffusers folder
(model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/).

Per SDS step: frames [T, H, W, 3] in 0..1 -> [-1, 1] -> VAE encoder WITH gradient
-> latent_dist sample * scaling_factor -> z [1, 4, T, H/8, W/8] -> one UNet call
with batch 2 (negative/unconditional + prompt) -> ScoreDistillation.step_eps.

Memory: the encoder runs in chunks of `vae_chunk` frames, each under activation
checkpointing, so backward keeps only the chunk inputs and recomputes one chunk at
a time (the reference encodes all 24 frames at once with every activation kept).
Text embeddings are computed once per (prompt, negative prompt) and cached.

    prior = load_diffusers_prior("modelscope", search_dirs=[comfy_models / "diffusers"])
    prior.prepare("a galloping horse", "")
    loss, stats = prior.sds_loss(frames, guidance_scale=30.0, generator=g)

diffusers / transformers are imported inside functions only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import torch
from torch import Tensor

from ..errors import SketchError
from ..models import DIFFUSERS_ALIASES, DIFFUSERS_COMPONENTS, find_diffusers
from .prior import validate_frames
from .sds import DiscreteSchedule, ScoreDistillation

# (frames, (width, height)) each model was trained on
MODEL_HINTS = {
    "damo-vilab/text-to-video-ms-1.7b": (24, (256, 256)),
    "cerspense/zeroscope_v2_576w": (24, (576, 320)),
}
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


# ------------------------------------------------------------------ locating
# find_model(model, search_dirs=(), allow_download=False) -> Path: the path; `model` or an alias ("modelscope",
# "zeroscope") inside `search_dirs`; the Hugging Face cache; a download only if allowed (core.models).
find_model = find_diffusers


def _variant(folder: Path) -> str | None:
    """'fp16' when a component folder only holds fp16-variant weights (as the ModelScope repo may)."""
    files = [f.name for f in folder.glob("*") if f.suffix in (".safetensors", ".bin")]
    plain = [f for f in files if len(f.split(".")) == 2]
    return "fp16" if not plain and any(".fp16." in f for f in files) else None


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """'auto' = fp16 on CUDA, fp32 elsewhere."""
    if precision not in PRECISIONS:
        raise SketchError(f"Unknown precision {precision!r}; use one of {PRECISIONS}.")
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def load_diffusers_prior(
    model: str | os.PathLike = "damo-vilab/text-to-video-ms-1.7b",
    *,
    search_dirs: Iterable = (),
    device=None,
    precision: str = "auto",
    allow_download: bool = False,
    **prior_kwargs,
) -> "DiffusersVideoPrior":
    """Find (see find_model) and load a diffusers text-to-video model as a VideoPrior.

    prior_kwargs go to DiffusersVideoPrior (t_min, t_max, weighting, vae_chunk, ...).
    """
    path = find_model(model, search_dirs, allow_download)
    missing = [c for c in DIFFUSERS_COMPONENTS if not (path / c).is_dir()]
    if missing:
        raise SketchError(
            f"{path} lacks {', '.join(m + '/' for m in missing)}; a text-to-video folder needs {', '.join(DIFFUSERS_COMPONENTS)}."
        )
    unet_cfg = json.loads((path / "unet" / "config.json").read_text())
    if unet_cfg.get("_class_name") != "UNet3DConditionModel":
        raise SketchError(
            f"{path} holds a {unet_cfg.get('_class_name')}, not a UNet3DConditionModel text-to-video model "
            "(use ModelScope damo-vilab/text-to-video-ms-1.7b or ZeroScope cerspense/zeroscope_v2_576w)."
        )
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = resolve_precision(precision, dev)

    from diffusers import AutoencoderKL, DDPMScheduler, UNet3DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    kw = dict(torch_dtype=dtype, local_files_only=True)
    unet = UNet3DConditionModel.from_pretrained(path, subfolder="unet", variant=_variant(path / "unet"), **kw)
    vae = AutoencoderKL.from_pretrained(path, subfolder="vae", variant=_variant(path / "vae"), **kw)
    text_encoder = CLIPTextModel.from_pretrained(
        path, subfolder="text_encoder", variant=_variant(path / "text_encoder"), dtype=dtype, local_files_only=True
    )
    tokenizer = CLIPTokenizer.from_pretrained(path, subfolder="tokenizer", local_files_only=True)
    scheduler = DDPMScheduler.from_pretrained(path, subfolder="scheduler", local_files_only=True)
    name = DIFFUSERS_ALIASES.get(str(model).lower(), str(model))
    frames_hint, size_hint = trained_on(path, name, unet_sample_size=int(unet.config.sample_size),
                                        vae_factor=2 ** (len(vae.config.block_out_channels) - 1))
    prior_kwargs.setdefault("num_frames_hint", frames_hint)
    prior_kwargs.setdefault("size_hint", size_hint)
    return DiffusersVideoPrior(
        unet, vae, text_encoder, tokenizer, scheduler.alphas_cumprod,
        prediction_type=scheduler.config.prediction_type, device=dev, name=name, **prior_kwargs,
    )


def trained_on(path: Path, name: str, *, unet_sample_size: int, vae_factor: int):
    """(frames, (width, height)) a model was trained on, for the prior's num_frames_hint / size_hint.

    A known model by its hub id (also when found as a folder or in the HF cache), else the folder's
    training.json ("frames", "size": the pack's learned priors write it), else (None, the UNet's square
    sample size in px).
    """
    for hub_id, hints in MODEL_HINTS.items():
        if name == hub_id or path.name == hub_id.split("/")[-1] or "models--" + hub_id.replace("/", "--") in path.parts:
            return hints
    info = path / "training.json"
    if info.is_file():
        meta = json.loads(info.read_text())
        if meta.get("frames") and meta.get("size"):
            return int(meta["frames"]), (int(meta["size"]), int(meta["size"]))
    side = unet_sample_size * vae_factor
    return None, (side, side)


# ---------------------------------------------------------------------- prior
def text_condition(unet, text_embeddings: Tensor) -> dict:
    """Extra UNet inputs for a UNet3D that also takes the pooled caption (the mean of the text encoder's hidden
    states) through its timestep embedding, as the pack's learned prior may (scripts/train_motion_prior.py
    --text-film): {"timestep_cond": ...} when its `time_cond_proj_dim` is the text width, else {} (ModelScope)."""
    dim = getattr(unet.config, "time_cond_proj_dim", None)
    if dim is None or dim != text_embeddings.shape[-1]:
        return {}
    return {"timestep_cond": text_embeddings.mean(1)}


class DiffusersVideoPrior:
    """VideoPrior over diffusers components (see the module docstring).

    vae_chunk: frames per encoder chunk; checkpoint_vae: recompute each chunk in
    backward instead of storing its activations; sample_latent: latent_dist.sample()
    (LiveSketch) or its mean.
    """

    def __init__(self, unet, vae, text_encoder, tokenizer, alphas_cumprod, *, prediction_type: str = "epsilon",
                 device=None, t_min: int = 50, t_max: int = 948, weighting: str = "1-alpha_bar",
                 vae_chunk: int = 4, checkpoint_vae: bool = True, sample_latent: bool = True,
                 num_frames_hint: int | None = 24, size_hint: tuple[int, int] | None = (256, 256), name: str = ""):
        if prediction_type not in ("epsilon", "v_prediction"):
            raise SketchError(f"Unsupported prediction type {prediction_type!r} (expected epsilon or v_prediction).")
        if vae_chunk < 1:
            raise SketchError(f"vae_chunk must be >= 1, got {vae_chunk}.")
        self.device = torch.device(device) if device is not None else next(unet.parameters()).device
        self.unet, self.vae, self.text_encoder, self.tokenizer = unet, vae, text_encoder, tokenizer
        for m in (unet, vae, text_encoder):
            m.to(self.device).eval().requires_grad_(False)
        self.dtype = next(unet.parameters()).dtype
        self.vae_dtype = next(vae.parameters()).dtype
        self.prediction_type = prediction_type
        self.sds = ScoreDistillation(DiscreteSchedule(alphas_cumprod, t_min, t_max), weighting)
        self.vae_chunk, self.checkpoint_vae, self.sample_latent = int(vae_chunk), bool(checkpoint_vae), bool(sample_latent)
        self.scaling_factor = float(vae.config.scaling_factor)
        self.shift_factor = float(getattr(vae.config, "shift_factor", None) or 0.0)
        self.vae_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.num_frames_hint, self.size_hint, self.name = num_frames_hint, size_hint, name
        self._embeds: dict[tuple[str, str], Tensor] = {}
        self._current: Tensor | None = None

    # ------------------------------------------------------------------ text
    def fingerprint(self) -> str:
        """Identifies the model and its settings (a resumed run must use the same prior)."""
        sch = self.sds.schedule
        return f"diffusers:{self.name}:{self.dtype}:t{sch.t_min}-{sch.t_max}:{self.sds.weighting}"

    @torch.no_grad()
    def prepare(self, prompt: str, negative_prompt: str = "") -> None:
        """Encode [negative, prompt] in one batch; cached per pair."""
        key = (str(prompt), str(negative_prompt or ""))
        if key not in self._embeds:
            tok = self.tokenizer(
                [key[1], key[0]], padding="max_length", max_length=self.tokenizer.model_max_length,
                truncation=True, return_tensors="pt",
            )
            self._embeds[key] = self.text_encoder(tok.input_ids.to(self.device))[0].to(self.dtype)
        self._current = self._embeds[key]

    # ---------------------------------------------------------------- checks
    def check_video(self, num_frames: int, height: int, width: int) -> None:
        f = self.vae_factor
        if num_frames < 1:
            raise SketchError("The video needs at least one frame.")
        if height % f or width % f:
            raise SketchError(f"{self.name or 'This model'} needs frame sizes divisible by {f}; got {width}x{height}.")

    # ---------------------------------------------------------------- encode
    def _encode_chunk(self, x: Tensor) -> tuple[Tensor, Tensor]:
        dist = self.vae.encode(x).latent_dist
        return dist.mean, dist.std

    def encode_frames(self, frames: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """[T, H, W, 3] 0..1 -> scaled latents [1, C, T, h, w] (float32, differentiable)."""
        x = frames.to(self.device, self.vae_dtype).permute(0, 3, 1, 2) * 2 - 1
        outs = []
        for chunk in x.split(self.vae_chunk):
            if self.checkpoint_vae and chunk.requires_grad:
                from torch.utils.checkpoint import checkpoint

                mean, std = checkpoint(self._encode_chunk, chunk, use_reentrant=False)
            else:
                mean, std = self._encode_chunk(chunk)
            if self.sample_latent:
                dev = generator.device if generator is not None else mean.device
                noise = torch.randn(mean.shape, generator=generator, device=dev, dtype=torch.float32).to(mean.device)
                outs.append(mean.float() + std.float() * noise)
            else:
                outs.append(mean.float())
        lat = torch.cat(outs)  # [T, C, h, w]
        lat = (lat - self.shift_factor) * self.scaling_factor
        return lat.permute(1, 0, 2, 3).unsqueeze(0)

    # ------------------------------------------------------------------- sds
    def _predict_eps(self, z_t: Tensor, level) -> tuple[Tensor, Tensor]:
        emb = self._current
        t = torch.full((2,), int(level.index), device=self.device, dtype=torch.long)
        out = self.unet(torch.cat([z_t, z_t]).to(self.dtype), t, encoder_hidden_states=emb,
                        **text_condition(self.unet, emb)).sample.float()
        if self.prediction_type == "v_prediction":
            out = level.alpha * out + level.sigma * torch.cat([z_t, z_t])
        uncond, cond = out.chunk(2)
        return uncond, cond

    def sds_loss(self, frames: Tensor, *, guidance_scale: float = 30.0, generator: torch.Generator | None = None):
        """(loss, stats) for rendered frames [T, H, W, 3] in 0..1 (see VideoPrior)."""
        validate_frames(frames)
        self.check_video(*frames.shape[:3])
        if self._current is None:
            raise SketchError("Call prior.prepare(prompt, negative_prompt) before computing the SDS loss.")
        z = self.encode_frames(frames, generator)
        return self.sds.step_eps(z, self._predict_eps, guidance_scale=guidance_scale, generator=generator)
