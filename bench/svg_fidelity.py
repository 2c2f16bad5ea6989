"""SVG files from the wild against resvg: does the reader load them, and draw what a browser draws?

    python bench/svg_fidelity.py FOLDER [--size 256] [--jsonl OUT.jsonl] [--worst N]

Every .svg under FOLDER (e.g. icon sets, editor exports, fetched by you: none ships with the pack) is
read with `core.svg.load` (what Load Sketch and `python -m sketchmotion animate` use) and drawn by the
built-in renderer with its longer side at --size px; resvg (resvg-py, a dev dependency) draws the
same file at the same size (96 dpi, English as the reader's language, system fonts). Compared on the
rasters: ink IoU (pixels at least 0.2 away from white in some channel), mean absolute error over RGB
in 0..1, and a symmetric Chamfer distance between the ink masks (px). A file the reader refuses
(SketchError) counts as an error with IoU 0; any other exception is a crash (a bug).

Per subfolder and over all: files, loaded / errors / crashes, IoU median and 10th percentile, mean
and max MAE, files with a `Sketch.dropped` note, and files with IoU < 0.9 and no note (silent
mismatches, the causes to work on next; --worst lists them). Thin strokes (under ~1 px at --size) and
colours near white make IoU noisy; read it with the MAE. One thread; about 0.2 s a file.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections import defaultdict

import numpy as np


def ink(img: np.ndarray) -> np.ndarray:
    return (1.0 - img).max(axis=2) > 0.2


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import ndimage

    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")
    da, db = ndimage.distance_transform_edt(~a), ndimage.distance_transform_edt(~b)
    return float((db[a].mean() + da[b].mean()) / 2)


def reference(path: str, width: int | None = None, height: int | None = None) -> np.ndarray:
    import resvg_py
    from PIL import Image

    png = bytes(resvg_py.svg_to_bytes(svg_path=path, background="#ffffff", width=width, height=height, dpi=96,
                                      languages=["en"]))
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


def compare(path: str, size: int) -> dict:
    from sketchmotion.core import svg
    from sketchmotion.core.errors import SketchError
    from sketchmotion.core.raster import render

    rec: dict = {"file": path}
    try:
        h0, w0 = reference(path).shape[:2]
        s = size / max(h0, w0)
        ref = reference(path, max(1, round(w0 * s)), max(1, round(h0 * s)))
    except Exception as e:  # noqa: BLE001 - resvg's own refusals are reported, not ours
        return {**rec, "status": "ref_error", "error": f"{type(e).__name__}: {str(e)[:200]}"}
    try:
        sketch = svg.load(path)
        img = render(sketch, size=(ref.shape[1], ref.shape[0])).detach().numpy()
    except SketchError as e:
        return {**rec, "status": "error", "error": str(e)}
    except Exception as e:  # noqa: BLE001 - a crash is what this bench looks for
        return {**rec, "status": "crash", "error": f"{type(e).__name__}: {str(e)[:300]}"}
    h, w = min(img.shape[0], ref.shape[0]), min(img.shape[1], ref.shape[1])
    img, ref = img[:h, :w], ref[:h, :w]
    a, b = ink(img), ink(ref)
    union = int((a | b).sum())
    return {**rec, "status": "ok", "iou": float((a & b).sum() / union) if union else 1.0,
            "mae": float(np.abs(img - ref).mean()), "chamfer": chamfer(a, b), "dropped": list(sketch.dropped)}


def summary(name: str, recs: list[dict]) -> str:
    rs = [r for r in recs if r["status"] != "ref_error"]
    ok = [r for r in rs if r["status"] == "ok"]
    iou = np.array([r["iou"] if r["status"] == "ok" else 0.0 for r in rs]) if rs else np.zeros(1)
    mae = np.array([r["mae"] for r in ok]) if ok else np.zeros(1)
    n = defaultdict(int)
    for r in rs:
        n[r["status"]] += 1
    noted = sum(bool(r["dropped"]) for r in ok)
    silent = sum(r["iou"] < 0.9 and not r["dropped"] for r in ok)
    return (f"{name:24s} files {len(rs):4d}  loaded {n['ok']:4d}  errors {n['error']:3d}  crashes {n['crash']:2d}  "
            f"IoU median {np.median(iou):.3f} p10 {np.percentile(iou, 10):.3f}  MAE mean {mae.mean():.4f} "
            f"max {mae.max():.4f}  noted {noted:3d}  silent<0.9 {silent:3d}"
            + (f"  (resvg refused {len(recs) - len(rs)})" if len(recs) > len(rs) else ""))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--jsonl", default=None, help="also write one JSON line per file here")
    ap.add_argument("--worst", type=int, default=0, help="list the N worst files (errors, crashes, silent)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.folder, followlinks=True)
                   for f in fs if f.lower().endswith(".svg"))
    if not files:
        print(f"no .svg files under {args.folder}", file=sys.stderr)
        return 2
    t0 = time.process_time()
    recs = [compare(f, args.size) for f in files]
    if args.jsonl:
        with open(args.jsonl, "w") as out:
            out.writelines(json.dumps(r) + "\n" for r in recs)
    groups = defaultdict(list)
    for r in recs:
        groups[os.path.relpath(os.path.dirname(r["file"]), args.folder)].append(r)
    for name in sorted(groups):
        print(summary(name, groups[name]))
    print(summary("ALL", recs) + f"  ({time.process_time() - t0:.0f} CPU s)")
    bad = [r for r in recs if r["status"] in ("error", "crash") or (r["status"] == "ok" and r["iou"] < 0.9
                                                                      and not r["dropped"])]
    for r in sorted(bad, key=lambda r: r.get("iou", -1))[: args.worst]:
        what = r.get("error") or f"IoU {r['iou']:.3f} MAE {r['mae']:.4f}"
        print(f"  {r['status']:5s} {os.path.relpath(r['file'], args.folder)}: {what[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
