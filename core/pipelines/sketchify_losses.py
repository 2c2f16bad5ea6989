"""The losses of image -> sketch (core.pipelines.sketchify), and the CLIP feature adapters.

- `line_map(image)`: where a sketch of the image would put ink, [H, W] in 0..1, with no model:
  the image's darkness (how far each channel, and the luminance, is from white) minus its
  grey-level erosion over about one stroke width (a morphological internal gradient), robustly
  normalised and soft-thresholded. Dark lines thinner than the erosion come out as themselves;
  the edge between two regions comes out as a band one stroke wide on its darker side; flat
  areas and faint texture come out empty. (CLIPasso intersects an edge map of this kind, XDoG,
  with its CLIP saliency map.)
- `line_loss(ink, target)`: the model-free loss: mean squared error between the render's ink
  and the line map over an average-pooling pyramid (full size down to ~8 px), divided by the
  same measure for an empty render (1 = nothing drawn, 0 = exact). The coarse levels pull
  strokes in from afar, the fine levels place them to the pixel.
- CLIP (CLIPasso): geometric loss = mean over chosen intermediate layers of the squared
  difference of activations, each divided by the target activations' mean square (so the
  weights do not depend on the model's scale); semantic loss = 1 - cosine of the image
  embeddings. Feature adapters give (activations, embedding) for normalised images:
  `OpenClipFeatures` (an open_clip model: ViT blocks or ResNet stages, by forward hooks) and
  `HiddenStatesFeatures` (a CLIP vision tower laid out like ComfyUI's CLIP_VISION model,
  run layer by layer; plain torch, no comfy import).
- `clip_saliency(features, image)`: a CLIP relevancy map for the strokes' initialisation:
  gradient x input of the embedding's distance from that of a blank page (what makes CLIP
  see content), channel-summed, rectified and blurred to the patch scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import SketchError
from ..filters import gaussian_blur

LAYER_FRACTIONS = (1 / 3, 2 / 3)  # which intermediate layers the geometric loss compares (CLIPasso: RN101 stages 2-3)


# --------------------------------------------------------------------------- line map
def darkness(image: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] in 0..1 -> [B, 4, H, W]: 1 - each RGB channel, and 1 - luminance."""
    y = (0.299 * image[:, 0] + 0.587 * image[:, 1] + 0.114 * image[:, 2])[:, None]
    return 1.0 - torch.cat([image, y], 1)


def line_map(image: torch.Tensor, scale: float = 1.0, threshold: float = 0.1) -> torch.Tensor:
    """Where a sketch of `image` ([H, W, 3] in 0..1) would draw: [H, W] in 0..1 (see module doc).

    scale: the stroke width in px (lines up to ~2x this wide are kept whole; wider dark areas
    keep a band this wide along their outline); threshold: responses below this fraction of
    the robust maximum are dropped (texture, noise).
    """
    x = image.permute(2, 0, 1)[None].float()
    d = gaussian_blur(darkness(x), 0.5)
    r = max(1, int(math.ceil(scale)))
    eroded = -F.max_pool2d(-F.pad(d, (r, r, r, r), mode="replicate"), 2 * r + 1, stride=1)
    resp = (d - eroded).clamp_min(0).amax(1)[0]  # [H, W]: dark pixels near something lighter
    on = resp[resp > 0.02]
    if on.numel() < 8:
        return torch.zeros_like(resp)
    top = torch.quantile(on[:: max(1, on.numel() // 100_000)], 0.98).clamp(0.3, 1.0)
    resp = (resp / top).clamp(0, 1)
    return ((resp - threshold) / (1 - threshold)).clamp(0, 1)


def pyramid(x: torch.Tensor, min_size: int = 8) -> list[torch.Tensor]:
    """[B, 1, H, W] -> average-pooled levels, full size first, down to about `min_size` px."""
    levels = [x]
    while min(levels[-1].shape[-2:]) >= 2 * min_size:
        levels.append(F.avg_pool2d(levels[-1], 2))
    return levels


def line_loss(ink: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-scale L2 of ink [B, H, W] against line maps [B, H, W], relative to an empty render.

    weight: optional [B, H, W] pixel weights (e.g. the masks' union), applied at full size.
    """
    if weight is not None:
        ink, target = ink * weight, target * weight
    num = 0.0
    den = 0.0
    for r, g in zip(pyramid(ink[:, None]), pyramid(target[:, None])):
        num = num + ((r - g) ** 2).mean()
        den = den + (g**2).mean()
    return num / den.detach().clamp_min(1e-12)


# --------------------------------------------------------------------------- CLIP features
def _layer_indices(n: int, fractions=LAYER_FRACTIONS) -> list[int]:
    return sorted({min(n - 1, max(0, math.ceil(n * f) - 1)) for f in fractions})


class ClipFeatures:
    """Base: (intermediate activations, embedding) of normalised images [B, 3, S, S]."""

    name = "CLIP"
    image_size = 224
    mean = (0.48145466, 0.4578275, 0.40821073)
    std = (0.26862954, 0.26130258, 0.27577711)
    layers: list[int] = []

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """[B, H, W, 3] in 0..1 -> [B, 3, S, S] at the model's size and normalisation."""
        x = images.permute(0, 3, 1, 2)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                              antialias=True)
        m = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        s = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return ((x - m) / s).to(self.device, self.dtype)

    def __call__(self, images: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        raise NotImplementedError


class OpenClipFeatures(ClipFeatures):
    """An open_clip CLIP model (core.metrics_clip.load_clip's encoder, or the model itself)."""

    def __init__(self, encoder, layers: list[int] | None = None):
        model = getattr(encoder, "model", encoder)
        self.module = model
        self.name = getattr(encoder, "name", type(model).__name__)
        self.image_size = int(getattr(encoder, "image_size", 224))
        self.mean = tuple(getattr(encoder, "mean", self.mean))
        self.std = tuple(getattr(encoder, "std", self.std))
        visual = model.visual
        if hasattr(visual, "transformer"):
            self._blocks = list(visual.transformer.resblocks)
            self._batch_first = bool(getattr(visual.transformer, "batch_first", True))
        elif all(hasattr(visual, f"layer{i}") for i in range(1, 5)):
            self._blocks = [visual.layer1, visual.layer2, visual.layer3, visual.layer4]
            self._batch_first = True
        else:
            raise SketchError(f"CLIP model {self.name}: its image tower is neither a ViT nor a ResNet; "
                              "use an open_clip ViT or RN model.")
        self.layers = list(layers) if layers is not None else _layer_indices(len(self._blocks))

    def __call__(self, images):
        x = self.normalise(images)
        acts: dict[int, torch.Tensor] = {}
        handles = []
        for i in self.layers:
            def hook(_m, _inp, out, i=i):
                out = out[0] if isinstance(out, tuple) else out
                if out.ndim == 3 and not self._batch_first:
                    out = out.transpose(0, 1)
                acts[i] = out
            handles.append(self._blocks[i].register_forward_hook(hook))
        try:
            emb = self.module.encode_image(x)
        finally:
            for h in handles:
                h.remove()
        return [acts[i].float() for i in self.layers], emb.float()


def _attention(q, k, v, heads, mask=None, **_):
    """Multi-head attention on [B, T, C] tensors (the signature of ComfyUI's optimized_attention)."""
    B, T, C = q.shape
    q, k, v = (t.view(B, -1, heads, C // heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(B, T, C)


class HiddenStatesFeatures(ClipFeatures):
    """A CLIP vision tower in ComfyUI's layout (see the module docstring).

    The module's own forward adds residuals in place (fine for inference, but autograd cannot
    differentiate a layer norm whose input was overwritten), so the layers are run here one by
    one with out-of-place residuals: vision_model.embeddings -> pre_layrnorm -> encoder.layers
    (layer_norm1, self_attn, layer_norm2, mlp) -> post_layernorm -> visual_projection.
    """

    def __init__(self, module, image_size: int, mean, std, name: str = "CLIP_VISION", layers: list[int] | None = None):
        self.module, self.image_size, self.mean, self.std, self.name = module, int(image_size), tuple(mean), tuple(std), name
        vm = getattr(module, "vision_model", None)
        enc = getattr(vm, "encoder", None)
        if vm is None or not hasattr(enc, "layers") or not hasattr(vm, "embeddings"):
            raise SketchError(f"{name} is not a CLIP vision model (no vision_model.encoder.layers); connect a CLIP "
                              "vision model (e.g. from Load CLIP Vision), or leave the input empty.")
        self._vm, self._layers = vm, list(enc.layers)
        self.layers = list(layers) if layers is not None else _layer_indices(len(self._layers))

    def __call__(self, images):
        vm = self._vm
        x = vm.pre_layrnorm(vm.embeddings(self.normalise(images)))
        acts = []
        for i, layer in enumerate(self._layers):
            x = x + layer.self_attn(layer.layer_norm1(x), None, _attention)
            x = x + layer.mlp(layer.layer_norm2(x))
            if i in self.layers:
                acts.append(x.float())
        pooled = vm.post_layernorm(x) if getattr(vm, "output_layernorm", False) else vm.post_layernorm(x[:, 0])
        emb = self.module.visual_projection(pooled)
        if emb.ndim == 3:  # SigLIP: no class token, the embedding is per token
            emb = emb.mean(1)
        return acts, emb.float()


def geometric_loss(acts_render: list[torch.Tensor], acts_target: list[torch.Tensor]) -> torch.Tensor:
    """CLIPasso's geometric loss: mean over layers of the relative squared activation difference."""
    total = 0.0
    for a, b in zip(acts_render, acts_target):
        b = b.detach()
        total = total + ((a - b) ** 2).mean() / (b**2).mean().clamp_min(1e-12)
    return total / max(1, len(acts_render))


def semantic_loss(emb_render: torch.Tensor, emb_target: torch.Tensor) -> torch.Tensor:
    """CLIPasso's semantic loss: 1 - cosine of the image embeddings (mean over the batch)."""
    return (1.0 - F.cosine_similarity(emb_render, emb_target.detach(), dim=-1)).mean()


def clip_losses(features: ClipFeatures, render: torch.Tensor, target: torch.Tensor):
    """(geometric, semantic) losses of renders [B, H, W, 3] against targets [B, H, W, 3] (0..1)."""
    with torch.no_grad():
        acts_t, emb_t = features(target)
    acts_r, emb_r = features(render)
    return geometric_loss(acts_r, acts_t), semantic_loss(emb_r, emb_t)


def clip_saliency(features: ClipFeatures, image: torch.Tensor) -> torch.Tensor:
    """A CLIP relevancy map [H, W] in 0..1 of one image [H, W, 3] (see the module docstring)."""
    H, W, _ = image.shape
    side = max(H, W)
    sq = F.pad(image.permute(2, 0, 1), (0, side - W, 0, side - H), value=1.0).permute(1, 2, 0)[None]
    blank = torch.ones_like(sq)
    with torch.enable_grad():
        with torch.no_grad():
            _, e0 = features(blank)
        x = sq.detach().clone().requires_grad_(True)
        _, e = features(x)
        score = (1.0 - F.cosine_similarity(e, e0, dim=-1)).sum()
        (g,) = torch.autograd.grad(score, x)
    rel = (g * (x.detach() - blank)).sum(-1).clamp_min(0)[0]  # gradient x input, toward "more content"
    patch = max(1.0, side / 14.0)
    rel = gaussian_blur(rel[None, None], patch / 2)[0, 0][:H, :W]
    return rel / rel.max().clamp_min(1e-12)
