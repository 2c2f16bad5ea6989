"""Tiny random models saved as real model folders, for tests without downloads.

``build_tiny_text_to_video(folder)`` writes a diffusers text-to-video pipeline folder
(model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) with the
ModelScope layout at toy size: UNet3DConditionModel, SD-style AutoencoderKL (8x
downsampling, scaling factor 0.18215), CLIPTextModel, a CLIP BPE tokenizer whose
vocabulary and merges are learned here from a small corpus (same file format and
byte-level scheme as CLIP's), and ModelScope's DDIM scheduler config. Load it with
the same code users run (core.guidance.diffusers_prior.load_diffusers_prior).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch

TINY_CROSS_DIM = 32
CORPUS = (
    "a horse galloping in the field . a cat is walking , the bird flies and flaps its wings . "
    "a dancer dancing ballet ; the fish swims in the water . a man surfing on a wave ! "
    "the flag waves in the wind . a dolphin jumps out of the sea . a butterfly flapping wings"
)


def bytes_to_unicode() -> dict[int, str]:
    """Byte -> printable unicode character, the reversible byte-level scheme of GPT-2 / CLIP BPE."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def learn_bpe(corpus: str, num_merges: int = 80) -> tuple[dict[str, int], list[str]]:
    """A CLIP-format vocabulary (bytes, bytes+</w>, merges, specials) and merge list from `corpus`."""
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars]
    words = Counter(corpus.lower().split())
    seqs = {w: tuple(list(w[:-1]) + [w[-1] + "</w>"]) for w in words}
    merges: list[str] = []
    for _ in range(num_merges):
        pairs: Counter = Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        vocab.append(a + b)
        for w, s in seqs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == (a, b):
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = tuple(out)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(dict.fromkeys(vocab))}, merges


def build_tiny_tokenizer(folder: Path):
    """Save a CLIPTokenizer (77 tokens max) to `folder`; returns it."""
    from transformers import CLIPTokenizer

    vocab, merges = learn_bpe(CORPUS)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], model_max_length=77)
    tok.save_pretrained(folder)
    return tok


def tiny_unet(seed: int = 0):
    from diffusers import UNet3DConditionModel

    torch.manual_seed(seed)
    return UNet3DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        norm_num_groups=8,
        cross_attention_dim=TINY_CROSS_DIM,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
    )


def tiny_vae(seed: int = 0):
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=0.18215,
    )


def tiny_text_encoder(vocab_size: int, bos: int, eos: int, seed: int = 0):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    cfg = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=TINY_CROSS_DIM,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=eos,
        projection_dim=TINY_CROSS_DIM,
    )
    return CLIPTextModel(cfg).eval()


def modelscope_scheduler():
    """ModelScope's published scheduler settings (DDIM, scaled-linear betas 0.00085..0.012)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="epsilon",
    )


def build_tiny_text_to_video(folder, seed: int = 0) -> Path:
    """Write a tiny random ModelScope-layout pipeline folder (idempotent); returns its path."""
    folder = Path(folder)
    if (folder / "model_index.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tiny_tokenizer(folder / "tokenizer")
    vocab = tok.get_vocab()
    text_encoder = tiny_text_encoder(len(vocab), vocab["<|startoftext|>"], vocab["<|endoftext|>"], seed)
    text_encoder.save_pretrained(folder / "text_encoder")
    tiny_unet(seed).save_pretrained(folder / "unet")
    tiny_vae(seed).save_pretrained(folder / "vae")
    modelscope_scheduler().save_pretrained(folder / "scheduler")
    import diffusers

    index = {
        "_class_name": "TextToVideoSDPipeline",
        "_diffusers_version": diffusers.__version__,
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet3DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def install_in_hf_cache(folder, cache_dir, repo_id: str, revision: str = "0" * 40) -> Path:
    """Lay `folder` out as a Hugging Face hub cache entry of `repo_id` (refs/main -> snapshot of symlinks)."""
    folder, cache_dir = Path(folder), Path(cache_dir)
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / revision
    for f in folder.rglob("*"):
        if f.is_file():
            dst = snap / f.relative_to(folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                dst.symlink_to(f.resolve())
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snap
