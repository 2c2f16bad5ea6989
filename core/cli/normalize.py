"""`python -m sketchmotion normalize SKETCH.svg --out OUT.svg [--size N] [--margin FRACTION]`."""

from __future__ import annotations


def cmd_normalize(args) -> int:
    from ..svg import normalize, save
    from .common import load_sketch
    from .common import out_path

    out_path(args.out, (".svg",))  # refuse an unwritable extension before reading
    sketch = normalize(load_sketch(args.sketch), size=args.size, margin=args.margin)
    out = out_path(args.out, (".svg",))
    save(sketch, out)
    print(f"wrote {out} ({sketch.num_paths} paths on {sketch.canvas[0]}x{sketch.canvas[1]})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("normalize", help="fit the drawing into a square canvas with a margin")
    p.add_argument("sketch")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--margin", type=float, default=0.1, help="margin as a fraction of the size on each side")
    p.set_defaults(func=cmd_normalize)
