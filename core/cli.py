"""`python -m sketchmotion ...`: the core library without ComfyUI.

    python -m sketchmotion info SKETCH.svg [--json]
    python -m sketchmotion render SKETCH.svg --out OUT.png [--size N] [--width-scale S] [--transparent]
    python -m sketchmotion normalize SKETCH.svg --out OUT.svg [--size N] [--margin FRACTION]
    python -m sketchmotion export ANIMATION --out PATH [--format FMT] [--fps N] [--size N|WxH] [--no-loop] [--pingpong]
    python -m sketchmotion preview-motion SKETCH.svg --out OUT [--kind wiggle|sway|none] [--frames N] [--fps N]
                                         [--amplitude A] [--seed S]

More sub-commands live in their own modules (listed in COMMAND_MODULES below):
animate and resample (cli_animate), group (cli_group), render3d (cli_render3d),
metrics (cli_metrics), reconstruct3d (cli_reconstruct). `python -m sketchmotion -h` lists them all.

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

    from .raster import unpremultiply

    arr = img.detach().cpu().clamp(0, 1)
    if arr.shape[-1] == 4:  # PNG stores straight alpha
        arr = unpremultiply(arr)
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


def _size_arg(text: str):
    """'N' (longest side) or 'WxH' -> what core.export takes."""
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x")
            return (int(w), int(h))
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WxH (e.g. 512 or 640x360), got {text!r}") from None


def cmd_export(args) -> int:
    from .animation_io import load_animation
    from .export import export

    anim = load_animation(args.animation)
    out = _out_path(args.out)
    export(anim, out, format=args.format, fps=args.fps, size=args.size, loop=args.loop, pingpong=args.pingpong)
    print(f"wrote {out} (from {anim.num_frames} frame{'s' * (anim.num_frames != 1)} at {anim.fps:g} fps)")
    return 0


def cmd_preview_motion(args) -> int:
    from .animation_io import EXTENSION, save_animation
    from .export import export
    from .procedural import procedural_motion
    from .svg import load

    anim = procedural_motion(load(args.sketch), args.frames, args.kind, args.amplitude, args.seed, fps=args.fps)
    out = _out_path(args.out)
    if out.suffix.lower() == EXTENSION:
        save_animation(anim, out)
    else:
        export(anim, out)
    print(f"wrote {out} ({anim.num_frames} frames at {anim.fps:g} fps, {args.kind})")
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

    p = sub.add_parser("export", help="export an animation file (or an .svg) to SVG, Lottie, GIF, WebP, MP4, WebM, frames")
    p.add_argument("animation", help="a .safetensors animation file (written by animate / preview-motion) or an .svg")
    p.add_argument("--out", required=True, help="output file (the format follows its extension unless --format)")
    p.add_argument("--format", default=None,
                   help="svg, lottie, gif, webp, mp4, webm, frames_zip or frames_folder (default: from --out)")
    p.add_argument("--fps", type=float, default=None, help="output frame rate; re-samples the motion (same duration)")
    p.add_argument("--size", type=_size_arg, default=None, help="longest side N, or WxH, in px (default: the canvas)")
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True, help="repeat forever (default)")
    p.add_argument("--pingpong", action="store_true", help="play forwards, then backwards")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("preview-motion", help="animate an SVG sketch without a model (wiggle / sway), for previews")
    p.add_argument("sketch")
    p.add_argument("--out", required=True, help="a .safetensors animation file, or any export file (.svg, .gif, ...)")
    p.add_argument("--kind", default="wiggle", help="wiggle (hand-drawn line boil), sway (rotation) or none")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--fps", type=float, default=8.0)
    p.add_argument("--amplitude", type=float, default=2.0, help="wiggle: typical px; sway: largest angle in degrees")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_preview_motion)

    for name in COMMAND_MODULES:
        import_module(f".{name}", __package__).register(sub)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return ap


# Later stages add their sub-commands here: modules of this package with `register(subparsers)`
# (imported when the parser is built; their heavy imports stay inside the command functions) ...
COMMAND_MODULES = ["cli_animate", "cli_group", "cli_render3d", "cli_metrics", "cli_reconstruct"]
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
