"""3D sketch reconstruction speed: seconds per iteration of each stage.

    python bench/reconstruct3d.py [--size 64] [--points 1000] [--strokes 16] [--iters 40] [--loss l2_blur]
    python bench/reconstruct3d.py --size 400 --points 10000 --strokes 50 --loss lpips   # paper scale (GPU)

A synthetic stick figure (24 frames, moving camera) is written as a D-NeRF folder, then
stage 1 (motion guidance, points) and stage 2 (deformable 3D strokes) run for --iters
iterations each; the time per iteration of each stage is printed with the device.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from sketchmotion.core.pipelines.reconstruct3d import (MotionGuidanceConfig, StrokeConfig, fit_strokes,
                                                       motion_guidance)
from sketchmotion.core.posed_video import load_dnerf
from sketchmotion.core.scenes3d import render_dnerf_folder


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--strokes", type=int, default=16)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--loss", default="l2_blur", help="final frame loss: l2_blur, lpips, vgg")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        render_dnerf_folder("stick_figure", tmp, num_frames=24, size=args.size)
        video = load_dnerf(tmp, size=args.size)
        t0 = time.perf_counter()
        motion = motion_guidance(video, MotionGuidanceConfig(iterations=args.iters, num_points=args.points,
                                                             frame_loss=args.loss, render_size=args.size,
                                                             device=args.device))
        t1 = time.perf_counter()
        fit_strokes(video, motion, StrokeConfig(num_strokes=args.strokes, iterations=args.iters, frame_loss=args.loss,
                                                render_size=args.size, device=args.device))
        t2 = time.perf_counter()
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}; stick figure, "
          f"24 frames at {args.size}px, {args.points} points, {args.strokes} strokes, loss {args.loss}")
    print(f"stage 1 (motion guidance): {(t1 - t0) / args.iters * 1000:.0f} ms/iteration ({args.iters} iterations)")
    print(f"stage 2 (3D strokes)     : {(t2 - t1) / args.iters * 1000:.0f} ms/iteration "
          f"(incl. distilling the stage-1 field)")


if __name__ == "__main__":
    main()
