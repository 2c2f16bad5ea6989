"""Exports that other tools open: animated SVG, Lottie, GIF/WebP/MP4/WebM, frame sequences.

`export(anim, path, format=None, ...)` picks the writer from `format` or the file
extension. Every writer takes the same timing/size arguments:
fps (re-sampled, same duration), size (None | longest side | (w, h)), loop, pingpong.
Heavy libraries (imageio, av) are imported only when a raster format is written.
"""

from __future__ import annotations

import inspect
import os

from ..errors import SketchError
from ..sketch import SketchAnimation
from .animated_svg import animated_svg, save_animated_svg
from .lottie import lottie, save_lottie
from .video import frames_folder, frames_zip, image_frames, save_gif, save_mp4, save_webm, save_webp

# format name -> (writer(anim, path, **kwargs), file extensions, what it is)
FORMATS = {
    "svg": (save_animated_svg, (".svg",), "animated SVG (SMIL), plays in browsers"),
    "lottie": (save_lottie, (".json",), "Lottie / Bodymovin JSON"),
    "gif": (save_gif, (".gif",), "animated GIF"),
    "webp": (save_webp, (".webp",), "animated WebP (lossless by default)"),
    "mp4": (save_mp4, (".mp4",), "MP4, H.264"),
    "webm": (save_webm, (".webm",), "WebM, VP9"),
    "frames_zip": (frames_zip, (".zip",), "zip of per-frame PNG + SVG"),
    "frames_folder": (frames_folder, (), "folder of per-frame PNG + SVG"),
}


def format_for_path(path) -> str:
    """The format name for a file name's extension (SketchError if none matches)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    for name, (_, exts, _) in FORMATS.items():
        if ext in exts:
            return name
    known = ", ".join(e for _, exts, _ in FORMATS.values() for e in exts)
    raise SketchError(f"Cannot tell the export format from {os.fspath(path)!r}; use one of {known} or pass format=.")


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
    if format is None:
        format = format_for_path(path)
    name = str(format).lower().lstrip(".")
    name = {"json": "lottie", "zip": "frames_zip", "frames": "frames_folder", "folder": "frames_folder"}.get(name, name)
    if name not in FORMATS:
        raise SketchError(f"Unknown export format {format!r}; choose one of: {', '.join(FORMATS)}.")
    writer = FORMATS[name][0]
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
    "FORMATS",
    "animated_svg",
    "export",
    "format_for_path",
    "frames_folder",
    "frames_zip",
    "image_frames",
    "lottie",
    "save_animated_svg",
    "save_gif",
    "save_lottie",
    "save_mp4",
    "save_webm",
    "save_webp",
]
