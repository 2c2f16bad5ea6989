"""`python -m sketchmotion animate`: text-driven sketch animation from the command line.

    python -m sketchmotion animate SKETCH.svg --prompt "The cat is walking" --out OUT_DIR
        [--model modelscope|zeroscope|PATH|HUB_ID] [--models-dir DIR ...] [--allow-download]
        [--frames 24] [--steps 500] [--seed 0] [--fps 8] [--size 256] [--device cuda]
        [--motion local+global|local|global] [--architecture continuous|paper]
        [--objects-prompts "bird flaps; tree sways" [--schedule paper|paper+global|joint]]

Writes OUT_DIR/animation.safetensors (see core.animation_io), animation.svg
(animated SVG), animation.gif and animation.mp4. A checkpoint in OUT_DIR lets an
interrupted run (Ctrl-C) resume when the same command is run again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _progress_printer(stream=sys.stderr):
    start = time.time()

    def progress(step, total, preview, stats):
        rate = step / max(time.time() - start, 1e-9)
        eta = (total - step) / rate if rate > 0 else 0
        local = stats.get("local", {}).get("loss")
        msg = f"\rstep {step}/{total}  {rate:.2f} it/s  eta {eta / 60:.1f} min"
        if local is not None:
            msg += f"  sds loss {local:.3g}"
        print(msg, end="" if step < total else "\n", file=stream, flush=True)

    return progress


def cmd_animate(args) -> int:
    import torch

    from ..callbacks import Callbacks
    from ..guidance.diffusers_prior import load_diffusers_prior
    from ..motion.displacement_field import FieldConfig
    from ..pipelines.animate import AnimateConfig, AnimationTrainer
    from ..svg import load

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sketch = load(args.sketch, normalize=args.size)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    prior = load_diffusers_prior(args.model, search_dirs=args.models_dir, device=device, precision=args.precision,
                                 allow_download=args.allow_download)
    cfg = AnimateConfig(
        prompt=args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames, steps=args.steps,
        fps=args.fps, seed=args.seed, render_size=args.size, guidance_local=args.guidance_local,
        guidance_global=args.guidance_global, canonical_lr=args.canonical_lr,
        train_local=args.motion != "global", train_global=args.motion != "local",
        field=FieldConfig(architecture=args.architecture),
        checkpoint_path=str(out / "checkpoint.pt"), checkpoint_every=50,
    )
    stages, per_object = None, False
    if args.objects_prompts:
        from ..pipelines.multi_object import make_schedule

        ids = sorted(set(sketch.group.tolist()))
        prompts = [p.strip() for p in args.objects_prompts.split(";") if p.strip()]
        stages = make_schedule(ids, prompts, args.prompt, args.schedule)
        per_object = True
    trainer = AnimationTrainer(sketch, prior, cfg, stages=stages, per_object=per_object)
    if Path(cfg.checkpoint_path).exists() and not args.fresh:
        if trainer.resume_from(cfg.checkpoint_path):
            print(f"resuming from step {trainer.steps_done} of {trainer.total_steps}", file=sys.stderr)
        else:
            print("not resuming: the checkpoint belongs to another run (sketch, prompt, model or settings "
                  "changed); starting afresh", file=sys.stderr)
    anim = trainer.run(Callbacks(progress=_progress_printer())).to("cpu")
    written = _write_outputs(anim, out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _write_outputs(anim, out: Path) -> list[Path]:
    """animation.safetensors (with the trained motion model) + animated SVG + GIF + MP4."""
    from ..animation_io import save_animation
    from ..export import export

    paths = [out / "animation.safetensors", out / "animation.svg", out / "animation.gif", out / "animation.mp4"]
    save_animation(anim, paths[0])
    for p in paths[1:]:
        export(anim, p)
    return paths


def register(sub) -> None:
    import argparse

    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("animate", formatter_class=fmt,
                       help="animate a sketch from a text prompt (LiveSketch, score distillation)")
    p.add_argument("sketch", help="input SVG (normalised to --size x --size)")
    p.add_argument("--prompt", required=True, help="what the animation should show (the scene, with --objects-prompts)")
    p.add_argument("--negative-prompt", default="", help="what to avoid (paper: empty)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="modelscope", help="modelscope, zeroscope, a hub id or a diffusers folder")
    p.add_argument("--models-dir", action="append", default=[], help="folder(s) holding diffusers models")
    p.add_argument("--allow-download", action="store_true", help="download the model into the HF cache if missing")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="auto: fp16 on GPU, fp32 on CPU")
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    p.add_argument("--frames", type=int, default=24, help="frames of the animation (paper: 24)")
    p.add_argument("--steps", type=int, default=500, help="iterations (per stage with --objects-prompts; paper: 1000)")
    p.add_argument("--fps", type=float, default=8.0, help="frames per second of the result")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result on CPU)")
    p.add_argument("--size", type=int, default=256, help="canvas and render size fed to the video model")
    p.add_argument("--guidance-local", type=float, default=30.0, help="CFG scale of the local-path pass")
    p.add_argument("--guidance-global", type=float, default=40.0, help="CFG scale of the global-path pass")
    p.add_argument("--motion", default="local+global", choices=["local+global", "local", "global"],
                   help="which paths of the displacement field train")
    p.add_argument("--architecture", default="continuous", choices=["continuous", "paper"],
                   help="continuous-time field (ours) or the paper's fixed-frame network")
    p.add_argument("--canonical-lr", type=float, default=0.0,
                   help="> 0: also refine the strokes through their warp (canonical score distillation)")
    p.add_argument("--objects-prompts", default=None,
                   help="multi-object: one prompt per object group, separated by ';' (--prompt is the scene prompt)")
    p.add_argument("--schedule", default="paper", choices=["paper", "paper+global", "joint"],
                   help="multi-object stage schedule (--steps is per stage)")
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint in --out and start afresh")
    p.set_defaults(func=cmd_animate)
