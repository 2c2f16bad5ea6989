"""Sketches the pack's learned motion prior never saw in training (its videos are random strokes and the
bundled examples' shapes), for the prompt-steering tests and bench/animate.py --sketches.

    from sketchmotion.testing.unseen_sketches import UNSEEN, HOUSE, KITE_AND_BOAT

Each is SVG text; `animate` normalises a drawing into the frames, so where it sits on its own canvas does
not matter. They differ in what a prompt has to move: a closed outline with detail (house), a long thin
closed body facing left with a separate tail (fish, 300 x 200 canvas), a tall blob on two stems (tree),
a wide shape on two circles (car).
"""

from __future__ import annotations

HOUSE = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
<path d="M 70 130 L 70 210 L 186 210 L 186 130" stroke="black" stroke-width="3" fill="none"/>
<path d="M 56 140 L 128 70 L 200 140" stroke="black" stroke-width="3" fill="none"/>
<path d="M 112 210 L 112 170 L 140 170 L 140 210" stroke="black" stroke-width="3" fill="none"/>
<path d="M 150 140 C 160 138, 170 150, 168 160" stroke="black" stroke-width="3" fill="none"/>
<path d="M 160 96 L 160 70 L 175 70 L 175 110" stroke="black" stroke-width="3" fill="none"/>
</svg>"""

FISH = """<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">
<path d="M 40 100 C 70 60, 130 60, 160 100 C 130 140, 70 140, 40 100 Z" stroke="black" stroke-width="3" fill="none"/>
<path d="M 160 100 L 195 75 L 190 125 Z" stroke="black" stroke-width="3" fill="none"/>
<path d="M 65 92 C 67 90, 70 90, 72 92" stroke="black" stroke-width="3" fill="none"/>
<path d="M 100 75 C 105 90, 105 110, 100 125" stroke="black" stroke-width="3" fill="none"/>
</svg>"""

TREE = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
<path d="M 170 230 L 170 160 M 190 230 L 190 160" stroke="black" stroke-width="3" fill="none"/>
<path d="M 180 40 C 120 60, 120 150, 180 160 C 240 150, 240 60, 180 40 Z" stroke="black" stroke-width="3" fill="none"/>
<path d="M 180 160 L 160 120 M 180 150 L 205 110" stroke="black" stroke-width="3" fill="none"/>
</svg>"""

CAR = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
<path d="M 40 150 L 60 150 L 80 115 L 160 115 L 185 150 L 215 150 L 215 180 L 40 180 Z" stroke="black"
 stroke-width="3" fill="none"/>
<path d="M 85 150 L 100 125 L 140 125 L 155 150 Z" stroke="black" stroke-width="2" fill="none"/>
<circle cx="80" cy="185" r="15" stroke="black" stroke-width="3" fill="none"/>
<circle cx="175" cy="185" r="15" stroke="black" stroke-width="3" fill="none"/>
</svg>"""

UNSEEN = {"house": HOUSE, "fish": FISH, "tree": TREE, "car": CAR}

# two objects (data-object groups): a kite on the left, a boat on the right
KITE_AND_BOAT = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
<g data-object="0">
<path d="M 60 60 L 90 100 L 60 150 L 30 100 Z" stroke="black" stroke-width="3" fill="none"/>
<path d="M 60 150 C 70 170, 50 185, 62 205" stroke="black" stroke-width="3" fill="none"/>
<path d="M 30 100 L 90 100" stroke="black" stroke-width="3" fill="none"/>
</g>
<g data-object="1">
<path d="M 140 170 L 230 170 L 210 200 L 160 200 Z" stroke="black" stroke-width="3" fill="none"/>
<path d="M 185 170 L 185 100" stroke="black" stroke-width="3" fill="none"/>
<path d="M 185 105 L 220 160 L 185 160" stroke="black" stroke-width="3" fill="none"/>
</g>
</svg>"""
