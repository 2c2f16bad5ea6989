"""Exports that other tools open: animated SVG, Lottie, GIF/WebP/MP4/WebM, frame sequences;
for 3D sketches stroke JSON, PLY, glTF / GLB and a self-contained HTML player (FORMATS_3D).

`export(anim, path, format=None, ...)` picks the writer from `format` or the file
extension. Every writer takes the same timing/size arguments:
fps (re-sampled, same duration), size (None | longest side | (w, h)), loop, pingpong.
Heavy libraries (imageio, av, plyfile, pygltflib) are imported only when their format is written.
A 2D format refuses a 3D sketch (and a 3D format a 2D animation) with a SketchError naming the right ones.
"""

from __future__ import annotations

import inspect
import os
from functools import partial
from typing import Callable, NamedTuple

from ..errors import SketchError
from ..sketch import SketchAnimation
from .animated_svg import animated_svg, save_animated_svg
from .gltf import save_gltf
from .html_viewer import save_html_viewer
from .lottie import lottie, save_lottie
from .ply import save_ply
from .strokes3d import save_strokes_json
from .video import frames_folder, frames_zip, image_frames, save_gif, save_mp4, save_webm, save_webp


class ExportFormat(NamedTuple):
    """One export format: its writer(anim, path, fps=, size=, loop=, **options), file extensions, description."""

    writer: Callable
    extensions: tuple[str, ...]
    description: str


# format name -> ExportFormat
FORMATS = {name: ExportFormat(*entry) for name, entry in {
    "svg": (save_animated_svg, (".svg",), "animated SVG (SMIL), plays in browsers"),
    "lottie": (save_lottie, (".json",), "Lottie / Bodymovin JSON"),
    "gif": (save_gif, (".gif",), "animated GIF"),
    "webp": (save_webp, (".webp",), "animated WebP (lossless by default)"),
    "mp4": (save_mp4, (".mp4",), "MP4, H.264"),
    "webm": (save_webm, (".webm",), "WebM, VP9"),
    "frames_zip": (frames_zip, (".zip",), "zip of per-frame PNG + SVG"),
    "frames_folder": (frames_folder, (), "folder of per-frame PNG + SVG"),
    # 3D sketches (D = 3)
    "strokes_json": (save_strokes_json, (".json",), "3D stroke JSON: control points per frame (documented schema)"),
    "ply": (save_ply, (".ply",), "PLY polylines of every frame (+ exact control points)"),
    "glb": (partial(save_gltf, binary=True), (".glb",), "binary glTF 2.0: stroke tubes, morph-target animation"),
    "gltf": (partial(save_gltf, binary=False), (".gltf",), "glTF 2.0 JSON (embedded buffer): tubes, morph targets"),
    "html": (save_html_viewer, (".html", ".htm"), "self-contained HTML player with orbit / zoom"),
}.items()}
FORMATS_3D = ("strokes_json", "ply", "glb", "gltf", "html")  # the rest are 2D


def format_for_path(path, dim: int | None = None) -> str:
    """The format name for a file name's extension (SketchError if none matches).

    dim (2 or 3) picks between formats sharing an extension: .json is Lottie for 2D, stroke JSON for 3D.
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    found = [name for name, f in FORMATS.items() if ext in f.extensions]
    if dim is not None:
        found = [n for n in found if (n in FORMATS_3D) == (dim == 3)] or found
    if found:
        return found[0]
    known = ", ".join(e for f in FORMATS.values() for e in f.extensions)
    raise SketchError(f"Cannot tell the export format from {os.fspath(path)!r}; give the file one of the extensions {known}, or name the format (--format on the command line).")


def _check_dim(name: str, anim) -> None:
    three_d = getattr(anim, "dim", 2) == 3
    if three_d and name not in FORMATS_3D:
        raise SketchError(f"{name} export is for 2D animations and this is a 3D sketch; use a 3D format: "
                          f"{', '.join(f'{n} ({FORMATS[n].extensions[0]})' for n in FORMATS_3D)}, or render views to "
                          "images first (`python -m sketchmotion render3d`, the Render 3D Sketch node).")
    if not three_d and name in FORMATS_3D:
        raise SketchError(f"{name} export is for 3D sketches and this animation is 2D; use a 2D format: "
                          f"{', '.join(n for n in FORMATS if n not in FORMATS_3D)}.")


def export(
    anim: SketchAnimation,
    path,
    format: str | None = None,
    fps: float | None = None,
    size=None,
    loop: bool = True,
    **kwargs,
):
    """Write `anim` to `path` in `format` (default: from the extension); returns what the writer returns.

    Extra keyword arguments go to the writer (pingpong, background, interpolate, crf, ...).
    """
    dim = getattr(anim, "dim", 2)
    if format is None:
        format = format_for_path(path, dim)
    name = str(format).lower().lstrip(".")
    aliases = {"json": "strokes_json" if dim == 3 else "lottie", "zip": "frames_zip", "frames": "frames_folder",
               "folder": "frames_folder", "json3d": "strokes_json", "htm": "html"}
    name = aliases.get(name, name)
    if name not in FORMATS:
        raise SketchError(f"Unknown export format {format!r}; choose one of: {', '.join(FORMATS)}.")
    _check_dim(name, anim)
    writer = FORMATS[name].writer
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(parent):
        raise SketchError(f"The folder {parent!r} does not exist; create it or choose another output path.")
    accepted = inspect.signature(writer).parameters
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown:
        options = ", ".join(k for k, p in accepted.items() if p.kind == p.KEYWORD_ONLY)
        raise SketchError(f"{name} export has no option {unknown[0]!r}; its options are: {options}.")
    return writer(anim, path, fps=fps, size=size, loop=loop, **kwargs)


__all__ = [
    "ExportFormat",
    "FORMATS",
    "FORMATS_3D",
    "animated_svg",
    "export",
    "format_for_path",
    "frames_folder",
    "frames_zip",
    "image_frames",
    "lottie",
    "save_animated_svg",
    "save_gltf",
    "save_html_viewer",
    "save_ply",
    "save_strokes_json",
    "save_gif",
    "save_lottie",
    "save_mp4",
    "save_webm",
    "save_webp",
]
