"""Tiny random ComfyUI models (Wan 2.1 text-to-video), built with ComfyUI's own classes.

Needs ComfyUI importable (COMFYUI_PATH on sys.path); comfy is imported inside the builders.
"""

from __future__ import annotations

import torch

TEXT_DIM = 4096  # umt5-xxl embedding width (Wan's text_dim)
TINY_WAN = dict(dim=128, ffn_dim=256, num_layers=1, num_heads=1)  # one head, one block
FULL_WAN_1_3B = dict(dim=1536, ffn_dim=8960, num_layers=30, num_heads=12)


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Deterministic random weights (ComfyUI's ops skip initialisation): norms 1, biases 0, the rest ~ N(0, 1/fan_in)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
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


def tiny_wan_state_dict(seed: int = 0, dims: dict | None = None) -> dict:
    """fp16 state dict of a Wan 2.1 T2V transformer (ComfyUI's WanModel; TINY_WAN size by default)."""
    import comfy.ldm.wan.model as wan_model
    import comfy.ops as ops

    m = wan_model.WanModel(model_type="t2v", in_dim=16, out_dim=16, text_dim=TEXT_DIM,
                           operations=ops.disable_weight_init, **(dims or TINY_WAN))
    randomize(m, seed)
    return {k: v.to(torch.float16) for k, v in m.state_dict().items()}


def wan_vae_state_dict(seed: int = 1) -> dict:
    """State dict of the Wan 2.1 VAE architecture (as comfy.sd.VAE builds it for those keys), random weights."""
    import comfy.ldm.wan.vae as wan_vae

    v = wan_vae.WanVAE(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                       temperal_downsample=[False, True, True])
    randomize(v, seed)
    return {k: v.to(torch.float16) for k, v in v.state_dict().items()}


def conditioning(seed: int) -> list:
    """ComfyUI CONDITIONING: random umt5-sized text embeddings [1, 8, TEXT_DIM]."""
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 8, TEXT_DIM, generator=g), {}]]


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
