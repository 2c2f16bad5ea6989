"""Tiny random ComfyUI models, built with ComfyUI's own classes.

Wan 2.1 text-to-video (tiny_wan_state_dict, wan_vae_state_dict), Wan 2.2 A14B-shaped expert pairs
(load_tiny_wan_experts) and every text-to-video family
ComfyUI 0.3.64 loads (TINY_FAMILIES, load_tiny_family: Wan 2.1, Wan 2.2 TI2V-5B, LTX-Video,
HunyuanVideo, Mochi, Cosmos-1, Cosmos-Predict2).
Needs ComfyUI importable (COMFYUI_PATH on sys.path); comfy is imported inside the builders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from unittest import mock

import torch

TEXT_DIM = 4096  # umt5-xxl embedding width (Wan's text_dim)
TINY_WAN = dict(dim=128, ffn_dim=256, num_layers=1, num_heads=1)  # one head, one block
FULL_WAN_1_3B = dict(dim=1536, ffn_dim=8960, num_layers=30, num_heads=12)


def randomize(module: torch.nn.Module, seed: int, skip: tuple[str, ...] = ()) -> None:
    """Deterministic random weights (ComfyUI's ops skip initialisation): norms 1, biases 0, the rest ~ N(0, 1/fan_in);
    parameters whose names start with a prefix in `skip` are left as they are."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith(skip):
                continue
            leaf = name.rsplit(".", 1)[-1]
            if p.ndim == 0:  # scalars (TAESD's vae_scale / vae_shift): set by the caller
                continue
            if "norm" in name and leaf == "weight" or leaf == "gamma":
                p.fill_(1.0)
            elif leaf == "bias":
                p.zero_()
            else:
                fan_in = p[0].numel() if p.ndim > 1 else p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)


def tiny_wan_state_dict(seed: int = 0, dims: dict | None = None, channels: int = 16, model_type: str = "t2v",
                        in_dim: int | None = None) -> dict:
    """fp16 state dict of a Wan transformer (ComfyUI's WanModel; TINY_WAN size by default); channels 48 is the
    Wan 2.2 TI2V-5B layout (ComfyUI detects WAN22_T2V from out_dim 48); model_type "i2v" is Wan 2.1 I2V (input:
    latent + start-image latent + 4 mask channels, a CLIP-vision projection; detected as WAN21_I2V); with in_dim 48
    it is a Wan 2.1 Fun Control model (latent + control latent + start-image latent; WAN21_FunControl2V)."""
    import comfy.ldm.wan.model as wan_model
    import comfy.ops as ops

    in_dim = in_dim or (2 * channels + 4 if model_type == "i2v" else channels)
    m = wan_model.WanModel(model_type=model_type, in_dim=in_dim, out_dim=channels, text_dim=TEXT_DIM,
                           operations=ops.disable_weight_init, **(dims or TINY_WAN))
    randomize(m, seed)
    return {k: v.to(torch.float16) for k, v in m.state_dict().items()}


def load_tiny_wan_experts(seed_high: int = 0, seed_low: int = 10, model_type: str = "t2v"):
    """(high-noise, low-noise) ModelPatchers shaped like Wan 2.2 A14B's two experts (each a Wan 2.1-layout
    transformer, here TINY_WAN with different random weights), loaded as Load Diffusion Model does."""
    import comfy.sd as comfy_sd

    return tuple(comfy_sd.load_diffusion_model_state_dict(tiny_wan_state_dict(seed, model_type=model_type))
                 for seed in (seed_high, seed_low))


def wan_vae_state_dict(seed: int = 1) -> dict:
    """State dict of the Wan 2.1 VAE architecture (as comfy.sd.VAE builds it for those keys), random weights."""
    import comfy.ldm.wan.vae as wan_vae

    v = wan_vae.WanVAE(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                       temperal_downsample=[False, True, True])
    randomize(v, seed)
    return {k: v.to(torch.float16) for k, v in v.state_dict().items()}


def conditioning(seed: int, text_dim: int = TEXT_DIM, pooled: int = 0, mask: bool = False) -> list:
    """ComfyUI CONDITIONING: random text embeddings [1, 8, text_dim] (umt5-sized by default); `pooled`: a
    pooled_output [1, pooled] (HunyuanVideo's CLIP-L, 768); `mask`: the T5 attention_mask [1, 8] that LTX-Video's
    and Mochi's text encoders return (their transformers require it)."""
    g = torch.Generator().manual_seed(seed)
    extra = {}
    if pooled:
        extra["pooled_output"] = torch.randn(1, pooled, generator=g)
    if mask:
        extra["attention_mask"] = torch.ones(1, 8, dtype=torch.long)
    return [[torch.randn(1, 8, text_dim, generator=g), extra]]


def taesd_state_dict(seed: int = 2, latent_channels: int = 16) -> dict:
    """fp16 state dict of ComfyUI's TAESD (an image VAE, 8x spatial) at `latent_channels`, random weights;
    comfy.sd.VAE(sd=...) builds a TAESD for it and reads latent_channels from taesd_decoder.1.weight."""
    import comfy.taesd.taesd as taesd

    v = taesd.TAESD(latent_channels=latent_channels)
    randomize(v, seed)
    with torch.no_grad():
        v.vae_scale.fill_(1.0)
        v.vae_shift.zero_()
    return {k: t.to(torch.float16) for k, t in v.state_dict().items()}


@torch.no_grad()
def sample_flow_prior(model, vae, prompts, num: int = 4, *, steps: int = 20, cfg: float = 5.0, seed: int = 0,
                      num_frames: int = 8, size: int = 64, folder: str | Path | None = None,
                      negatives=None) -> torch.Tensor:
    """Sample videos from the loaded flow prior (a ComfyUI ModelPatcher and comfy.sd.VAE) with ComfyUI's
    own KSampler (euler, simple schedule; negative prompt "" unless `negatives` gives one per prompt),
    `num` per prompt -> frames [len(prompts) * num, T, H, W, 3] in 0..1 (prompt-major). Needs ComfyUI."""
    import comfy.sample

    from ..core.guidance.learned_flow_prior import flow_conditioning

    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    negatives = [""] * len(prompts) if negatives is None else list(negatives)
    channels = model.model.latent_format.latent_channels
    out = []
    for i, p in enumerate(prompts):
        pos, neg = flow_conditioning(p, folder), flow_conditioning(negatives[i], folder)
        g = torch.Generator().manual_seed(int(seed) * 1000 + i)
        noise = torch.randn(num, channels, num_frames, size // 8, size // 8, generator=g)
        lat = comfy.sample.sample(model, noise, steps, cfg, "euler", "simple", pos, neg, torch.zeros_like(noise),
                                  seed=int(seed), disable_pbar=True)
        frames = lat.float().movedim(2, 1).flatten(0, 1)  # [num * T, C, h, w]: the VAE works per frame
        img = vae.decode(frames).float().reshape(num, num_frames, size, size, -1)
        out.append(img[..., :3].clamp(0, 1).cpu())
    return torch.cat(out)


# ----------------------------------------------------------------- every text-to-video family of ComfyUI 0.3.64
@dataclass(frozen=True)
class TinyFamily:
    """How to build one family tiny. unet_config: what comfy.model_detection reports for the tiny state dict
    (sized_by_detection False: detection hard-codes the full size for this family, so the tiny load overrides
    detect_unet_config's answer and nothing else). vae_probe: the keys comfy.sd.VAE detects the family by
    (kept in the state dict when the module does not save them, as real files hold them)."""

    name: str
    model_class: str  # comfy.supported_models class ComfyUI picks
    vae_family: str  # key of core.guidance.frame_rules.VAE_FAMILIES
    unet_config: dict | None
    vae_probe: dict = field(default_factory=dict)
    vae_metadata: dict | None = None
    text_dim: int = TEXT_DIM
    pooled: int = 0
    mask: bool = False
    sized_by_detection: bool = True


_WAN21_VAE_PROBE = {"decoder.middle.0.residual.0.gamma": (1024, 1, 1, 1)}
_LTXV_VAE = {  # LTX-Video's VideoVAE from the file's metadata config: 3 compressions after patch 4 = 8x32x32, width 128
    "dims": 3, "latent_channels": 128, "patch_size": 4, "norm_layer": "pixel_norm", "scaling_factor": 1.0,
    "blocks": [["res_x", 1], ["compress_all", 1], ["compress_all", 1], ["compress_all", 1], ["res_x", 1]],
}
_COSMOS_DIT = dict(max_img_h=240, max_img_w=240, max_frames=128, in_channels=16, out_channels=16, patch_spatial=2,
                   patch_temporal=1, model_channels=128, concat_padding_mask=True, pos_emb_cls="rope3d",
                   pos_emb_interpolation="crop", use_adaln_lora=True, adaln_lora_dim=256, num_blocks=1, num_heads=1)

TINY_FAMILIES = {
    "wan2.1": TinyFamily("Wan 2.1 T2V", "WAN21_T2V", "wan2.1", None, _WAN21_VAE_PROBE),
    "wan2.2": TinyFamily("Wan 2.2 TI2V-5B", "WAN22_T2V", "wan2.2", None, {
        "decoder.middle.0.residual.0.gamma": (1024, 1, 1, 1),
        "decoder.upsamples.0.upsamples.0.residual.2.weight": (1024, 1024, 3, 3, 3)}),
    "ltxv": TinyFamily("LTX-Video", "LTXV", "ltxv", dict(  # 32 heads of width 4
        image_model="ltxv", num_layers=1, attention_head_dim=4, cross_attention_dim=128),
        {"decoder.up_blocks.0.res_blocks.0.conv1.conv.weight": (512, 512, 3, 3, 3)},
        vae_metadata={"config": {"vae": _LTXV_VAE}}, mask=True),
    "hunyuan": TinyFamily("HunyuanVideo", "HunyuanVideo", "hunyuan", dict(
        image_model="hunyuan_video", in_channels=16, out_channels=16, patch_size=[1, 2, 2], vec_in_dim=768,
        axes_dim=[16, 56, 56], meanflow=False, context_in_dim=TEXT_DIM, hidden_size=128, mlp_ratio=4.0, num_heads=1,
        depth=1, depth_single_blocks=1, theta=256, qkv_bias=True, byt5=False, guidance_embed=True),
        {"decoder.conv_in.conv.weight": (512, 16, 3, 3, 3), "post_quant_conv.weight": (16, 16, 1, 1, 1)}, pooled=768),
    "mochi": TinyFamily("Mochi", "GenmoMochi", "mochi", dict(  # the DiT asserts an MLP width of 1536 * 8: ratio 96
        image_model="mochi_preview", depth=1, patch_size=2, num_heads=1, hidden_size_x=128, hidden_size_y=64,
        mlp_ratio_x=96.0, mlp_ratio_y=4.0, learn_sigma=False, in_channels=12, qk_norm=True, qkv_bias=False,
        out_bias=True, attn_drop=0.0, patch_embed_bias=True, posenc_preserve_area=True, timestep_mlp_bias=True,
        attend_to_padding=False, timestep_scale=1000.0, use_t5=True, t5_feat_dim=TEXT_DIM, t5_token_length=256,
        rope_theta=10000.0),
        {"decoder.blocks.2.blocks.3.stack.5.weight": (768, 768, 1, 1, 1),
         "encoder.layers.4.layers.1.attn_block.attn.qkv.weight": (2304, 768)}, mask=True, sized_by_detection=False),
    "cosmos1": TinyFamily("Cosmos-1 T2V", "CosmosT2V", "cosmos", dict(
        image_model="cosmos", block_config="FA-CA-MLP", pos_emb_learnable=False, block_x_format="THWBD",
        affline_emb_norm=True, extra_per_block_abs_pos_emb=True, rope_h_extrapolation_ratio=1.0,
        rope_w_extrapolation_ratio=1.0, rope_t_extrapolation_ratio=2.0, extra_per_block_abs_pos_emb_type="learnable",
        **_COSMOS_DIT),
        {"decoder.unpatcher3d.wavelets": (2,)}, text_dim=1024, sized_by_detection=False),
    "cosmos2": TinyFamily("Cosmos-Predict2 (text-to-image DiT on a video latent)", "CosmosT2IPredict2", "wan2.1", dict(
        image_model="cosmos_predict2", crossattn_emb_channels=1024, pos_emb_learnable=True, min_fps=1, max_fps=30,
        extra_per_block_abs_pos_emb=False, rope_h_extrapolation_ratio=4.0, rope_w_extrapolation_ratio=4.0,
        rope_t_extrapolation_ratio=1.0, **_COSMOS_DIT),
        _WAN21_VAE_PROBE, text_dim=1024, sized_by_detection=False),
}


def tiny_diffusion_state_dict(family: str, seed: int = 0) -> dict:
    """fp16 state dict of the family's diffusion model at its tiny size (ComfyUI's own model class for its config)."""
    import comfy.model_detection as md

    spec = TINY_FAMILIES[family]
    if spec.unet_config is None:  # Wan: WanModel directly
        return tiny_wan_state_dict(seed, channels=48 if family == "wan2.2" else 16)
    config = md.model_config_from_unet_config(dict(spec.unet_config))
    if config is None or type(config).__name__ != spec.model_class:
        raise RuntimeError(f"ComfyUI does not map {family}'s config to {spec.model_class} (got {config!r})")
    dm = config.get_model({}, "").diffusion_model
    randomize(dm, seed)
    return {k: v.to(torch.float16) for k, v in dm.state_dict().items()}


def load_tiny_diffusion_model(family: str, sd: dict):
    """comfy.sd.load_diffusion_model_state_dict (Load Diffusion Model) on a tiny state dict; for families whose
    detection hard-codes the full size (Mochi, Cosmos) only detect_unet_config's answer is replaced by the tiny
    config."""
    import comfy.sd as comfy_sd

    spec = TINY_FAMILIES[family]
    if spec.sized_by_detection:
        return comfy_sd.load_diffusion_model_state_dict(sd)
    # patch the model_detection comfy.sd itself calls: after a test re-imports comfy (tests/conftest.py purges it
    # per module) sys.modules' comfy.model_detection can be a newer copy than the one comfy.sd holds
    with mock.patch.object(comfy_sd.model_detection, "detect_unet_config", lambda *a, **k: dict(spec.unet_config)):
        return comfy_sd.load_diffusion_model_state_dict(sd)


def _metadata(spec: TinyFamily) -> dict | None:
    import json

    return None if spec.vae_metadata is None else {k: json.dumps(v) for k, v in spec.vae_metadata.items()}


def tiny_vae_state_dict(family: str, seed: int = 1) -> dict:
    """State dict of the VAE comfy.sd.VAE builds for this family's keys (its fixed size, except LTX-Video's, which
    is read from the file's metadata config): random encoder weights, latent statistics identity (mean 0, std 1).
    Decoder weights are left out (encoding never reads their values; comfy.sd.VAE loads non-strictly and warns
    "Missing VAE keys"), except the detection keys (zeros): that halves the cost of the fixed-size VAEs."""
    import comfy.sd as comfy_sd

    spec = TINY_FAMILIES[family]
    probe = {k: torch.zeros(shape) for k, shape in spec.vae_probe.items()}
    with mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, sd, strict=True, **k: ([], [])):
        module = comfy_sd.VAE(sd=probe, metadata=_metadata(spec)).first_stage_model  # built, nothing loaded
    randomize(module, seed, skip=("decoder.",))
    out = {}
    for k, v in module.state_dict().items():
        if k.startswith("decoder."):
            if k in probe:
                out[k] = torch.zeros_like(v, dtype=torch.float16)
        elif "mean-of-means" in k or "latent_mean" in k:  # LTX-Video's per-channel statistics, Cosmos' latent mean
            out[k] = torch.zeros_like(v)
        elif "std-of-means" in k or "mean-of-stds" in k or "latent_std" in k:
            out[k] = torch.ones_like(v)
        else:
            out[k] = v.to(torch.float16)
    for k, v in probe.items():  # detection keys the module does not save (Cosmos' wavelets buffer)
        out.setdefault(k, v)
    return out


def load_tiny_family(family: str, seed: int = 0):
    """(model, vae, positive, negative) of a tiny random family, loaded as the loader nodes do (call it under
    torch.inference_mode() to get inference tensors, as in ComfyUI)."""
    import comfy.sd as comfy_sd

    spec = TINY_FAMILIES[family]
    model = load_tiny_diffusion_model(family, tiny_diffusion_state_dict(family, seed))
    vae = comfy_sd.VAE(sd=tiny_vae_state_dict(family, seed + 1), metadata=_metadata(spec))
    pos, neg = (conditioning(seed + i, spec.text_dim, spec.pooled, spec.mask) for i in (2, 3))
    return model, vae, pos, neg
