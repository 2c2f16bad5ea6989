"""Renderer accuracy against resvg (a real SVG renderer): mean absolute pixel error and ink ratio.

    python bench/raster_accuracy.py [--picture docs/renderer_vs_resvg.png]

Random sketches (16-18 paths, widths 1-6 px, with and without fills) and every bundled
example, at their canvas size. The picture shows ours | resvg | 4x the difference.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import resvg_py
import torch
from PIL import Image

from sketchmotion.core import svg
from sketchmotion.core.raster import render
from sketchmotion.core.raster.torch_backend import ink
from sketchmotion.core.synthetic import random_sketch, random_strokes

ROOT = Path(__file__).resolve().parents[1]


def resvg_render(text: str) -> torch.Tensor:
    png = bytes(resvg_py.svg_to_bytes(svg_string=text, background="#ffffff", dpi=96))
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--picture", default=None, help="write a side-by-side comparison PNG here")
    args = ap.parse_args()
    cases = [(f"random strokes {s}", random_strokes(16, 256, seed=s, width=(1.0, 6.0)), None) for s in range(3)]
    cases += [(f"random fills {s}", random_sketch(18, 256, seed=s), None) for s in range(3)]
    cases += [(f.name, svg.load(f), f.read_text()) for f in sorted((ROOT / "sketches").glob("*.svg"))]
    print(f"{'case':>22} {'MAE':>8} {'ink ratio':>10}")
    rows = []
    for name, sketch, text in cases:
        ref = resvg_render(text if text is not None else svg.dumps(sketch))
        ours = render(sketch, size=(ref.shape[1], ref.shape[0]))
        mae = (ours - ref).abs().mean().item()
        print(f"{name:>22} {mae:>8.4f} {(ink(ours) / ink(ref)).item():>10.4f}")
        rows.append(torch.cat([ours, ref, ((ours - ref).abs() * 4).clamp(0, 1)], dim=1))
    if args.picture:
        names = [c[0] for c in cases]
        pick = [rows[names.index("random fills 0")], rows[names.index("icon_filled.svg")]]
        img = torch.cat(pick, dim=0)
        Image.fromarray((img.numpy() * 255 + 0.5).astype(np.uint8)).save(args.picture)
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
