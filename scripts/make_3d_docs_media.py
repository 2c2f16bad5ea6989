"""README's 3D picture: a walking figure recovered from a synthetic posed video, at README's settings.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/make_3d_docs_media.py [--seed 0]

Writes docs/walker_3d.png (top: three input frames; bottom: the recovered 3D strokes from a
turntable camera at the same times), docs/walker_3d_turntable.gif, and prints the motion
metrics (core.metrics.motion_report) and the CPU seconds of the reconstruction.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from sketchmotion.core.metrics import motion_report  # noqa: E402
from sketchmotion.core.pipelines.reconstruct3d import documented_config, reconstruct3d, stroke_samples  # noqa: E402
from sketchmotion.core.posed_video import load_dnerf  # noqa: E402
from sketchmotion.core.render3d import camera_path, render_3d, save_images  # noqa: E402
from sketchmotion.core.scenes3d import load_ground_truth, render_dnerf_folder  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        render_dnerf_folder("walker", tmp, num_frames=24, size=128, seed=args.seed)
        video = load_dnerf(tmp, size=96)
        gt = load_ground_truth(tmp)["samples"]
    t0 = time.process_time()
    anim, motion = reconstruct3d(video, documented_config(seed=args.seed, device="cpu"))
    cpu = time.process_time() - t0
    rep = motion_report(stroke_samples(anim.frames.reshape(anim.num_frames, -1, 4, 3)), gt)
    print(f"walker, moving camera, 96 px, 24 frames: strokes Chamfer {rep['chamfer_pct']:.2f} % of the diagonal, "
          f"velocity error {rep['velocity_ratio']:.2f}x, tracking error {rep['tracking_ratio']:.2f}x of the still "
          f"sketch; {cpu:.0f} CPU seconds (1 thread)")
    views = camera_path("turntable", 24, size=160, anim=anim, elevation=10.0)  # up derived from the input cameras
    turn = (render_3d(anim, views).clamp(0, 1).numpy() * 255 + 0.5).astype("uint8")
    save_images(turn, os.path.join(args.out, "walker_3d_turntable.gif"), fps=8)
    from PIL import Image

    inputs = [(video.frames[i].clamp(0, 1).numpy() * 255 + 0.5).astype("uint8") for i in (0, 6, 12)]
    inputs = [np.asarray(Image.fromarray(x).resize((160, 160))) for x in inputs]
    row = np.concatenate([np.concatenate(inputs, 1), np.concatenate([turn[i] for i in (0, 6, 12)], 1)], 0)
    Image.fromarray(row).save(os.path.join(args.out, "walker_3d.png"))


if __name__ == "__main__":
    main()
