#!/usr/bin/env bash
# Prepare .venv with everything the tests and the main job need (idempotent).
# torch/torchvision are pinned in requirements-dev.txt only (ComfyUI provides them).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.sketchmotion-setup
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # torch's x86_64 wheel (a CUDA build) unpacks to ~5.5 GB; say so before pip fails half-way.
  free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
  if [ "${free_kb:-0}" -lt 8000000 ]; then
    echo "setup.sh: only $((free_kb / 1024)) MB free here; the venv needs ~6.5 GB (torch). Free some disk and re-run." >&2
  fi
  export PIP_NO_CACHE_DIR=1  # no second copy of the wheels in ~/.cache/pip
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
