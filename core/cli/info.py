"""`python -m sketchmotion info SKETCH.svg [--json]`: summarise an SVG sketch."""

from __future__ import annotations

import json


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
        "dropped": list(sketch.dropped),  # what the SVG had that is not drawn (core.svg)
    }


def cmd_info(args) -> int:
    from ..svg import load

    sketch = load(args.sketch)
    info = sketch_info(sketch)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        from ..svg import dropped_note

        for k, v in info.items():
            if k != "dropped":
                print(f"{k:>20}: {v}")
        print(f"{'dropped':>20}: {dropped_note(sketch)[len('not drawn: '):] or 'nothing'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("info", help="summarise an SVG sketch")
    p.add_argument("sketch")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)
