"""Where Load Sketch finds .svg files.

Names offered in the combo (and accepted from a prompt):
- "name.svg" and "sketches/.../name.svg": files in ComfyUI's input folder (uploads land
  in its root; the sketches/ subfolder is searched recursively);
- "examples/name.svg": the pack's bundled examples, so shared workflows work out of the
  box; a user file of the same name in input/examples/ wins;
- "name.svg [output]" / "[input]" / "[temp]": ComfyUI's annotated paths.
A name never resolves outside those folders.
"""

from __future__ import annotations

import hashlib
import os

import folder_paths

EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
EXAMPLES_PREFIX = "examples/"
SKETCH_SUBFOLDER = "sketches"


def _svgs_in(folder: str, recursive: bool) -> list[str]:
    """.svg files under folder, as '/'-separated paths relative to it."""
    if not os.path.isdir(folder):
        return []
    if not recursive:
        return [f for f in os.listdir(folder) if f.lower().endswith(".svg") and os.path.isfile(os.path.join(folder, f))]
    found = []
    for root, _, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        found += [f if rel == "." else f"{rel}/{f}".replace(os.sep, "/") for f in files if f.lower().endswith(".svg")]
    return found


def list_svgs() -> list[str]:
    """Combo options: the user's .svg files first, then the bundled examples."""
    input_dir = folder_paths.get_input_directory()
    user = set(_svgs_in(input_dir, recursive=False))
    user |= {f"{SKETCH_SUBFOLDER}/{f}" for f in _svgs_in(os.path.join(input_dir, SKETCH_SUBFOLDER), recursive=True)}
    examples = {EXAMPLES_PREFIX + f for f in _svgs_in(EXAMPLES_DIR, recursive=False)}
    return sorted(user) + sorted(examples)


def _inside(base: str, rel: str) -> str | None:
    base = os.path.abspath(base)
    path = os.path.abspath(os.path.join(base, rel))
    if os.path.commonpath([base, path]) != base or not os.path.isfile(path):
        return None
    return path


def resolve_svg(name: str) -> str | None:
    """The file a combo value names, or None when there is none."""
    rel, base = folder_paths.annotated_filepath(name.strip())
    if base is not None:
        return _inside(base, rel)
    found = _inside(folder_paths.get_input_directory(), rel)
    if found is None and rel.startswith(EXAMPLES_PREFIX):
        found = _inside(EXAMPLES_DIR, rel[len(EXAMPLES_PREFIX):])
    return found


def missing_svg_message(name: str) -> str:
    """What to tell a user whose .svg is not there."""
    return (
        f"SVG file '{name}' was not found. Put it in ComfyUI's input folder "
        f"({folder_paths.get_input_directory()}) or its '{SKETCH_SUBFOLDER}' subfolder, drop it on the "
        "Load Sketch node, or pick another file (bundled examples are listed as 'examples/<name>.svg')."
    )


def file_digest(path: str) -> str:
    """Content hash, so an edited file re-runs the node."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
