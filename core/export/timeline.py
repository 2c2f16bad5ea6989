"""What every exporter shares: the output timeline (fps, loop, ping-pong) and output size.

Time convention used by all formats: frame i of the exported sequence is shown
from t = i / fps to (i + 1) / fps, so an animation of F frames lasts F / fps
seconds. Changing `fps` keeps the duration (the motion runs at the same speed)
and re-samples the control points linearly (`SketchAnimation.resample`).
"""

from __future__ import annotations


from dataclasses import dataclass, replace

import torch

from ..errors import SketchError
from ..sketch import Sketch, SketchAnimation


@dataclass(frozen=True)
class Timeline:
    """Frames ready to write: control points already scaled to the output size."""

    sketch: Sketch  # styles; points and canvas in output pixels
    frames: torch.Tensor  # [F, N, 2] float32 CPU, output pixels, the played sequence
    fps: float
    loop: bool
    size: tuple[int, int]  # (width, height) in output pixels
    width_scale: float  # stroke widths are multiplied by this (already applied to sketch)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


def output_size(canvas: tuple[int, int], size, even: bool = False) -> tuple[int, int]:
    """Output (width, height) for a requested size.

    None -> the canvas; an int -> the longest side, aspect ratio kept; (w, h) -> as given.
    even=True (H.264/VP9 with 4:2:0 chroma): a derived size is rounded to even numbers,
    an explicit odd size is refused with a SketchError.
    """
    cw, ch = canvas
    if size is None:
        w, h, derived = cw, ch, True
    elif isinstance(size, (int, float)) and not isinstance(size, bool):
        s = int(size)
        if s != size or s <= 0:
            raise SketchError(f"size must be a positive whole number of pixels, got {size!r}.")
        if cw >= ch:
            w, h = s, max(1, round(s * ch / cw))
        else:
            w, h = max(1, round(s * cw / ch)), s
        derived = True
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise SketchError(f"size must be None, an int (longest side) or (width, height); got {size!r}.") from None
        derived = False
    if even:
        if derived:
            w, h = w + (w % 2), h + (h % 2)
        elif w % 2 or h % 2:
            raise SketchError(
                f"This video format stores colour at half resolution and needs an even width and height; "
                f"got {w}x{h}. Use {w + w % 2}x{h + h % 2}."
            )
    if w <= 0 or h <= 0 or w * h > 8192 * 8192:
        raise SketchError(f"Output size {w}x{h} is not usable; pick a size between 1 and 8192 px.")
    return w, h


def check_fps(fps):
    """None, or fps as a float in (0, 240]; a clear SketchError otherwise."""
    if fps is None:
        return None
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise SketchError(f"fps must be a number, got {fps!r}.") from None
    if not (0 < fps <= 240):
        raise SketchError(f"fps must be in (0, 240], got {fps:g}.")
    return fps


def make_timeline(
    anim: SketchAnimation,
    fps: float | None = None,
    loop: bool = True,
    pingpong: bool = False,
    size=None,
    even: bool = False,
) -> Timeline:
    """Re-sample `anim` to `fps` (same duration), unfold ping-pong, scale to the output size."""
    if not isinstance(anim, SketchAnimation):
        raise SketchError(f"Export needs a SketchAnimation, got {type(anim).__name__}.")
    if anim.dim != 2:
        raise SketchError("This export is for 2D animations; use the 3D exporters for a 3D sketch.")
    fps = check_fps(fps)
    anim = anim.to("cpu")
    if fps is not None and abs(fps - anim.fps) > 1e-9:
        n = max(1, round(anim.num_frames * fps / anim.fps))
        anim = anim.resample(n, fps=fps, loop=loop and not pingpong)
        out_fps = fps
    else:
        out_fps = float(anim.fps)
    frames = anim.frames.detach().float()
    if pingpong and frames.shape[0] > 2:  # 0..F-1 then back down to 1; the loop returns to 0
        frames = torch.cat([frames, frames.flip(0)[1:-1]], dim=0)
    w, h = output_size(anim.sketch.canvas, size, even=even)
    sx, sy = w / anim.sketch.canvas[0], h / anim.sketch.canvas[1]
    scale = torch.tensor([sx, sy], dtype=frames.dtype)
    wscale = (sx * sy) ** 0.5
    base = anim.sketch.detach()
    sketch = replace(
        base,
        points=base.points.float() * scale,
        stroke_width=base.stroke_width.float() * wscale,
        canvas=(w, h),
        style=None if base.style is None else base.style.transformed((sx, sy), canvas=(w, h)),
    )
    return Timeline(sketch=sketch, frames=frames * scale, fps=out_fps, loop=bool(loop), size=(w, h), width_scale=wscale)


def render_timeline(tl: Timeline, background=(1.0, 1.0, 1.0), chunk: int = 8) -> torch.Tensor:
    """Rasterise the timeline with core.raster.render -> float [F, H, W, 3] in 0..1 on the CPU
    ([F, H, W, 4] premultiplied RGBA with background=None), rendered `chunk` frames at a time."""
    from ..raster import render

    out = []
    with torch.no_grad():
        for s in range(0, tl.num_frames, chunk):
            img = render(tl.sketch, tl.frames[s : s + chunk], size=tl.size, background=background)
            out.append(img.clamp(0, 1).cpu())
    return torch.cat(out, dim=0)


def render_frames(tl: Timeline, background=(1.0, 1.0, 1.0), chunk: int = 8):
    """As render_timeline, as uint8 numpy [F, H, W, C]."""
    return (render_timeline(tl, background, chunk) * 255.0 + 0.5).to(torch.uint8).numpy()

