"""`python -m sketchmotion group`: split a sketch's strokes into objects.

    python -m sketchmotion group SKETCH.svg --out OUT.svg [--objects K | --spec "0-5,9; 6-8"]
        [--tolerance F] [--unlisted error|own|nearest] [--preview PREVIEW.png] [--preview-labels objects|strokes|none]

Without --spec the objects are found from the geometry (core.grouping.auto_groups;
--objects 0 = as many as there are separate groups). OUT.svg wraps each object in
<g data-object="k">, which `load` restores. Prints one line per object.
"""

from __future__ import annotations


def cmd_group(args) -> int:
    from ..errors import SketchError
    from ..grouping import DEFAULT_TOLERANCE, format_ranges, group_preview, group_strokes
    from ..svg import save
    from .common import image_to_png, load_sketch, out_path

    if args.spec is not None and args.objects:
        raise SketchError("Give either --objects (automatic grouping) or --spec (manual), not both.")
    sketch = load_sketch(args.sketch)
    if args.spec is not None:
        grouped = group_strokes(sketch, "manual", spec=args.spec, unlisted=args.unlisted)
    else:
        tol = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
        grouped = group_strokes(sketch, "auto", objects=args.objects, tolerance=tol)
    out = out_path(args.out)
    save(grouped, out)
    if args.preview:
        prev = out_path(args.preview)
        image_to_png(group_preview(grouped, labels=args.preview_labels), prev)
    groups = grouped.group.tolist()
    print(f"wrote {out} ({grouped.num_groups} object{'s' * (grouped.num_groups != 1)} from {grouped.num_paths} strokes)")
    for k in range(grouped.num_groups):
        print(f"  object {k}: strokes {format_ranges([p for p, g in enumerate(groups) if g == k])}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("group", help="split the strokes into objects (automatic, or from a spec of stroke indices)")
    p.add_argument("sketch")
    p.add_argument("--out", required=True, help="output SVG (one <g data-object> per object)")
    p.add_argument("--objects", type=int, default=0, help="number of objects; 0 = automatic (default)")
    p.add_argument("--spec", default=None,
                   help="stroke indices per object, e.g. '0-5,9; 6-8' (objects separated by ';' or new lines)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="largest gap that joins strokes, as a fraction of the canvas diagonal (default 0.02)")
    p.add_argument("--unlisted", default="error", choices=["error", "own", "nearest"],
                   help="with --spec: strokes not listed are an error (default), one extra object, or join the nearest")
    p.add_argument("--preview", default=None, help="also write a PNG with each object coloured and numbered")
    p.add_argument("--preview-labels", default="objects", choices=["objects", "strokes", "none"],
                   help="numbers drawn on the preview: object indices, or stroke indices (for writing a --spec)")
    p.set_defaults(func=cmd_group)
