"""`python -m sketchmotion reconstruct3d`: dynamic 3D strokes from a posed video (Liv3Stroke).

    python -m sketchmotion reconstruct3d DNERF_FOLDER --out DIR [--strokes N] [--iters-stage1 N]
        [--iters-stage2 N] [--size N] [--points N] [--frame-loss auto|lpips|vgg|l2_blur|l2|l1]
        [--allow-download] [--clip-weight W] [--clip-model SPEC] [--stroke-width PX] [--seed N]

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

    from ..metrics import chamfer_distance, motion_metrics, motion_report
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
    strokes = stroke_samples(anim.frames.reshape(anim.num_frames, n, 4, 3))
    out["strokes.chamfer"] = chamfer_distance(strokes, gt)
    for name, traj in (("points", tr), ("strokes", strokes)):  # scale-free: % of the diagonal, x a still sketch
        rep = motion_report(traj, gt)
        out.update({f"{name}.{k}": rep[k] for k in ("chamfer_pct", "velocity_ratio", "tracking_ratio") if k in rep})
    out["units"] = "world units of the scene (velocity: per frame); see core.metrics"
    return {k: (float(v) if isinstance(v, (int, float)) or torch.is_tensor(v) else v) for k, v in out.items()}


def cmd_reconstruct3d(args) -> int:
    from ..animation_io import save_animation
    from ..errors import SketchError
    from ..guidance.perceptual import FrameLossConfig
    from ..pipelines.reconstruct3d import MotionGuidanceConfig, Reconstruct3DConfig, StrokeConfig, reconstruct3d
    from ..render3d import camera_path, render_3d, save_images
    from ..posed_video import load_dnerf
    from ..callbacks import Callbacks

    if args.strokes < 1 or args.size < 16:
        raise SketchError("--strokes must be >= 1 and --size >= 16.")
    if args.stroke_width is not None and not args.stroke_width > 0:
        raise SketchError("--stroke-width is in pixels at --size and must be > 0 (leave it out to match the frames).")
    if args.canonical_time is not None and not 0.0 <= args.canonical_time <= 1.0:
        raise SketchError("--canonical-time is a time in the clip, 0..1 (leave it out for the automatic choice).")
    video = load_dnerf(args.folder, size=args.size)
    loss = FrameLossConfig(args.frame_loss, allow_download=args.allow_download)
    cfg = Reconstruct3DConfig(
        MotionGuidanceConfig(iterations=args.iters_stage1, num_points=args.points, frame_loss=loss, seed=args.seed,
                             render_size=args.size, device=args.device, canonical_time=args.canonical_time),
        StrokeConfig(num_strokes=args.strokes, iterations=args.iters_stage2, frame_loss=loss, seed=args.seed,
                     render_size=args.size, device=args.device, clip_weight=args.clip_weight,
                     clip_model=args.clip_model, stroke_width=args.stroke_width))
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
               "stroke_width": anim.settings.get("stage2.stroke_width_used"),
               "frame_loss": anim.settings.get("stage2.frame_loss_used", loss.name), "points": int(motion.canonical.shape[0]),
               "strokes": args.strokes}
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
    p.add_argument("--frame-loss", default="auto", choices=["auto", "lpips", "vgg", "l2_blur", "l2", "l1"],
                   help="auto: LPIPS when torchvision's VGG16 weights are in torch's cache (or --allow-download), "
                        "else blurred L2 with a warning")
    p.add_argument("--allow-download", action="store_true",
                   help="let torchvision download the LPIPS trunk weights (VGG16) into torch's cache")
    p.add_argument("--clip-weight", type=float, default=0.0,
                   help="weight of the CLIP term in the stroke-stage loss (default 0: off; needs open_clip and "
                        "the --clip-model weights on disk)")
    p.add_argument("--clip-model", default="ViT-B-32:openai",
                   help="open_clip model for --clip-weight: ARCH:TAG (Hugging Face cache), a folder, or local-dir:PATH")
    p.add_argument("--canonical-time", type=float, default=None,
                   help="time (0..1) of the canonical frame the strokes are fitted in (default, moving camera: 0 unless "
                        "another frame is clearly better observed, the object still and its parts apart in the nearby "
                        "views; fixed camera: the middle of the clip, or 0 with depth maps, unless a frame there or at the "
                        "start hides part of the object); pick a moment when the parts are apart and "
                        "slow, e.g. a door open, a pendulum at the end of its swing")
    p.add_argument("--stroke-width", type=float, default=None,
                   help="width of the 3D strokes in pixels at --size (default: as wide as the lines in the frames, "
                        "measured at --size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    p.set_defaults(func=cmd_reconstruct3d)
