"""3D stroke exports, shared part: the output timeline, curve sampling, and the stroke JSON format.

The stroke JSON file (format "sketchmotion.strokes3d", version 1; JSON Schema in
strokes3d.schema.json next to this module, draft 2020-12) holds a dynamic 3D
sketch exactly, as cubic Bezier control points per frame:

    {
      "format": "sketchmotion.strokes3d", "version": 1,
      "fps": 8.0,                  frames per second; frame i is shown from i/fps to (i+1)/fps
      "loop": true,                the last frame blends back into the first when played
      "num_frames": F,
      "times": [F seconds],        i / fps
      "canvas": [w, h],            pixels the stroke widths refer to
      "up": [0, 0, 1],             world up (Blender / D-NeRF convention)
      "strokes": [{                one per path, in paint order
          "closed": bool,          a closed stroke's last segment ends on its first point
          "num_segments": k,       cubic segments
          "width": px,             full stroke width in pixels (0 = none)
          "color": [r, g, b, a],   straight RGBA in 0..1
          "fill": [r, g, b, a],    fill colour (alpha 0 = none)
          "group": int,            object id
          "points": [F][n][3]      control points per frame, n = 3k (closed) or 3k+1 (open):
                                   p0 c c p1 c c p2 ... (world units)
      }],
      "cameras": null | {          the cameras the animation came with, if any
          "projection": "perspective" | "orthographic", "width": px, "height": px,
          "convention": "opengl_c2w",   camera-to-world, x right, y up, looking down -z
          "frames": [{"c2w": 4x4 rows, "fx", "fy", "cx", "cy"}]   one per source frame (or one)
      },
      "settings": {...}            what produced the animation
    }

Timing arguments shared by every 3D writer: fps (re-sampled at the same duration),
loop, pingpong (play forwards then backwards). 3D files have no pixel size, so
`size` is refused except by the HTML viewer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SketchError
from ..sketch import Sketch, SketchAnimation
from .timeline import check_fps

FORMAT = "sketchmotion.strokes3d"
VERSION = 1
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "strokes3d.schema.json")


@dataclass(frozen=True)
class Timeline3D:
    """The played sequence of a 3D animation: frames [F, N, 3] (CPU float32) at fps."""

    sketch: Sketch
    frames: torch.Tensor
    fps: float
    loop: bool
    source: SketchAnimation

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def timeline_3d(anim: SketchAnimation, fps=None, loop: bool = True, pingpong: bool = False, fmt: str = "3D") -> Timeline3D:
    """Check `anim` is 3D, re-sample it to `fps` (same duration) and unfold ping-pong."""
    if not isinstance(anim, SketchAnimation):
        raise SketchError(f"{fmt} export needs a SketchAnimation, got {type(anim).__name__}.")
    if anim.dim != 3:
        raise SketchError(f"{fmt} export is for 3D sketches (D = 3) and this animation is 2D; use a 2D format "
                          "(svg, lottie, gif, webp, mp4, webm, frames_zip).")
    anim = anim.to("cpu")
    out_fps = float(anim.fps)
    fps = check_fps(fps)
    if fps is not None:
        if abs(fps - anim.fps) > 1e-9:
            n = max(1, round(anim.num_frames * fps / anim.fps))
            anim = anim.resample(n, fps=fps, loop=loop and not pingpong)
            out_fps = fps
    frames = anim.frames.detach().float()
    if pingpong and frames.shape[0] > 2:
        frames = torch.cat([frames, frames.flip(0)[1:-1]], dim=0)
    return Timeline3D(anim.sketch.detach(), frames, out_fps, bool(loop), anim)


def refuse_size(size, fmt: str) -> None:
    """3D files have no pixel size: a given size is an error, not silently dropped."""
    if size is not None:
        raise SketchError(f"{fmt} export stores 3D geometry and has no pixel size; leave size unset "
                          "(render views with render3d / Render 3D Sketch for images).")


def sample_layout(sketch: Sketch, per_segment: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    """Where to sample every path: (segment id [M], parameter [M], per-path (start, stop) sample ranges).

    Each segment gets `per_segment` samples at parameters 0, 1/n, ...; an open path adds its end point.
    """
    if per_segment < 1:
        raise SketchError("samples per segment must be >= 1.")
    seg_of, params, ranges, start, s0 = [], [], [], 0, 0
    base = torch.arange(per_segment, dtype=torch.float32) / per_segment
    for k, closed in zip(sketch.num_segments, sketch.closed):
        for j in range(k):
            seg_of.append(torch.full((per_segment,), s0 + j, dtype=torch.long))
            params.append(base)
        if not closed:
            seg_of.append(torch.tensor([s0 + k - 1]))
            params.append(torch.ones(1))
        n = k * per_segment + (0 if closed else 1)
        ranges.append((start, start + n))
        start, s0 = start + n, s0 + k
    return torch.cat(seg_of), torch.cat(params), ranges


def sample_strokes(sketch: Sketch, frames: torch.Tensor, per_segment: int):
    """Points on every stroke in every frame: ([F, M, 3], per-path sample ranges)."""
    from ..scenes3d import bezier_points

    seg_of, params, ranges = sample_layout(sketch, per_segment)
    return bezier_points(frames, sketch.segment_index.cpu(), params, seg_of), ranges


def _rounded(t: torch.Tensor, decimals: int) -> list:
    return np.round(t.detach().cpu().double().numpy(), decimals).tolist()


def _cameras_json(cameras, decimals: int) -> dict | None:
    if cameras is None:
        return None
    return {
        "projection": cameras.projection, "width": int(cameras.width), "height": int(cameras.height),
        "convention": "opengl_c2w",
        "frames": [{"c2w": _rounded(cameras.c2w[i], decimals), "fx": float(cameras.fx[i]), "fy": float(cameras.fy[i]),
                    "cx": float(cameras.cx[i]), "cy": float(cameras.cy[i])} for i in range(len(cameras))],
    }


def strokes_json(anim: SketchAnimation, *, fps=None, loop: bool = True, pingpong: bool = False,
                 decimals: int = 6) -> dict:
    """The stroke JSON document (see the module docstring) of a 3D animation."""
    from ..animation_io import json_value

    tl = timeline_3d(anim, fps, loop, pingpong, "Stroke JSON")
    sk = tl.sketch
    strokes = []
    for p in range(sk.num_paths):
        a, b = sk.path_offsets[p], sk.path_offsets[p + 1]
        strokes.append({
            "closed": sk.closed[p], "num_segments": sk.num_segments[p], "width": float(sk.stroke_width[p]),
            "color": _rounded(sk.stroke_color[p], 6), "fill": _rounded(sk.fill_color[p], 6),
            "group": int(sk.group[p]), "points": _rounded(tl.frames[:, a:b], decimals),
        })
    return {
        "format": FORMAT, "version": VERSION, "fps": tl.fps, "loop": tl.loop, "num_frames": tl.num_frames,
        "times": [i / tl.fps for i in range(tl.num_frames)], "canvas": list(sk.canvas), "up": [0, 0, 1],
        "strokes": strokes, "cameras": _cameras_json(tl.source.cameras, decimals),
        "settings": json_value(dict(tl.source.settings), "settings"),
    }


def save_strokes_json(anim: SketchAnimation, path, *, fps=None, size=None, loop: bool = True, pingpong: bool = False,
                      decimals: int = 6) -> str:
    """Write strokes_json(...) to `path`; returns the path."""
    refuse_size(size, "Stroke JSON")
    doc = strokes_json(anim, fps=fps, loop=loop, pingpong=pingpong, decimals=decimals)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    return os.fspath(path)


def load_schema() -> dict:
    """The JSON Schema of the stroke JSON format."""
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def load_strokes_json(path) -> SketchAnimation:
    """Read a stroke JSON file back into a SketchAnimation (cameras included)."""
    from ..camera import Cameras

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SketchError(f"Cannot read {os.fspath(path)!r} as stroke JSON ({e}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SketchError(f"{os.fspath(path)!r} is not a SketchMotion stroke JSON file (format {FORMAT!r}).")
    if int(doc.get("version", 0)) > VERSION:
        raise SketchError(f"{os.fspath(path)!r} is stroke JSON version {doc['version']}; update SketchMotion.")
    try:
        st = doc["strokes"]
        frames = torch.cat([torch.tensor(s["points"], dtype=torch.float32) for s in st], dim=1)
        sketch = Sketch(points=frames[0], num_segments=[s["num_segments"] for s in st],
                        closed=[s["closed"] for s in st], stroke_width=[s["width"] for s in st],
                        stroke_color=[s["color"] for s in st], fill_color=[s["fill"] for s in st],
                        group=[s["group"] for s in st], canvas=tuple(doc["canvas"]))
        cams = doc.get("cameras")
        if cams:
            fr = cams["frames"]
            cams = Cameras(torch.tensor([c["c2w"] for c in fr]), *(torch.tensor([c[k] for c in fr]) for k in
                           ("fx", "fy", "cx", "cy")), cams["width"], cams["height"], cams["projection"])
        return SketchAnimation(sketch, frames, fps=float(doc["fps"]), settings=dict(doc.get("settings") or {}),
                               cameras=cams or None)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SketchError(f"{os.fspath(path)!r} is incomplete or malformed stroke JSON ({e}).") from None


__all__ = ["FORMAT", "SCHEMA_PATH", "VERSION", "Timeline3D", "load_schema", "load_strokes_json", "sample_layout",
           "sample_strokes", "save_strokes_json", "strokes_json", "timeline_3d"]
