"""Small helpers shared by the command modules (no torch at import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def image_to_png(img, path: Path) -> None:
    """Save one [H, W, 3|4] float image (RGBA premultiplied) as PNG."""
    import numpy as np
    from PIL import Image

    from ..raster import unpremultiply

    arr = img.detach().cpu().clamp(0, 1)
    if arr.shape[-1] == 4:  # PNG stores straight alpha
        arr = unpremultiply(arr)
    Image.fromarray((arr.numpy() * 255 + 0.5).astype(np.uint8)).save(path)


def out_path(arg: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """The output path, its folder created. `suffixes`: the extensions the command can write
    (anything else is a one-line SketchError before any work is done)."""
    p = Path(arg)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        from ..errors import SketchError

        raise SketchError(f"Cannot write {p.name[-60:]!r}: this command writes {' or '.join(suffixes)} files; "
                          "change the --out extension.")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def size_arg(text: str):
    """'N' (longest side) or 'WxH' -> what core.export takes."""
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x")
            return (int(w), int(h))
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WxH (e.g. 512 or 640x360), got {text!r}") from None


def load_sketch(path, **kwargs):
    """core.svg.load, then a `note: not drawn: ...` line on stderr (with what to do) when the file has parts the
    reader does not draw, so no command silently works on less than the file shows."""
    from ..svg import dropped_note, load

    sketch = load(path, **kwargs)
    if sketch.dropped:
        print(f"note: {dropped_note(sketch)}", file=sys.stderr)
    return sketch
