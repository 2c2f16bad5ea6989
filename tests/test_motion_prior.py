"""The pack's learned motion prior: its training script, its motion measurement, and what it learned.

The bundled prior (assets/motion_prior/, trained by scripts/train_motion_prior.py) is a test
instrument: sampled for a caption it must produce videos that move the captioned way.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance.diffusers_prior import load_diffusers_prior
from sketchmotion.core.guidance.learned_prior import (
    CAPTIONS,
    bundled_motion_prior_path,
    matches,
    points_motion,
    sample_diffusers_prior,
    video_motion,
)
from sketchmotion.core.synthetic_motion import MOTIONS, OPPOSITE, MotionVideos

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _script():
    spec = importlib.util.spec_from_file_location("train_motion_prior", ROOT / "scripts" / "train_motion_prior.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------ measurement
@pytest.mark.parametrize("seed", [0, 1])
def test_video_motion_recovers_the_synthetic_motions(seed):
    data = MotionVideos(seed=seed)
    for caption in CAPTIONS:
        s = data.sample(caption)
        m = video_motion(s.frames)
        assert matches(caption, m), (caption, s.params, m)
        assert not matches(OPPOSITE[caption], m), (caption, m)
        kind, sign = MOTIONS[caption]
        if kind == "translate":  # 2.5-5 px per frame over 7 frame steps (less where ink leaves the frame)
            along = m["dx"] * sign[0] + m["dy"] * sign[1]
            assert 0.6 * 7 * s.params["speed"] < along < 7 * s.params["speed"] + 1.5, (along, s.params)
        elif kind == "rotate":
            assert abs(m["rotation"] - 7 * s.params["degrees_per_frame"]) < 6, (m, s.params)
        else:
            assert abs(math.log(m["scale"]) - 7 * math.log(s.params["rate"])) < 0.12, (m, s.params)


def test_rotation_about_an_offset_pivot_swings_the_captioned_way():
    """The --rotation-pivot experiment: a rotation about a pivot above the drawing still turns the captioned way,
    and its centre drifts (clockwise: leftwards) so the caption's mean video carries the sign; off, nothing changes."""
    data, plain, same = MotionVideos(seed=2, rotation_pivot=0.4), MotionVideos(seed=2), MotionVideos(seed=2, rotation_pivot=0.0)
    for caption in ("rotating clockwise", "rotating counterclockwise"):
        s = data.sample(caption)
        m = video_motion(s.frames)
        sign = MOTIONS[caption][1]
        assert matches(caption, m) and s.params["pivot"] == 0.4, (caption, m)
        assert -sign * m["dx"] > 6, (caption, m)  # clockwise below the pivot moves left
        assert torch.equal(plain.sample(caption).frames, same.sample(caption).frames)


def test_points_motion_of_a_similarity_transform():
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(30, 2, generator=g) * 10 + 32
    frames = []
    for t in range(8):
        a = math.radians(5 * t)  # 35 degrees clockwise on screen (y down) over the clip
        R = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        c = p0.mean(0)
        frames.append((p0 - c) @ R.T * (1.05 ** t) + c + torch.tensor([3.0 * t, -1.0 * t]))
    m = points_motion(torch.stack(frames))
    assert m["dx"] == pytest.approx(21, abs=1e-3) and m["dy"] == pytest.approx(-7, abs=1e-3)
    assert m["rotation"] == pytest.approx(35, abs=1e-3) and m["scale"] == pytest.approx(1.05 ** 7, rel=1e-4)
    assert matches("moving right", m) and matches("rotating clockwise", m) and matches("growing", m)
    assert not matches("moving up", m)
    with pytest.raises(SketchError):
        matches("dancing", m)


# --------------------------------------------------------------- training
def test_training_script_runs_and_lowers_the_loss(tmp_path):
    mod = _script()
    out = tmp_path / "prior"
    # with the mid-noise draw, the weight floor, the rotation contrast, the swinging rotations and the pooled-caption
    # UNet input on, so those paths run too
    assert mod.main(["--quick", "--out", str(out), "--history", str(tmp_path / "h.json"), "--seed", "3",
                     "--mid-noise", "0.5", "--high-noise", "0.2", "--snr-floor", "1", "--contrast", "1",
                     "--rotation-pivot", "0.4", "--text-film"]) == 0
    torch.set_num_threads(1)  # the script sets its own thread count
    h = json.loads((tmp_path / "h.json").read_text())
    vae = h["vae_recon"]
    assert sum(vae[-5:]) / 5 < 0.8 * sum(vae[:5]) / 5, vae
    first, last = h["eval"][0], h["eval"][-1]
    assert first["step"] == 0 and last["step"] == 30
    assert last["right"] < 0.7 * first["right"], h["eval"]
    info = json.loads((out / "training.json").read_text())
    assert info["captions"] == list(CAPTIONS) and info["steps_done"] == 30
    prior = load_diffusers_prior(out, device="cpu")  # the user's loader reads what the script wrote
    assert prior.size_hint == (64, 64) and prior.tokenizer.model_max_length == 8
    assert prior.unet.dtype == torch.float32  # saved as fp16, loaded as the CPU's fp32
    assert prior.unet.config.time_cond_proj_dim == mod.HIDDEN  # --text-film: the loader passes the pooled caption


def test_text_film_copy_starts_as_the_trained_unet():
    """--text-film on --init: the copy with a pooled-caption input predicts what the trained UNet did until it trains,
    and the user's code passes it the pooled caption (text_condition); a ModelScope-style UNet gets nothing extra."""
    from sketchmotion.core.guidance.diffusers_prior import text_condition

    mod = _script()
    torch.manual_seed(0)
    unet = mod.make_unet().eval()
    film = mod.with_text_film(unet).eval()
    z, t = torch.randn(2, 4, 8, 8, 8), torch.tensor([100, 800])
    emb = torch.randn(2, 8, mod.HIDDEN)
    assert text_condition(unet, emb) == {}
    cond = text_condition(film, emb)
    assert torch.equal(cond["timestep_cond"], emb.mean(1))
    with torch.no_grad():
        before = unet(z, t, encoder_hidden_states=emb).sample
        assert torch.allclose(film(z, t, encoder_hidden_states=emb, **cond).sample, before, atol=1e-6)
        film.time_embedding.cond_proj.weight.normal_()
        assert not torch.allclose(film(z, t, encoder_hidden_states=emb, **cond).sample, before, atol=1e-3)


def test_timestep_draw_and_loss_weight():
    mod = _script()
    g = torch.Generator().manual_seed(0)
    t = mod.draw_timesteps(20000, g, high=0.2, mid=0.7, mid_range=(150, 700))
    assert 0 <= int(t.min()) and int(t.max()) <= 999
    in_mid = ((t >= 150) & (t < 700)).float().mean()
    # 70% drawn there, plus the share of the high draw (500..999) and of the uniform 10% that falls there
    assert abs(float(in_mid) - (0.7 + 0.2 * 200 / 500 + 0.1 * 0.55)) < 0.02
    assert abs(float((t < 150).float().mean()) - 0.1 * 0.15) < 0.01
    ab = mod.alphas_cumprod()
    assert float(mod.snr_weight(ab[0:1], cap=10)) < 0.01  # 1/SNR at t=0
    assert float(mod.snr_weight(ab[0:1], cap=10, floor=1)) == 1.0
    assert float(mod.snr_weight(ab[999:], cap=10, floor=1)) == 10.0


def test_tokenizer_is_clip_bpe_and_captions_fit():
    tok = _script().build_clip_tokenizer()
    for c in CAPTIONS:
        ids = tok(c).input_ids
        assert len(ids) <= 8 and ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert tok.tokenize("moving left") == ["moving</w>", "left</w>"]
    assert tok.convert_tokens_to_ids("moving</w>") == 3584  # CLIP's own id (kept merges keep their ids)


def test_opposite_captions_differ_in_one_token_as_left_and_right_do(tmp_path):
    """The rotation captions were rot ating clo ck wise / rot ating counter clo ck wise (5 of 6 pieces shared,
    shifted by one): each rotation word is one token now, placed after <|endoftext|> so every earlier id (and so a
    prior trained before) is unchanged; the saved folder tokenizes alike where users load it."""
    from transformers import AutoTokenizer

    mod = _script()
    tok = mod.build_clip_tokenizer(tmp_path / "tok")
    plain = mod.build_clip_tokenizer(whole_words=())
    assert (tok.bos_token_id, tok.eos_token_id) == (plain.bos_token_id, plain.eos_token_id)
    assert {k: v for k, v in tok.get_vocab().items() if v < len(plain)} == plain.get_vocab()
    loaded = AutoTokenizer.from_pretrained(tmp_path / "tok")
    for a, b in (("moving left", "moving right"), ("rotating clockwise", "rotating counterclockwise")):
        ia, ib = loaded(a).input_ids, loaded(b).input_ids
        assert len(ia) == len(ib) and sum(x != y for x, y in zip(ia, ib)) == 1, (ia, ib)
    assert tok.tokenize("turn it counterclockwise, then clockwise") == [
        "turn</w>", "it</w>", "counterclockwise</w>", ",</w>", "then</w>", "clockwise</w>"]
    assert tok.tokenize("clock wise") == ["clock</w>", "wise</w>"]


# ---------------------------------------------------------- bundled prior
@pytest.fixture(scope="module")
def bundled():
    return load_diffusers_prior(bundled_motion_prior_path("modelscope"), device="cpu")


def test_bundled_prior_is_small_and_loads_like_a_user_model(bundled):
    path = bundled_motion_prior_path("modelscope")
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert size < 8e6, size
    assert bundled.size_hint == (64, 64) and bundled.vae_factor == 8
    info = json.loads((path / "training.json").read_text())
    assert info["captions"] == list(CAPTIONS)
    with pytest.raises(SketchError, match="available"):
        bundled_motion_prior_path("nope")


def test_bundled_autoencoder_keeps_every_motion(bundled):
    """The 8x-down autoencoder's round trip keeps each caption's motion (else no prior could learn it)."""
    data = MotionVideos(seed=1000)
    for caption in CAPTIONS:
        frames = torch.stack([data.sample(caption).frames for _ in range(2)])
        x = (frames.flatten(0, 1) * 2 - 1)[:, None].expand(-1, 3, -1, -1)
        with torch.no_grad():
            rec = bundled.vae.decode(bundled.vae.encode(x).latent_dist.mean).sample
        rec = ((rec + 1) / 2).clamp(0, 1).mean(1).unflatten(0, frames.shape[:2])
        for v in rec:
            assert matches(caption, video_motion(v)), caption


def test_bundled_prior_samples_move_as_captioned(bundled):
    """Two DDIM samples per caption (all in one batch) move the captioned way: nearly all of them
    (scripts/check_motion_prior.py on the bundled prior, 6 samples a caption: 46 of 48, both misses clockwise turns)."""
    torch.manual_seed(0)
    vids = sample_diffusers_prior(bundled, CAPTIONS, 2, steps=15, guidance=5.0, seed=0)
    hits = {c: [matches(c, video_motion(v)) for v in vids[2 * i:2 * i + 2]] for i, c in enumerate(CAPTIONS)}
    assert sum(sum(h) for h in hits.values()) >= 14, hits
    assert all(any(h) for h in hits.values()), hits
