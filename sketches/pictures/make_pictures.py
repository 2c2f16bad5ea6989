"""Generate the bundled pictures that the image -> sketch workflows start from (deterministic).

    python sketches/pictures/make_pictures.py [--out DIR]

fish.png: a picture made of filled shapes only (no outlines), drawn as SVG and rendered by the
pack's own renderer at 512 x 512, so the image -> sketch step has to find the outlines itself.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))  # scripts/_bootstrap.py
from _bootstrap import package_module  # noqa: E402  (the package, installed or a plain clone)

svg = package_module("core.svg")
raster = package_module("core.raster")

FISH = """<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <rect x="0" y="0" width="512" height="512" fill="#dcecfa"/>
  <path d="M 360 256 L 470 176 C 452 216 452 296 470 336 Z" fill="#d9581c"/>
  <path d="M 200 190 C 226 118 300 112 330 196 Z" fill="#d9581c"/>
  <path d="M 236 318 C 250 370 290 380 300 316 Z" fill="#d9581c"/>
  <path d="M 104 256 C 150 146 320 140 380 256 C 320 372 150 366 104 256 Z" fill="#f59a32"/>
  <path d="M 236 168 C 262 218 262 294 236 344 L 262 344 C 290 294 290 218 262 166 Z" fill="#fff4e0"/>
  <circle cx="168" cy="236" r="22" fill="#ffffff"/>
  <circle cx="164" cy="236" r="11" fill="#1f2940"/>
  <circle cx="92" cy="150" r="12" fill="#ffffff"/>
  <circle cx="70" cy="104" r="8" fill="#ffffff"/>
</svg>"""

PICTURES = {"fish.png": FISH}


def main(argv=None) -> int:
    import numpy as np
    from PIL import Image

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name, text in PICTURES.items():
        sketch = svg.loads(text)
        img = raster.render(sketch, size=512).clamp(0, 1).numpy()
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(os.path.join(args.out, name), optimize=True)
        print(os.path.join(args.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
