"""ComfyUI Video Prior with two experts, as Wan 2.2 A14B (skipped unless COMFYUI_PATH is set).

    COMFYUI_PATH=/path/to/ComfyUI python -m pytest tests/test_comfy_prior_experts.py -q

Two tiny Wan 2.1-layout transformers with different random weights stand in for A14B's high-noise and
low-noise experts (sketchmotion.testing.comfy_models.load_tiny_wan_experts), with the Wan 2.1 VAE
(random weights, ComfyUI's fixed size) that A14B uses. Each SDS draw must be scored by the expert Wan 2.2
uses at its sigma (wan/text2video.py: t >= boundary * 1000 -> high noise; ComfyUI's flow timestep is
sigma * 1000): the denoised latent the prior uses is compared with each expert called directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from node_testing import LINE_SVG, node, run

from sketchmotion.testing.comfy_models import conditioning, load_tiny_wan_experts, tiny_wan_state_dict, wan_vae_state_dict

COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not (COMFYUI_PATH and (Path(COMFYUI_PATH) / "comfy" / "ldm" / "wan").is_dir()),
                       reason="set COMFYUI_PATH to a ComfyUI checkout (0.3.64 or later) to run these tests"),
]
FRAMES, SIZE, CFG = 5, 32, 5.0
BOUNDARY = 0.875  # Wan 2.2 T2V-A14B
SIGMAS = (0.97, 0.9, 0.875, 0.6, 0.2, 0.95)  # >= BOUNDARY: high noise; the last switches back to it


@pytest.fixture(scope="module")
def experts(comfy):
    import comfy.sd as comfy_sd

    with torch.inference_mode():  # as the loader nodes run
        high, low = load_tiny_wan_experts(seed_high=0, seed_low=10)
        vae = comfy_sd.VAE(sd=wan_vae_state_dict())
        pos, neg = conditioning(2), conditioning(3)
    return high, low, vae, pos, neg


def prior_node(comfy, experts, **kw):
    high, low, vae, pos, neg = experts
    inputs = dict(model=high, vae=vae, positive=pos, negative=neg, cfg=CFG, start_percent=0.051, end_percent=0.95,
                  weighting="1-alpha_bar", model_low_noise=low, expert_boundary=BOUNDARY) | kw
    return run(node(comfy, "SketchMotionComfyVideoPrior"), **inputs).args[0]


def direct_x0(model, z_t: torch.Tensor, sigma: float, pos, neg) -> torch.Tensor:
    """The CFG-combined denoised latent of one expert, called directly (no guider)."""
    s = torch.full((z_t.shape[0],), sigma)
    with torch.no_grad():
        cond, uncond = (model.model.apply_model(z_t, s, c_crossattn=c[0][0]).float() for c in (pos, neg))
    return uncond + CFG * (cond - uncond)


def test_each_draw_is_scored_by_the_expert_for_its_sigma(comfy, experts, monkeypatch):
    import comfy.model_management as mm

    from sketchmotion.nodes import comfy_prior as cp

    high, low, _, pos, neg = experts
    prior = prior_node(comfy, experts)
    assert prior.experts() == [high, low] and prior.name.endswith(f"experts@{BOUNDARY:g}")
    seen = []

    class Spy(cp.ScoreDistillation):
        def step_x0(self, z, predict_x0, **kw):
            def spy(z_t, level):
                x0 = predict_x0(z_t, level)
                seen.append((z_t.detach().clone(), x0.detach().float().clone()))
                return x0
            return super().step_x0(z, spy, **kw)

    monkeypatch.setattr(cp, "ScoreDistillation", Spy)
    loads, original = [], mm.load_models_gpu
    monkeypatch.setattr(mm, "load_models_gpu", lambda models, *a, **k: (loads.extend(models),
                                                                        original(models, *a, **k))[1])
    frames = torch.rand(FRAMES - 1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0))

    def body():
        out = []
        for sigma in SIGMAS:
            monkeypatch.setattr(prior.levels, "sample", lambda generator=None, s=sigma: (s, 0))
            before = len(loads)
            x = frames.clone().requires_grad_(True)
            loss, stats = prior.sds_loss(x, guidance_scale=30.0, generator=torch.Generator().manual_seed(1))
            loss.backward()
            out.append((stats, loads[before:], x.grad))
        return out

    with torch.inference_mode():
        prior.check_video(FRAMES - 1, SIZE, SIZE)
        results = prior.run(body)
    assert len(seen) == len(SIGMAS)
    for sigma, (stats, loaded, grad), (z_t, x0) in zip(SIGMAS, results, seen):
        want, other = (high, low) if sigma >= BOUNDARY else (low, high)
        assert stats["model_sigma"] == sigma and stats["expert"] == ("high_noise" if want is high else "low_noise")
        assert stats["finite"] and grad is not None and grad.abs().sum() > 0
        ref, alt = direct_x0(want, z_t, sigma, pos, neg), direct_x0(other, z_t, sigma, pos, neg)
        scale = ref.abs().max().item()
        assert (x0 - ref).abs().max().item() < 1e-3 * scale, f"sigma {sigma}: not the {stats['expert']} expert's x0"
        assert (x0 - alt).abs().max().item() > 0.05 * scale, f"sigma {sigma}: the two experts are indistinguishable"
    # ComfyUI loads the expert in use when the draws switch experts (after entering both guiders: low was loaded last)
    switched = [[m for m in batch if m in (high, low)] for _, batch, _ in results]
    assert switched == [[high], [], [], [low], [], [high]]


def test_one_expert_without_model_low_noise_and_the_same_model_twice(comfy, experts):
    high, low, vae, pos, neg = experts
    for kw in (dict(model_low_noise=None), dict(model_low_noise=high)):
        prior = prior_node(comfy, experts, **kw)
        assert prior.experts() == [high] and "experts" not in prior.name
        assert prior.expert_for(0.99) is high and prior.expert_for(0.01) is high
    prior = prior_node(comfy, experts, expert_boundary=0.9)  # Wan 2.2 I2V-A14B's boundary
    assert prior.expert_for(0.9) is high and prior.expert_for(0.89) is low
    assert prior.fingerprint() != prior_node(comfy, experts, model_low_noise=None).fingerprint()


def test_experts_on_different_latents_are_refused(comfy, experts):
    import comfy.sd as comfy_sd

    from sketchmotion.core.errors import SketchError

    with torch.inference_mode():  # Wan 2.2 TI2V-5B: 48-channel Wan 2.2 latents, not A14B's Wan 2.1 ones
        ti2v = comfy_sd.load_diffusion_model_state_dict(tiny_wan_state_dict(4, channels=48))
    with pytest.raises(SketchError, match="different latents.*model_low_noise"):
        prior_node(comfy, experts, model_low_noise=ti2v)
    with pytest.raises(SketchError, match="must be a ComfyUI MODEL"):
        prior_node(comfy, experts, model_low_noise="not a model")
    with pytest.raises(SketchError, match="expert_boundary"):
        prior_node(comfy, experts, expert_boundary=1.5)


def test_animate_sketch_runs_with_both_experts(comfy, experts, monkeypatch):
    """A 2-step Animate Sketch run finishes with both experts active; neither expert changes or gets a gradient."""
    import comfy.model_management as mm

    high, low = experts[:2]
    loads, original = [], mm.load_models_gpu
    monkeypatch.setattr(mm, "load_models_gpu", lambda models, *a, **k: (loads.extend(models),
                                                                        original(models, *a, **k))[1])
    before = [p.detach().clone() for m in (high, low) for p in m.model.parameters()]
    prior = prior_node(comfy, experts, cfg=0.0)
    sk = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=LINE_SVG, normalize=64).args[0]
    out = run(node(comfy, "SketchMotionAnimateSketch"), sketch=sk, video_prior=prior, prompt="", frames=FRAMES - 1,
              steps=2, fps=8.0, seed=0, guidance_local=30.0, guidance_global=40.0, motion="local + global",
              render_size=SIZE)
    anim = out.args[0]
    assert anim.settings["steps_done"] == 2 and anim.settings["skipped_steps"] == 0
    assert torch.isfinite(anim.frames).all()
    assert high in loads and low in loads  # both guiders loaded their expert through ComfyUI
    after = [p for m in (high, low) for p in m.model.parameters()]
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, after)), "the experts must not change"
    assert all(p.grad is None for p in after), "no gradient may reach an expert"


def test_the_node_default_boundary_is_the_prior_default(comfy):
    import inspect

    from sketchmotion.nodes.comfy_prior import ComfyVideoPrior as Prior

    schema = node(comfy, "SketchMotionComfyVideoPrior").define_schema()
    widget = next(i for i in schema.inputs if i.id == "expert_boundary")
    assert widget.default == inspect.signature(Prior.__init__).parameters["expert_boundary"].default == 0.875
