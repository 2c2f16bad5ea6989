"""`python -m sketchmotion export ANIMATION --out PATH [--format FMT] [--fps N] [--size N|WxH] [--no-loop] [--pingpong]`."""

from __future__ import annotations

import argparse

from .common import size_arg


def cmd_export(args) -> int:
    from ..animation_io import load_animation
    from ..export import export
    from .common import out_path

    anim = load_animation(args.animation)
    out = out_path(args.out)
    export(anim, out, format=args.format, fps=args.fps, size=args.size, loop=args.loop, pingpong=args.pingpong)
    print(f"wrote {out} (from {anim.num_frames} frame{'s' * (anim.num_frames != 1)} at {anim.fps:g} fps)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="export an animation file (or an .svg) to SVG, Lottie, GIF, WebP, MP4, WebM, frames")
    p.add_argument("animation", help="a .safetensors animation file (written by animate / preview-motion) or an .svg")
    p.add_argument("--out", required=True, help="output file (the format follows its extension unless --format)")
    p.add_argument("--format", default=None,
                   help="svg, lottie, gif, webp, mp4, webm, frames_zip or frames_folder (default: from --out)")
    p.add_argument("--fps", type=float, default=None, help="output frame rate; re-samples the motion (same duration)")
    p.add_argument("--size", type=size_arg, default=None, help="longest side N, or WxH, in px (default: the canvas)")
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True, help="repeat forever (default)")
    p.add_argument("--pingpong", action="store_true", help="play forwards, then backwards")
    p.set_defaults(func=cmd_export)
