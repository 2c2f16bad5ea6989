#!/usr/bin/env bash
# Prepare a Python environment that can run a real ComfyUI (for tests/test_comfyui_integration.py).
#
# Usage:  scripts/comfyui_env.sh [COMFYUI_PATH] [PYTHON]
#   COMFYUI_PATH  a ComfyUI source checkout (default: $COMFYUI_PATH)
#   PYTHON        the interpreter of the venv to install into (default: .venv/bin/python)
#
# Installs ComfyUI's requirements.txt WITHOUT touching the torch / torchvision that are
# already installed (they are pinned with a constraints file; torchaudio is skipped
# because no wheel matches every torch build and ComfyUI starts without it: only its
# audio nodes fail to import). Adds `requests`, which ComfyUI 0.3.64 imports but does
# not list. Then run:
#   COMFYUI_PATH=/path/to/ComfyUI .venv/bin/python -m pytest tests/test_comfyui_integration.py -q
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
comfy="${1:-${COMFYUI_PATH:-}}"
py="${2:-$here/.venv/bin/python}"

if [[ -z "$comfy" || ! -f "$comfy/main.py" || ! -f "$comfy/requirements.txt" ]]; then
    echo "Give the path of a ComfyUI checkout (argument or COMFYUI_PATH); it must hold main.py and requirements.txt." >&2
    exit 2
fi
if ! "$py" -c "import torch, torchvision" 2>/dev/null; then
    echo "$py has no torch/torchvision; install them first (pip install -r requirements-dev.txt)." >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Keep the torch that is there.
"$py" - "$tmp/constraints.txt" <<'EOF'
import sys
from importlib.metadata import version
with open(sys.argv[1], "w") as f:
    for name in ("torch", "torchvision"):
        f.write(f"{name}=={version(name)}\n")
EOF

# ComfyUI's requirements minus the torch family.
grep -v -E '^\s*(torch|torchvision|torchaudio)\s*([<>=!~;#].*)?$' "$comfy/requirements.txt" > "$tmp/requirements.txt"
echo "requests" >> "$tmp/requirements.txt"

echo "Installing ComfyUI requirements into $py (torch pinned: $(tr '\n' ' ' < "$tmp/constraints.txt"))"
# pip merges -c files with any global constraint file set in pip.conf.
"$py" -m pip install -r "$tmp/requirements.txt" -c "$tmp/constraints.txt"

"$py" - "$comfy" <<'EOF'
import sys, runpy
ver = runpy.run_path(sys.argv[1] + "/comfyui_version.py")["__version__"]
import torch
print(f"ComfyUI {ver} requirements installed; torch {torch.__version__}")
EOF
