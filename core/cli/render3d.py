"""`python -m sketchmotion render3d`: render a 3D sketch animation from a camera path to GIF / WebP / PNG.

    python -m sketchmotion render3d ANIMATION.safetensors --out turntable.gif [--camera turntable|orbit|fixed|input]
        [--frames N] [--size N] [--fov DEG] [--elevation DEG] [--azimuth DEG] [--span DEG] [--distance D]
        [--time T] [--fps N] [--width-scale S]

Without --distance the camera is placed so the whole animation stays in view. The motion
plays once over the camera path (frame i at time i / (frames - 1)); --time T in [0, 1]
freezes it at one moment instead (a turntable of a still pose). --camera input uses the
cameras stored in the animation file (e.g. by reconstruct3d). A .png output with several
frames writes NAME_000.png, NAME_001.png, ...
"""

from __future__ import annotations

import os

CAMERA_MODES = ("turntable", "orbit", "fixed", "input")  # core.render3d.CAMERA_MODES (not imported: torch)


def cmd_render3d(args) -> int:
    import torch

    from ..animation_io import load_animation
    from .common import out_path
    from ..errors import SketchError
    from ..render3d import IMAGE_OUTPUTS, camera_path, render_3d, resolve_cameras, save_images

    if os.path.splitext(args.out)[1].lower() not in IMAGE_OUTPUTS:
        raise SketchError(f"render3d writes {', '.join(IMAGE_OUTPUTS)} files; got --out {args.out!r}.")
    anim = load_animation(args.animation)
    if anim.dim != 3:
        raise SketchError(f"{args.animation} is a 2D animation; render it with `python -m sketchmotion export`.")
    if args.frames < 0:
        raise SketchError("--frames must be 0 (the animation's frame count) or more.")
    if args.camera == "input":
        cams = resolve_cameras(anim, use_animation_cameras=True, num_frames=args.frames)
    else:
        cams = camera_path(args.camera, args.frames or anim.num_frames, size=args.size, fov=args.fov,
                           distance=args.distance, elevation=args.elevation, azimuth=args.azimuth, span=args.span,
                           anim=anim)
    n = len(cams)
    times = None if args.time is None else torch.full((n,), float(args.time))
    images = render_3d(anim, cams, times=times, size=args.size, width_scale=args.width_scale)
    fps = args.fps or anim.fps * max(len(cams), 1) / anim.num_frames  # keeps the motion's duration
    out = out_path(args.out)
    files = save_images((images * 255.0 + 0.5).to(torch.uint8).numpy(), os.fspath(out), fps)
    h, w = images.shape[1:3]
    more = f" ... {files[-1]}" if len(files) > 1 else ""
    print(f"wrote {files[0]}{more} ({images.shape[0]} frames {w}x{h}, camera {args.camera}, {fps:g} fps)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("render3d", help="render a 3D sketch animation from a camera path (turntable, orbit, fixed, "
                       "its own cameras) to GIF / WebP / PNG")
    p.add_argument("animation", help="a 3D animation file (.safetensors, e.g. from reconstruct3d)")
    p.add_argument("--out", required=True, help="output .gif, .webp or .png (several frames: NAME_000.png ...)")
    p.add_argument("--camera", default="turntable", choices=CAMERA_MODES,
                   help="camera path (default turntable); input = the animation's own cameras")
    p.add_argument("--frames", type=int, default=0, help="frames to render (default: the animation's frame count)")
    p.add_argument("--size", type=int, default=256, help="longer side of the images in pixels (default 256)")
    p.add_argument("--fov", type=float, default=40.0, help="horizontal field of view in degrees (default 40)")
    p.add_argument("--elevation", type=float, default=20.0, help="camera elevation in degrees (default 20)")
    p.add_argument("--azimuth", type=float, default=0.0, help="(start) azimuth in degrees; 0 looks along +y")
    p.add_argument("--span", type=float, default=90.0, help="orbit: degrees travelled (default 90)")
    p.add_argument("--distance", type=float, default=None, help="camera distance (default: fit the animation)")
    p.add_argument("--time", type=float, default=None, help="freeze the motion at t in [0, 1]")
    p.add_argument("--fps", type=float, default=None, help="frame rate of the output (default: the motion's speed)")
    p.add_argument("--width-scale", type=float, default=1.0, help="multiply stroke widths (default 1)")
    p.set_defaults(func=cmd_render3d)
