"""Differentiable rasterisers for `Sketch` paths.

`render(sketch, points=None, size=None, background=WHITE)` is the one entry point.
The built-in pure-PyTorch backend ("torch") is the default; "diffvg" is used when
asked for and `pydiffvg` is importable.
"""

from __future__ import annotations

import torch

from ..errors import SketchError
from ..sketch import Sketch

WHITE = (1.0, 1.0, 1.0)


def render(
    sketch: Sketch,
    points: torch.Tensor | None = None,
    size: int | tuple[int, int] | None = None,
    background=WHITE,
    width_scale: float = 1.0,
    stroke_width: torch.Tensor | None = None,
    stroke_color: torch.Tensor | None = None,
    fill_color: torch.Tensor | None = None,
    backend: str = "torch",
) -> torch.Tensor:
    """Rasterise a batch of frames of a sketch, differentiably.

    sketch:     paths, styles and canvas size (canvas pixel coordinates).
    points:     [T, N, 2] or [N, 2] control points in canvas pixels (default: sketch.points).
    size:       output (width, height) or one int for a square; the canvas is scaled
                to it (default: the canvas size).
    background: RGB in 0..1 to composite on -> [T, H, W, 3]; None -> [T, H, W, 4]
                premultiplied RGBA (transparent background).
    width_scale, stroke_width [P], stroke_color [P,4], fill_color [P,4]: optional
                overrides (tensors may require grad).
    Returns float images in 0..1; without a time axis when `points` is [N, 2].
    """
    if backend == "torch":
        from .torch_backend import render_torch as impl
    elif backend == "diffvg":
        from .diffvg_backend import render_diffvg as impl
    else:
        raise SketchError(f"Unknown renderer backend {backend!r}; use 'torch' or 'diffvg'.")
    pts = sketch.points if points is None else points
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[1] != sketch.num_points or pts.shape[2] != 2:
        raise SketchError(f"render needs points [T, {sketch.num_points}, 2], got {tuple(pts.shape)}.")
    if size is None:
        W, H = sketch.canvas
    elif isinstance(size, int):
        W = H = size
    else:
        W, H = int(size[0]), int(size[1])
    if W <= 0 or H <= 0 or W * H > 8192 * 8192:
        raise SketchError(f"Render size {W}x{H} is not usable; pick a size between 1 and 8192 px.")
    scale_x, scale_y = W / sketch.canvas[0], H / sketch.canvas[1]
    pts = pts * torch.tensor([scale_x, scale_y], dtype=pts.dtype, device=pts.device)
    sw = sketch.stroke_width if stroke_width is None else stroke_width
    sw = sw * (width_scale * (scale_x * scale_y) ** 0.5)
    out = impl(
        sketch,
        pts,
        (W, H),
        stroke_width=sw,
        stroke_color=sketch.stroke_color if stroke_color is None else stroke_color,
        fill_color=sketch.fill_color if fill_color is None else fill_color,
        background=background,
        **({"scale": (scale_x, scale_y)} if backend == "torch" else {}),
    )
    return out[0] if single else out


def unpremultiply(rgba: torch.Tensor) -> torch.Tensor:
    """[..., 4] premultiplied RGBA -> straight RGBA (colour 0 where alpha is 0)."""
    alpha = rgba[..., 3:4]
    rgb = torch.where(alpha > 0, rgba[..., :3] / alpha.clamp_min(1e-12), torch.zeros_like(rgba[..., :3]))
    return torch.cat([rgb.clamp(0, 1), alpha], dim=-1)


def composite(rgba: torch.Tensor, background=WHITE) -> torch.Tensor:
    """[..., 4] premultiplied RGBA -> [..., 3] RGB: "over" an RGB background in 0..1.

    background=None returns the straight (un-premultiplied) colour, what an IMAGE + MASK pair expects.
    """
    if background is None:
        return unpremultiply(rgba)[..., :3]
    bg = torch.as_tensor(background, dtype=rgba.dtype, device=rgba.device)
    if bg.shape != (3,):
        raise SketchError(f"A background colour needs 3 values (RGB in 0..1), got {tuple(bg.shape)}.")
    return rgba[..., :3] + (1.0 - rgba[..., 3:4]) * bg


def diffvg_available() -> bool:
    """True when the optional `pydiffvg` package can be imported."""
    try:
        import pydiffvg  # noqa: F401
    except Exception:
        return False
    return True
