#!/usr/bin/env bash
# Install the external tools the export tests read files back with:
#   - Debian chromium + chromium-driver (animated SVG and Lottie playback in a real browser)
#   - lottie-web from the npm registry (the reference Lottie player, loaded from disk, no network)
#   - the Khronos glTF-Validator from the npm registry (checks exported .glb / .gltf files)
#   - the Python test readers (python-lottie, selenium) if the Python in use lacks them
# Idempotent, non-interactive, and quick when everything is already present.
# Env: SKETCHMOTION_TOOLS (default ~/.cache/sketchmotion-test-tools) holds node_modules;
#      PYTHON (default: the repository's .venv/bin/python if present, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

TOOLS="${SKETCHMOTION_TOOLS:-$HOME/.cache/sketchmotion-test-tools}"
LOTTIE_WEB_VERSION="${LOTTIE_WEB_VERSION:-5.13.0}"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if ((${#need_apt[@]})); then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    else
        echo "install_test_tools: apt-get not found; install ${need_apt[*]} yourself (browser tests will skip)" >&2
    fi
fi

if [ ! -f "$TOOLS/node_modules/lottie-web/build/player/lottie.min.js" ]; then
    if command -v npm >/dev/null 2>&1; then
        mkdir -p "$TOOLS"
        [ -f "$TOOLS/package.json" ] || echo '{"name":"sketchmotion-test-tools","private":true}' >"$TOOLS/package.json"
        npm install --prefix "$TOOLS" --no-audit --no-fund --silent "lottie-web@$LOTTIE_WEB_VERSION"
    else
        echo "install_test_tools: npm not found; the lottie-web playback test will skip" >&2
    fi
fi

GLTF_VALIDATOR_VERSION="${GLTF_VALIDATOR_VERSION:-2.0.0-dev.3.10}"
if [ ! -d "$TOOLS/node_modules/gltf-validator" ] && command -v npm >/dev/null 2>&1; then
    mkdir -p "$TOOLS"
    [ -f "$TOOLS/package.json" ] || echo '{"name":"sketchmotion-test-tools","private":true}' >"$TOOLS/package.json"
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent "gltf-validator@$GLTF_VALIDATOR_VERSION" \
        || echo "install_test_tools: gltf-validator could not be installed; the glTF validator test will skip" >&2
fi

if ! "$PYTHON" -c "import lottie, selenium" >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "lottie>=0.7" "selenium>=4.11"
fi

echo "install_test_tools: chromium=$(command -v chromium || echo missing) chromedriver=$(command -v chromedriver || echo missing) lottie-web=$([ -f "$TOOLS/node_modules/lottie-web/build/player/lottie.min.js" ] && echo "$TOOLS/node_modules/lottie-web" || echo missing)"
