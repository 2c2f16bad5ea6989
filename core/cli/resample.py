"""`python -m sketchmotion resample ANIMATION --frames N --out OUT.safetensors`: the same animation at another
frame count (same duration), sampled from the stored motion model when the file has one."""

from __future__ import annotations


def cmd_resample(args) -> int:
    from ..animation_io import load_animation, save_animation

    anim = load_animation(args.animation)
    new = anim.sample(args.frames)
    save_animation(new, args.out)
    how = "sampled from the trained motion model" if anim.motion is not None else "interpolated linearly"
    print(f"wrote {args.out} ({new.num_frames} frames at {new.fps:g} fps, {how})")
    return 0


def register(sub) -> None:
    import argparse

    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("resample", formatter_class=fmt,
                       help="re-sample an animation file at another frame count (same duration)")
    p.add_argument("animation", help="animation file (.safetensors) written by animate / export tools")
    p.add_argument("--frames", type=int, required=True, help="frame count of the result")
    p.add_argument("--out", required=True, help="output animation file (.safetensors)")
    p.set_defaults(func=cmd_resample)
