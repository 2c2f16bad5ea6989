"""Frame losses shared by both 3D stages (and anyone comparing images): one name, one meaning.

`make_frame_loss(name, ...)` -> a `FrameLoss`: loss(render, target) -> per-image loss [B] on
grayscale [B, H, W] images in 0..1. The names (FRAME_LOSSES), the same in every stage:
- "l1": mean |r - g|;
- "l2": mean (r - g)^2;
- "l2_blur": mean (G_s r - G_s g)^2, G_s a Gaussian blur of sigma s = `blur` px (the basin of
  attraction of thin strokes grows with s; blur 0 is "l2");
- "lpips": the `lpips` package's LPIPS (learned heads ship with the package) on a VGG16 / AlexNet
  trunk with torchvision's ImageNet weights;
- "vgg": the sketch papers' "LPIPS" (CLIPasso, 3Doodle): VGG16 conv outputs before ReLU at 5
  stages, channel-normalised, no learned heads (`VGGFeatureLoss`);
- "auto": "lpips" when its trunk weights are found, else "l2_blur" with a warning naming the file.
`FrameLoss.relative(r, g)` divides by the same loss of an empty (white) render (1 = nothing
drawn, 0 = exact), so weights mean the same at any size. `FrameLossConfig` is the sub-config both
stages share (name, blur, trunk, where weights are looked for, whether a download is allowed).

Trunk weights are found by core.models.find_backbone_weights: the given file, ComfyUI model
folders (`search_dirs`), torch's hub cache, or torchvision's download when allowed; otherwise a
SketchError says where to put the file (a random trunk only when explicitly allowed, warned).

Also: `barron_rho` (Barron's robust loss, the rho of Liv3Stroke's stroke stage) and the CLIP
term (`clip_embed`, `clip_distance`: 1 - cosine of open_clip image embeddings).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import SketchError
from ..filters import gaussian_blur

FRAME_LOSSES = ("lpips", "vgg", "l2", "l1", "l2_blur")
LOSS_CHOICES = ("auto", *FRAME_LOSSES)
PERCEPTUAL = ("lpips", "vgg")


def backbone_file(net: str, search_dirs=()) -> str | None:
    """The trunk weights file of `net` ('vgg' or 'alex') that would be used (core.models), or None."""
    from ..models import find_backbone_weights

    p = find_backbone_weights(net, search_dirs)
    return None if p is None else str(p)


def backbone_state(net: str, weights_path: str | None = None, allow_random: bool = False, search_dirs=(),
                   allow_download: bool = False) -> dict | None:
    """The trunk's state dict from `weights_path`, else as core.models.find_backbone_weights finds it.

    Not found: a SketchError saying where to put the file, or with allow_random a random trunk
    (None) and a warning: never a silent fallback.
    """
    from ..models import find_backbone_weights

    if weights_path:
        if not os.path.isfile(weights_path):
            raise SketchError(f"Loss backbone weights not found: {weights_path}.")
        path = weights_path
    else:
        path = find_backbone_weights(net, search_dirs, allow_download, required=not allow_random)
        if path is None:
            warnings.warn(f"No ImageNet {net} weights found (see core.models.find_backbone_weights); the "
                          f"perceptual loss uses a random-init {net} trunk.")
            return None
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a broken file is a user-fixable error
        raise SketchError(f"Cannot read loss backbone weights {path}: {e}.") from e


def load_lpips(net: str = "vgg", weights_path: str | None = None, allow_random: bool = True, search_dirs=(),
               allow_download: bool = False):
    """The `lpips` package's LPIPS (learned heads ship with the package).

    The trunk is built random (pnet_rand), then loaded from the weights `backbone_state` finds
    (downloaded only with allow_download). Returns (module, pretrained_trunk: bool).
    """
    if net not in ("vgg", "alex"):
        raise SketchError(f"LPIPS net must be 'vgg' or 'alex', got {net!r}.")
    try:
        import lpips
    except ImportError as e:
        raise SketchError("The LPIPS frame loss needs the `lpips` package: pip install lpips.") from e
    state = backbone_state(net, weights_path, allow_random, search_dirs, allow_download)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    if state is not None:
        trunk = model.net
        mapped = {}
        for key in trunk.state_dict():  # slice{k}.{i}.weight <- features.{i}.weight
            _, i, kind = key.split(".")
            src = f"features.{i}.{kind}"
            if src not in state:
                raise SketchError(f"Backbone weights lack {src}; is it torchvision's {net} ImageNet state dict?")
            mapped[key] = state[src]
        trunk.load_state_dict(mapped)
    model.eval().requires_grad_(False)
    return model, state is not None


class VGGFeatureLoss(torch.nn.Module):
    """The sketch papers' perceptual loss: VGG16 conv outputs before ReLU at 5 stages, channel-normalised."""

    CUTS = (3, 8, 15, 22, 29)  # features[:3] ends with conv1_2, ... conv5_3

    def __init__(self, state: dict | None):
        super().__init__()
        import torchvision

        feats = torchvision.models.vgg16(weights=None).features
        if state is not None:
            feats.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
        for m in feats:
            if isinstance(m, torch.nn.ReLU):
                m.inplace = False  # the pre-ReLU outputs are kept for the loss
        self.stages = torch.nn.ModuleList()
        prev = 0
        for cut in self.CUTS:
            self.stages.append(feats[prev:cut])
            prev = cut
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406])[None, :, None, None])
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225])[None, :, None, None])
        self.eval().requires_grad_(False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: [B, 3, H, W] in 0..1 -> mean loss."""
        x = (torch.cat([a, b]) - self.mean) / self.std
        total = 0.0
        for stage in self.stages:
            x = stage(x)  # stages after the first begin with that conv's ReLU
            fa, fb = x.chunk(2)
            fa = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
            fb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
            total = total + ((fa - fb) ** 2).sum(1).mean()
        return total


@dataclass
class FrameLossConfig:
    """The frame loss of a 3D stage (see the module docstring); both stages take one."""

    name: str = "auto"  # one of LOSS_CHOICES
    blur: float = 1.0  # px at the fitting size: sigma of "l2_blur"
    lpips_net: str = "vgg"  # trunk of "lpips": vgg or alex ("vgg" always uses VGG16)
    weights_path: str | None = None  # the trunk's torchvision ImageNet state dict (else searched)
    search_dirs: tuple = ()  # folders to look for the trunk file in (e.g. ComfyUI model folders)
    allow_download: bool = False  # let torchvision download the trunk weights into torch's cache
    allow_random_backbone: bool = False  # no weights -> a random trunk (warned) instead of an error

    def validate(self) -> "FrameLossConfig":
        if self.name not in LOSS_CHOICES:
            raise SketchError(f"Unknown frame loss {self.name!r}; use one of {', '.join(LOSS_CHOICES)}.")
        if not self.blur >= 0:
            raise SketchError(f"The frame loss blur must be >= 0 px, got {self.blur}.")
        if self.lpips_net not in ("vgg", "alex"):
            raise SketchError(f"LPIPS net must be 'vgg' or 'alex', got {self.lpips_net!r}.")
        return self


def as_frame_loss_config(value) -> FrameLossConfig:
    """A FrameLossConfig from a config or a loss name (validated)."""
    if isinstance(value, FrameLossConfig):
        return value.validate()
    if isinstance(value, str):
        return FrameLossConfig(name=value).validate()
    raise SketchError(f"frame_loss must be a loss name or a FrameLossConfig, got {type(value).__name__}.")


def resolve_loss_name(name: str, net: str = "vgg", weights_path: str | None = None, search_dirs=(),
                      allow_download: bool = False) -> str:
    """'auto' -> "lpips" when its trunk weights are found (or may be downloaded), else "l2_blur" (warned)."""
    if name != "auto":
        return name
    if weights_path or allow_download or backbone_file(net, search_dirs) is not None:
        return "lpips"
    warnings.warn(f"No ImageNet {net} weights for LPIPS were found ({', '.join(search_dirs) or 'no model folders'}, "
                  "torch's hub cache); the frame loss is blurred L2. Put torchvision's file there or allow a "
                  "download to use LPIPS.")
    return "l2_blur"


class FrameLoss:
    """loss(render [B,H,W], target [B,H,W], blur=None) -> [B]; `relative` divides by an empty render's loss."""

    def __init__(self, name: str, fn, description: str, blur: float = 0.0):
        self.name, self.fn, self.description, self.blur = name, fn, description, float(blur)

    def __call__(self, render: torch.Tensor, target: torch.Tensor, blur: float | None = None) -> torch.Tensor:
        return self.fn(render, target, self.blur if blur is None else float(blur))

    def relative(self, render: torch.Tensor, target: torch.Tensor, blur: float | None = None,
                 empty: torch.Tensor | None = None) -> torch.Tensor:
        """loss / (the loss of a white render of the same target), detached normaliser: 1 = nothing drawn."""
        if empty is None:
            with torch.no_grad():
                empty = self(torch.ones_like(target), target, blur)
        return self(render, target, blur) / empty.clamp_min(1e-8)

    def __repr__(self) -> str:
        return f"FrameLoss({self.description})"


def _blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return gaussian_blur(x[:, None], sigma)[:, 0] if sigma > 0 else x


def make_frame_loss(name: str, device="cpu", *, blur: float = 1.0, net: str = "vgg", weights_path: str | None = None,
                    search_dirs=(), allow_download: bool = False, allow_random: bool = False) -> FrameLoss:
    """The FrameLoss called `name` (FRAME_LOSSES, or "auto"; see the module docstring)."""
    name = resolve_loss_name(name, net, weights_path, search_dirs, allow_download) if name == "auto" else name
    if name not in FRAME_LOSSES:
        raise SketchError(f"Unknown frame loss {name!r}; use one of {', '.join(LOSS_CHOICES)}.")
    if name == "l1":
        return FrameLoss("l1", lambda r, g, s: (r - g).abs().flatten(1).mean(1), "l1")
    if name == "l2":
        return FrameLoss("l2", lambda r, g, s: ((r - g) ** 2).flatten(1).mean(1), "l2")
    if name == "l2_blur":
        return FrameLoss("l2_blur", lambda r, g, s: ((_blurred(r, s) - _blurred(g, s)) ** 2).flatten(1).mean(1),
                         f"l2_blur (sigma {blur:g} px)", blur)
    if name == "lpips":
        model, pre = load_lpips(net, weights_path, allow_random, search_dirs, allow_download)
        model = model.to(device)

        def lp(r, g, s):
            return model(r[:, None].expand(-1, 3, -1, -1) * 2 - 1, g[:, None].expand(-1, 3, -1, -1) * 2 - 1).flatten()
        return FrameLoss("lpips", lp, f"lpips-{net}" + ("" if pre else " (random trunk)"))
    state = backbone_state("vgg", weights_path, allow_random, search_dirs, allow_download)
    model = VGGFeatureLoss(state).to(device)

    def vgg(r, g, s):
        return torch.stack([model(a[None, None].expand(-1, 3, -1, -1), b[None, None].expand(-1, 3, -1, -1))
                            for a, b in zip(r, g)])
    return FrameLoss("vgg", vgg, "vgg-features" + ("" if state is not None else " (random trunk)"))


def frame_loss_from_config(cfg: FrameLossConfig, device="cpu") -> FrameLoss:
    """make_frame_loss with a FrameLossConfig's settings."""
    cfg = as_frame_loss_config(cfg)
    return make_frame_loss(cfg.name, device, blur=cfg.blur, net=cfg.lpips_net, weights_path=cfg.weights_path,
                           search_dirs=cfg.search_dirs, allow_download=cfg.allow_download,
                           allow_random=cfg.allow_random_backbone)


def barron_rho(x: torch.Tensor, alpha: float = 1.0, c: float = 0.1) -> torch.Tensor:
    """Barron's general robust loss rho(x; alpha, c); alpha = 1 (default) is sqrt((x/c)^2 + 1) - 1."""
    z = (x / c) ** 2
    if alpha == 2.0:
        return 0.5 * z
    if alpha == 0.0:
        return torch.log1p(0.5 * z)
    b = abs(alpha - 2.0)
    return b / alpha * ((z / b + 1.0) ** (alpha / 2.0) - 1.0)


def clip_embed(encoder, images: torch.Tensor) -> torch.Tensor:
    """Unit CLIP embeddings [B, D] of grayscale [B, H, W] or RGB [B, H, W, 3] images in 0..1, with gradients."""
    from ..metrics_clip import normalise_images

    if images.ndim == 3:
        images = images[..., None].expand(-1, -1, -1, 3)
    x = normalise_images(images.to(encoder.device), encoder.image_size, encoder.mean, encoder.std)
    return F.normalize(encoder.model.encode_image(x).float(), dim=-1)


def clip_distance(encoder, render: torch.Tensor, target: torch.Tensor | None = None,
                  target_embedding: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image cosine distance [B] = 1 - cos(CLIP(render), CLIP(target)); 0 for identical images.

    Pass `target_embedding` [B, D] (from `clip_embed`) to reuse the targets' embeddings.
    """
    if target_embedding is None:
        if target is None:
            raise SketchError("clip_distance needs a target image or its embedding.")
        with torch.no_grad():
            target_embedding = clip_embed(encoder, target)
    return 1.0 - (clip_embed(encoder, render) * target_embedding.to(render.device)).sum(-1)
