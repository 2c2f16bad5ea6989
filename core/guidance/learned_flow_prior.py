"""The pack's small learned flow-matching video prior for ComfyUI (assets/motion_prior/wan_tiny).

A tiny Wan 2.1 text-to-video transformer (ComfyUI's own WanModel, rectified flow as ComfyUI's
Wan model_sampling: shift 8) and a 16-channel TAESD image VAE, trained by
scripts/train_flow_prior.py on the same synthetic captioned videos as the diffusers prior
(core.synthetic_motion: 8 frames at 64x64; the captions "moving left/right/up/down", "growing",
"shrinking" and ""). What it learnt is in assets/motion_prior/README.md; every function takes
`folder` for a prior trained elsewhere. It loads with ComfyUI's own loaders:

    import comfy.sd, comfy.utils
    files = bundled_flow_prior_files()
    model = comfy.sd.load_diffusion_model_state_dict(comfy.utils.load_torch_file(files["model"]))
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(files["vae"]))
    positive, negative = flow_conditioning("moving right"), flow_conditioning("")

Wan reads 4096-wide text embeddings (umt5-xxl); this prior's text encoder is the tiny CLIP
model bundled beside it (hidden size 32), whose last hidden states are zero-padded to 4096
(`text_embeddings`), so any prompt gives an embedding; only the trained captions mean anything.

No ComfyUI import happens here: CONDITIONING is a plain list [[tensor, {}]]. Sampling it (for checks) is
`sketchmotion.testing.comfy_models.sample_flow_prior`, which needs ComfyUI.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import SketchError

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "motion_prior"
FOLDER = "wan_tiny"
MODEL_FILE, VAE_FILE = "wan_tiny_t2v.safetensors", "taesd16_sketch.safetensors"
TEXT_DIM = 4096  # Wan 2.1's text_dim (ComfyUI builds it at 4096 whatever the state dict)
MAX_TOKENS = 8  # prompts are padded / truncated to this many tokens, as in training

_TEXT_CACHE: dict = {}


def bundled_flow_prior_path() -> Path:
    """Folder of the bundled flow prior (assets/motion_prior/wan_tiny)."""
    return ASSETS / FOLDER


def bundled_flow_prior_files(folder: str | Path | None = None) -> dict:
    """Paths of the flow prior's files: "model" (diffusion model, Load Diffusion Model format),
    "vae" (TAESD, Load VAE format), "text_encoder" and "tokenizer" folders (transformers)."""
    root = Path(folder) if folder is not None else bundled_flow_prior_path()
    files = {"model": root / MODEL_FILE, "vae": root / VAE_FILE, "text_encoder": root / "text_encoder",
             "tokenizer": root / "tokenizer"}
    missing = [k for k, p in files.items() if not p.exists()]
    if missing:
        raise SketchError(f"The learned flow prior at {root} lacks {', '.join(missing)}. Reinstall the pack, or "
                          "retrain it with `python scripts/train_flow_prior.py`.")
    return files


def _text_model(folder: Path):
    key = str(Path(folder).resolve())
    if key not in _TEXT_CACHE:
        from transformers import CLIPTextModel, CLIPTokenizer

        files = bundled_flow_prior_files(folder)
        tok = CLIPTokenizer.from_pretrained(str(files["tokenizer"]))
        model = CLIPTextModel.from_pretrained(str(files["text_encoder"]), dtype=torch.float32).eval()
        _TEXT_CACHE[key] = (tok, model)
    return _TEXT_CACHE[key]


@torch.no_grad()
def text_embeddings(prompts, folder: str | Path | None = None) -> torch.Tensor:
    """Prompts -> [len(prompts), 8, 4096] float32: the bundled CLIP text model's last hidden states
    (prompts padded to 8 tokens) zero-padded to Wan's text width."""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    tok, model = _text_model(Path(folder) if folder is not None else bundled_flow_prior_path())
    ids = tok(prompts, padding="max_length", max_length=MAX_TOKENS, truncation=True, return_tensors="pt").input_ids
    h = model(ids)[0].float()
    return torch.nn.functional.pad(h, (0, TEXT_DIM - h.shape[-1]))


def flow_conditioning(prompt: str, folder: str | Path | None = None) -> list:
    """ComfyUI CONDITIONING [[embedding [1, 8, 4096], {}]] for one prompt (use "" for the negative)."""
    return [[text_embeddings([prompt], folder), {}]]
