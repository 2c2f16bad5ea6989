"""Perceptual frame losses shared by the 3D stages (and anyone comparing images).

- `load_lpips(net)`: the `lpips` package's LPIPS; the trunk's ImageNet weights are
  read from a local file (never downloaded); a missing file either falls back to a
  random trunk with a warning or raises a SketchError naming the file.
- `VGGFeatureLoss`: the sketch papers' "LPIPS" (CLIPasso, 3Doodle): VGG16 conv
  outputs before ReLU at 5 stages, channel-normalised, no learned heads.
- `make_frame_loss(kind, device)`: loss(render, target) on grayscale [B, H, W].
- `barron_rho(x, alpha=1, c=0.1)`: Barron's robust loss (alpha = 1: pseudo-Huber
  sqrt((x/c)^2 + 1) - 1), the rho of Liv3Stroke's stroke-stage frame loss.
- `blurred_l2(render, target, sigma)`: L2 between Gaussian-blurred images, divided
  by the same measure for an empty (white) render: 1 = nothing drawn, 0 = exact.
  The blur widens the basin of attraction of thin strokes (coarse-to-fine).
- `clip_distance(encoder, render, target)`: 1 - cosine of CLIP image embeddings
  (core.metrics_clip.ClipImageEncoder), differentiable in the render: the CLIP term
  of Liv3Stroke's stroke-stage frame loss.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F

from ..errors import SketchError
from ..filters import gaussian_blur

FRAME_LOSSES = ("lpips", "vgg", "l2", "l1", "l2_blur")
BACKBONE_FILES = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}


def backbone_file(net: str) -> str:
    """Where torchvision caches the ImageNet weights of `net` ('vgg' or 'alex')."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", BACKBONE_FILES[net])


def backbone_state(net: str, weights_path: str | None = None, allow_random: bool = True) -> dict | None:
    """The trunk's state dict from `weights_path` or torchvision's cache; None = random trunk (warned)."""
    path = weights_path or backbone_file(net)
    if os.path.isfile(path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - a broken file is a user-fixable error
            raise SketchError(f"Cannot read loss backbone weights {path}: {e}.") from e
    if weights_path or not allow_random:
        raise SketchError(
            f"Loss backbone weights not found: {path}. Put torchvision's ImageNet {net} weights "
            f"({BACKBONE_FILES[net]}) there, or allow a random backbone.")
    warnings.warn(f"No ImageNet weights at {path}; the perceptual loss uses a random-init {net} trunk.")
    return None


def load_lpips(net: str = "vgg", weights_path: str | None = None, allow_random: bool = True):
    """The `lpips` package's LPIPS (learned heads ship with the package); never downloads.

    The trunk is built random (pnet_rand) and then loaded from `weights_path` or
    torchvision's cache file under $TORCH_HOME/hub/checkpoints when present.
    Returns (module, pretrained_trunk: bool).
    """
    if net not in BACKBONE_FILES:
        raise SketchError(f"LPIPS net must be 'vgg' or 'alex', got {net!r}.")
    try:
        import lpips
    except ImportError as e:
        raise SketchError("The LPIPS frame loss needs the `lpips` package: pip install lpips.") from e
    state = backbone_state(net, weights_path, allow_random)
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


def pyramid_l2(r: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Sum of MSEs over an average-pooling pyramid of grayscale [B, H, W] images (down to 8 px)."""
    r, g = r[:, None], g[:, None]
    loss = F.mse_loss(r, g)
    while min(r.shape[-2:]) >= 8:
        r, g = F.avg_pool2d(r, 2), F.avg_pool2d(g, 2)
        loss = loss + F.mse_loss(r, g)
    return loss


def make_frame_loss(kind: str, device, net: str = "vgg", weights_path: str | None = None,
                    allow_random: bool = True):
    """(loss(render [B,H,W], target [B,H,W]) -> per-image loss [B], description) for grayscale images in 0..1."""
    if kind not in FRAME_LOSSES:
        raise SketchError(f"Unknown frame loss {kind!r}; use one of {', '.join(FRAME_LOSSES)}.")
    if kind == "l2":
        return (lambda r, g: ((r - g) ** 2).flatten(1).mean(1)), "l2"
    if kind == "l1":
        return (lambda r, g: (r - g).abs().flatten(1).mean(1)), "l1"
    if kind == "l2_blur":
        return (lambda r, g: torch.stack([pyramid_l2(a[None], b[None]) for a, b in zip(r, g)])), "l2_blur"
    if kind == "lpips":
        model, pre = load_lpips(net, weights_path, allow_random)
        model = model.to(device)

        def lp(r, g):
            return model(r[:, None].expand(-1, 3, -1, -1) * 2 - 1, g[:, None].expand(-1, 3, -1, -1) * 2 - 1).flatten()
        return lp, f"lpips-{net}" + ("" if pre else " (random trunk)")
    state = backbone_state("vgg", weights_path, allow_random)
    model = VGGFeatureLoss(state).to(device)

    def vgg(r, g):
        return torch.stack([model(a[None, None].expand(-1, 3, -1, -1), b[None, None].expand(-1, 3, -1, -1))
                            for a, b in zip(r, g)])
    return vgg, "vgg-features" + ("" if state is not None else " (random trunk)")


def barron_rho(x: torch.Tensor, alpha: float = 1.0, c: float = 0.1) -> torch.Tensor:
    """Barron's general robust loss rho(x; alpha, c); alpha = 1 (default) is sqrt((x/c)^2 + 1) - 1."""
    z = (x / c) ** 2
    if alpha == 2.0:
        return 0.5 * z
    if alpha == 0.0:
        return torch.log1p(0.5 * z)
    b = abs(alpha - 2.0)
    return b / alpha * ((z / b + 1.0) ** (alpha / 2.0) - 1.0)


def blurred_l2(render: torch.Tensor, target: torch.Tensor, sigma: float, background: float = 1.0) -> torch.Tensor:
    """Per-image [B] L2 of Gaussian-blurred grayscale images [B, H, W], relative to an empty render.

    1.0 means "as far as a blank canvas", 0.0 an exact match; the normaliser is
    detached, so gradients are those of the plain blurred L2 scaled per image.
    """
    r = gaussian_blur(render[:, None], sigma)[:, 0]
    g = gaussian_blur(target[:, None], sigma)[:, 0]
    err = ((r - g) ** 2).flatten(1).mean(1)
    empty = ((background - g) ** 2).flatten(1).mean(1).detach().clamp_min(1e-12)
    return err / empty


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
