"""`python -m sketchmotion ...`: the core library without ComfyUI.

    python -m sketchmotion info SKETCH.svg [--json]
    python -m sketchmotion render SKETCH.svg --out OUT.png [--size N] [--width-scale S] [--transparent]
    python -m sketchmotion normalize SKETCH.svg --out OUT.svg [--size N] [--margin FRACTION]

A user error prints one line naming the problem and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from pathlib import Path

from .errors import SketchError


def _image_to_png(img, path: Path) -> None:
    """Save one [H, W, 3|4] float image (RGBA premultiplied) as PNG."""
    import numpy as np
    from PIL import Image

    arr = img.detach().cpu().clamp(0, 1)
    if arr.shape[-1] == 4:  # un-premultiply for the file
        a = arr[..., 3:4]
        arr = arr.clone()
        arr[..., :3] = arr[..., :3] / a.clamp_min(1e-6)
    Image.fromarray((arr.numpy() * 255 + 0.5).astype(np.uint8)).save(path)


def _out_path(arg: str) -> Path:
    p = Path(arg)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def sketch_info(sketch) -> dict:
    """A JSON-friendly summary of a sketch (paths, segments, canvas, groups)."""
    lo, hi = sketch.bounds()
    return {
        "paths": sketch.num_paths,
        "segments": sum(sketch.num_segments),
        "control_points": sketch.num_points,
        "closed_paths": sum(sketch.closed),
        "filled_paths": int(sketch.has_fill.sum()),
        "stroked_paths": int(sketch.has_stroke.sum()),
        "canvas": list(sketch.canvas),
        "groups": sketch.num_groups,
        "paths_per_group": [int((sketch.group == g).sum()) for g in range(sketch.num_groups)],
        "bounds": [lo.tolist(), hi.tolist()],
        "stroke_width_range": [float(sketch.stroke_width.min()), float(sketch.stroke_width.max())],
    }


def cmd_info(args) -> int:
    from .svg import load

    info = sketch_info(load(args.sketch))
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:>20}: {v}")
    return 0


def cmd_render(args) -> int:
    from .raster import render
    from .svg import load

    sketch = load(args.sketch)
    size = None if args.size is None else (args.size, round(args.size * sketch.canvas[1] / sketch.canvas[0]))
    img = render(sketch, size=size, width_scale=args.width_scale, background=None if args.transparent else (1.0, 1.0, 1.0))
    out = _out_path(args.out)
    _image_to_png(img, out)
    print(f"wrote {out} ({img.shape[1]}x{img.shape[0]})")
    return 0


def cmd_normalize(args) -> int:
    from .svg import load, normalize, save

    sketch = normalize(load(args.sketch), size=args.size, margin=args.margin)
    out = _out_path(args.out)
    save(sketch, out)
    print(f"wrote {out} ({sketch.num_paths} paths on {sketch.canvas[0]}x{sketch.canvas[1]})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sketchmotion", description="SketchMotion: bring sketches to life.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="summarise an SVG sketch")
    p.add_argument("sketch")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("render", help="render an SVG sketch to PNG with the built-in renderer")
    p.add_argument("sketch")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=None, help="output width in px (height keeps the aspect)")
    p.add_argument("--width-scale", type=float, default=1.0, help="multiply stroke widths")
    p.add_argument("--transparent", action="store_true", help="transparent background (RGBA PNG)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("normalize", help="fit the drawing into a square canvas with a margin")
    p.add_argument("sketch")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--margin", type=float, default=0.1, help="margin as a fraction of the size on each side")
    p.set_defaults(func=cmd_normalize)

    for name in COMMAND_MODULES:
        import_module(f".{name}", __package__).register(sub)
    for register in _EXTRA_COMMANDS:
        register(sub)
    return ap


# Later stages add their sub-commands here: modules of this package with `register(subparsers)`
# (imported when the parser is built; their heavy imports stay inside the command functions) ...
COMMAND_MODULES = ["cli_animate"]
# ... or register functions appended directly.
_EXTRA_COMMANDS: list = []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SketchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f"error: {e.strerror or e}: {e.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
