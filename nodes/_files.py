"""Where Load Sketch finds .svg files (and Load Animation File its .safetensors files).

Names offered in the combo (and accepted from a prompt):
- "name.svg" and "sketches/.../name.svg": files in ComfyUI's input folder (uploads land
  in its root; the sketches/ subfolder is searched recursively);
- "sketches/name.svg" also names the pack's bundled sketches (the pack's sketches/ folder),
  so shared workflows work out of the box. They are copied into input/sketches/ the first
  time the list is built, so the frontend previews them like any input file
  (/api/view?type=input&subfolder=sketches); a copy is made once (a user who deletes it
  keeps it deleted) and never overwrites a user file of the same name, which wins;
  "examples/name.svg" (the folder's old name) still loads the bundled file;
- "name.svg [output]" / "[input]" / "[temp]": ComfyUI's annotated paths.
A name never resolves outside those folders.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import folder_paths

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sketches")
SKETCH_SUBFOLDER = "sketches"
BUNDLED_PREFIXES = (SKETCH_SUBFOLDER + "/", "examples/")  # "examples/": workflows saved before the rename
_COPIED_LIST = ".sketchmotion_bundled"  # in input/sketches/: bundled names already copied once


def files_in(folder: str, ext: str, recursive: bool) -> list[str]:
    """Files ending in `ext` (any case) under folder, as sorted '/'-separated paths relative to it."""
    found = []
    for root, dirs, files in os.walk(folder) if os.path.isdir(folder) else ():
        rel = os.path.relpath(root, folder).replace(os.sep, "/")
        found += [f if rel == "." else f"{rel}/{f}" for f in files if f.lower().endswith(ext)]
        if not recursive:
            dirs.clear()
    return sorted(found)


def copy_bundled(input_dir: str) -> None:
    """Copy the bundled sketches into input/sketches/ once each (so the frontend can preview them).

    Never overwrites a file; a name copied before is not copied again. A read-only input
    folder is fine: the bundled files still load, only their preview is missing.
    """
    target = os.path.join(input_dir, SKETCH_SUBFOLDER)
    record = os.path.join(target, _COPIED_LIST)
    try:
        with open(record, encoding="utf-8") as f:
            done = set(f.read().split("\n"))
    except OSError:
        done = set()
    todo = [f for f in files_in(BUNDLED_DIR, ".svg", recursive=False) if f not in done]
    if not todo:
        return
    try:
        os.makedirs(target, exist_ok=True)
        for name in todo:
            dest = os.path.join(target, name)
            if not os.path.exists(dest):
                shutil.copyfile(os.path.join(BUNDLED_DIR, name), dest)
        with open(record, "w", encoding="utf-8") as f:
            f.write("\n".join(sorted(done | set(todo))) + "\n")
    except OSError:
        pass


def list_svgs() -> list[str]:
    """Combo options: the .svg files of the input folder and its sketches/ subfolder (bundled ones included)."""
    input_dir = folder_paths.get_input_directory()
    copy_bundled(input_dir)
    names = set(files_in(input_dir, ".svg", recursive=False))
    sub = os.path.join(input_dir, SKETCH_SUBFOLDER)
    names |= {f"{SKETCH_SUBFOLDER}/{f}" for f in files_in(sub, ".svg", recursive=True)}
    names |= {f"{SKETCH_SUBFOLDER}/{f}" for f in files_in(BUNDLED_DIR, ".svg", recursive=False)}
    return sorted(names)


def inside(base: str, rel: str) -> str | None:
    base = os.path.abspath(base)
    path = os.path.abspath(os.path.join(base, rel))
    if os.path.commonpath([base, path]) != base or not os.path.isfile(path):
        return None
    return path


def resolve_svg(name: str) -> str | None:
    """The file a combo value names, or None when there is none."""
    rel, base = folder_paths.annotated_filepath(name.strip())
    if base is not None:
        return inside(base, rel)
    found = inside(folder_paths.get_input_directory(), rel)
    for prefix in BUNDLED_PREFIXES:
        if found is None and rel.startswith(prefix):
            found = inside(BUNDLED_DIR, rel[len(prefix):])
    return found


def missing_svg_message(name: str) -> str:
    """What to tell a user whose .svg is not there."""
    return (
        f"SVG file '{name}' was not found. Put it in ComfyUI's input folder "
        f"({folder_paths.get_input_directory()}) or its '{SKETCH_SUBFOLDER}' subfolder, drop it on the "
        "Load Sketch node, or pick another file (the bundled sketches are listed as 'sketches/<name>.svg')."
    )


def file_digest(path: str) -> str:
    """Content hash, so an edited file re-runs the node."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------- animation files
ANIMATION_EXT = ".safetensors"
ANIMATION_SUBFOLDER = "animations"


def list_animations() -> list[str]:
    """Combo options: input/*.safetensors, input/animations/**, then output/** as 'x [output]'."""
    inp = folder_paths.get_input_directory()
    user = files_in(inp, ANIMATION_EXT, recursive=False)
    user += [f"{ANIMATION_SUBFOLDER}/{f}" for f in files_in(os.path.join(inp, ANIMATION_SUBFOLDER), ANIMATION_EXT, True)]
    return user + [f"{f} [output]" for f in files_in(folder_paths.get_output_directory(), ANIMATION_EXT, True)]


def resolve_animation(name: str) -> str | None:
    """The animation file a combo value names (input folder unless annotated), or None."""
    rel, base = folder_paths.annotated_filepath(name.strip())
    if not rel.lower().endswith(ANIMATION_EXT):
        return None
    return inside(base or folder_paths.get_input_directory(), rel)


def missing_animation_message(name: str) -> str:
    return (f"Animation file '{name}' was not found. Put the {ANIMATION_EXT} file in ComfyUI's input folder "
            f"({folder_paths.get_input_directory()}) or its '{ANIMATION_SUBFOLDER}' subfolder, or pick a file "
            "marked [output].")
