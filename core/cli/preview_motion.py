"""`python -m sketchmotion preview-motion SKETCH.svg --out OUT [--kind wiggle|sway|none] [--frames N] [--fps N]
[--amplitude A] [--seed S]`: animate a sketch without a model, for previews."""

from __future__ import annotations


def cmd_preview_motion(args) -> int:
    from ..animation_io import EXTENSION, save_animation
    from ..export import export
    from ..procedural import procedural_motion
    from .common import load_sketch
    from .common import out_path

    anim = procedural_motion(load_sketch(args.sketch), args.frames, args.kind, args.amplitude, args.seed, fps=args.fps)
    out = out_path(args.out)
    if out.suffix.lower() == EXTENSION:
        save_animation(anim, out)
    else:
        export(anim, out)
    print(f"wrote {out} ({anim.num_frames} frames at {anim.fps:g} fps, {args.kind})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("preview-motion", help="animate an SVG sketch without a model (wiggle / sway), for previews")
    p.add_argument("sketch")
    p.add_argument("--out", required=True, help="a .safetensors animation file, or any export file (.svg, .gif, ...)")
    p.add_argument("--kind", default="wiggle", help="wiggle (hand-drawn line boil), sway (rotation) or none")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--fps", type=float, default=8.0)
    p.add_argument("--amplitude", type=float, default=2.0, help="wiggle: typical px; sway: largest angle in degrees")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_preview_motion)
