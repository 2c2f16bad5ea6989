"""The LiveSketch paper's two animation metrics, with CLIP (open_clip) and X-CLIP (transformers).

- Sketch-to-video consistency: the mean, over frames, of the cosine similarity between
  the CLIP image embedding of the input sketch and that of each frame (LiveSketch reports
  0.965). Default model: open_clip ViT-B-32 with OpenAI's weights ("ViT-B-32:openai"); the
  paper names CLIP but not the variant, so this is our choice.
- Text-to-video alignment: X-CLIP's video-text similarity, i.e. the cosine between X-CLIP's
  normalised video embedding and its (video-conditioned) prompt embedding, which is
  `logits_per_video / logit_scale` (LiveSketch reports 0.142). Default model:
  microsoft/xclip-base-patch32, which reads 8 frames: they are taken evenly spaced over the
  animation (indices round(linspace(0, T - 1, 8)); fewer frames repeat).

Every image is rendered with core.raster.render straight at the model's input size on
white: the canvas is scaled so its longer side fills the square input and the rest is
padded white (the whole drawing is seen; for square canvases this equals the models'
resize + centre crop), then normalised with the model's mean and std.

Models come from local folders, never from the network unless allow_download=True:
- CLIP (core.models.find_open_clip): an open_clip folder (open_clip_config.json + open_clip_model.safetensors), given
  as a path or "local-dir:PATH", or found by name in `search_dirs` (NAME, ARCH-TAG, ARCH);
  "ARCH:TAG" (e.g. "ViT-B-32:openai") also finds the tag's weights in the Hugging Face
  cache; "hf-hub:ORG/REPO" an open_clip repository there.
- X-CLIP (core.models.find_xclip): a transformers folder (config.json with model_type "xclip", weights, tokenizer,
  preprocessor config), as a path, in `search_dirs` (as given, its last part, org--name),
  or a hub id in the Hugging Face cache.

open_clip is optional (`pip install open_clip_torch`); it and transformers are imported
inside functions only.
"""

from __future__ import annotations

import os
from typing import Iterable

import torch
import torch.nn.functional as F

from .errors import SketchError
from .models import find_open_clip, find_xclip, import_open_clip
from .sketch import Sketch, SketchAnimation

DEFAULT_CLIP = "ViT-B-32:openai"
DEFAULT_XCLIP = "microsoft/xclip-base-patch32"
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # X-CLIP's training normalisation (used if a folder has no preprocessor config)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CACHE: dict = {}  # (kind, source, device) -> the last loaded model of each kind


# ------------------------------------------------------------------ shared helpers
def _device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _remember(key, load):
    if key not in _CACHE:
        for k in [k for k in _CACHE if k[0] == key[0]]:  # keep one model of each kind (GPU memory)
            del _CACHE[k]
        _CACHE[key] = load()
    return _CACHE[key]


def render_for_model(sketch: Sketch, points: torch.Tensor, size: int) -> torch.Tensor:
    """Frames [T, N, 2] of `sketch` rendered on white into size x size images [T, size, size, 3] (0..1).

    The canvas is scaled so its longer side is `size`; the shorter side is padded white, centred.
    """
    from .raster import WHITE, render

    if sketch.dim != 2 or points.shape[-1] != 2:
        raise SketchError("The CLIP metrics measure 2D sketches; render a 3D animation to 2D frames first.")
    W, H = sketch.canvas
    scale = size / max(W, H)
    w, h = max(1, round(W * scale)), max(1, round(H * scale))
    out = []
    with torch.no_grad():
        for chunk in points.split(8):
            out.append(render(sketch, chunk, size=(w, h), background=WHITE).clamp(0, 1))
    img = torch.cat(out)
    if (w, h) != (size, size):
        left, top = (size - w) // 2, (size - h) // 2
        img = F.pad(img.permute(0, 3, 1, 2), (left, size - w - left, top, size - h - top), value=1.0)
        img = img.permute(0, 2, 3, 1)
    return img


def normalise_images(images: torch.Tensor, size: int, mean, std) -> torch.Tensor:
    """[B, H, W, 3] in 0..1 -> [B, 3, size, size] normalised; resized (bicubic) only if not already size x size."""
    x = images.permute(0, 3, 1, 2).float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def _square_size(size) -> int:
    if isinstance(size, (tuple, list)):
        if len(set(int(v) for v in size)) != 1:
            raise SketchError(f"Only square model inputs are supported, got {tuple(size)}.")
        return int(size[0])
    return int(size)


# ------------------------------------------------------------------ CLIP (open_clip)
class ClipImageEncoder:
    """An open_clip model's image tower with its input size and normalisation."""

    def __init__(self, model, image_size: int, mean, std, name: str):
        self.model, self.image_size, self.mean, self.std, self.name = model, image_size, tuple(mean), tuple(std), name

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch: int = 32) -> torch.Tensor:
        """[B, H, W, 3] images in 0..1 -> unit-length CLIP embeddings [B, D] (float32)."""
        out = []
        for chunk in images.split(batch):
            x = normalise_images(chunk.to(self.device), self.image_size, self.mean, self.std)
            out.append(F.normalize(self.model.encode_image(x).float(), dim=-1))
        return torch.cat(out)


def load_clip(model: str | os.PathLike = DEFAULT_CLIP, *, search_dirs: Iterable = (), device=None,
              allow_download: bool = False) -> ClipImageEncoder:
    """Load an open_clip image encoder (see the module docstring for where it is looked for)."""
    if isinstance(model, ClipImageEncoder):
        return model
    spec = str(model).strip()
    dev = _device(device)
    kind, source, extra = find_open_clip(spec, search_dirs, allow_download)
    open_clip = import_open_clip()

    def load():
        try:
            if kind == "dir":
                clip, _, _ = open_clip.create_model_and_transforms(f"local-dir:{source}", device=dev)
                pre = getattr(clip.visual, "preprocess_cfg", {}) or {}
                mean, std = pre.get("mean", OPENAI_MEAN), pre.get("std", OPENAI_STD)
            else:
                weights, cfg = extra
                clip = open_clip.create_model(source, pretrained=str(weights), device=dev,
                                              force_quick_gelu=bool(cfg.get("quick_gelu", False)))
                mean, std = cfg.get("mean", OPENAI_MEAN), cfg.get("std", OPENAI_STD)
        except (RuntimeError, ValueError, KeyError, OSError) as e:
            raise SketchError(f"Could not load CLIP model {spec!r} from {source}: {e}") from e
        size = _square_size(clip.visual.image_size)
        return ClipImageEncoder(clip.eval().requires_grad_(False), size, mean, std, spec)

    return _remember(("clip", str(source), str(extra[0]) if extra else "", str(dev)), load)


@torch.no_grad()
def sketch_video_consistency(anim: SketchAnimation, clip=DEFAULT_CLIP, *, sketch: Sketch | None = None,
                             device=None, search_dirs: Iterable = (), allow_download: bool = False):
    """(mean, per-frame list): CLIP cosine similarity of each frame to the input sketch.

    sketch: the reference drawing (default: the animation's base sketch).
    clip: a model spec for load_clip, or a loaded ClipImageEncoder.
    """
    enc = load_clip(clip, search_dirs=search_dirs, device=device, allow_download=allow_download)
    ref = anim.sketch if sketch is None else sketch
    ref_img = render_for_model(ref.to(enc.device), ref.points[None].to(enc.device), enc.image_size)
    frames = render_for_model(anim.sketch.to(enc.device), anim.frames.to(enc.device), enc.image_size)
    e_ref, e = enc.embed(ref_img), enc.embed(frames)
    sims = (e @ e_ref[0]).cpu()
    return float(sims.double().mean()), [float(v) for v in sims]


# ------------------------------------------------------------------ X-CLIP (transformers)
class XClipScorer:
    """An X-CLIP model, its tokenizer, frame count, input size and normalisation."""

    def __init__(self, model, tokenizer, num_frames: int, image_size: int, mean, std, name: str):
        self.model, self.tokenizer, self.num_frames = model, tokenizer, num_frames
        self.image_size, self.mean, self.std, self.name = image_size, tuple(mean), tuple(std), name

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def frame_indices(self, num_frames: int) -> list[int]:
        """Which of `num_frames` frames the model sees: evenly spaced, first and last included."""
        return torch.linspace(0, num_frames - 1, self.num_frames).round().long().tolist()

    @torch.no_grad()
    def similarity(self, frames: torch.Tensor, prompt: str) -> float:
        """Cosine of X-CLIP's video embedding of frames [num_frames, H, W, 3] and its prompt embedding."""
        if frames.shape[0] != self.num_frames:
            raise SketchError(f"X-CLIP {self.name} reads {self.num_frames} frames, got {frames.shape[0]}.")
        px = normalise_images(frames.to(self.device), self.image_size, self.mean, self.std)[None]
        tok = self.tokenizer([prompt], padding=True, truncation=True, return_tensors="pt").to(self.device)
        out = self.model(input_ids=tok["input_ids"], attention_mask=tok.get("attention_mask"), pixel_values=px)
        video = F.normalize(out.video_embeds.float(), dim=-1)  # [1, D]
        text = F.normalize(out.text_embeds.float(), dim=-1)  # [1, 1, D] (conditioned on the video)
        return float((video[:, None] * text).sum(-1)[0, 0])


def load_xclip(model: str | os.PathLike = DEFAULT_XCLIP, *, search_dirs: Iterable = (), device=None,
               allow_download: bool = False) -> XClipScorer:
    """Load an X-CLIP model with its tokenizer and image preprocessing settings."""
    if isinstance(model, XClipScorer):
        return model
    folder = find_xclip(model, search_dirs, allow_download)
    dev = _device(device)

    def load():
        try:
            from transformers import AutoTokenizer, XCLIPModel
        except ImportError as e:
            raise SketchError("Text-to-video alignment needs transformers: run `pip install transformers`.") from e
        try:
            net = XCLIPModel.from_pretrained(folder).to(dev).eval().requires_grad_(False)
            tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError, KeyError) as e:
            raise SketchError(f"Could not load X-CLIP model from {folder}: {e}") from e
        vision = net.config.vision_config
        size, mean, std = _square_size(vision.image_size), IMAGENET_MEAN, IMAGENET_STD
        try:
            from transformers import AutoImageProcessor

            proc = AutoImageProcessor.from_pretrained(folder)
            crop = getattr(proc, "crop_size", None)
            crop = dict(crop) if crop is not None else {}
            size = int(crop.get("height") or size)
            mean, std = tuple(proc.image_mean), tuple(proc.image_std)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no preprocessor config: the config's image size and X-CLIP's ImageNet statistics
        return XClipScorer(net, tokenizer, int(vision.num_frames), size, mean, std, str(model))

    return _remember(("xclip", str(folder), "", str(dev)), load)


@torch.no_grad()
def text_video_alignment(anim: SketchAnimation, prompt: str, xclip=DEFAULT_XCLIP, *, device=None,
                         search_dirs: Iterable = (), allow_download: bool = False) -> tuple[float, list[int]]:
    """(X-CLIP similarity of the prompt and the animation, the frame indices the model saw)."""
    if not str(prompt or "").strip():
        raise SketchError("Text-to-video alignment needs a prompt describing the motion.")
    scorer = load_xclip(xclip, search_dirs=search_dirs, device=device, allow_download=allow_download)
    idx = scorer.frame_indices(anim.num_frames)
    frames = render_for_model(anim.sketch.to(scorer.device), anim.frames[idx].to(scorer.device), scorer.image_size)
    return scorer.similarity(frames, prompt), idx


# ------------------------------------------------------------------ both
def measure_animation(anim: SketchAnimation, prompt: str | None = None, clip_model=DEFAULT_CLIP,
                      xclip_model=DEFAULT_XCLIP, device=None, *, sketch: Sketch | None = None,
                      search_dirs: Iterable = (), allow_download: bool = False) -> dict:
    """The paper's two metrics as a JSON-friendly dict.

    Keys: consistency (mean), consistency_per_frame, frames, clip_model; with a prompt also
    prompt, alignment, alignment_frames (indices X-CLIP saw) and xclip_model
    (alignment is None without a prompt).
    """
    if anim.dim != 2:
        raise SketchError("The CLIP metrics measure 2D animations; this one is 3D.")
    search_dirs = list(search_dirs)
    mean, per_frame = sketch_video_consistency(anim, clip_model, sketch=sketch, device=device,
                                               search_dirs=search_dirs, allow_download=allow_download)
    result = {"frames": anim.num_frames, "consistency": mean, "consistency_per_frame": per_frame,
              "clip_model": getattr(clip_model, "name", str(clip_model)), "prompt": None, "alignment": None}
    if prompt is not None and str(prompt).strip():
        align, idx = text_video_alignment(anim, prompt, xclip_model, device=device, search_dirs=search_dirs,
                                          allow_download=allow_download)
        result.update(prompt=str(prompt), alignment=align, alignment_frames=idx,
                      xclip_model=getattr(xclip_model, "name", str(xclip_model)))
    return result


def format_report(result: dict) -> str:
    """A few human-readable lines from measure_animation's dict."""
    per = result["consistency_per_frame"]
    worst = min(range(len(per)), key=per.__getitem__)
    lines = [f"sketch-to-video consistency {result['consistency']:.4f} (CLIP {result['clip_model']}, "
             f"{result['frames']} frame{'s' * (result['frames'] != 1)}, lowest {per[worst]:.4f} at frame {worst})"]
    if result.get("alignment") is not None:
        lines.append(f"text-to-video alignment {result['alignment']:.4f} (X-CLIP {result['xclip_model']}, "
                     f"frames {result['alignment_frames']}, prompt {result['prompt']!r})")
    else:
        lines.append("text-to-video alignment: not measured (no prompt)")
    return "\n".join(lines)
