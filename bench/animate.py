"""Preset comparison of `animate` on the pack's learned motion prior (and seconds per step).

    python bench/animate.py [--steps 50] [--prompts "moving left" "moving up"] [--seeds 0 1]
                            [--prior PATH] [--device cpu|cuda] [--sketches random house fish ...]
                            [--field lambda_r=0.05 ...]
    python bench/animate.py --only default-short --steps 300 --sketches house fish tree car \
        --prompts "moving right" "moving left" "moving up" "moving down" growing shrinking --seeds 0 1

The prior is the committed small learned text-to-video model (core.guidance.learned_prior,
8 frames at 64 px; it knows only its captions). The sketches are ones it never saw: random
strokes (seed 101, the default) and/or the drawings of sketchmotion.testing.unseen_sketches
(house, fish, tree, car), each normalised into the 64 px frames as `animate` does. For each
sketch, prompt and seed it runs, side by side in one process:

    paper            the reference run: flattened field, accumulated global gradients, 2N steps
    paper-short      the same, N steps
    default          continuous-time field, accumulated global gradients, 2N steps
    default-short    the same, N steps
    zeroed           continuous-time field, zeroed global gradients, 2N steps
    zeroed-short     the same, N steps

N = --steps (the paper's 500 vs 1000 become N vs 2N: the same ratio; a CPU cannot run 1000
steps of five presets in a bench). Everything else is the paper's (guidance 30 / 40, lrs,
schedule, Adam, augmentation). Printed per preset over all prompts x seeds (a markdown table):

- amplitude: px the captioned way from the first to the last frame (translation: centroid
  shift along the captioned direction; rotation: the arc length of the fitted rotation at the
  sketch's radius; growing / shrinking: the radius change) - measured from the animation's
  control points with learned_prior.points_motion;
- direction: runs (n/N) whose motion goes the captioned way at all (> 0), and by the
  learned prior's own margin (learned_prior.matches: 1/8 of the frame, 15 degrees, 1.15x);
- shape residual: RMS px of the control points after the best similarity transform to the
  first frame, averaged over frames (0 = the strokes keep their shape; the sketch-consistency
  proxy here, as CLIP weights are not available offline);
- amplitude is the mean (and min..max) over runs;
- s/step: wall seconds per training step (two SDS passes), median over runs.
A prompt that is not a caption (e.g. "" for the unprompted baseline) is printed per run with the captions
its motion would pass for (none is right) and left out of the table.
Threads are pinned to 1 (a loaded machine collapses with more).
"""

from __future__ import annotations

import argparse
import math
import time

import torch


def shape_residual(points: torch.Tensor) -> float:
    """Mean over frames of the RMS distance (px) between frame 0 and each frame after the best
    similarity transform (rotation, uniform scale, translation) of frame 0 onto it."""
    p = points.detach().double().cpu()
    ref = p[0] - p[0].mean(0)
    out = []
    for f in p:
        q = f - f.mean(0)
        a = (ref * q).sum()
        b = (ref[:, 0] * q[:, 1] - ref[:, 1] * q[:, 0]).sum()
        s = (ref**2).sum()
        R = torch.tensor([[a, -b], [b, a]], dtype=torch.float64) / s  # scaled rotation
        fit = ref @ R.T
        out.append(float(((fit - q) ** 2).sum(1).mean().sqrt()))
    return sum(out) / len(out)


def summary(motion: dict) -> str:
    """points_motion's numbers on one line (its per-frame "track" left out)."""
    return (f"dx {motion['dx']:+.1f} dy {motion['dy']:+.1f} px, rotation {motion['rotation']:+.1f} deg, "
            f"scale {motion['scale']:.3f}")


def amplitude(caption: str, motion: dict, radius: float) -> float:
    """Signed px moved the captioned way (negative: the opposite way)."""
    from sketchmotion.core.synthetic_motion import MOTIONS

    kind, sign = MOTIONS[caption]
    if kind == "translate":
        return motion["dx"] * sign[0] + motion["dy"] * sign[1]
    if kind == "rotate":
        return math.radians(motion["rotation"]) * sign * radius
    return (motion["scale"] - 1.0) * radius * (1 if sign > 0 else -1)


PRESETS = [  # (name, preset, steps factor, overrides)
    ("paper", "paper", 2, {}),
    ("paper-short", "paper", 1, {}),
    ("default", "default", 2, {}),
    ("default-short", "default", 1, {}),
    ("zeroed", "default", 2, {"global_grads": "zeroed"}),
    ("zeroed-short", "default", 1, {"global_grads": "zeroed"}),
]


def table(rows: dict) -> str:
    """The preset comparison as a markdown table (one row per preset, over all its runs)."""
    import statistics

    lines = ["| preset | steps | field params | amplitude px (min..max) | direction | by margin | shape residual px "
             "| s/step |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rs in rows.items():
        n = len(rs)
        amps = [r["amp"] for r in rs]
        lines.append(f"| {name} | {rs[0]['steps']} | {rs[0]['params']:,d} | {sum(amps) / n:+.1f} "
                     f"({min(amps):+.1f}..{max(amps):+.1f}) | {sum(r['right'] for r in rs)}/{n} "
                     f"| {sum(r['margin'] for r in rs)}/{n} | {sum(r['shape'] for r in rs) / n:.2f} "
                     f"| {statistics.median(r['sps'] for r in rs):.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50, help="N: short runs take N steps, long runs 2N")
    ap.add_argument("--prompts", nargs="+", default=["moving left", "moving up"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--prior", default=None, help="learned prior folder (default: the bundled one)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--only", nargs="+", default=None, help="run only these presets (names above)")
    ap.add_argument("--sketches", nargs="+", default=["random"],
                    help="random and/or names in sketchmotion.testing.unseen_sketches.UNSEEN")
    ap.add_argument("--field", nargs="+", default=[], metavar="NAME=VALUE",
                    help="displacement-field settings over every preset's (core.motion.displacement_field.FieldConfig),"
                         " e.g. lambda_r=0.05")
    args = ap.parse_args()
    try:
        args.field = {k: float(v) for k, v in (f.split("=", 1) for f in args.field)}
    except ValueError:
        ap.error("--field takes NAME=NUMBER pairs, e.g. --field lambda_r=0.05")
    torch.set_num_threads(1)

    from sketchmotion.core.guidance.diffusers_prior import load_diffusers_prior
    from sketchmotion.core.guidance.learned_prior import bundled_motion_prior_path
    from sketchmotion.core.svg import loads, normalize
    from sketchmotion.core.synthetic import random_strokes
    from sketchmotion.testing.unseen_sketches import UNSEEN

    unknown = [n for n in args.sketches if n != "random" and n not in UNSEEN]
    if unknown:
        ap.error(f"unknown sketch {unknown[0]!r}; use random or one of {', '.join(UNSEEN)}")
    path = args.prior or bundled_motion_prior_path("modelscope")
    prior = load_diffusers_prior(path, device=args.device, precision="fp32")
    presets = [p for p in PRESETS if args.only is None or p[0] in args.only]
    print(f"learned prior {path}; device {args.device}, torch {torch.__version__}, 1 thread; 8 frames at 64 px; "
          f"N = {args.steps} (short) / {2 * args.steps} (long) steps; prompts {args.prompts}; seeds {args.seeds}"
          + (f"; field {args.field}" if args.field else ""))
    rows = {}
    for sketch_name in args.sketches:
        if sketch_name == "random":
            sketch = random_strokes(7, 64, seed=101, width=2.5, length=16.0)
        else:
            sketch = normalize(loads(UNSEEN[sketch_name]), 64)
        radius = float((sketch.points - sketch.points.mean(0)).norm(dim=1).mean())
        print(f"unseen sketch {sketch_name}: {sketch.num_paths} strokes, {sketch.num_points} points, "
              f"radius {radius:.1f} px")
        run_sketch(args, prior, sketch, sketch_name, radius, presets, rows)
    print()
    if rows:
        print(table(rows))
    mean_amp = lambda name: sum(r["amp"] for r in rows[name]) / len(rows[name])  # noqa: E731
    for acc, zero, n in (("default-short", "zeroed-short", "N"), ("default", "zeroed", "2N")):
        if acc in rows and zero in rows and abs(mean_amp(zero)) > 1e-9:
            print(f"accumulated / zeroed global gradients (continuous field, {n} steps): amplitude ratio "
                  f"{mean_amp(acc) / mean_amp(zero):.2f}x")


def run_sketch(args, prior, sketch, sketch_name, radius, presets, rows):
    """Every seed x prompt x preset on one sketch; appends one result per run to rows[preset]."""
    from sketchmotion.core.guidance.learned_prior import CAPTIONS, matches, points_motion
    from sketchmotion.core.pipelines.animate import AnimationTrainer, preset_config
    from sketchmotion.core.synthetic_motion import MOTIONS
    from sketchmotion.core.training_run import TrainingRun

    for seed in args.seeds:
        for prompt in args.prompts:
            for name, preset, factor, over in presets:
                field = {**over.get("field", {}), **args.field}
                cfg = preset_config(preset, prompt=prompt, num_frames=8, render_size=64, steps=factor * args.steps,
                                    seed=seed, **{**over, "field": field})
                trainer = AnimationTrainer(sketch, prior, cfg)
                t0 = time.perf_counter()
                anim = TrainingRun(None).execute(trainer)
                dt = (time.perf_counter() - t0) / cfg.steps
                m = points_motion(anim.frames)
                if prompt not in MOTIONS:  # "" or an unknown prompt: it must not produce a captioned motion
                    like = [c for c in CAPTIONS if matches(c, m, size=64)]
                    print(f"  {sketch_name:6s} {name:14s} {prompt!r:22s} seed {seed}: "
                          f"{'moves like ' + repr(like) if like else 'no captioned motion'} (not in the table), "
                          f"shape residual {shape_residual(anim.frames):.2f} px, motion {summary(m)}", flush=True)
                    continue
                amp = amplitude(prompt, m, radius)
                r = dict(amp=amp, right=amp > 0, margin=matches(prompt, m, size=64), shape=shape_residual(anim.frames),
                         sps=dt, steps=cfg.steps, params=trainer.motion.fields[0].num_parameters())
                rows.setdefault(name, []).append(r)
                print(f"  {sketch_name:6s} {name:14s} {prompt!r:22s} seed {seed}: {amp:+6.1f} px the captioned way "
                      f"({'hit' if r['margin'] else 'MISS'}), shape residual {r['shape']:.2f} px, {dt:.2f} s/step, "
                      f"motion {summary(m)}", flush=True)


if __name__ == "__main__":
    main()
