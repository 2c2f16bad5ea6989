#!/usr/bin/env bash
# The main job (README): installs what it needs, then, on the bundled example sketch:
#   1. summarises, renders (PNG) and normalises (round-tripped SVG) it;
#   2. exports a model-free procedural animation (animated SVG + GIF);
#   3. animates it from a text prompt by score distillation (the real LiveSketch path): with a
#      text-to-video model when one is on the machine (SKETCHMOTION_MODEL: modelscope | zeroscope |
#      a diffusers folder; SKETCHMOTION_MODELS_DIR: a folder holding diffusers models; GPU advised),
#      otherwise with the pack's committed small learned motion prior (it knows "moving left/right/
#      up/down", "rotating clockwise/counterclockwise", "growing", "shrinking"; 8 frames at 64 px),
#      prompted "growing" (SKETCHMOTION_PROMPT: another of its captions) - SKETCHMOTION_STEPS, default 200.
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
  # a large text-to-video model on this machine takes precedence
  $py -m sketchmotion animate sketches/cat.svg --prompt "The cat is walking, moving its tail." \
      --model "$model" "${dirs[@]}" --steps "${SKETCHMOTION_STEPS:-500}" --out "$out/cat_animation"
else
  echo "No text-to-video model '$model' on this machine: animating with the pack's small learned motion prior"
  echo "(a synthetic test model that knows only simple motions). For real prompts put ModelScope"
  echo "(damo-vilab/text-to-video-ms-1.7b, diffusers folder) in the Hugging Face cache or set SKETCHMOTION_MODELS_DIR /"
  echo "SKETCHMOTION_MODEL, or use Wan 2.1 in ComfyUI (workflows/animate_sketch_wan.json); see README: Video models."
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} $py -m sketchmotion animate sketches/cat.svg \
      --prompt "${SKETCHMOTION_PROMPT:-growing}" \
      --model learned --steps "${SKETCHMOTION_STEPS:-200}" --out "$out/cat_animation"
fi
echo "outputs in $out/"
