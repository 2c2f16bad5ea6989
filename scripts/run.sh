#!/usr/bin/env bash
# The main job (README): installs what it needs, then renders the bundled example
# sketch to PNG and writes a round-tripped SVG into output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-output}
mkdir -p "$out"
.venv/bin/python -m sketchmotion info examples/cat.svg
.venv/bin/python -m sketchmotion render examples/cat.svg --out "$out/cat.png" --size 512
.venv/bin/python -m sketchmotion normalize examples/cat.svg --out "$out/cat_normalized.svg" --size 256
echo "wrote $out/cat.png and $out/cat_normalized.svg"
