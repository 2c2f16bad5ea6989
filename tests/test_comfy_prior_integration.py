"""ComfyUI Video Prior inside a real ComfyUI (skipped unless COMFYUI_PATH is set).

    COMFYUI_PATH=/path/to/ComfyUI python -m pytest tests/test_comfy_prior_integration.py -q

A tiny random Wan 2.1 text-to-video model is built with ComfyUI's own classes
(comfy.ldm.wan.model.WanModel: dim 128 = one head, one block) and loaded through
comfy.sd.load_diffusion_model_state_dict (what Load Diffusion Model runs) into a real
ModelPatcher. The VAE is the real Wan 2.1 VAE architecture with random weights, loaded
by comfy.sd.VAE from its state dict (what Load VAE runs): ComfyUI builds that VAE at a
fixed size, so it cannot be shrunk. Conditioning is random umt5-sized text embeddings
[1, 8, 4096]. Animate Sketch then runs on CPU under torch.inference_mode(), as in ComfyUI.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from node_testing import LINE_SVG, node, run

from sketchmotion.testing.comfy_models import conditioning, taesd_state_dict, tiny_wan_state_dict, wan_vae_state_dict

COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not (COMFYUI_PATH and (Path(COMFYUI_PATH) / "comfy" / "ldm" / "wan").is_dir()),
                       reason="set COMFYUI_PATH to a ComfyUI checkout (0.3.64 or later) to run these tests"),
]
REPO = Path(__file__).resolve().parents[1]
FRAMES, SIZE = 5, 32


@pytest.fixture(scope="module")
def comfy_cpu(comfy):  # noqa: F811
    """ComfyUI's modules importable (the comfy fixture puts COMFYUI_PATH on sys.path), on CPU without a GPU."""
    if not torch.cuda.is_available():
        import comfy.cli_args as cli_args

        cli_args.args.cpu = True  # before comfy.model_management is first imported
    return comfy


@pytest.fixture(scope="module")
def comfy_models(comfy_cpu):
    import comfy.sd as comfy_sd

    with torch.inference_mode():  # loader nodes run like this: every tensor they make is an inference tensor
        model = comfy_sd.load_diffusion_model_state_dict(tiny_wan_state_dict())
        vae = comfy_sd.VAE(sd=wan_vae_state_dict())
        pos, neg = conditioning(2), conditioning(3)
    assert next(vae.first_stage_model.parameters()).is_inference()
    return model, vae, pos, neg


def prior_node(comfy, comfy_models, **kw):  # noqa: F811
    model, vae, pos, neg = comfy_models
    inputs = dict(model=model, vae=vae, positive=pos, negative=neg, cfg=0.0, start_percent=0.051,
                  end_percent=0.95, weighting="1-alpha_bar") | kw
    out = run(node(comfy, "SketchMotionComfyVideoPrior"), **inputs)
    return out.args[0]


def animate(comfy, prior, **kw):  # noqa: F811
    sk = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=LINE_SVG, normalize=64)
    sk = sk.args[0]
    inputs = dict(sketch=sk, video_prior=prior, prompt="", frames=FRAMES - 1, steps=2, fps=8.0, seed=0,
                  guidance_local=30.0, guidance_global=40.0, motion="local + global", render_size=SIZE) | kw
    out = run(node(comfy, "SketchMotionAnimateSketch"), **inputs)
    return out.args[:2]  # (animation, rendered frames); fps is the third


# ------------------------------------------------------------------ tests
def test_prior_reads_the_wan_rules_and_refuses_mismatches(comfy, comfy_models):  # noqa: F811
    from sketchmotion.core.errors import SketchError

    prior = prior_node(comfy, comfy_models)
    assert (prior.rule.temporal, prior.rule.spatial, prior.rule.latent_channels) == (4, 8, 16)
    assert prior.latent_shape(24, 256, 256) == (1, 16, 7, 32, 32)  # 24 frames are encoded as 25
    assert prior.latent_shape(81, 480, 832) == (1, 16, 21, 60, 104)
    with pytest.raises(SketchError, match="multiples of 8"):
        prior.check_video(4, 36, 36)
    with pytest.raises(SketchError, match="start_percent"):
        prior_node(comfy, comfy_models, start_percent=0.9, end_percent=0.1)
    with pytest.raises(SketchError, match="inside"):  # the loss is only defined inside the guider
        prior.sds_loss(torch.rand(4, SIZE, SIZE, 3), guidance_scale=5.0)


def test_one_sds_pass_inside_the_guider_has_the_x0_space_gradient(comfy, comfy_models):  # noqa: F811
    """The gradient on the latent equals w (a/s)(z - x0_hat) with x0_hat from the same model call."""
    import comfy.model_management as mm

    from sketchmotion.core.guidance.sds import NoiseLevel, sds_weight

    prior = prior_node(comfy, comfy_models)
    model = comfy_models[0]
    seen = {}

    def body():
        wrap = prior._active[0]
        seen["patcher"] = wrap.model_patcher
        seen["loaded"] = [m.model for m in mm.current_loaded_models]
        frames = torch.rand(FRAMES - 1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
        captured = {}
        original = prior.encode

        def spy(video):
            z = original(video)
            z.retain_grad()
            captured["z"] = z
            return z

        prior.encode = spy
        g = torch.Generator().manual_seed(7)
        loss, stats = prior.sds_loss(frames, guidance_scale=5.0, generator=g)
        loss.backward()
        prior.encode = original
        return frames, captured["z"], stats

    with torch.inference_mode():  # like every ComfyUI node; run() opens the grad region itself
        prior.check_video(FRAMES - 1, SIZE, SIZE)
        frames, z, stats = prior.run(body)
    assert seen["patcher"] is model  # the MODEL object the user loaded, not a copy
    assert model in seen["loaded"]  # loaded by ComfyUI's own memory manager
    assert stats["finite"] and stats["encoded_frames"] == FRAMES and z.shape == (1, 16, 2, SIZE // 8, SIZE // 8)
    assert 0.0 < stats["sigma"] < 1.0 and stats["alpha"] == pytest.approx(1 - stats["sigma"])  # flow: a = 1 - sigma
    assert stats["weight"] == pytest.approx(sds_weight(NoiseLevel(stats["alpha"], stats["sigma"], 0.0)))
    assert frames.grad is not None and torch.isfinite(frames.grad).all() and frames.grad.abs().sum() > 0
    assert z.grad.norm().item() == pytest.approx(stats["grad_norm"], rel=1e-4)
    assert stats["loss"] == pytest.approx(0.5 * stats["grad_norm"] ** 2, rel=1e-4)


def test_a_video_model_with_an_image_vae_encodes_frame_by_frame(comfy, comfy_models):  # noqa: F811
    """Wan + a 16-channel TAESD (as the pack's learned flow prior): any frame count, latents [1, C, T, h, w] equal
    to the VAE's own per-frame encoding stacked in time, and a finite gradient back to the frames."""
    import comfy.sd as comfy_sd

    with torch.inference_mode():
        vae = comfy_sd.VAE(sd=taesd_state_dict())
    assert type(vae.first_stage_model).__name__ == "TAESD" and vae.latent_channels == 16
    model, _, pos, neg = comfy_models
    prior = prior_node(comfy, (model, vae, pos, neg))
    assert (prior.rule.temporal, prior.rule.spatial) == (1, 8) and prior.per_frame
    assert prior.latent_shape(6, 32, 48) == (1, 16, 6, 4, 6) and prior.frames_to_render(6) == 6
    assert "one by one" in prior.describe(6, 32, 48)
    frames = torch.rand(6, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0))

    def body():
        z = prior.encode(frames)
        x = frames.clone().requires_grad_(True)
        loss, stats = prior.sds_loss(x, guidance_scale=5.0, generator=torch.Generator().manual_seed(1))
        loss.backward()
        return z.detach(), x.grad, stats

    with torch.inference_mode():
        prior.check_video(6, SIZE, SIZE)
        z, grad, stats = prior.run(body)
        own = model.model.process_latent_in(vae.encode(frames).movedim(0, 1).unsqueeze(0))
    assert z.shape == (1, 16, 6, SIZE // 8, SIZE // 8)
    assert torch.allclose(z, own.float(), atol=1e-2 * own.abs().max().item())
    assert stats["finite"] and stats["encoded_frames"] == 6
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_animate_sketch_trains_with_the_comfy_prior(comfy, comfy_models, monkeypatch):  # noqa: F811
    import comfy.model_management as mm
    import comfy.sd as comfy_sd

    loads = []
    monkeypatch.setattr(comfy_sd, "load_diffusion_model_state_dict", lambda *a, **k: loads.append(a))
    monkeypatch.setattr(comfy_sd, "load_diffusion_model", lambda *a, **k: loads.append(a))
    original_load = mm.load_models_gpu
    loaded = []

    def spy(models, *a, **k):
        loaded.append(list(models))
        return original_load(models, *a, **k)

    monkeypatch.setattr(mm, "load_models_gpu", spy)
    model = comfy_models[0]
    before = [p.detach().clone() for p in model.model.parameters()]
    prior = prior_node(comfy, comfy_models)
    anim, images = animate(comfy, prior, steps=2, motion="local only")
    assert anim.num_frames == FRAMES - 1 and anim.settings["steps_done"] == 2  # the user's frame count is kept
    assert anim.settings["skipped_steps"] == 0  # every SDS gradient was finite and applied
    assert torch.isfinite(anim.frames).all()
    moved = (anim.frames - anim.sketch.points[None]).abs().amax().item()  # the field starts at the sketch (zero init)
    assert moved > 1e-4, f"training must move the strokes (moved at most {moved} px)"
    assert images.shape == (FRAMES - 1, SIZE, SIZE, 3)
    assert not loads, "the prior must never load a second model"
    assert loaded and all(model in batch for batch in loaded)  # ComfyUI's loader got the same ModelPatcher
    after = list(model.model.parameters())
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, after)), "the diffusion model must not change"
    assert all(p.grad is None for p in model.model.parameters()), "no gradient may reach the diffusion model"


class FakeClip:
    """Stands in for a CLIP object: records the texts and returns a distinct conditioning per text."""

    def __init__(self):
        self.texts = []

    def tokenize(self, text):
        self.texts.append(text)
        return text

    def encode_from_tokens_scheduled(self, tokens):
        return conditioning(1000 + len(self.texts))


def test_a_typed_prompt_without_clip_is_an_error_and_with_clip_it_is_encoded(comfy, comfy_models):  # noqa: F811
    from sketchmotion.core.errors import SketchError

    prior = prior_node(comfy, comfy_models)
    with pytest.raises(SketchError, match="no CLIP connected.*'a line waving'.*clear the Animate node's prompt"):
        animate(comfy, prior, prompt="a line waving", steps=1, motion="local only")
    clip = FakeClip()
    prior = prior_node(comfy, comfy_models, clip=clip)
    anim, _ = animate(comfy, prior, prompt="a line waving", steps=1, motion="local only")
    assert clip.texts == ["a line waving"] and anim.settings["steps_done"] == 1
    assert not torch.equal(prior.positive[0][0], comfy_models[2][0][0])  # the prompt's own conditioning was used


def test_cancel_propagates_unchanged_and_a_rerun_resumes(comfy, comfy_models):  # noqa: F811
    import comfy.model_management as mm
    import comfy.utils as cu

    prior = prior_node(comfy, comfy_models)
    ckpt_dir = Path(comfy.folder_paths.get_temp_directory()) / "sketchmotion"
    before = set(ckpt_dir.glob("*.ckpt"))
    original = cu.PROGRESS_BAR_HOOK

    def hook(value, total, preview, node_id=None):
        if value == 1:
            mm.interrupt_current_processing(True)  # the user presses Cancel during step 1

    cu.PROGRESS_BAR_HOOK = hook
    try:
        with pytest.raises(mm.InterruptProcessingException):  # ComfyUI's own exception, not wrapped
            animate(comfy, prior, steps=2, seed=4, motion="local only")
    finally:
        cu.PROGRESS_BAR_HOOK = original
    assert not mm.processing_interrupted()  # consumed by the raise, as in ComfyUI
    new = set(ckpt_dir.glob("*.ckpt")) - before
    assert len(new) == 1 and torch.load(next(iter(new)), weights_only=True)["step"] == 1
    anim, _ = animate(comfy, prior, steps=2, seed=4, motion="local only")  # resumes inside a fresh guider
    assert anim.settings["steps_done"] == 2 and not (set(ckpt_dir.glob("*.ckpt")) - before)


def test_out_of_memory_while_encoding_is_a_clear_error(comfy, comfy_models, monkeypatch):  # noqa: F811
    import comfy.model_management as mm

    from sketchmotion.core.errors import SketchError

    prior = prior_node(comfy, comfy_models)
    module = sys.modules[type(prior).__module__]
    real_copy = module._encoder_copy

    def oom_copy(*a, **k):
        enc = real_copy(*a, **k)

        def encode(x):
            raise mm.OOM_EXCEPTION("CUDA out of memory (simulated)")

        enc.encode = encode
        return enc

    monkeypatch.setattr(module, "_encoder_copy", oom_copy)
    tiled = []
    monkeypatch.setattr(type(comfy_models[1]), "encode_tiled_3d", lambda *a, **k: tiled.append(a))
    ckpt_dir = Path(comfy.folder_paths.get_temp_directory()) / "sketchmotion"
    before = set(ckpt_dir.glob("*.ckpt"))
    with pytest.raises(SketchError, match="fewer frames or a smaller render_size"):
        animate(comfy, prior, steps=1, motion="local only", seed=9)
    assert not tiled  # no silent tiled fallback (it could not carry gradients)
    for leftover in set(ckpt_dir.glob("*.ckpt")) - before:
        leftover.unlink()


def _model_sampling(comfy_cpu, sampling: str, kind: str, **settings):
    """A model_sampling object built the way comfy.model_base does (class of both parents)."""
    import comfy.model_sampling as ms

    class Config:
        sampling_settings = settings

    cls = type("ModelSampling", (getattr(ms, sampling), getattr(ms, kind)), {})
    return cls(Config())


@pytest.mark.parametrize("sampling, kind, settings", [
    ("ModelSamplingDiscreteFlow", "CONST", {"shift": 8.0}),  # Wan 2.1
    ("ModelSamplingDiscreteFlow", "CONST", {"shift": 1.0}),
    ("ModelSamplingDiscrete", "EPS", {}),  # SD-family eps models (scaled-linear betas)
    ("ModelSamplingDiscrete", "V_PREDICTION", {}),
    ("ModelSamplingCosmosRFlow", "COSMOS_RFLOW", {"sigma_min": 0.002, "sigma_max": 80.0, "sigma_data": 1.0}),
])
def test_paper_noise_levels_have_the_papers_snr_on_comfyuis_model_sampling(comfy_cpu, sampling, kind, settings):
    """Through ComfyUI's own model_sampling classes, every sampled sigma has exactly the SNR of its DDPM t."""
    from sketchmotion.core.guidance.frame_rules import NoiseLevels, ddpm_alpha_bar, noise_coefficients

    ms = _model_sampling(comfy_cpu, sampling, kind, **settings)
    levels = NoiseLevels(ms.percent_to_sigma, ms.noise_scaling, "paper")
    assert (levels.t_lo, levels.t_hi) == (50, 948)
    for t in (50, 300, 499, 700, 948):
        sigma = levels.sigma_at(t)
        z, eps = torch.randn(1, 4, 2, 2, dtype=torch.float64), torch.randn(1, 4, 2, 2, dtype=torch.float64)
        z_t = ms.noise_scaling(torch.tensor([sigma], dtype=torch.float64), eps, z.clone())
        a, s = noise_coefficients(ms.noise_scaling, sigma)
        assert torch.allclose(z_t, a * z + s * eps, atol=1e-10)
        assert a * a / (a * a + s * s) == pytest.approx(ddpm_alpha_bar(t), rel=1e-8)
        if sampling == "ModelSamplingDiscrete":  # the same schedule: the model's own discrete step t
            assert int(ms.timestep(torch.tensor([sigma])).item()) == t
    g = torch.Generator().manual_seed(0)
    sigmas = [levels.sample(g)[0] for _ in range(400)]
    model_own = NoiseLevels(ms.percent_to_sigma, ms.noise_scaling, "model")
    own = [model_own.sample(g)[1] for _ in range(400)]
    paper_t = [NoiseLevels(ms.percent_to_sigma, ms.noise_scaling, "paper").sample(g)[1] for _ in range(400)]
    assert all(math.isfinite(x) and x > 0 for x in sigmas)
    if settings.get("shift") == 8.0:  # Wan's own schedule is much noisier than the paper's
        assert np.median(own) > 850 and abs(np.median(paper_t) - 499) < 70


def test_out_of_memory_follows_comfyuis_own_check(comfy_cpu, monkeypatch):
    """model_management.is_oom where it exists (newer ComfyUI), else OOM_EXCEPTION; other errors are not OOM."""
    import comfy.model_management as mm

    from sketchmotion.nodes.comfy_prior import is_oom

    monkeypatch.delattr(mm, "is_oom", raising=False)  # ComfyUI 0.3.64
    assert is_oom(mm.OOM_EXCEPTION("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_oom(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    seen = []

    def newer_is_oom(e):  # newer ComfyUI also counts torch.AcceleratorError "out of memory"
        seen.append(e)
        return type(e).__name__ == "AcceleratorError"

    monkeypatch.setattr(mm, "is_oom", newer_is_oom, raising=False)
    accel = type("AcceleratorError", (RuntimeError,), {})("CUDA error: out of memory")
    assert is_oom(accel) and not is_oom(ValueError("x")) and seen[0] is accel


# ------------------------------------------------------------------ the workflow through a real server
def test_wan_workflow_runs_on_the_headless_server(comfy_cpu, tmp_path):
    """workflows/animate_sketch_wan.json on a real server with the tiny model files in a temp models folder.

    The umt5-xxl text encoder cannot be made tiny (ComfyUI builds it from a fixed 5.7B-parameter
    config, ~11 GB even at fp16), so the two CLIP Text Encode nodes are replaced by a test-only node
    that outputs random [1, 8, 4096] text embeddings; every other node runs as shipped (Animate
    Sketch with 4 frames, 2 steps, 64 px - the node's minimum - to stay within CPU time).
    """
    import test_comfyui_integration as srv
    from safetensors.torch import save_file

    ui = json.loads((REPO / "workflows" / "animate_sketch_wan.json").read_text())
    required = ui["extra"]["sketchmotion_requires_models"]
    models = tmp_path / "models"
    for sub in ("diffusion_models", "vae", "text_encoders"):
        (models / sub).mkdir(parents=True)
    save_file(tiny_wan_state_dict(), str(models / "diffusion_models" / required["diffusion_models"][0]))
    save_file(wan_vae_state_dict(), str(models / "vae" / required["vae"][0]))
    custom_nodes = tmp_path / "custom_nodes"
    (custom_nodes / "sketchmotion_test_conditioning").mkdir(parents=True)
    (custom_nodes / "sketchmotion_test_conditioning" / "__init__.py").write_text(TEST_CONDITIONING_NODE)
    (custom_nodes / srv.PACK_NAME).symlink_to(REPO, target_is_directory=True)
    with srv.comfyui_server(tmp_path / "server", custom_nodes, models) as server:
        _, info = srv.http(server, "/object_info", timeout=60)
        assert required["diffusion_models"][0] in info["UNETLoader"]["input"]["required"]["unet_name"][0]
        prompt = srv.ui_to_api(ui, info)
        for nid, n in list(prompt.items()):
            if n["class_type"] == "CLIPTextEncode":
                prompt[nid] = {"class_type": "SketchMotionTestConditioning", "inputs": {"seed": int(nid)}}
            elif n["class_type"] == "CLIPLoader":
                del prompt[nid]
            elif n["class_type"] == "SketchMotionAnimateSketch":
                n["inputs"].update(steps=2, frames=FRAMES - 1, render_size=64, motion="local only")  # node min 64
        entry = srv.queue_and_wait(server, prompt)
        assert entry["status"]["status_str"] == "success", json.dumps(entry["status"]["messages"])[:3000]
        log = server.log.read_text(errors="replace")
        assert "ComfyUI Video Prior: Wan VAE takes 4k+1 frames" in log
        assert f"{FRAMES - 1} frames asked: the motion field is rendered at {FRAMES} " in log
        saved = [i for out in entry["outputs"].values() for key in ("images", "video") for i in out.get(key, [])]
        assert saved, f"nothing saved: {entry['outputs']}"
        video = srv.saved_file(server, saved[0])
        assert video.is_file() and video.stat().st_size > 0
        av = pytest.importorskip("av")
        with av.open(str(video)) as container:  # read back by PyAV (FFmpeg), not by our code
            assert sum(1 for _ in container.decode(video=0)) == FRAMES - 1


TEST_CONDITIONING_NODE = '''
import torch


class SketchMotionTestConditioning:
    """Random umt5-sized text embeddings (test only)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"seed": ("INT", {"default": 0})}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "make"
    CATEGORY = "testing"

    def make(self, seed):
        g = torch.Generator().manual_seed(seed)
        return ([[torch.randn(1, 8, 4096, generator=g), {}]],)


NODE_CLASS_MAPPINGS = {"SketchMotionTestConditioning": SketchMotionTestConditioning}
'''


def test_modelscope_workflow_runs_on_the_headless_server(comfy_cpu, tmp_path):
    """workflows/animate_sketch.json (Diffusers Video Prior) on a real server, with a tiny random
    text-to-video model in a temp models/diffusers folder under the workflow's model name."""
    import test_comfyui_integration as srv
    from sketchmotion.testing.tiny_models import build_tiny_text_to_video

    ui = json.loads((REPO / "workflows" / "animate_sketch.json").read_text())
    models = tmp_path / "models"
    build_tiny_text_to_video(models / "diffusers" / ui["extra"]["sketchmotion_requires_models"]["diffusers"][0])
    custom_nodes = tmp_path / "custom_nodes"
    custom_nodes.mkdir()
    (custom_nodes / srv.PACK_NAME).symlink_to(REPO, target_is_directory=True)
    with srv.comfyui_server(tmp_path / "server", custom_nodes, models) as server:
        _, info = srv.http(server, "/object_info", timeout=60)
        prompt = srv.ui_to_api(ui, info)
        for n in prompt.values():
            if n["class_type"] == "SketchMotionAnimateSketch":
                n["inputs"].update(steps=2, frames=4, render_size=64)
        entry = srv.queue_and_wait(server, prompt)
        assert entry["status"]["status_str"] == "success", json.dumps(entry["status"]["messages"])[:3000]
        saved = [i for out in entry["outputs"].values() for key in ("images", "video") for i in out.get(key, [])]
        video = srv.saved_file(server, saved[0])
        av = pytest.importorskip("av")
        with av.open(str(video)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 4
