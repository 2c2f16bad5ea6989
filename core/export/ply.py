"""PLY polylines of a dynamic 3D sketch (written with plyfile; binary little-endian or ASCII).

Elements (every frame in one file; pick a frame by the `frame` property):

    vertex         x y z (float32), red green blue alpha (uchar), frame stroke (int32)
                   points sampled along every stroke in every frame (`samples` per
                   cubic segment; an open stroke adds its end point)
    edge           vertex1 vertex2 (int32): consecutive samples of a stroke (a closed
                   stroke's last sample links back to its first)
    stroke         closed (uchar), num_segments (int32), width (float32, px),
                   red green blue alpha (uchar), group (int32): one per path
    control_point  x y z (float32), frame stroke (int32): the exact cubic control points
                   per frame (3k per closed stroke, 3k+1 per open one)

Comments record the format, fps and frame count. Viewers that know vertex + edge
(MeshLab, Blender's PLY import) show the polylines; the other elements are for
readers that want the exact curves.

Colours are each stroke's flat RGBA (a gradient paint is written as its mean colour).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import SketchError
from .strokes3d import refuse_size, sample_strokes, timeline_3d


def _u8(colors: torch.Tensor) -> np.ndarray:
    return (colors.clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def ply_data(anim, *, fps=None, loop: bool = True, pingpong: bool = False, samples: int = 8, text: bool = False):
    """A plyfile.PlyData of the animation (see the module docstring)."""
    try:
        from plyfile import PlyData, PlyElement
    except ImportError:
        raise SketchError("PLY export needs plyfile: pip install -r requirements.txt (or pip install plyfile).") from None

    tl = timeline_3d(anim, fps, loop, pingpong, "PLY")
    sk, F = tl.sketch, tl.num_frames
    pts, ranges = sample_strokes(sk, tl.frames, samples)  # [F, M, 3]
    M = pts.shape[1]
    stroke_of = np.concatenate([np.full(b - a, p, np.int32) for p, (a, b) in enumerate(ranges)])
    rgba = _u8(sk.stroke_color)
    vert = np.empty(F * M, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"),
                                  ("blue", "u1"), ("alpha", "u1"), ("frame", "i4"), ("stroke", "i4")])
    flat = pts.reshape(-1, 3).numpy()
    for i, c in enumerate("xyz"):
        vert[c] = flat[:, i]
    for i, c in enumerate(("red", "green", "blue", "alpha")):
        vert[c] = np.tile(rgba[stroke_of, i], F)
    vert["frame"] = np.repeat(np.arange(F, dtype=np.int32), M)
    vert["stroke"] = np.tile(stroke_of, F)
    pairs = []  # (from, to) within one frame
    for p, (a, b) in enumerate(ranges):
        idx = np.arange(a, b)
        pairs.append(np.stack([idx[:-1], idx[1:]], 1))
        if sk.closed[p]:
            pairs.append(np.array([[b - 1, a]]))
    pairs = np.concatenate(pairs).astype(np.int32)
    allp = (pairs[None] + (np.arange(F, dtype=np.int32) * M)[:, None, None]).reshape(-1, 2)
    edge = np.empty(len(allp), dtype=[("vertex1", "i4"), ("vertex2", "i4")])  # only these: trimesh reads no more
    edge["vertex1"], edge["vertex2"] = allp[:, 0], allp[:, 1]
    stroke = np.empty(sk.num_paths, dtype=[("closed", "u1"), ("num_segments", "i4"), ("width", "f4"), ("red", "u1"),
                                          ("green", "u1"), ("blue", "u1"), ("alpha", "u1"), ("group", "i4")])
    stroke["closed"] = np.array(sk.closed, dtype=np.uint8)
    stroke["num_segments"] = np.array(sk.num_segments, dtype=np.int32)
    stroke["width"] = sk.stroke_width.numpy()
    for i, c in enumerate(("red", "green", "blue", "alpha")):
        stroke[c] = rgba[:, i]
    stroke["group"] = sk.group.numpy()
    N = sk.num_points
    cp = np.empty(F * N, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("frame", "i4"), ("stroke", "i4")])
    for i, c in enumerate("xyz"):
        cp[c] = tl.frames.reshape(-1, 3)[:, i].numpy()
    cp["frame"] = np.repeat(np.arange(F, dtype=np.int32), N)
    cp["stroke"] = np.tile(sk.point_path.cpu().numpy().astype(np.int32), F)
    elements = [PlyElement.describe(vert, "vertex"), PlyElement.describe(edge, "edge"),
                PlyElement.describe(stroke, "stroke"), PlyElement.describe(cp, "control_point")]
    comments = ["sketchmotion strokes3d polylines", f"fps {tl.fps:g}", f"frames {F}", f"loop {int(tl.loop)}",
                f"samples_per_segment {samples}", "up +z"]
    return PlyData(elements, text=text, byte_order="<", comments=comments)


def save_ply(anim, path, *, fps=None, size=None, loop: bool = True, pingpong: bool = False, samples: int = 8,
             text: bool = False) -> str:
    """Write the animation as PLY polylines (binary, or ASCII with text=True); returns the path."""
    refuse_size(size, "PLY")
    data = ply_data(anim, fps=fps, loop=loop, pingpong=pingpong, samples=samples, text=text)
    data.write(os.fspath(path))
    return os.fspath(path)


__all__ = ["ply_data", "save_ply"]
