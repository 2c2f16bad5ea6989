"""Generate the bundled example sketches (deterministic; run from anywhere).

    python sketches/make_examples.py [--out DIR]

Every stroke is drawn as a few key points joined by a Catmull-Rom spline, which
becomes a chain of cubic Beziers (the LiveSketch style: black strokes, width 3,
256x256 canvas). The files are written with sketchmotion's own SVG writer.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))  # scripts/_bootstrap.py
from _bootstrap import package_module  # noqa: E402  (the package, installed or a plain clone)

svg = package_module("core.svg")
_sketch = package_module("core.sketch")
Sketch, sketch_from_paths = _sketch.Sketch, _sketch.sketch_from_paths

BLACK = (0.0, 0.0, 0.0, 1.0)


def spline(points, closed: bool = False) -> torch.Tensor:
    """Catmull-Rom through `points` as cubic Bezier control points (3k+1, or 3k if closed)."""
    p = [complex(x, y) for x, y in points]
    n = len(p)
    get = (lambda i: p[i % n]) if closed else (lambda i: p[min(max(i, 0), n - 1)])
    out = []
    for i in range(n if closed else n - 1):
        a, b = get(i), get(i + 1)
        out += [a, a + (b - get(i - 1)) / 6, b - (get(i + 2) - a) / 6]
    if not closed:
        out.append(p[-1])
    return torch.tensor([[z.real, z.imag] for z in out], dtype=torch.float32)


def ellipse(cx, cy, rx, ry, n: int = 8, start: float = 0.0):
    """n points on an ellipse (for closed splines)."""
    return [(cx + rx * math.cos(start + 2 * math.pi * i / n), cy + ry * math.sin(start + 2 * math.pi * i / n)) for i in range(n)]


def arc(cx, cy, rx, ry, a0, a1, n: int = 4):
    """n+1 points along an elliptic arc from angle a0 to a1 (degrees)."""
    return [
        (cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)), cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)))
        for i in range(n + 1)
    ]


def line_art(strokes, width: float = 3.0, group=None) -> Sketch:
    """strokes: list of (points, closed)."""
    paths = [spline(pts, closed) for pts, closed in strokes]
    return sketch_from_paths(
        paths, closed=[c for _, c in strokes], stroke_width=width, stroke_color=BLACK, group=group, canvas=(256, 256)
    )


def stick_figure() -> Sketch:
    return line_art([
        (ellipse(128, 58, 21, 23), True),  # head
        ([(119, 52), (120, 55)], False),  # eyes
        ([(136, 52), (137, 55)], False),
        ([(118, 65), (128, 71), (138, 65)], False),  # smile
        ([(128, 82), (127, 120), (128, 158)], False),  # body
        ([(127, 98), (106, 116), (86, 140)], False),  # left arm, hanging
        ([(128, 98), (152, 104), (176, 84), (182, 64)], False),  # right arm, waving
        ([(182, 64), (184, 54)], False),  # fingers
        ([(182, 64), (192, 58)], False),
        ([(128, 158), (114, 194), (104, 230)], False),  # left leg
        ([(128, 158), (143, 194), (154, 230)], False),  # right leg
        ([(104, 230), (90, 232)], False),  # feet
        ([(154, 230), (168, 232)], False),
    ])


def cat() -> Sketch:
    return line_art([
        # head outline from the left ear round the chin to the right ear
        ([(92, 70), (86, 96), (96, 120), (124, 130), (152, 120), (162, 96), (156, 70)], False),
        ([(92, 70), (96, 44), (112, 62)], False),  # left ear
        ([(156, 70), (152, 44), (136, 62)], False),  # right ear
        ([(112, 62), (124, 60), (136, 62)], False),  # top of the head
        (ellipse(110, 88, 6, 7, n=6), True),  # eyes
        (ellipse(138, 88, 6, 7, n=6), True),
        ([(120, 100), (124, 104), (128, 100)], False),  # nose
        ([(124, 104), (118, 111), (112, 108)], False),  # mouth
        ([(124, 104), (130, 111), (136, 108)], False),
        ([(106, 104), (88, 100), (70, 100)], False),  # whiskers
        ([(106, 108), (88, 110), (72, 116)], False),
        ([(142, 104), (160, 100), (178, 100)], False),
        ([(142, 108), (160, 110), (176, 116)], False),
        ([(104, 126), (92, 156), (90, 196), (98, 226)], False),  # body, left side
        ([(146, 126), (160, 160), (164, 200), (156, 226)], False),  # body, right side
        ([(112, 168), (110, 200), (114, 226)], False),  # front legs
        ([(136, 168), (138, 200), (134, 226)], False),
        ([(98, 226), (114, 228), (134, 228), (156, 226)], False),  # paws
        ([(160, 218), (190, 214), (204, 184), (196, 156)], False),  # tail
    ])


def two_objects() -> Sketch:
    bird = [
        (ellipse(70, 150, 30, 19, start=0.3), True),  # body
        (ellipse(100, 128, 13, 12), True),  # head
        ([(112, 124), (126, 129), (112, 133)], False),  # beak
        ([(103, 124), (104, 126)], False),  # eye
        ([(56, 146), (70, 156), (90, 148)], False),  # wing
        ([(64, 152), (74, 150)], False),  # feathers
        ([(42, 146), (22, 136), (26, 156), (42, 156)], False),  # tail
        ([(66, 168), (64, 190)], False),  # legs
        ([(78, 168), (80, 190)], False),
        ([(56, 190), (64, 190), (70, 192)], False),  # feet
        ([(74, 192), (80, 190), (88, 190)], False),
    ]
    tree = [
        ([(180, 232), (184, 190), (182, 150)], False),  # trunk
        ([(206, 232), (200, 190), (204, 150)], False),
        ([(168, 234), (193, 232), (220, 234)], False),  # ground
        ([(190, 178), (176, 164), (166, 160)], False),  # branch
        # canopy: a bumpy cloud
        ([(182, 150), (154, 148), (146, 122), (160, 100), (170, 74), (194, 62), (218, 74),
          (236, 96), (238, 124), (226, 146), (204, 150)], False),
        ([(168, 118), (174, 126), (182, 124)], False),  # leaf scallops
        ([(202, 88), (208, 96), (216, 94)], False),
        ([(206, 126), (212, 134), (222, 130)], False),
        ([(188, 206), (192, 214)], False),  # bark
    ]
    return line_art(bird + tree, group=[0] * len(bird) + [1] * len(tree))


ICON = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 64 64" stroke-linecap="round"
     stroke-linejoin="round">
  <ellipse cx="31" cy="55" rx="24" ry="5" fill="#b8c4cc" stroke="#263238" stroke-width="0.75"/>
  <path fill="#e4572e" fill-rule="evenodd"
        d="M42 26 a11 10 0 1 1 0 20 a11 10 0 1 1 0 -20 Z M42 31 a6 5 0 1 1 0 10 a6 5 0 1 1 0 -10 Z"/>
  <path fill="none" stroke="#263238" stroke-width="0.75"
        d="M42 26 a11 10 0 0 1 0 20 M42 31 a6 5 0 0 1 0 10"/>
  <path fill="#e4572e" stroke="#263238" stroke-width="0.75"
        d="M14 22 h32 v22 a8 8 0 0 1 -8 8 h-16 a8 8 0 0 1 -8 -8 Z"/>
  <ellipse cx="30" cy="22" rx="16" ry="3" fill="#6d3b1f" stroke="#263238" stroke-width="0.75"/>
  <path fill="none" stroke="#ffffff" stroke-opacity="0.7" stroke-width="1.5" d="M19 28 v12"/>
  <path fill="none" stroke="#263238" stroke-width="0.75" d="M24 16 c-3 -3 3 -5 0 -8 M30 15 c-3 -3 3 -5 0 -8 M36 16 c-3 -3 3 -5 0 -8"/>
</svg>"""


def icon_filled() -> Sketch:
    """A mug of coffee: fills, a ring handle whose hole uses evenodd, and strokes."""
    return svg.loads(ICON)


EXAMPLES = {
    "stick_figure": stick_figure,
    "cat": cat,
    "two_objects": two_objects,
    "icon_filled": icon_filled,
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE, help="output folder (default: this folder)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name, make in EXAMPLES.items():
        sketch = make()
        svg.save(sketch, os.path.join(args.out, f"{name}.svg"))
        print(f"{name}.svg: {sketch!r}")


if __name__ == "__main__":
    main()
