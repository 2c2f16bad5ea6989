"""Tiny random CLIP (open_clip) and X-CLIP (transformers) models saved as real model folders.

``build_tiny_open_clip(folder)`` writes open_clip's local-dir layout (open_clip_config.json
with model_cfg + preprocess_cfg, open_clip_model.safetensors) of a small ViT CLIP;
``build_tiny_xclip(folder)`` writes an XCLIPModel (save_pretrained), a CLIP BPE tokenizer
learned offline (tiny_models.py) and a VideoMAE-style image processor config, the
layout of microsoft/xclip-base-patch32. Both load through core.metrics_clip's loaders.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .tiny_models import build_tiny_tokenizer

CLIP_SIZE = 48
XCLIP_SIZE = 32
XCLIP_FRAMES = 8
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def build_tiny_open_clip(folder, seed: int = 0, image_size: int = CLIP_SIZE) -> Path:
    """An open_clip local-dir folder with a random ViT CLIP (embed dim 32); idempotent."""
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    folder = Path(folder)
    if (folder / "open_clip_config.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    model_cfg = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": image_size, "layers": 2, "width": 64, "patch_size": 8, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1},
    }
    torch.manual_seed(seed)
    model = CLIP(**model_cfg)
    preprocess = {"mean": list(MEAN), "std": list(STD), "interpolation": "bicubic", "resize_mode": "shortest"}
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": preprocess}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "open_clip_model.safetensors")
    return folder


def build_tiny_xclip(folder, seed: int = 0, image_size: int = XCLIP_SIZE, num_frames: int = XCLIP_FRAMES) -> Path:
    """A transformers X-CLIP folder (model, tokenizer, processor) at toy size; idempotent."""
    from transformers import VideoMAEImageProcessor, XCLIPConfig, XCLIPModel, XCLIPProcessor

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tiny_tokenizer(folder)
    vocab = tok.get_vocab()
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    cfg = XCLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=77, bos_token_id=bos, eos_token_id=eos,
                         pad_token_id=eos),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                           mit_hidden_size=16, mit_intermediate_size=20, mit_num_hidden_layers=1,
                           mit_num_attention_heads=2, image_size=image_size, patch_size=8, num_frames=num_frames),
        projection_dim=16, prompt_layers=1, prompt_num_attention_heads=2,
    )
    torch.manual_seed(seed)
    XCLIPModel(cfg).eval().save_pretrained(folder)
    square = {"height": image_size, "width": image_size}
    proc = VideoMAEImageProcessor(size={"shortest_edge": image_size}, crop_size=square,
                                  image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    XCLIPProcessor(image_processor=proc, tokenizer=tok).save_pretrained(folder)
    return folder
