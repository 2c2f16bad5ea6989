"""`python -m sketchmotion animate`: text-driven sketch animation from the command line.

    python -m sketchmotion animate SKETCH.svg --prompt "The cat is walking" --out OUT_DIR
        [--model auto|learned|modelscope|zeroscope|PATH|HUB_ID] [--models-dir DIR ...] [--allow-download]
        [--preset default|paper] [--frames 24] [--steps 500] [--seed 0] [--fps 8] [--size 256 | --size 576 320]
        [--device cuda]
        [--motion local+global|local|global] [--architecture continuous|paper] [--global-grads ...]
        [--objects-prompts "bird flaps; tree sways" [--schedule paper|paper+global|joint]]

--model auto (default) uses ModelScope when it is on this machine and otherwise the pack's
small learned motion prior (it knows "moving left/right/up/down", "rotating clockwise /
counter-clockwise", "growing", "shrinking"; 8 frames at 64 px), and says which ran.
Writes OUT_DIR/animation.safetensors (see core.animation_io), animation.svg
(animated SVG), animation.gif, animation.mp4 and frames/frame_NNNN.svg (one SVG per
frame). OUT_DIR/checkpoint.pt (core.training_run.TrainingRun: saved every 50 steps and
whenever the run ends, Ctrl-C included) lets the same command resume; a checkpoint of
another run is not used (the run starts afresh). --steps 0 is an error.
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


LEARNED = "learned"  # --model value of the pack's own small learned motion prior


def choose_prior(model: str, search_dirs, allow_download: bool) -> tuple[str, str, bool]:
    """(model to load, a line saying which prior runs and why, whether it is the learned prior) for --model.

    "auto": ModelScope when it is on this machine (search dirs or the Hugging Face cache), else the
    pack's committed learned motion prior; "learned": that prior; anything else: that model (an
    error if it is missing).
    """
    from ..errors import SketchError
    from ..guidance.diffusers_prior import find_model

    if model == "auto":
        try:
            path = find_model("modelscope", search_dirs, allow_download)
            return str(path), f"prior: ModelScope text-to-video ({path}), found on this machine", False
        except SketchError:
            model = LEARNED
            why = "no large text-to-video model on this machine, so "
    else:
        why = ""
    if model == LEARNED:
        from ..guidance.learned_prior import CAPTIONS, bundled_motion_prior_path

        path = bundled_motion_prior_path("modelscope")
        return str(path), (
            f"prior: {why}the pack's small learned motion prior ({path}): a synthetic test model that follows only "
            f"{', '.join(repr(c) for c in CAPTIONS)}, 8 frames at 64 px. For real prompts put ModelScope "
            "(damo-vilab/text-to-video-ms-1.7b, a diffusers folder) in the Hugging Face cache or pass --model PATH / "
            "--models-dir DIR, or use Wan 2.1 in ComfyUI (workflows/animate_sketch_wan.json)."), True
    return model, f"prior: {model}", False


def build_config(args):
    """AnimateConfig from --preset and the flags given explicitly (None = the preset's value)."""
    from ..errors import SketchError
    from ..pipelines.animate import preset_config

    field = {} if args.architecture is None else {"architecture": args.architecture}
    given = {k: v for k, v in dict(steps=args.steps, guidance_local=args.guidance_local,
                                   guidance_global=args.guidance_global, global_grads=args.global_grads).items()
             if v is not None}
    # --frames / --size not given: None, the prior's own (fit_to_prior once it is loaded)
    size = args.size
    if size is not None:
        if len(size) > 2:
            raise SketchError(f"--size takes one number (a square) or two (width height), got {len(size)}.")
        size = size[0] if len(size) == 1 or size[0] == size[1] else (size[0], size[1])
    return preset_config(
        args.preset, **given, field=field, prompt=args.prompt, negative_prompt=args.negative_prompt,
        num_frames=args.frames, fps=args.fps, seed=args.seed, render_size=size, canonical_lr=args.canonical_lr,
        motion_centering=args.motion_centering, train_local=args.motion != "global",
        train_global=args.motion != "local")


def cmd_animate(args) -> int:
    import torch

    from ..callbacks import Callbacks
    from ..guidance.diffusers_prior import load_diffusers_prior
    from ..pipelines.animate import AnimationTrainer, fit_to_prior, render_dims
    from ..pipelines.multi_object import make_schedule, parse_object_prompts
    from ..svg import normalize
    from .common import load_sketch
    from ..training_run import TrainingRun

    out = Path(args.out)
    cfg = build_config(args)  # the flags and the SVG are checked before the (slow) model load
    drawing = load_sketch(args.sketch, check_canvas=False)  # normalised below, once the prior's size is known
    model, line, learned = choose_prior(args.model, args.models_dir, args.allow_download)
    out.mkdir(parents=True, exist_ok=True)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    prior = load_diffusers_prior(model, search_dirs=args.models_dir, device=device, precision=args.precision,
                                 allow_download=args.allow_download)
    print(line, file=sys.stderr)
    cfg = fit_to_prior(cfg, prior)
    width, height = render_dims(cfg.render_size)
    sketch = normalize(drawing, min(width, height))  # 1 canvas px = 1 px of the frames the prior sees
    if learned:
        from ..guidance.learned_prior import CAPTIONS, SLOW_CAPTION_STEPS, SLOW_CAPTIONS

        prompts = [args.prompt, *parse_object_prompts(args.objects_prompts or "")]
        unknown = [p for p in prompts if p not in CAPTIONS]
        slow = [p for p in prompts if p in SLOW_CAPTIONS]
        if unknown:
            print(f"note: the learned prior does not know {unknown[0]!r}: it will move the sketch as if unprompted; "
                  f"use one of its captions (e.g. 'moving right').", file=sys.stderr)
        if slow and cfg.steps < SLOW_CAPTION_STEPS:
            print(f"note: with the learned prior a turn ({slow[0]!r}) builds up more slowly than a move: "
                  f"{cfg.steps} steps may turn the sketch only a little; use {SLOW_CAPTION_STEPS} or more (--steps).",
                  file=sys.stderr)
    stages, per_object = None, False
    if args.objects_prompts:
        ids = sorted(set(sketch.group.tolist()))
        stages = make_schedule(ids, parse_object_prompts(args.objects_prompts), args.prompt, args.schedule,
                               object_guidance_global=args.objects_guidance_global)
        per_object = True
    trainer = AnimationTrainer(sketch, prior, cfg, stages=stages, per_object=per_object)
    print(f"{args.preset} preset: {trainer.total_steps} steps, {cfg.num_frames} frames at {width}x{height} px, "
          f"{cfg.field.architecture} field, global gradients {cfg.global_grads}", file=sys.stderr)
    run = TrainingRun.in_folder(out, every=50, keep_finished=True, fresh=args.fresh,
                                log=lambda msg: print(msg, file=sys.stderr))
    anim = run.execute(trainer, Callbacks(progress=_progress_printer())).to("cpu")
    written = _write_outputs(anim, out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _write_outputs(anim, out: Path) -> list[Path]:
    """animation.safetensors (with the trained motion model) + animated SVG + GIF + MP4 + one SVG per frame
    (frames/frame_0000.svg, ...; as LiveSketch writes them)."""
    from ..animation_io import save_animation
    from ..export import export
    from ..svg import dumps

    paths = [out / "animation.safetensors", out / "animation.svg", out / "animation.gif", out / "animation.mp4"]
    save_animation(anim, paths[0])
    for p in paths[1:]:
        export(anim, p)
    folder = out / "frames"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("frame_*.svg"):  # a re-run with fewer frames leaves no stale frames
        old.unlink()
    for i in range(anim.num_frames):
        (folder / f"frame_{i:04d}.svg").write_text(dumps(anim.sketch, anim.frames[i]), encoding="utf-8")
    return paths + [folder / f"frame_0000.svg ... frame_{anim.num_frames - 1:04d}.svg"]


def register(sub) -> None:
    import argparse

    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("animate", formatter_class=fmt,
                       help="animate a sketch from a text prompt (LiveSketch, score distillation)")
    p.add_argument("sketch", help="input SVG (normalised to the render size's shorter side)")
    p.add_argument("--prompt", required=True, help="what the animation should show (the scene, with --objects-prompts)")
    p.add_argument("--negative-prompt", default="", help="what to avoid (paper: empty)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="auto",
                   help="auto (ModelScope if on this machine, else the pack's learned motion prior), learned, "
                   "modelscope, zeroscope, a hub id or a diffusers folder")
    p.add_argument("--models-dir", action="append", default=[], help="folder(s) holding diffusers models")
    p.add_argument("--allow-download", action="store_true", help="download the model into the HF cache if missing")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="auto: fp16 on GPU, fp32 on CPU")
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    p.add_argument("--preset", default="default", choices=["default", "paper"],
                   help="default: continuous-time field, 500 steps, accumulated global gradients; paper: the "
                   "reference LiveSketch run (flattened field, 1000 steps, accumulated global gradients)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames of the animation (default: the model's own: ModelScope/ZeroScope 24, learned prior 8)")
    p.add_argument("--steps", type=int, default=None,
                   help="iterations, >= 1 (per stage with --objects-prompts; default: the preset's, 500 / paper 1000)")
    p.add_argument("--fps", type=float, default=8.0, help="frames per second of the result")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result on CPU)")
    p.add_argument("--size", type=int, nargs="+", default=None, metavar=("WIDTH", "HEIGHT"),
                   help="render size fed to the video model: one number (a square) or width height (default: the "
                   "model's own: ModelScope 256, ZeroScope 576 320, learned prior 64)")
    p.add_argument("--guidance-local", type=float, default=None, help="CFG scale of the local-path pass (paper: 30)")
    p.add_argument("--guidance-global", type=float, default=None, help="CFG scale of the global-path pass (paper: 40)")
    p.add_argument("--global-grads", default=None, choices=["zeroed", "accumulated"],
                   help="global path's gradients: zeroed every pass, or accumulated as in the reference code")
    p.add_argument("--motion", default="local+global", choices=["local+global", "local", "global"],
                   help="which paths of the displacement field train")
    p.add_argument("--architecture", default=None, choices=["continuous", "paper"],
                   help="continuous-time field (ours) or the paper's fixed-frame network (default: the preset's)")
    p.add_argument("--canonical-lr", type=float, default=0.0,
                   help="> 0: also refine the strokes through their warp (canonical score distillation)")
    p.add_argument("--motion-centering", type=float, default=0.0,
                   help="> 0: hold the clip's average position at the drawing's (weight, px^2; 0 = off, the paper); "
                        "300 stops the wander of priors with no sense of place, e.g. the pack's flow prior")
    p.add_argument("--objects-prompts", default=None,
                   help="multi-object: one prompt per object group, one per line or separated by ';' (--prompt is "
                   "the scene prompt)")
    p.add_argument("--schedule", default="paper", choices=["paper", "paper+global", "joint"],
                   help="multi-object stage schedule (--steps is per stage)")
    p.add_argument("--objects-guidance-global", type=float, default=10.0,
                   help="global guidance of the per-object stages (MultiSketch's best: 10)")
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint in --out and start afresh")
    p.set_defaults(func=cmd_animate)
