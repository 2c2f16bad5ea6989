"""Sample a learned motion prior for every caption and count the videos that move as captioned.

    python scripts/check_motion_prior.py [MODEL_DIR] [--num 12] [--steps 25] [--guidance 7.5] [--seed 0]
        [--threads 1] [--grid samples.png]

MODEL_DIR defaults to the bundled prior (core.guidance.learned_prior.bundled_motion_prior_path).
Loads it with the user's loader (load_diffusers_prior), samples `--num` videos per caption with
DDIM and classifier-free guidance, measures each with video_motion (ink centroid shift, rotation,
size ratio from first to last frame) and prints, per caption, how many match (learned_prior.matches)
and the median measured motion.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py
from _bootstrap import package_module  # noqa: E402  (the package, installed or a plain clone)

lp = package_module("core.guidance.learned_prior")
dp = package_module("core.guidance.diffusers_prior")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None)
    ap.add_argument("--num", type=int, default=12, help="videos per caption")
    ap.add_argument("--steps", type=int, default=25, help="DDIM steps")
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid", default=None, help="write the first two samples of every caption as a PNG grid")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = Path(args.model) if args.model else lp.bundled_motion_prior_path("modelscope")
    prior = dp.load_diffusers_prior(path, device="cpu")
    t0 = time.time()
    vids = lp.sample_diffusers_prior(prior, lp.CAPTIONS, args.num, steps=args.steps, guidance=args.guidance,
                                     seed=args.seed)
    print(f"{path}: {args.num} samples per caption, {args.steps} DDIM steps, guidance {args.guidance:g}, "
          f"{time.time() - t0:.0f} s")
    total = 0
    for i, c in enumerate(lp.CAPTIONS):
        ms = [lp.video_motion(v) for v in vids[i * args.num:(i + 1) * args.num]]
        ok = sum(lp.matches(c, m) for m in ms)
        total += ok
        med = {k: statistics.median(m[k] for m in ms) for k in ("dx", "dy", "rotation", "scale")}
        print(f"  {c:27s} {ok:3d}/{args.num}   median dx {med['dx']:+6.1f} px  dy {med['dy']:+6.1f} px  "
              f"rotation {med['rotation']:+6.1f} deg  scale {med['scale']:.2f}")
    print(f"  all captions: {total}/{args.num * len(lp.CAPTIONS)}")
    if args.grid:
        import numpy as np
        from PIL import Image

        rows = [np.concatenate(list((v.numpy() * 255).astype(np.uint8)), 1)
                for j, v in enumerate(vids) if j % args.num < 2]
        Image.fromarray(np.concatenate(rows, 0)).save(args.grid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
