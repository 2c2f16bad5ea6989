"""`python -m sketchmotion reconstruct3d`: dynamic 3D strokes from a posed video (Liv3Stroke).

    python -m sketchmotion reconstruct3d DNERF_FOLDER --out DIR [--strokes N] [--iters-stage1 N]
        [--iters-stage2 N] [--size N] [--points N] [--frame-loss auto|lpips|vgg|l2_blur] [--seed N]

Writes DIR/sketch3d.safetensors (the D = 3 animation with the input cameras,
readable by core.animation_io.load_animation), DIR/turntable.gif, and
DIR/metrics.json (timings; Chamfer / velocity errors when the folder holds the
synthetic writer's ground_truth.npz).
"""

from __future__ import annotations

import json
import os
import sys


def _metrics(folder: str, motion, anim) -> dict:
    import torch

    from ..metrics import chamfer_distance, motion_metrics
    from ..pipelines.reconstruct3d import stroke_samples
    from ..scenes3d import load_ground_truth

    gt = load_ground_truth(folder)["samples"]
    tr = motion.trajectories
    if gt.shape[0] != tr.shape[0]:
        return {}
    out = {f"points.{k}": v for k, v in motion_metrics(tr, gt).items()}
    frozen = motion_metrics(motion.canonical[None].expand(tr.shape[0], -1, -1), gt)
    out["points.velocity_error_frozen"] = frozen.get("velocity_error")
    n = anim.sketch.num_points // 4
    out["strokes.chamfer"] = chamfer_distance(stroke_samples(anim.frames.reshape(anim.num_frames, n, 4, 3)), gt)
    out["units"] = "world units of the scene (velocity: per frame); see core.metrics"
    return {k: (float(v) if isinstance(v, (int, float)) or torch.is_tensor(v) else v) for k, v in out.items()}


def cmd_reconstruct3d(args) -> int:
    from ..animation_io import save_animation
    from ..errors import SketchError
    from ..pipelines.reconstruct3d import (MotionGuidanceConfig, Reconstruct3DConfig, StrokeConfig, reconstruct3d,
                                          resolve_frame_loss)
    from ..render3d import camera_path, render_3d, save_images
    from ..posed_video import load_dnerf
    from ..callbacks import Callbacks

    if args.strokes < 1 or args.size < 16:
        raise SketchError("--strokes must be >= 1 and --size >= 16.")
    video = load_dnerf(args.folder, size=args.size)
    loss = resolve_frame_loss(args.frame_loss)
    cfg = Reconstruct3DConfig(
        MotionGuidanceConfig(iterations=args.iters_stage1, num_points=args.points, frame_loss=loss, seed=args.seed,
                             render_size=args.size, device=args.device),
        StrokeConfig(num_strokes=args.strokes, iterations=args.iters_stage2, frame_loss=loss, seed=args.seed,
                     render_size=args.size, device=args.device, clip_weight=args.clip_weight))
    last = [-1]

    def progress(step, total, preview, stats):
        pct = int(100 * step / max(total, 1))
        if pct != last[0] and (pct % 5 == 0 or step == total):
            last[0] = pct
            print(f"\r{pct:3d}% step {step}/{total} frame loss {stats.get('frame', 0):.4f}", end="", file=sys.stderr)

    anim, motion = reconstruct3d(video, cfg, Callbacks(progress=progress))
    print(file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    path = save_animation(anim, os.path.join(args.out, "sketch3d.safetensors"))
    views = camera_path("turntable", max(24, anim.num_frames), size=args.size, anim=anim)  # fitted to the strokes
    frames = render_3d(anim, views)  # the animation plays once around the orbit
    gif = os.path.join(args.out, "turntable.gif")
    save_images((frames.clamp(0, 1).numpy() * 255 + 0.5).astype("uint8"), gif, fps=anim.fps)
    metrics = {"stage1_seconds": motion.settings["seconds"], "stage2_seconds": anim.settings["stage2.seconds"],
               "frame_loss": loss, "points": int(motion.canonical.shape[0]), "strokes": args.strokes}
    if os.path.isfile(os.path.join(args.folder, "ground_truth.npz")):
        metrics.update(_metrics(args.folder, motion, anim))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(f"wrote {path}, {gif} and {os.path.join(args.out, 'metrics.json')} "
          f"({args.strokes} strokes, {anim.num_frames} frames)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("reconstruct3d", help="dynamic 3D strokes from a posed video (D-NeRF folder), Liv3Stroke")
    p.add_argument("folder", help="D-NeRF folder (transforms_train.json + images)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--strokes", type=int, default=32, help="number of 3D strokes (default 32)")
    p.add_argument("--iters-stage1", "--iters-guidance", dest="iters_stage1", type=int, default=600,
                   help="motion-guidance steps (default 600)")
    p.add_argument("--iters-stage2", "--iters-strokes", dest="iters_stage2", type=int, default=1000,
                   help="stroke-fitting steps (default 1000)")
    p.add_argument("--size", type=int, default=256, help="longest side of the frames used for fitting (default 256)")
    p.add_argument("--points", type=int, default=None, help="stage-1 points (default 10000 on GPU, 2000 on CPU)")
    p.add_argument("--frame-loss", default="auto", choices=["auto", "lpips", "vgg", "l2_blur", "l2"],
                   help="auto: LPIPS when torchvision's VGG16 weights are in the torch cache, else blurred L2")
    p.add_argument("--clip-weight", type=float, default=0.0,
                   help="weight of the CLIP term in the stroke-stage loss (default 0: off; needs open_clip and "
                        "ViT-B-32 openai weights in the Hugging Face cache)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    p.set_defaults(func=cmd_reconstruct3d)
