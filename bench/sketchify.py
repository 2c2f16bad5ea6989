"""Image -> sketch speed and convergence: seconds per iteration, iterations to a usable sketch.

    nice -n 10 python bench/sketchify.py [--iterations 300] [--seeds 3] [--strokes 16 64] [--device cpu]
                                         [--threads 1] [--clip ViT-B-32] [--clip-iterations 20] [--thread-check]

Known answers: random LiveSketch-like sketches (N cubic strokes, width 3, 256 px) rendered to
pictures, turned back into N strokes by core.pipelines.sketchify with the model-free loss at the
default working size 224 px. Per stroke count (mean over seeds):
- init s: line map + traced initial strokes; s/iter: one optimisation step (render, loss, backward);
- usable @: first iteration whose preview has ink IoU >= 0.7 against the true sketch (checked every
  10 iterations on the 224 px working image);
- converged @: first iteration after which the loss (10-step mean) stays within 5% of the way from
  its start to its end value;
- final IoU / Chamfer (px at 256) of the result; the ratio column compares each row's s/iter to the first.
--clip ARCH also times CLIPasso's losses with a full-size open_clip architecture (random weights:
only the time means something), e.g. ViT-B-32 or RN101. --thread-check times 5 iterations with 1
and with 2 torch threads (the pipeline pins 1 on the CPU by default; see SketchifyConfig.cpu_threads).
"""

from __future__ import annotations

import argparse
import time

import torch

from sketchmotion.core.callbacks import Callbacks
from sketchmotion.core.pipelines.sketchify import SketchifyConfig, sketchify
from sketchmotion.core.raster import WHITE, render
from sketchmotion.core.synthetic import random_strokes


def _samples(sk, n=64):
    c = sk.points[sk.segment_index]
    t = torch.linspace(0, 1, n)[:, None]
    pts = (1 - t) ** 3 * c[:, None, 0] + 3 * (1 - t) ** 2 * t * c[:, None, 1] + 3 * (1 - t) * t**2 * c[:, None, 2] \
        + t**3 * c[:, None, 3]
    return pts.reshape(-1, 2)


def chamfer(a, b) -> float:
    d = torch.cdist(_samples(a), _samples(b))
    return 0.5 * float(d.min(1).values.mean() + d.min(0).values.mean())


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    ia, ib = (1 - a.mean(-1)) > 0.5, (1 - b.mean(-1)) > 0.5
    return float((ia & ib).sum()) / max(1.0, float((ia | ib).sum()))


def run_case(n, seed, iterations, device, threads):
    true = random_strokes(n, 256, seed=seed)
    image = render(true, background=WHITE)
    truth_224 = render(true, size=224, background=WHITE)
    cfg = SketchifyConfig(strokes=n, iterations=iterations, seed=seed, lpips="off", cpu_threads=threads)
    t0 = time.perf_counter()
    sketchify(image, config=SketchifyConfig(strokes=n, iterations=0, seed=seed, lpips="off", cpu_threads=threads),
              device=device)
    t_init = time.perf_counter() - t0
    ious = {}

    def progress(step, total, preview, stats):
        if preview is not None:
            ious[step] = iou(preview[0].cpu(), truth_224)

    t0 = time.perf_counter()
    res = sketchify(image, config=cfg, device=device, callbacks=Callbacks(progress=progress, preview_every=10))
    t_all = time.perf_counter() - t0
    per_iter = (t_all - t_init) / max(1, iterations)
    usable = next((s for s in sorted(ious) if ious[s] >= 0.7), None)
    h = torch.tensor(res.history)
    smooth = torch.stack([h[max(0, i - 9):i + 1].mean() for i in range(len(h))])
    target = smooth[-1] + 0.05 * (smooth[0] - smooth[-1])
    above = (smooth > target).nonzero()
    converged = int(above[-1]) + 2 if len(above) else 1
    return dict(init=t_init, per_iter=per_iter, usable=usable, converged=converged,
                iou=iou(render(res.sketch, background=WHITE), image), chamfer=chamfer(res.sketch, true))


def time_clip(arch, n, iterations, device, threads):
    import open_clip

    model = open_clip.create_model(arch, pretrained=None, device=device).eval().requires_grad_(False)
    image = render(random_strokes(n, 256, seed=0), background=WHITE)
    cfg = SketchifyConfig(strokes=n, iterations=0, lpips="off", loss="clip", augmentations=4, cpu_threads=threads)
    t0 = time.perf_counter()
    sketchify(image, clip=model, config=cfg, device=device)
    t_init = time.perf_counter() - t0
    cfg.iterations = iterations
    t0 = time.perf_counter()
    res = sketchify(image, clip=model, config=cfg, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return res.loss, t_init, (time.perf_counter() - t0 - t_init) / iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--strokes", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on the CPU (default 1)")
    ap.add_argument("--clip", default=None, help="also time the CLIP losses with this open_clip architecture")
    ap.add_argument("--clip-iterations", type=int, default=20)
    ap.add_argument("--thread-check", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    print(f"model-free loss, 224 px working size, {args.iterations} iterations, {args.seeds} seeds, "
          f"device {args.device}, {args.threads} thread(s)")
    print(f"{'strokes':>7} {'init s':>7} {'s/iter':>8} {'ratio':>6} {'usable @':>9} {'converged @':>12} "
          f"{'IoU':>5} {'Chamfer px':>11}")
    base = None
    for n in args.strokes:
        rows = [run_case(n, s, args.iterations, args.device, args.threads) for s in range(args.seeds)]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("init", "per_iter", "converged", "iou", "chamfer")}
        usable = [r["usable"] for r in rows]
        u = "never" if None in usable else f"{sum(usable) / len(usable):.0f}"
        base = base or mean["per_iter"]
        print(f"{n:>7} {mean['init']:>7.2f} {mean['per_iter']:>8.4f} {mean['per_iter'] / base:>6.2f} {u:>9} "
              f"{mean['converged']:>12.0f} {mean['iou']:>5.2f} {mean['chamfer']:>11.2f}")
        print(f"{'':>7} per seed: usable @ {usable}, converged @ {[r['converged'] for r in rows]}, "
              f"IoU {[round(r['iou'], 2) for r in rows]}, Chamfer {[round(r['chamfer'], 2) for r in rows]}")

    if args.clip:
        for n in args.strokes:
            name, t_init, per = time_clip(args.clip, n, args.clip_iterations, args.device, args.threads)
            print(f"CLIP {args.clip} (random weights, 1 + 4 augmented views), {n} strokes: init {t_init:.2f} s, "
                  f"{per:.4f} s/iter ({name})")

    if args.thread_check and args.device == "cpu":
        image = render(random_strokes(16, 256, seed=0), background=WHITE)
        times = {}
        for threads in (1, 2):
            cfg = SketchifyConfig(iterations=5, lpips="off", cpu_threads=threads)
            t0 = time.perf_counter()
            sketchify(image, config=cfg)
            times[threads] = time.perf_counter() - t0
        print(f"5 iterations, 16 strokes: 1 thread {times[1]:.2f} s, 2 threads {times[2]:.2f} s "
              f"(ratio 2/1 = {times[2] / times[1]:.2f})")


if __name__ == "__main__":
    main()
