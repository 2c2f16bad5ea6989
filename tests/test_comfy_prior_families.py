"""ComfyUI Video Prior on every text-to-video family ComfyUI 0.3.64 loads (skipped unless COMFYUI_PATH is set).

    COMFYUI_PATH=/path/to/ComfyUI python -m pytest tests/test_comfy_prior_families.py -q

Per family (sketchmotion.testing.comfy_models.TINY_FAMILIES: Wan 2.1, Wan 2.2 TI2V-5B, LTX-Video,
HunyuanVideo, Mochi, Cosmos-1, Cosmos-Predict2) a tiny random diffusion model (one block, width
128) is built with ComfyUI's own model class and loaded by comfy.sd.load_diffusion_model_state_dict;
Mochi's and Cosmos' detection hard-codes the full size, so for those only detect_unet_config's
answer is the tiny config. The VAE is the one comfy.sd.VAE builds from the family's keys, at
ComfyUI's fixed size with random weights (LTX-Video's is read from the file's metadata config, so
it is small). One family's models live at a time (module-scoped parametrised fixture).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
import torch

from node_testing import LINE_SVG, node, run

from sketchmotion.testing.comfy_models import (
    TINY_FAMILIES,
    conditioning,
    load_tiny_family,
    randomize,
    tiny_vae_state_dict,
    tiny_wan_state_dict,
)

COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not (COMFYUI_PATH and (Path(COMFYUI_PATH) / "comfy" / "ldm" / "wan").is_dir()),
                       reason="set COMFYUI_PATH to a ComfyUI checkout (0.3.64 or later) to run these tests"),
]
FAMILIES = [f for f in TINY_FAMILIES if f != "wan2.1"]  # Wan 2.1: tests/test_comfy_prior_integration.py
LOG_NAMES = {"wan2.2": "Wan 2.2", "ltxv": "LTX-Video", "hunyuan": "HunyuanVideo", "mochi": "Mochi", "cosmos1": "Cosmos",
             "cosmos2": "Wan"}  # the VAE's name in the prior's log line (Cosmos-Predict2 uses the Wan 2.1 VAE)
FRAMES, SIZE = 4, 32  # Animate Sketch's frame count; 32 px is a multiple of every family's spatial factor


@pytest.fixture(scope="module")
def comfy_cpu(comfy):  # noqa: F811
    if not torch.cuda.is_available():
        import comfy.cli_args as cli_args

        cli_args.args.cpu = True
    return comfy


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, comfy_cpu):
    with torch.inference_mode():  # as the loader nodes run
        models = load_tiny_family(request.param)
    yield request.param, models
    del models
    gc.collect()


def prior_node(comfy, models, **kw):
    model, vae, pos, neg = models
    inputs = dict(model=model, vae=vae, positive=pos, negative=neg, cfg=0.0, start_percent=0.051,
                  end_percent=0.95, weighting="1-alpha_bar") | kw
    return run(node(comfy, "SketchMotionComfyVideoPrior"), **inputs).args[0]


# ------------------------------------------------------------------ tests

def assert_one_sds_pass_runs(prior) -> None:
    """One SDS pass of `prior` on random frames, inside its run(): a finite, non-zero gradient on the frames."""
    def body():
        x = torch.rand(FRAMES, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
        loss, stats = prior.sds_loss(x, guidance_scale=5.0, generator=torch.Generator().manual_seed(1))
        loss.backward()
        return x.grad, stats

    with torch.inference_mode():
        prior.check_video(FRAMES, SIZE, SIZE)
        grad, stats = prior.run(body)
    assert stats["finite"] and torch.isfinite(grad).all() and grad.abs().sum() > 0

def test_the_family_loads_as_comfyui_detects_it_and_the_prior_reads_its_frame_rule(comfy, family):
    from sketchmotion.core.errors import SketchError
    from sketchmotion.core.guidance.frame_rules import VAE_FAMILIES, frames_to_encode, latent_frames

    name, models = family
    spec = TINY_FAMILIES[name]
    model, vae = models[:2]
    assert type(model.model.model_config).__name__ == spec.model_class
    prior = prior_node(comfy, models)
    want = VAE_FAMILIES[spec.vae_family]
    got = prior.rule
    assert (got.temporal, got.spatial, got.latent_channels) == (want.temporal, want.spatial, want.latent_channels)
    assert got.video and not prior.per_frame
    assert got.name == LOG_NAMES[name] and prior.describe(FRAMES, SIZE, SIZE).startswith(f"{got.name} VAE takes ")
    E = frames_to_encode(FRAMES, want.temporal)
    assert prior.frames_to_render(FRAMES) == E
    assert prior.latent_shape(FRAMES, 64, 128) == (1, want.latent_channels, latent_frames(E, want.temporal),
                                                    64 // want.spatial, 128 // want.spatial)
    with pytest.raises(SketchError, match=f"multiples of {want.spatial}"):
        prior.check_video(FRAMES, want.spatial + 4, want.spatial)


def test_one_sds_pass_encodes_as_comfyui_does_and_reaches_the_frames(comfy, family):
    name, models = family
    model, vae = models[:2]
    prior = prior_node(comfy, models)
    E = prior.frames_to_render(FRAMES)
    video = torch.rand(E, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0))

    def body():
        z = prior.encode(video)
        x = video[:FRAMES].clone().requires_grad_(True)  # a count the VAE cannot take: spread over E frames
        loss, stats = prior.sds_loss(x, guidance_scale=5.0, generator=torch.Generator().manual_seed(1))
        loss.backward()
        return z.detach(), x.grad, stats

    with torch.inference_mode():
        prior.check_video(FRAMES, SIZE, SIZE)
        z, grad, stats = prior.run(body)
        own = model.model.process_latent_in(vae.encode(video)).float()  # ComfyUI's VAE Encode + the model's scaling
    assert z.shape == own.shape == prior.latent_shape(FRAMES, SIZE, SIZE)
    assert torch.allclose(z, own, atol=1e-3 * own.abs().max().item()), f"{name}: not ComfyUI's own latent"
    assert stats["finite"] and stats["encoded_frames"] == E and stats["grad_norm"] > 0
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_paper_noise_levels_have_the_papers_snr_through_the_models_own_sampling(comfy, family):
    from sketchmotion.core.guidance.frame_rules import ddpm_alpha_bar, noise_coefficients

    name, models = family
    ms = models[0].get_model_object("model_sampling")
    prior = prior_node(comfy, models)
    assert (prior.levels.t_lo, prior.levels.t_hi) == (50, 948)
    for t in (50, 499, 948):
        sigma = prior.levels.sigma_at(t)
        assert float(ms.sigma_min) <= sigma <= float(ms.sigma_max), f"{name}: t {t} -> sigma {sigma} off its range"
        z, eps = torch.randn(1, 4, 2, 2, dtype=torch.float64), torch.randn(1, 4, 2, 2, dtype=torch.float64)
        a, s = noise_coefficients(ms.noise_scaling, sigma)
        z_t = ms.noise_scaling(torch.tensor([sigma], dtype=torch.float64), eps, z.clone())
        assert torch.allclose(z_t, a * z + s * eps, atol=1e-10)
        assert a * a / (a * a + s * s) == pytest.approx(ddpm_alpha_bar(t), rel=1e-8)
    own = prior_node(comfy, models, noise_levels="model").levels  # the model's own schedule works as well
    g = torch.Generator().manual_seed(0)
    for sigma, t in (own.sample(g) for _ in range(20)):
        assert float(ms.sigma_min) <= sigma <= float(ms.sigma_max) and 0 <= t <= 999


def test_animate_sketch_runs_two_steps_with_the_family(comfy, family):
    name, models = family
    prior = prior_node(comfy, models)
    sk = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=LINE_SVG, normalize=64).args[0]
    out = run(node(comfy, "SketchMotionAnimateSketch"), sketch=sk, video_prior=prior, prompt="", frames=FRAMES, steps=2,
              fps=8.0, seed=0, guidance_local=30.0, guidance_global=40.0, motion="local only", render_size=SIZE)
    anim = out.args[0]
    assert anim.num_frames == FRAMES and anim.settings["steps_done"] == 2 and anim.settings["skipped_steps"] == 0
    assert torch.isfinite(anim.frames).all()
    assert (anim.frames - anim.sketch.points[None]).abs().amax().item() > 1e-4, f"{name}: the strokes did not move"


OTHER_16_CHANNEL_VAE = {"cosmos2": "cosmos1", "hunyuan": "wan2.1", "cosmos1": "hunyuan"}  # cosmos2: Wan 2.1 latents


def test_a_video_vae_of_another_family_with_as_many_channels_is_refused(comfy, family):
    """Wan 2.1, HunyuanVideo and Cosmos-1 VAEs all make 16 channels; their latent spaces differ."""
    import comfy.sd as comfy_sd

    from sketchmotion.core.errors import SketchError

    name, (model, _, pos, neg) = family
    other = OTHER_16_CHANNEL_VAE.get(name)
    if other is None:
        pytest.skip(f"{name}'s channel count is its own (the channel check refuses other VAEs)")
    with torch.inference_mode():
        vae = comfy_sd.VAE(sd=tiny_vae_state_dict(other))
    with pytest.raises(SketchError, match="latent spaces differ.*Connect the"):
        prior_node(comfy, (model, vae, pos, neg))


def test_an_image_to_video_model_needs_its_start_image_in_the_conditioning(comfy_cpu, comfy):
    """Wan 2.1 I2V without WanImageToVideo's concat_latent_image would be scored against a black start image:
    refused; with it (as WanImageToVideo makes it, at the prior's latent size) one SDS pass works."""
    import comfy.sd as comfy_sd

    from sketchmotion.core.errors import SketchError

    with torch.inference_mode():
        model = comfy_sd.load_diffusion_model_state_dict(tiny_wan_state_dict(model_type="i2v"))
        vae = comfy_sd.VAE(sd=tiny_vae_state_dict("wan2.1"))
    assert type(model.model.model_config).__name__ == "WAN21_I2V"
    pos, neg = conditioning(2), conditioning(3)
    with pytest.raises(SketchError, match=r"image-to-video model \(WAN21_I2V\).*WanImageToVideo"):
        prior_node(comfy, (model, vae, pos, neg))
    start = torch.randn(1, 16, 2, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(4))
    for cond in (pos, neg):
        cond[0][1].update(concat_latent_image=start, concat_mask=torch.ones(1, 1, 2, SIZE // 8, SIZE // 8))
    prior = prior_node(comfy, (model, vae, pos, neg))
    with pytest.raises(SketchError, match="set the image-to-video node's length to 9"):
        prior.check_video(8, SIZE, SIZE)  # 9 frames: 3 latent frames, the start image spans 2
    assert_one_sds_pass_runs(prior)


def test_a_fun_control_model_runs_text_to_video_through_its_comfyui_node(comfy_cpu, comfy):
    """Wan 2.1 Fun Control without an image latent is refused and the error names WanFunControlToVideo; through
    that real node with neither start image nor control video (the model's text-to-video use, an all-zero image
    latent) the prior takes it and one SDS pass runs."""
    import comfy.sd as comfy_sd
    from comfy_extras.nodes_wan import WanFunControlToVideo

    from sketchmotion.core.errors import SketchError

    with torch.inference_mode():
        model = comfy_sd.load_diffusion_model_state_dict(tiny_wan_state_dict(model_type="i2v", in_dim=48))
        vae = comfy_sd.VAE(sd=tiny_vae_state_dict("wan2.1"))
    assert type(model.model.model_config).__name__ == "WAN21_FunControl2V"
    pos, neg = conditioning(2), conditioning(3)
    with pytest.raises(SketchError, match=r"\(WAN21_FunControl2V\).*WanFunControlToVideo"):
        prior_node(comfy, (model, vae, pos, neg))
    pos, neg, _ = WanFunControlToVideo.execute(pos, neg, vae, width=SIZE, height=SIZE, length=FRAMES + 1,
                                               batch_size=1).args
    assert_one_sds_pass_runs(prior_node(comfy, (model, vae, pos, neg)))


def test_hunyuan_image_to_video_takes_a_one_frame_start_image(comfy_cpu, comfy):
    """HunyuanImageToVideo (v1 concat) encodes the start image alone (1 latent frame) and ComfyUI's HunyuanVideo I2V
    pads it with zeros in time: the prior takes it (it refused it, asking for a length that node does not have), and
    one SDS pass runs through ComfyUI with it. Costs ~ the HunyuanVideo family's VAE once (full size, 32 px, 5 frames)."""
    import comfy.model_detection as md
    import comfy.sd as comfy_sd

    spec = TINY_FAMILIES["hunyuan"]
    config = md.model_config_from_unet_config(dict(spec.unet_config, in_channels=33))  # + 16 image + 1 mask channels
    assert type(config).__name__ == "HunyuanVideoI2V"
    dm = config.get_model({}, "").diffusion_model
    randomize(dm, 0)
    with torch.inference_mode():
        model = comfy_sd.load_diffusion_model_state_dict({k: v.to(torch.float16) for k, v in dm.state_dict().items()})
        vae = comfy_sd.VAE(sd=tiny_vae_state_dict("hunyuan"))
    del dm
    assert type(model.model.model_config).__name__ == "HunyuanVideoI2V"
    pos, neg = (conditioning(seed, spec.text_dim, spec.pooled, spec.mask) for seed in (2, 3))
    start = torch.randn(1, 16, 1, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(4))
    for cond in (pos, neg):  # as HunyuanImageToVideo makes them for one start image and 5 frames
        cond[0][1].update(concat_latent_image=start, concat_mask=torch.ones(1, 1, 2, SIZE // 8, SIZE // 8))
    prior = prior_node(comfy, (model, vae, pos, neg))
    assert_one_sds_pass_runs(prior)
