"""`python -m sketchmotion render SKETCH.svg --out OUT.png [--size N] [--width-scale S] [--transparent]`."""

from __future__ import annotations


def cmd_render(args) -> int:
    from ..raster import render
    from .common import image_to_png, load_sketch, out_path

    out_path(args.out, (".png",))  # refuse an unwritable extension before rendering
    sketch = load_sketch(args.sketch)
    size = None if args.size is None else (args.size, round(args.size * sketch.canvas[1] / sketch.canvas[0]))
    img = render(sketch, size=size, width_scale=args.width_scale, background=None if args.transparent else (1.0, 1.0, 1.0))
    out = out_path(args.out)
    image_to_png(img, out)
    print(f"wrote {out} ({img.shape[1]}x{img.shape[0]})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("render", help="render an SVG sketch to PNG with the built-in renderer")
    p.add_argument("sketch")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=None, help="output width in px (height keeps the aspect)")
    p.add_argument("--width-scale", type=float, default=1.0, help="multiply stroke widths")
    p.add_argument("--transparent", action="store_true", help="transparent background (RGBA PNG)")
    p.set_defaults(func=cmd_render)
