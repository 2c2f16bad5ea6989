"""Conformance against resvg's public test suite: per-folder pass rates of the reader + renderer.

    python bench/resvg_suite.py PATH/TO/resvg/crates/resvg/tests/tests [--tol 0.01] [--all] [--show-fails N]

The suite (linebender/resvg, `crates/resvg/tests/tests/`: ~1,700 SVGs, each with the reference
PNG resvg must produce) is NOT part of this repository: fetch it yourself (e.g. a sparse checkout
of that folder) and pass its path. Each SVG is loaded with `core.svg.load` and rendered by the
built-in renderer at the reference PNG's own size, over white (as is the reference, composited on
white). A file passes when the mean absolute error over RGB in 0..1 is <= --tol. A SketchError
on load (a clean refusal) counts as a failure of that file; any other exception is a crash.

By default only the folders in the pack's scope are run (shapes, structure, and the painting
properties a sketch uses, plus clip paths); --all runs every folder. --show-fails N lists the
worst N failing files per folder with their mean error, the not-drawn features their markup uses
([uses ...]) and what the reader listed in Sketch.dropped: the causes to work on next.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

SCOPE = [
    "shapes",
    "structure",
    "painting/color",
    "painting/fill",
    "painting/fill-rule",
    "painting/opacity",
    "painting/stroke",
    "painting/stroke-width",
    "painting/stroke-linecap",
    "painting/stroke-linejoin",
    "painting/stroke-miterlimit",
    "painting/stroke-dasharray",
    "painting/stroke-dashoffset",
    "painting/display",
    "painting/visibility",
    "masking/clip",
    "masking/clip-rule",
    "masking/clipPath",
]
# structure/style and structure/image hold CSS selectors and raster images, which a vector
# sketch does not draw; they are reported but listed separately from the scope total.
OUT_OF_SCOPE_IN_STRUCTURE = ("structure/image", "structure/systemLanguage")


UNDRAWN = {  # features the reader names in Sketch.dropped instead of drawing (see core/svg.py)
    "text": re.compile(r"<(text|tspan|tref|textPath)\b"),
    "patterns": re.compile(r"<pattern\b"),
    "images": re.compile(r"<image\b"),
    "masks": re.compile(r"<mask\b"),
    "filters": re.compile(r"<filter\b"),
    "XML entities": re.compile(r"<!ENTITY\b"),
}


def undrawn_features(svg_path: Path) -> list[str]:
    """The not-drawn features the file uses (by its markup)."""
    text = svg_path.read_text(encoding="utf-8", errors="replace")
    return [name for name, pattern in UNDRAWN.items() if pattern.search(text)]


def needs_undrawn(svg_path: Path) -> str | None:
    """The first not-drawn feature the file uses (by its markup), or None."""
    found = undrawn_features(svg_path)
    return found[0] if found else None


def run_file(svg_path: Path, png_path: Path):
    import torch
    from PIL import Image

    from sketchmotion.core.errors import SketchError
    from sketchmotion.core.raster import render
    from sketchmotion.core.svg import load

    ref = Image.open(png_path).convert("RGBA")
    ref_arr = np.asarray(ref, dtype=np.float32) / 255
    ref_rgb = ref_arr[..., :3] * ref_arr[..., 3:] + (1 - ref_arr[..., 3:])  # over white
    H, W = ref_rgb.shape[:2]
    try:
        sketch = load(svg_path)
    except SketchError as e:
        # a clean refusal: an empty (all-white) picture is what some files expect
        err = float(np.abs(ref_rgb - 1.0).mean())
        return "error", err, str(e)[:100]
    except Exception as e:  # noqa: BLE001 - counted as a crash
        return "crash", 1.0, f"{type(e).__name__}: {str(e)[:100]}"
    try:
        with torch.no_grad():
            img = render(sketch, size=(W, H)).numpy()
    except Exception as e:  # noqa: BLE001
        return "crash", 1.0, f"render {type(e).__name__}: {str(e)[:100]}"
    note = ("dropped: " + ", ".join(sketch.dropped)) if sketch.dropped else ""
    return "ok", float(np.abs(img - ref_rgb).mean()), note


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", help="path to resvg's crates/resvg/tests/tests folder")
    ap.add_argument("--tol", type=float, default=0.01)
    ap.add_argument("--all", action="store_true", help="every folder, not only the pack's scope")
    ap.add_argument("--show-fails", type=int, default=0, help="list up to N failing files per folder")
    ap.add_argument("--only", default=None, help="run only folders whose path contains this text")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    root = Path(args.suite)
    if not root.is_dir():
        sys.exit(f"error: {root} is not a folder; pass resvg's crates/resvg/tests/tests")
    folders = sorted({p.parent for p in root.rglob("*.svg")})
    rows = []
    for folder in folders:
        rel = folder.relative_to(root).as_posix()
        in_scope = any(rel == s or rel.startswith(s + "/") for s in SCOPE) and not rel.startswith(OUT_OF_SCOPE_IN_STRUCTURE)
        if not (args.all or in_scope) or (args.only and args.only not in rel):
            continue
        stats = defaultdict(int)
        fails = []
        t0 = time.process_time()
        for svg_path in sorted(folder.glob("*.svg")):
            png = svg_path.with_suffix(".png")
            if not png.exists():
                continue
            kind, err, msg = run_file(svg_path, png)
            features = undrawn_features(svg_path)
            drawable = not features
            stats["files"] += 1
            stats["drawable"] += drawable
            stats[kind] += 1
            if err <= args.tol:
                stats["pass"] += 1
                stats["drawable_pass"] += drawable
            else:
                uses = f"[uses {', '.join(features)}] " if features else ""
                fails.append((err, svg_path.name, kind, uses + msg))
        rows.append((rel, in_scope, stats, time.process_time() - t0))
        line = (f"{rel:38s} {stats['pass']:4d}/{stats['files']:<4d} {100 * stats['pass'] / max(1, stats['files']):5.1f}%"
                f"  errors {stats['error']:3d}  crashes {stats['crash']:2d}")
        print(line, flush=True)
        for err, name, kind, msg in sorted(fails, reverse=True)[: args.show_fails]:
            print(f"    {err:.4f} {kind:5s} {name} {msg}")
    scope = [r for r in rows if r[1]]
    tot = sum(r[2]["files"] for r in scope)
    ok = sum(r[2]["pass"] for r in scope)
    crashes = sum(r[2]["crash"] for r in rows)
    dtot = sum(r[2]["drawable"] for r in scope)
    dok = sum(r[2]["drawable_pass"] for r in scope)
    print(f"\nwithin scope: {ok}/{tot} files within {args.tol} mean abs error ({100 * ok / max(1, tot):.1f}%); "
          f"crashes (non-project exceptions) over all folders run: {crashes}")
    print(f"within scope, without the {tot - dtot} files that use text, patterns, images, masks, filters "
          f"or XML entities (not drawn by design): {dok}/{dtot} ({100 * dok / max(1, dtot):.1f}%)")


if __name__ == "__main__":
    main()
