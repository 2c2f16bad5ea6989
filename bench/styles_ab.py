"""Styled sketches, two revisions, paired A/B: renders with clips, gradients and opacity groups, the SVG
writer with opacity groups, and a PathStyle with thousands of opacity groups.

    python bench/styles_ab.py --base REV [--head REV] [--repeat 5]

Each revision is exported with `git archive` into a temporary folder; every repeat runs base and head in
fresh interpreters (1 thread, order alternated), each timing every case (best of 3, caches warm: what a
training loop sees). Prints per case the minima and the median of the per-repeat head/base ratios.
Cases:
- render "10 clips": ten <rect>s with fill gradient, stroke and opacity, each clipped by its own
  clipPath, in one <g opacity> (256 px, 8 frames, forward);
- render "gradient", "one group", "group per stroke": bench/raster.py's 64 cornered strokes with a
  linear gradient, all in one opacity group, each in its own group inside one outer group;
- "svg.dumps": 3000 <rect>s with fill gradient, stroke and opacity (2001 opacity groups);
- "PathStyle": building a style with 3001 opacity groups (one per path inside one outer group).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import export  # noqa: E402

CHILD = textwrap.dedent("""
    import json, sys, time
    from dataclasses import replace
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, "bench_of_tree")
    from raster import cornered_strokes, style_variants
    from sketchmotion.core import svg
    from sketchmotion.core.raster import render
    from sketchmotion.core.style import PathStyle

    def best(fn, n=3):
        fn()
        ts = []
        for _ in range(n):
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        return min(ts)

    NS = 'xmlns="http://www.w3.org/2000/svg"'
    BW = '<stop offset="0" stop-color="black"/><stop offset="1" stop-color="white"/>'
    clips = "".join(f'<clipPath id="c{i}"><rect x="{8 * i}" y="{6 * i}" width="120" height="120"/></clipPath>'
                    for i in range(10))
    rects = "".join(f'<rect x="{12 * i}" y="{10 * i}" width="90" height="60" fill="url(#g)" stroke="black" '
                    f'stroke-width="3" opacity="0.5" clip-path="url(#c{i})"/>' for i in range(10))
    sketches = {"10 clips": svg.loads(f'<svg {NS} width="256" height="256"><defs>{clips}<linearGradient id="g" '
                                      f'x2="1">{BW}</linearGradient></defs><g opacity="0.8">{rects}</g></svg>')}
    base = cornered_strokes(64)
    P = base.num_paths
    v = style_variants(base)
    per = ((0, P, 0.8),) + tuple((p, p + 1, 0.6) for p in range(P))
    sketches.update({"gradient": v["gradient"], "one group": v["group alpha"],
                     "group per stroke": replace(base, style=replace(PathStyle.default(P), opacity_groups=per))})
    out = {}
    g = torch.Generator().manual_seed(1)
    for name, sk in sketches.items():
        pts = sk.points[None] + torch.randn(8, *sk.points.shape, generator=g) * 0.5
        with torch.no_grad():
            out["render " + name] = best(lambda: render(sk, pts))
    shapes = "".join(f'<rect x="{i % 90}" y="{i % 70}" width="20" height="20" fill="url(#g)" stroke="black" '
                     f'opacity="{(1, 0.5, 0.25)[i % 3]}"/>' for i in range(3000))
    many = svg.loads(f'<svg {NS} width="100" height="100"><defs><linearGradient id="g" gradientUnits="userSpaceOnUse">'
                     f'{BW}</linearGradient></defs><g opacity="0.8">{shapes}</g></svg>')

    def write():
        getattr(svg, "_FACTORS", {}).clear()  # a fresh sketch's first write
        svg.dumps(many)

    out["svg.dumps"] = best(write)
    groups = ((0, 3000, 0.8),) + tuple((p, p + 1, 0.5) for p in range(3000))
    plain = PathStyle.default(3000)
    out["PathStyle"] = best(lambda: replace(plain, opacity_groups=groups))
    print(json.dumps(out))
""")


def run(tree: Path) -> dict:
    code = CHILD.replace("bench_of_tree", str(tree / "bench"))
    out = subprocess.run([sys.executable, "-c", code], cwd=tree.parent, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the revision to compare against")
    ap.add_argument("--head", default="HEAD")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {k: export(rev, Path(tmp) / k) for k, rev in (("base", args.base), ("head", args.head))}
        runs = {"base": [], "head": []}
        for i in range(args.repeat):
            for k in ("base", "head") if i % 2 == 0 else ("head", "base"):
                runs[k].append(run(trees[k]))
    print(f"base {args.base}, head {args.head}, {args.repeat} paired repeats, 1 thread; seconds (min) and head/base")
    for case in runs["base"][0]:
        b = [r[case] for r in runs["base"]]
        h = [r[case] for r in runs["head"]]
        ratio = statistics.median(y / x for x, y in zip(b, h))
        print(f"{case:>24}: base {min(b) * 1e3:8.1f} ms  head {min(h) * 1e3:8.1f} ms  head/base median {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
