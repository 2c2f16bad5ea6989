"""Renderer speed: milliseconds per frame, forward and forward+backward.

    python bench/raster.py [--device cuda] [--frames 24] [--repeat 3]

Batches of 24 frames x 16 and x 64 random strokes (~53 px long, width 3 px) at
256x256, like LiveSketch's inputs. When `pydiffvg` is importable, the same input
is also rendered by diffvg with 2x2 samples per pixel and the ratio is printed.
"""

from __future__ import annotations

import argparse
import time

import torch

from sketchmotion.core.raster import diffvg_available, render
from sketchmotion.core.synthetic import random_strokes


def _time(fn, repeat, sync):
    fn()  # warm-up
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_case(n_strokes, frames, size, device, repeat, backend="torch"):
    sketch = random_strokes(n_strokes, size).to(device)
    g = torch.Generator(device="cpu").manual_seed(1)
    jitter = torch.randn(frames, *sketch.points.shape, generator=g).to(device)
    pts = (sketch.points[None] + jitter).contiguous()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def fwd():
        with torch.no_grad():
            render(sketch, pts, backend=backend)

    def fwd_bwd():
        p = pts.clone().requires_grad_(True)
        render(sketch, p, backend=backend).mean().backward()

    return _time(fwd, repeat, sync) * 1000 / frames, _time(fwd_bwd, repeat, sync) * 1000 / frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.frames} frames at {args.size}x{args.size}; ms per frame (best of {args.repeat})")
    has_diffvg = diffvg_available()
    print(f"{'strokes':>8} {'forward':>10} {'fwd+bwd':>10}" + (f" {'diffvg fwd+bwd':>15} {'speed-up':>9}" if has_diffvg else ""))
    for n in (16, 64):
        f, fb = bench_case(n, args.frames, args.size, args.device, args.repeat)
        line = f"{n:>8} {f:>10.2f} {fb:>10.2f}"
        if has_diffvg:
            _, dfb = bench_case(n, args.frames, args.size, args.device, args.repeat, backend="diffvg")
            line += f" {dfb:>15.2f} {dfb / fb:>8.1f}x"
        print(line)
    if not has_diffvg:
        print("(pydiffvg not importable: no diffvg column; reference on a 2-core CPU, REFERENCE.md: "
              "diffvg 2x2 ~460-850 ms per frame forward+backward for 16 strokes)")


if __name__ == "__main__":
    main()
