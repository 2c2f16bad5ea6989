"""The SketchMotion animation file: `.safetensors` tensors + JSON metadata, no pickle.

`save_animation(anim, path)` writes a `SketchAnimation` (and, optionally, the motion
model that produced it); `load_animation(path)` reads it back exactly. `load_animation`
also accepts a plain `.svg`, as a one-frame animation, so every command that takes an
animation file takes a static sketch too.

File layout (format version 1). A safetensors file: 8 bytes little-endian header
length, a JSON header, raw little-endian tensor bytes. Nothing is ever unpickled.

Tensors (P paths, N control points, D = 2 or 3 coordinates, T frames):

    sketch.points        float [N, D]     control points of the base sketch, canvas px
    sketch.stroke_width  float [P]        full SVG stroke width, canvas px (0 = none)
    sketch.stroke_color  float [P, 4]     straight RGBA in 0..1
    sketch.fill_color    float [P, 4]     straight RGBA in 0..1 (alpha 0 = no fill)
    sketch.group         int64 [P]        object id of every path
    sketch.compound      int64 [P]        consecutive equal ids are filled together
    frames               float [T, N, D]  control points in every frame
    cameras.c2w          float [T, 4, 4]  optional (3D): OpenGL camera-to-world per frame
    cameras.fx|fy|cx|cy  float [T]        optional (3D): intrinsics in pixels
    motion.<name>        any              optional: the motion model's state_dict

Path structure: path p owns points path_offsets[p] .. path_offsets[p+1] - 1 of
`sketch.points`, where an open path with k segments owns 3k+1 points and a closed one
3k (see core/sketch.py).

`__metadata__` (safetensors allows only string values):

    "format"          "sketchmotion.animation"
    "format_version"  "1"
    "animation"       JSON object:
        num_segments  [P] ints          closed     [P] bools
        fill_rule     [P] "nonzero" | "evenodd"
        canvas        [width, height] px
        fps           frames per second (frame i is shown from i/fps to (i+1)/fps)
        settings      what produced the animation (prompt, steps, seed, ...)
        cameras       null | {"width", "height", "projection", "near"}
        motion        null | the motion model's JSON config (its tensors: motion.*)

Read it without SketchMotion:

    from safetensors import safe_open; import json
    with safe_open("cat.safetensors", "np") as f:
        meta = json.loads(f.metadata()["animation"]); frames = f.get_tensor("frames")
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from .errors import SketchError
from .motion.registry import StoredMotion
from .sketch import Sketch, SketchAnimation

FORMAT = "sketchmotion.animation"
FORMAT_VERSION = 1
EXTENSION = ".safetensors"
SVG_FPS = 8.0  # fps given to a static .svg read as a one-frame animation

_SKETCH_TENSORS = ("points", "stroke_width", "stroke_color", "fill_color", "group", "compound")
_CAMERA_TENSORS = ("c2w", "fx", "fy", "cx", "cy")
_MOTION = "motion."


def json_value(value, where: str):
    """`value` as plain JSON types (tuples -> lists, numpy/torch scalars -> numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SketchError(f"{where} is {value}; animation files store finite numbers only.")
        return float(value)
    if isinstance(value, dict):
        return {str(k): json_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and getattr(value, "ndim", 1) == 0:  # numpy / torch scalar
        return json_value(value.tolist(), where)
    raise SketchError(
        f"{where} holds a {type(value).__name__}, which an animation file cannot store; "
        "keep settings to numbers, strings, lists and dicts (tensors go in the motion state)."
    )


def _cameras_to_file(cameras, num_frames: int) -> tuple[dict, dict | None]:
    if cameras is None:
        return {}, None
    try:
        tensors = {f"cameras.{k}": getattr(cameras, k) for k in _CAMERA_TENSORS}
        meta = {"width": int(cameras.width), "height": int(cameras.height),
                "projection": str(cameras.projection), "near": float(cameras.near)}
    except AttributeError:
        raise SketchError(
            f"The animation's cameras are a {type(cameras).__name__}; animation files store core.camera.Cameras only."
        ) from None
    if len(tensors["cameras.fx"]) not in (1, num_frames):
        raise SketchError(f"The animation has {num_frames} frames but {len(tensors['cameras.fx'])} cameras.")
    return tensors, meta


def save_animation(anim: SketchAnimation, path, motion_state: dict | None = None, motion_config: dict | None = None) -> str:
    """Write `anim` (and optionally a motion model's state_dict + JSON config) to a .safetensors file.

    The file is written to a temporary name and renamed, so a crash never leaves half a file.
    Returns the path written.
    """
    from safetensors.torch import save

    if not isinstance(anim, SketchAnimation):
        raise SketchError(f"save_animation needs a SketchAnimation, got {type(anim).__name__}.")
    if motion_state is None and motion_config is None and anim.motion is not None:
        motion_state, motion_config = anim.motion.state, anim.motion.config
    state = anim.state_dict()
    sk = state["sketch"]
    tensors = {f"sketch.{k}": sk[k] for k in _SKETCH_TENSORS}
    tensors["frames"] = state["frames"]
    cam_tensors, cam_meta = _cameras_to_file(anim.cameras, anim.num_frames)
    tensors.update(cam_tensors)
    for name, t in (motion_state or {}).items():
        if not torch.is_tensor(t):
            raise SketchError(f"motion_state[{name!r}] is a {type(t).__name__}; put non-tensor values in motion_config.")
        tensors[_MOTION + str(name)] = t
    # safetensors wants contiguous CPU tensors that share no memory
    tensors = {k: t.detach().cpu().contiguous().clone() for k, t in tensors.items()}
    info = {
        "num_segments": list(sk["num_segments"]),
        "closed": list(sk["closed"]),
        "fill_rule": list(sk["fill_rule"]),
        "style": sk.get("style"),  # caps, joins, dashes, clip regions (core.style.PathStyle JSON) or None
        "dropped": list(sk.get("dropped") or ()),
        "canvas": list(sk["canvas"]),
        "fps": float(state["fps"]),
        "settings": json_value(state["settings"], "settings"),
        "cameras": cam_meta,
        "motion": None if motion_config is None and motion_state is None else json_value(motion_config or {}, "motion_config"),
    }
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "animation": json.dumps(info)}
    data = save(tensors, metadata=metadata)
    path = Path(path)
    if not path.parent.is_dir():
        raise SketchError(f"The folder {str(path.parent)!r} does not exist; create it or choose another output path.")
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return os.fspath(path)


def _read(path, motion: bool = False) -> tuple[dict, dict]:
    """(tensors, animation metadata) of an animation file, with clear errors for anything else.

    The motion model's tensors (which may be large) are read only with motion=True.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise SketchError(f"Animation file {os.fspath(path)!r} does not exist.")
    with open(path, "rb") as f:
        head = f.read(9)
    # the header length must fit the file and the header must be JSON: anything else is not safetensors
    n = int.from_bytes(head[:8], "little") if len(head) == 9 else -1
    if n < 2 or 8 + n > path.stat().st_size or head[8:9] != b"{":
        raise SketchError(
            f"{path.name} is not a SketchMotion animation file (not a .safetensors file); "
            "use a file written by save_animation / the animate command, or an .svg."
        )
    try:
        with safe_open(os.fspath(path), "pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise SketchError(
                    f"{path.name} is a .safetensors file but not a SketchMotion animation (a model checkpoint?); "
                    "load animations written by SketchMotion."
                )
            tensors = {k: f.get_tensor(k) for k in f.keys() if motion or not k.startswith(_MOTION)}
    except SketchError:
        raise
    except Exception as e:  # safetensors reports corruption with its own exception type
        raise SketchError(f"{path.name} is damaged ({e}); write it again.") from None
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise SketchError(f"{path.name} has no valid format_version; write it again.") from None
    if version > FORMAT_VERSION:
        raise SketchError(
            f"{path.name} uses animation format version {version}, newer than this SketchMotion reads "
            f"(up to {FORMAT_VERSION}); update SketchMotion."
        )
    if version < 1:
        raise SketchError(f"{path.name} has an invalid format_version {version}; write it again.")
    try:
        info = json.loads(metadata["animation"])
        if not isinstance(info, dict):
            raise ValueError
    except (KeyError, ValueError):
        raise SketchError(f"{path.name} has no readable 'animation' metadata; write it again.") from None
    return tensors, info


def _cameras_from_file(tensors: dict, meta: dict | None):
    if not meta:
        return None
    from .camera import Cameras

    return Cameras(**{k: tensors[f"cameras.{k}"] for k in _CAMERA_TENSORS}, width=meta["width"], height=meta["height"],
                   projection=meta["projection"], near=meta["near"])


def as_animation(sketch_or_animation, fps: float = SVG_FPS) -> SketchAnimation:
    """A SketchAnimation as is; a static Sketch as a one-frame animation at `fps`."""
    if isinstance(sketch_or_animation, SketchAnimation):
        return sketch_or_animation
    if isinstance(sketch_or_animation, Sketch):
        return SketchAnimation(sketch=sketch_or_animation, frames=sketch_or_animation.points.detach()[None], fps=fps)
    raise SketchError(f"Expected a sketch or a sketch animation, got {type(sketch_or_animation).__name__}.")


def load_animation(path, motion: bool = True) -> SketchAnimation:
    """Read an animation file written by `save_animation` (or an .svg as one frame at 8 fps).

    motion: also read the stored motion model (SketchAnimation.motion), if any.
    """
    path = Path(path)
    if path.suffix.lower() == ".svg":
        from .svg import load

        return as_animation(load(path))
    tensors, info = _read(path, motion=motion)
    stored = {k[len(_MOTION):]: v for k, v in tensors.items() if k.startswith(_MOTION)}
    try:
        sketch = Sketch.from_state_dict({
            **{k: tensors[f"sketch.{k}"] for k in _SKETCH_TENSORS},
            **{k: info[k] for k in ("num_segments", "closed", "fill_rule", "canvas")},
            **{k: info[k] for k in ("style", "dropped") if k in info},
        })
        return SketchAnimation(sketch=sketch, frames=tensors["frames"], fps=float(info["fps"]),
                               settings=dict(info.get("settings") or {}),
                               cameras=_cameras_from_file(tensors, info.get("cameras")),
                               motion=StoredMotion(stored, info["motion"]) if stored and info.get("motion") else None)
    except (KeyError, TypeError) as e:
        raise SketchError(f"{path.name} is missing part of the animation ({e}); write it again.") from None


def load_motion(path) -> tuple[dict, dict | None]:
    """(motion state_dict, motion config) stored with an animation; ({}, None) when it has none."""
    tensors, info = _read(path, motion=True)
    state = {k[len(_MOTION):]: v for k, v in tensors.items() if k.startswith(_MOTION)}
    return state, info.get("motion")


__all__ = ["EXTENSION", "FORMAT", "FORMAT_VERSION", "as_animation", "load_animation", "load_motion", "save_animation"]
