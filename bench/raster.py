"""Renderer speed: milliseconds per frame, forward and forward+backward.

    python bench/raster.py [--device cuda] [--frames 24] [--repeat 3] [--styles-only]

Batches of 24 frames x 16 and x 64 random strokes (~53 px long, width 3 px) at
256x256, like LiveSketch's inputs. When `pydiffvg` is importable, the same input
is also rendered by diffvg with 2x2 samples per pixel and the ratio is printed.

Second table: the cost of stroke styles. The same sketch (strokes of two cubic
segments meeting at a corner) drawn with round caps and joins (the default), with
butt / square caps and miter / bevel joins, with dashes, with a clip region, and
with all of them; then (not part of "all") every stroke painted with a linear gradient,
and all strokes in one opacity group (SVG's <g opacity>); 1 thread. Each variant is timed right next to round-only (A/B
pairs, order alternated); the ratio column is the median over --repeat pairs, the
ms columns the best.
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


def cornered_strokes(n: int, size: int = 256, seed: int = 0):
    """n open strokes of two ~27 px cubics that meet at a corner (turns of 30-120 degrees)."""
    import math

    from sketchmotion.core.sketch import sketch_from_paths

    g = torch.Generator().manual_seed(seed)
    paths = []
    for _ in range(n):
        c = torch.rand(2, generator=g) * (size - 80) + 40
        a = float(torch.rand(1, generator=g)) * 2 * math.pi
        turn = math.radians(30 + 90 * float(torch.rand(1, generator=g))) * (1 if torch.rand(1, generator=g) < 0.5 else -1)
        d1 = torch.tensor([math.cos(a), math.sin(a)]) * 27
        d2 = torch.tensor([math.cos(a + turn), math.sin(a + turn)]) * 27
        bend = (torch.rand(2, generator=g) - 0.5) * 10
        p0, p1, p2 = c - d1, c, c + d2
        paths.append(torch.stack([p0, p0 + d1 / 3 + bend, p1 - d1 / 3, p1, p1 + d2 / 3, p2 - d2 / 3 - bend, p2]))
    return sketch_from_paths(paths, stroke_width=3.0, canvas=(size, size))


def style_variants(sketch):
    """The same sketch with round-only (no style), caps+joins, dashes, a clip, and everything."""
    import math
    from dataclasses import replace

    from sketchmotion.core.sketch import sketch_from_paths
    from sketchmotion.core.style import ClipRegion, Gradient, PathStyle

    P = sketch.num_paths
    caps = tuple(("butt", "square")[i % 2] for i in range(P))
    joins = tuple(("miter", "bevel")[i % 2] for i in range(P))
    plain = PathStyle(caps, joins, (4.0,) * P, ((),) * P, (0.0,) * P, (-1,) * P)
    dashed = replace(PathStyle.default(P), dash=((8.0, 4.0),) * P)
    W, H = sketch.canvas
    th = torch.linspace(0, 2 * math.pi, 13)[:-1]
    ring = torch.stack([W / 2 + 0.45 * W * th.cos(), H / 2 + 0.45 * H * th.sin()], 1)
    pts = []
    for i in range(12):
        a, b = ring[i], ring[(i + 1) % 12]
        pts += [a, a + (b - a) / 3, a + 2 * (b - a) / 3]
    region = ClipRegion(sketch_from_paths([torch.stack(pts)], closed=[True], stroke_width=0.0,
                                          fill_color=(0, 0, 0, 1), canvas=(W, H)))
    clipped = replace(PathStyle.default(P), clip=(0,) * P, clips=(region,))
    everything = replace(plain, dash=((8.0, 4.0),) * P, clip=(0,) * P, clips=(region,))
    ramp = Gradient("linear", (0.0, 0.0, float(W), float(H)), (1, 0, 0, 1, 0, 0), "reflect", (0.0, 1.0),
                    torch.tensor([[0.9, 0.1, 0.1, 1.0], [0.1, 0.1, 0.9, 1.0]]))
    gradient = replace(PathStyle.default(P), stroke_paint=(0,) * P, paints=(ramp,))
    group = replace(PathStyle.default(P), opacity_groups=((0, P, 0.5),))
    return {"round only": sketch, "caps+joins": replace(sketch, style=plain), "dashes": replace(sketch, style=dashed),
            "clip": replace(sketch, style=clipped), "all": replace(sketch, style=everything),
            "gradient": replace(sketch, style=gradient), "group alpha": replace(sketch, style=group)}


def bench_styles(n_strokes, frames, device, repeat):
    """Per variant: best ms per frame, and the median over repeats of its time divided by the time of
    round-only measured right next to it (A/B pairs, order alternated), which cancels slow drifts of
    machine load that a best-of-N alone does not."""
    import statistics

    base = cornered_strokes(n_strokes)
    variants = {k: v.to(device) for k, v in style_variants(base).items()}
    g = torch.Generator(device="cpu").manual_seed(1)
    pts = (base.points[None] + torch.randn(frames, *base.points.shape, generator=g)).to(device).contiguous()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def once(sk, backward):
        p = pts.clone().requires_grad_(backward)
        sync()
        t0 = time.perf_counter()
        if backward:
            render(sk, p).mean().backward()
        else:
            with torch.no_grad():
                render(sk, p)
        sync()
        return time.perf_counter() - t0

    for sk in variants.values():  # warm-up
        once(sk, False)
    best = {k: [float("inf"), float("inf")] for k in variants}
    ratios = {k: ([], []) for k in variants}
    ref = variants["round only"]
    for r in range(repeat):
        for k, sk in variants.items():
            for j in (0, 1):
                pair = (once(ref, j == 1), once(sk, j == 1)) if r % 2 == 0 else (once(sk, j == 1), once(ref, j == 1))[::-1]
                best[k][j] = min(best[k][j], pair[1])
                ratios[k][j].append(pair[1] / pair[0])
    return {k: (best[k][0] * 1000 / frames, statistics.median(ratios[k][0]),
                best[k][1] * 1000 / frames, statistics.median(ratios[k][1])) for k in variants}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steady numbers on a shared machine)")
    ap.add_argument("--styles-only", action="store_true", help="only the stroke-style table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.frames} frames at {args.size}x{args.size}; ms per frame (best of {args.repeat})")
    if not args.styles_only:
        bench_round(args)
    print(f"\nstroke styles, same sketch (strokes of two cubics with a corner), {args.frames} frames: best ms per "
          f"frame, and the median ratio to round-only timed next to it (A/B pairs)")
    print(f"{'strokes':>8} {'variant':>12} {'forward':>9} {'ratio':>6} {'fwd+bwd':>9} {'ratio':>6}")
    for n in (16, 64):
        res = bench_styles(n, args.frames, args.device, args.repeat)
        for k, (f, fr, b, br) in res.items():
            print(f"{n:>8} {k:>12} {f:>9.2f} {fr:>5.2f}x {b:>9.2f} {br:>5.2f}x")


def bench_round(args):
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
