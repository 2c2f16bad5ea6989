#!/usr/bin/env bash
# Regenerate the README pictures in docs/ from the bundled cat with the command line.
# Usage: scripts/make_docs_media.sh   (from anywhere; uses .venv/bin/python when present)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$PY -m sketchmotion preview-motion sketches/cat.svg --kind wiggle --amplitude 2.5 --frames 24 --fps 8 --seed 0 \
    --out "$tmp/cat_wiggle.safetensors"
$PY -m sketchmotion export "$tmp/cat_wiggle.safetensors" --out docs/cat_wiggle.svg
$PY -m sketchmotion export "$tmp/cat_wiggle.safetensors" --out docs/cat_wiggle.gif
$PY -m sketchmotion group sketches/two_objects.svg --out "$tmp/grouped.svg" --objects 2 --preview docs/two_objects_groups.png
$PY -m sketchmotion render sketches/icon_filled.svg --out docs/icon_filled.png --size 256
$PY bench/raster_accuracy.py --picture docs/renderer_vs_resvg.png
# 3D: README's walking figure recovered from a synthetic posed video (docs/walker_3d.png + turntable GIF, ~1 CPU-minute)
OMP_NUM_THREADS=1 $PY scripts/make_3d_docs_media.py
$PY -m sketchmotion render sketches/cat.svg --out docs/icon.png --size 400 --width-scale 1.5
# Image -> sketch: the bundled picture (filled shapes, no outlines) traced into 16 and 32 strokes, model-free loss
$PY -m sketchmotion sketchify sketches/pictures/fish.png --strokes 16 --out "$tmp/fish16.svg" --preview "$tmp/fish16.png"
$PY -m sketchmotion sketchify sketches/pictures/fish.png --strokes 32 --color image --out "$tmp/fish32.svg" --preview "$tmp/fish32.png"
$PY - "$tmp" <<'PYEOF'
import sys
from PIL import Image
tmp = sys.argv[1]
tiles = [Image.open("sketches/pictures/fish.png").convert("RGB").resize((256, 256), Image.LANCZOS)]
tiles += [Image.open(f"{tmp}/fish{n}.png").convert("RGBA") for n in (16, 32)]
row = Image.new("RGB", (256 * 3 + 16, 256), "white")
for i, t in enumerate(tiles):
    row.paste(t, (i * 264, 0), t if t.mode == "RGBA" else None)
row.save("docs/image_to_sketch.png")
PYEOF
