#!/usr/bin/env bash
# Regenerate the README pictures in docs/ from the bundled cat with the command line.
# Usage: scripts/make_docs_media.sh   (from anywhere; uses .venv/bin/python when present)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$PY -m sketchmotion preview-motion examples/cat.svg --kind wiggle --amplitude 2.5 --frames 24 --fps 8 --seed 0 \
    --out "$tmp/cat_wiggle.safetensors"
$PY -m sketchmotion export "$tmp/cat_wiggle.safetensors" --out docs/cat_wiggle.svg
$PY -m sketchmotion export "$tmp/cat_wiggle.safetensors" --out docs/cat_wiggle.gif
$PY -m sketchmotion group examples/two_objects.svg --out "$tmp/grouped.svg" --objects 2 --preview docs/two_objects_groups.png
$PY -m sketchmotion render examples/icon_filled.svg --out docs/icon_filled.png --size 256
$PY bench/raster_accuracy.py --picture docs/renderer_vs_resvg.png
