#!/usr/bin/env bash
# The main job (README): installs what it needs, then, on the bundled example sketch:
#   1. summarises, renders (PNG) and normalises (round-tripped SVG) it;
#   2. exports a model-free procedural animation (animated SVG + GIF);
#   3. animates it from a text prompt by score distillation when a text-to-video model is
#      available (SKETCHMOTION_MODEL: modelscope | zeroscope | a diffusers folder;
#      SKETCHMOTION_MODELS_DIR: a folder holding diffusers models; GPU strongly advised).
# Usage: bash scripts/run.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-output}
py=.venv/bin/python
mkdir -p "$out"
$py -m sketchmotion info sketches/cat.svg
$py -m sketchmotion render sketches/cat.svg --out "$out/cat.png" --size 512
$py -m sketchmotion normalize sketches/cat.svg --out "$out/cat_normalized.svg" --size 256
$py -m sketchmotion preview-motion sketches/cat.svg --kind wiggle --amplitude 2.5 --frames 24 --fps 8 \
    --out "$out/cat_wiggle.safetensors"
$py -m sketchmotion export "$out/cat_wiggle.safetensors" --out "$out/cat_wiggle.svg"
$py -m sketchmotion export "$out/cat_wiggle.safetensors" --out "$out/cat_wiggle.gif"

model=${SKETCHMOTION_MODEL:-modelscope}
dirs=()
[ -n "${SKETCHMOTION_MODELS_DIR:-}" ] && dirs=(--models-dir "$SKETCHMOTION_MODELS_DIR")
if $py -c "import sys; from sketchmotion.core.guidance.diffusers_prior import find_model; find_model(sys.argv[1], sys.argv[2:])" \
    "$model" ${SKETCHMOTION_MODELS_DIR:-} 2>/dev/null; then
  $py -m sketchmotion animate sketches/cat.svg --prompt "The cat is walking, moving its tail." \
      --model "$model" "${dirs[@]}" --steps "${SKETCHMOTION_STEPS:-500}" --out "$out/cat_animation"
else
  echo "No text-to-video model '$model' on this machine: skipped the text-driven animation."
  echo "Put damo-vilab/text-to-video-ms-1.7b (diffusers folder) in the Hugging Face cache or set"
  echo "SKETCHMOTION_MODELS_DIR / SKETCHMOTION_MODEL, then run this script again (see README: Video models)."
fi
echo "outputs in $out/"
