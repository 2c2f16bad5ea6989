"""glTF 2.0 (.gltf with an embedded buffer, or binary .glb) of a dynamic 3D sketch, written with pygltflib.

Layout: a root node "sketch" with one child node + mesh per stroke ("stroke_<p>"),
one primitive each, vertex colours (COLOR_0, the stroke's flat RGBA: a gradient stroke is
written in its mean colour) and a shared matte
material. geometry="tubes" (default): round tubes (`sides` around, normals) whose
radius is the stroke width in world units (`tube_scale` world units per pixel of
width; default: the animation's bounding diameter / the canvas's longer side);
geometry="lines": LINES primitives through `samples` points per cubic segment
(viewers draw them 1 px wide).

Motion: the base mesh is frame 0; frame f (f >= 1) is morph target f - 1 (POSITION,
and NORMAL for tubes, as displacements). One animation "motion" drives every
stroke's morph weights with LINEAR interpolation: keyframe f at f / fps has weight
1 on target f - 1 and 0 elsewhere, so in-betweens blend neighbouring frames
linearly, as everywhere in SketchMotion. With loop=True a last keyframe at F / fps
returns to frame 0 (the animation lasts F / fps seconds, like the 2D exports).
Units: world units, +z up as in the source data (glTF's own convention is +y up;
the root node carries no rotation so coordinates stay exactly the data's).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import SketchError
from .strokes3d import refuse_size, sample_strokes, timeline_3d

GEOMETRIES = ("tubes", "lines")
_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINES, _TRIANGLES = 1, 4


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _perpendicular(n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """n made perpendicular to unit t (any perpendicular where n is parallel to t); [..., 3]."""
    p = n - (n * t).sum(-1, keepdims=True) * t
    bad = np.linalg.norm(p, axis=-1) < 1e-6
    if bad.any():
        axis = np.eye(3)[np.argmin(np.abs(t[bad]), axis=-1)]
        p[bad] = axis - (axis * t[bad]).sum(-1, keepdims=True) * t[bad]
    return _unit(p)


def tube_frames(path: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangent, normal, binormal [F, m, 3] along a sampled stroke [F, m, 3].

    Normals are transported along the stroke, and the first one from frame to frame,
    so rings do not twist between frames (morph in-betweens keep the tube round).
    """
    if closed:
        t = np.roll(path, -1, 1) - np.roll(path, 1, 1)
    else:
        t = np.gradient(path, axis=1) if path.shape[1] > 1 else np.ones_like(path)
    t = _unit(t)
    n = np.empty_like(t)
    start = _perpendicular(np.zeros(3)[None], t[0, :1])[0]
    for f in range(t.shape[0]):
        start = _perpendicular(start[None], t[f, :1])[0]
        n[f, 0] = start
    for i in range(1, t.shape[1]):
        n[:, i] = _perpendicular(n[:, i - 1].copy(), t[:, i])
    return t, n, np.cross(t, n)


def _tube(path: np.ndarray, closed: bool, radius: float, sides: int):
    """Ring vertices [F, m*sides, 3], normals [F, m*sides, 3], triangle indices [K, 3] of one stroke."""
    _, n, b = tube_frames(path, closed)
    ang = 2 * math.pi * np.arange(sides) / sides
    ring = np.cos(ang)[:, None] * n[:, :, None] + np.sin(ang)[:, None] * b[:, :, None]  # [F, m, sides, 3]
    F, m = path.shape[:2]
    verts = (path[:, :, None] + radius * ring).reshape(F, m * sides, 3)
    rings = m if closed else m - 1
    i = np.arange(rings)[:, None]
    j = np.arange(sides)[None]
    a, c = i * sides + j, ((i + 1) % m) * sides + j
    a2, c2 = i * sides + (j + 1) % sides, ((i + 1) % m) * sides + (j + 1) % sides
    tris = np.concatenate([np.stack([a, c, c2], -1), np.stack([a, c2, a2], -1)], 1).reshape(-1, 3)
    return verts, ring.reshape(F, m * sides, 3), tris


def _lines(path: np.ndarray, closed: bool):
    m = path.shape[1]
    idx = np.arange(m)
    pairs = np.stack([idx[:-1], idx[1:]], 1)
    if closed:
        pairs = np.concatenate([pairs, [[m - 1, 0]]])
    return path, None, pairs


class _Blob:
    """The binary buffer and its views / accessors, built up as arrays are added."""

    def __init__(self, gltf):
        self.gltf, self.data = gltf, bytearray()

    def add(self, arr: np.ndarray, kind: str, target=None, bounds: bool = False) -> int:
        from pygltflib import Accessor, BufferView

        arr = np.ascontiguousarray(arr, dtype=np.uint32 if kind == "SCALAR_INDEX" else np.float32)
        while len(self.data) % 4:
            self.data.append(0)
        view = BufferView(buffer=0, byteOffset=len(self.data), byteLength=arr.nbytes, target=target)
        self.data += arr.tobytes()
        self.gltf.bufferViews.append(view)
        acc_type = "SCALAR" if kind in ("SCALAR", "SCALAR_INDEX") else kind
        acc = Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=_UINT32 if kind == "SCALAR_INDEX" else _FLOAT,
                       count=int(arr.shape[0]), type=acc_type)
        if bounds:
            flat = arr.reshape(arr.shape[0], -1)
            acc.min, acc.max = flat.min(0).astype(float).tolist(), flat.max(0).astype(float).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1


def gltf_document(anim, *, fps=None, loop: bool = True, pingpong: bool = False, geometry: str = "tubes",
                  samples: int = 8, sides: int = 6, tube_scale: float | None = None):
    """A pygltflib.GLTF2 of the animation with its binary blob set (see the module docstring)."""
    try:
        from pygltflib import (GLTF2, Animation, AnimationChannel, AnimationChannelTarget, AnimationSampler, Asset,
                               Attributes, Buffer, Material, Mesh, Node, PbrMetallicRoughness, Primitive, Scene)
    except ImportError:
        raise SketchError("glTF export needs pygltflib: pip install -r requirements.txt (or pip install pygltflib).") from None

    if geometry not in GEOMETRIES:
        raise SketchError(f"Unknown glTF geometry {geometry!r}; use 'tubes' or 'lines'.")
    if sides < 3:
        raise SketchError("A tube needs at least 3 sides.")
    tl = timeline_3d(anim, fps, loop, pingpong, "glTF")
    sk, F = tl.sketch, tl.num_frames
    pts, ranges = sample_strokes(sk, tl.frames, samples)
    pts = pts.double().numpy()
    if tube_scale is None:
        lo, hi = pts.reshape(-1, 3).min(0), pts.reshape(-1, 3).max(0)
        tube_scale = max(float(np.linalg.norm(hi - lo)), 1e-6) / max(sk.canvas)
    gltf = GLTF2(asset=Asset(generator="SketchMotion", version="2.0"), scene=0)
    gltf.materials.append(Material(name="stroke", doubleSided=True, pbrMetallicRoughness=PbrMetallicRoughness(
        baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=1.0)))
    if bool((sk.stroke_color[:, 3] < 1).any()):
        gltf.materials[0].alphaMode = "BLEND"
    blob = _Blob(gltf)
    children = []
    for p, (a, b) in enumerate(ranges):
        path = pts[:, a:b]
        if geometry == "tubes":
            verts, normals, idx = _tube(path, sk.closed[p], 0.5 * float(sk.stroke_width[p]) * tube_scale, sides)
        else:
            verts, normals, idx = _lines(path, sk.closed[p])
        attrs = Attributes(POSITION=blob.add(verts[0], "VEC3", _ARRAY_BUFFER, bounds=True))
        if normals is not None:
            attrs.NORMAL = blob.add(normals[0], "VEC3", _ARRAY_BUFFER)
        color = np.broadcast_to(sk.stroke_color[p].numpy(), (verts.shape[1], 4))
        attrs.COLOR_0 = blob.add(color, "VEC4", _ARRAY_BUFFER)
        targets = []
        for f in range(1, F):
            tgt = {"POSITION": blob.add(verts[f] - verts[0], "VEC3", _ARRAY_BUFFER, bounds=True)}
            if normals is not None:
                tgt["NORMAL"] = blob.add(normals[f] - normals[0], "VEC3", _ARRAY_BUFFER)
            targets.append(tgt)
        prim = Primitive(attributes=attrs, indices=blob.add(idx.reshape(-1), "SCALAR_INDEX", _ELEMENT_ARRAY_BUFFER),
                         material=0, mode=_TRIANGLES if geometry == "tubes" else _LINES, targets=targets or None)
        gltf.meshes.append(Mesh(name=f"stroke_{p}", primitives=[prim], weights=[0.0] * (F - 1) or None))
        gltf.nodes.append(Node(name=f"stroke_{p}", mesh=p))
        children.append(p)
    gltf.nodes.append(Node(name="sketch", children=children, extras={
        "format": "sketchmotion.strokes3d.gltf", "fps": tl.fps, "frames": F, "loop": tl.loop, "geometry": geometry,
        "up": "+z", "stroke_width_px": sk.stroke_width.tolist()}))
    gltf.scenes.append(Scene(nodes=[len(gltf.nodes) - 1]))
    if F > 1:
        keys = F + 1 if tl.loop else F
        times = np.arange(keys, dtype=np.float32) / tl.fps
        weights = np.zeros((keys, F - 1), np.float32)
        weights[np.arange(1, F), np.arange(F - 1)] = 1.0  # keyframe f shows frame f; a looping last key is frame 0
        sampler = AnimationSampler(input=blob.add(times, "SCALAR", bounds=True),
                                   output=blob.add(weights.reshape(-1), "SCALAR"), interpolation="LINEAR")
        channels = [AnimationChannel(sampler=0, target=AnimationChannelTarget(node=n, path="weights")) for n in children]
        gltf.animations.append(Animation(name="motion", samplers=[sampler], channels=channels))
    gltf.buffers.append(Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    return gltf


def save_gltf(anim, path, *, fps=None, size=None, loop: bool = True, pingpong: bool = False, geometry: str = "tubes",
              samples: int = 8, sides: int = 6, tube_scale: float | None = None, binary: bool | None = None) -> str:
    """Write binary .glb or .gltf (JSON with the buffer embedded as a data URI); returns the path.

    binary None = by extension (.gltf is text, anything else binary).
    """
    from pygltflib import BufferFormat

    refuse_size(size, "glTF")
    gltf = gltf_document(anim, fps=fps, loop=loop, pingpong=pingpong, geometry=geometry, samples=samples,
                         sides=sides, tube_scale=tube_scale)
    path = os.fspath(path)
    if binary is None:
        binary = not path.lower().endswith(".gltf")
    if binary:
        gltf.save_binary(path)
    else:
        gltf.convert_buffers(BufferFormat.DATAURI)
        gltf.save_json(path)
    return path


__all__ = ["GEOMETRIES", "gltf_document", "save_gltf", "tube_frames"]
