"""Animation training speed with a tiny random text-to-video model (no weights needed).

    python bench/animate.py [--frames 8] [--size 64] [--steps 6] [--device cpu|cuda]

Prints, side by side in one run:
- seconds per training step of a single-object LiveSketch run (two SDS passes per step),
- seconds per stage of the multi-object default schedule ("paper": each object alone,
  then the scene) on the two-object example, and the ratio of its total time to a
  single-object run of the same step count (steps x stages),
- the share of a step spent rendering (forward + backward) versus the video prior.
The tiny model makes the prior cheap, so the numbers show the pipeline's own cost;
with ModelScope the UNet and VAE dominate.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

from sketchmotion.core import svg  # noqa: E402
from sketchmotion.core.augment import AugmentConfig  # noqa: E402
from sketchmotion.core.callbacks import Callbacks  # noqa: E402
from sketchmotion.core.guidance.diffusers_prior import load_diffusers_prior  # noqa: E402
from sketchmotion.core.pipelines.animate import AnimateConfig, AnimationTrainer  # noqa: E402
from sketchmotion.core.pipelines.multi_object import make_schedule  # noqa: E402
from sketchmotion.testing.tiny_models import build_tiny_text_to_video  # noqa: E402


def timed_run(trainer: AnimationTrainer) -> tuple[float, list[float]]:
    """Total seconds and seconds per stage."""
    marks = []

    def progress(step, total, preview, stats):
        marks.append((stats.get("stage", 0), time.perf_counter()))

    t0 = time.perf_counter()
    trainer.run(Callbacks(progress=progress))
    total = time.perf_counter() - t0
    per_stage, last = [], t0
    for s in range(len(trainer.stages)):
        ends = [t for st, t in marks if st == s]
        per_stage.append(ends[-1] - last)
        last = ends[-1]
    return total, per_stage


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        prior = load_diffusers_prior(build_tiny_text_to_video(Path(tmp) / "tiny"), device=args.device,
                                     precision="fp32")
        cfg = AnimateConfig(prompt="a bird passes a tree", num_frames=args.frames, render_size=args.size,
                            steps=args.steps, augment=AugmentConfig())
        sketch = svg.load(ROOT / "sketches" / "two_objects.svg", normalize=args.size)
        print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
              f"{args.frames} frames at {args.size}x{args.size}, {args.steps} steps per stage, tiny prior")

        warm = AnimationTrainer(sketch, prior, AnimateConfig(**{**cfg.__dict__, "steps": 2}))
        timed_run(warm)  # first calls pay one-off costs (allocator, lazy init): keep them out of the numbers
        single = AnimationTrainer(sketch, prior, AnimateConfig(**{**cfg.__dict__, "steps": 3 * args.steps}))
        t_single, _ = timed_run(single)
        stages = make_schedule([0, 1], ["a bird flaps its wings", "a tree sways"], cfg.prompt, "paper")
        multi = AnimationTrainer(sketch, prior, cfg, stages=stages, per_object=True)
        t_multi, per_stage = timed_run(multi)

        # split one step's time between rendering and the prior
        video = single.render_frames()
        t0 = time.perf_counter()
        for _ in range(3):
            single.render_frames().mean().backward()
        t_render = (time.perf_counter() - t0) / 3
        t0 = time.perf_counter()
        for _ in range(3):
            v = video.detach().requires_grad_(True)
            loss, _ = prior.sds_loss(v, guidance_scale=30.0)
            loss.backward()
        t_prior = (time.perf_counter() - t0) / 3

    n = 3 * args.steps
    print(f"single object : {n} steps in {t_single:.2f} s = {t_single / n:.3f} s/step")
    for i, (st, t) in enumerate(zip(multi.stages, per_stage)):
        what = "scene" if st.objects is None else f"object {st.objects[0]}"
        print(f"multi stage {i} ({what}, {st.train}): {t:.2f} s = {t / args.steps:.3f} s/step")
    print(f"multi total   : {t_multi:.2f} s; ratio to single-object run of the same step count: "
          f"{t_multi / t_single:.2f}x")
    print(f"one pass      : render fwd+bwd {t_render * 1000:.0f} ms, prior (VAE + UNet + backward) "
          f"{t_prior * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = f"peak memory   : process RSS {peak:.0f} MB (baseline before training {base_rss:.0f} MB)"
    if args.device.startswith("cuda"):
        line += f", CUDA max allocated {torch.cuda.max_memory_allocated() / 2**20:.0f} MB"
    print(line)


if __name__ == "__main__":
    main()
