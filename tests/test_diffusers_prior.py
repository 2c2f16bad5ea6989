"""The diffusers text-to-video prior on a tiny random ModelScope-layout model (CPU, offline)."""

import json
import os
import shutil

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance import VideoPrior
from sketchmotion.core.guidance.diffusers_prior import find_model, load_diffusers_prior

from sketchmotion.testing.tiny_models import build_tiny_text_to_video, install_in_hf_cache

REPO = "damo-vilab/text-to-video-ms-1.7b"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_text_to_video(tmp_path_factory.mktemp("t2v") / "tiny-t2v")


@pytest.fixture(scope="module")
def prior(tiny_dir):
    p = load_diffusers_prior(tiny_dir, device="cpu")
    p.prepare("a horse galloping", "blurry")
    return p


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path / "hf"


def frames(T=8, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(T, size, size, 3, generator=g).requires_grad_(True)


def test_one_sds_step_reaches_the_frames(prior):
    assert isinstance(prior, VideoPrior)
    assert prior.dtype == torch.float32 and prior.device.type == "cpu"
    x = frames()
    loss, stats = prior.sds_loss(x, guidance_scale=30.0, generator=torch.Generator().manual_seed(0))
    assert stats["finite"] and 50 <= stats["timestep"] <= 948
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().mean() > 0
    # every frame receives gradient (the latent is [1, 4, T, h, w], not a single image)
    assert (x.grad.abs().flatten(1).sum(1) > 0).all()


def test_latent_gradient_equals_weighted_cfg_residual(prior):
    """Replay the generator by hand: grad on z = (1 - alpha_bar_t) (eps_u + s (eps_c - eps_u) - eps)."""
    captured = {}
    encode = prior.encode_frames

    def spy(fr, generator=None):
        z = encode(fr, generator)
        z.retain_grad()
        captured["z"] = z
        return z

    prior.encode_frames = spy
    try:
        x = frames(seed=1)
        gen = torch.Generator().manual_seed(5)
        ref = torch.Generator().manual_seed(5)
        loss, stats = prior.sds_loss(x, guidance_scale=12.0, generator=gen)
        loss.backward()
    finally:
        del prior.encode_frames
    z = captured["z"]
    with torch.no_grad():
        z_ref = prior.encode_frames(x, ref)  # consumes the VAE-sampling noise
        assert torch.allclose(z_ref, z, atol=1e-6)
        lvl = prior.sds.schedule.sample(ref)
        eps = torch.randn(z.shape, generator=ref)
        ab = float(prior.sds.schedule.alphas_cumprod[lvl.index])
        z_t = ab**0.5 * z + (1 - ab) ** 0.5 * eps
        def embed(text):
            ids = prior.tokenizer([text], padding="max_length", max_length=77, return_tensors="pt").input_ids
            return prior.text_encoder(ids)[0]

        emb_u, emb_c = embed("blurry"), embed("a horse galloping")
        t = torch.tensor([lvl.index])
        e_u = prior.unet(z_t, t, encoder_hidden_states=emb_u).sample
        e_c = prior.unet(z_t, t, encoder_hidden_states=emb_c).sample
        expected = (1 - ab) * (e_u + 12.0 * (e_c - e_u) - eps)
    assert stats["timestep"] == lvl.index
    assert torch.allclose(z.grad, expected, atol=1e-4, rtol=1e-4)


def test_text_embeddings_cached_and_one_unet_call_per_step(tiny_dir):
    p = load_diffusers_prior(tiny_dir, device="cpu")
    calls = {"text": 0, "unet": []}
    p.text_encoder.register_forward_hook(lambda m, a, o: calls.__setitem__("text", calls["text"] + 1))
    p.unet.register_forward_hook(lambda m, a, o: calls["unet"].append(a[0].shape[0]))
    with pytest.raises(SketchError, match="prepare"):
        p.sds_loss(frames(T=2, size=32))
    p.prepare("a cat walking")
    p.prepare("a cat walking")
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        p.sds_loss(frames(T=2, size=32), guidance_scale=30.0, generator=g)[0].backward()
    assert calls["text"] == 1
    assert calls["unet"] == [2, 2, 2]  # one call per step, uncond + cond in one batch
    p.prepare("a fish swimming")
    assert calls["text"] == 2


def test_same_seed_same_gradient_and_checkpointing_changes_nothing(tiny_dir):
    grads = []
    for ckpt, chunk in ((True, 3), (False, 16)):
        p = load_diffusers_prior(tiny_dir, device="cpu", checkpoint_vae=ckpt, vae_chunk=chunk)
        p.prepare("a horse galloping")
        x = frames(T=5, size=32, seed=2)
        p.sds_loss(x, guidance_scale=30.0, generator=torch.Generator().manual_seed(3))[0].backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-5, rtol=1e-4)


def test_bad_frame_size(prior):
    with pytest.raises(SketchError, match="divisible by 8"):
        prior.sds_loss(frames(T=2, size=36))
    with pytest.raises(SketchError):
        prior.sds_loss(torch.rand(2, 32, 32))


def test_missing_model_names_where_to_put_it(tmp_path, empty_hf_cache, monkeypatch):
    models = tmp_path / "models" / "diffusers"
    models.mkdir(parents=True)
    with pytest.raises(SketchError) as e:
        find_model("modelscope", search_dirs=[models])
    msg = str(e.value)
    assert REPO in msg and str(models / "text-to-video-ms-1.7b") in msg
    assert "allow_download" in msg and "model_index.json" in msg
    # a folder that is not a diffusers model
    (tmp_path / "junk").mkdir()
    with pytest.raises(SketchError, match="model_index.json"):
        find_model(tmp_path / "junk")
    # offline + download allowed -> a SketchError, not a hang or a raw network error
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SketchError):
        find_model("someone/not-a-model", allow_download=True)


def test_lookup_order_local_dirs_then_hf_cache(tiny_dir, tmp_path, empty_hf_cache):
    models = tmp_path / "models"
    shutil.copytree(tiny_dir, models / "text-to-video-ms-1.7b", symlinks=True)
    assert find_model("modelscope", search_dirs=[tmp_path / "nothing", models]) == models / "text-to-video-ms-1.7b"
    assert find_model(REPO, search_dirs=[models]) == models / "text-to-video-ms-1.7b"
    snap = install_in_hf_cache(tiny_dir, empty_hf_cache, "cerspense/zeroscope_v2_576w")
    assert find_model("zeroscope") == snap
    p = load_diffusers_prior("zeroscope", device="cpu")
    assert p.size_hint == (576, 320) and p.num_frames_hint == 24


def test_wrong_model_kind_is_refused(tiny_dir, tmp_path):
    bad = tmp_path / "image-model"
    shutil.copytree(tiny_dir, bad, symlinks=True)
    cfg_path = bad / "unet" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["_class_name"] = "UNet2DConditionModel"
    cfg_path.unlink()
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(SketchError, match="UNet3DConditionModel"):
        load_diffusers_prior(bad, device="cpu")


def test_folder_is_a_genuine_diffusers_pipeline(tiny_dir):
    """diffusers' own pipeline class reads the tiny folder (not just our loader)."""
    from diffusers.pipelines import TextToVideoSDPipeline

    pipe = TextToVideoSDPipeline.from_pretrained(tiny_dir)
    assert type(pipe.unet).__name__ == "UNet3DConditionModel"
    assert pipe.vae.config.scaling_factor == pytest.approx(0.18215)
    assert pipe.tokenizer("a horse").input_ids[0] == pipe.tokenizer.bos_token_id


def test_checkpointed_encoder_keeps_only_its_inputs_for_backward(tiny_dir):
    """Bytes autograd keeps between forward and backward (distinct storages) while encoding 8 frames."""

    def saved_bytes(**kw):
        p = load_diffusers_prior(tiny_dir, device="cpu", **kw)
        seen = {}

        def pack(t):
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        x = frames(T=8, size=64)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            z = p.encode_frames(x, torch.Generator().manual_seed(0))
        z.sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        return sum(seen.values())

    kept = saved_bytes(checkpoint_vae=True, vae_chunk=2)
    full = saved_bytes(checkpoint_vae=False, vae_chunk=8)
    frame_bytes = 8 * 64 * 64 * 3 * 4
    assert kept <= 1.1 * frame_bytes  # just the (permuted) frames
    assert kept < 0.05 * full


def test_half_precision_plumbing(tiny_dir):
    """bf16 weights (the GPU setting, run here on CPU): float32 gradients reach the frames."""
    p = load_diffusers_prior(tiny_dir, device="cpu", precision="bf16")
    assert p.dtype == torch.bfloat16 and p.vae_dtype == torch.bfloat16
    p.prepare("a horse galloping")
    x = frames(T=4, size=32)
    loss, stats = p.sds_loss(x, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert stats["finite"] and x.grad.dtype == torch.float32 and x.grad.abs().sum() > 0
    with pytest.raises(SketchError, match="precision"):
        load_diffusers_prior(tiny_dir, device="cpu", precision="int8")


def test_what_a_model_was_trained_on(tmp_path):
    """Known hub ids by name, folder or HF-cache path; else the folder's training.json; else the UNet's size."""
    from sketchmotion.core.guidance.diffusers_prior import trained_on

    kw = dict(unet_sample_size=8, vae_factor=2)
    assert trained_on(tmp_path / "zeroscope_v2_576w", "x", **kw) == (24, (576, 320))
    cached = tmp_path / "models--cerspense--zeroscope_v2_576w" / "snapshots" / "abc"
    assert trained_on(cached, str(cached), **kw) == (24, (576, 320))
    assert trained_on(tmp_path, "damo-vilab/text-to-video-ms-1.7b", **kw) == (24, (256, 256))
    (tmp_path / "mine").mkdir()
    assert trained_on(tmp_path / "mine", "mine", **kw) == (None, (16, 16))
    (tmp_path / "mine" / "training.json").write_text(json.dumps({"frames": 8, "size": 64}))
    assert trained_on(tmp_path / "mine", "mine", **kw) == (8, (64, 64))


def test_zeroscope_renders_at_its_own_576x320(tiny_dir, tmp_path):
    """No render size given: a model found as ZeroScope is fed 576x320 frames (the sketch letterboxed) and
    one score-distillation step reaches the motion."""
    from sketchmotion.core.pipelines.animate import AnimateConfig, AnimationTrainer
    from sketchmotion.core.synthetic import random_strokes

    folder = tmp_path / "zeroscope_v2_576w"
    shutil.copytree(tiny_dir, folder, symlinks=True)
    zeroscope = load_diffusers_prior(folder, device="cpu")
    trainer = AnimationTrainer(random_strokes(4, 320, seed=0), zeroscope, AnimateConfig(num_frames=2, steps=1))
    assert trainer.config.render_size == (576, 320)
    assert trainer.render_frames().shape == (2, 320, 576, 3)
    stats = trainer.train_step()
    assert stats["local"]["applied"] and stats["global"]["applied"] and stats["local"]["grad_norm"] > 0
