"""What the learned flow prior knows: sample it for each caption with ComfyUI's own sampler and measure.

    COMFYUI_PATH=/path/to/ComfyUI python scripts/check_flow_prior.py [--folder assets/motion_prior/wan_tiny]
        [--num 12] [--steps 20] [--cfg 5] [--seeds 0 1] [--negative empty|opposite] [--png samples.png]

Loads the prior with comfy.sd.load_diffusion_model_state_dict and comfy.sd.VAE (as Load Diffusion Model
and Load VAE do), samples `--num` videos per caption and seed (KSampler euler / simple, empty-prompt
negative), and prints per caption how many moved the captioned way (learned_prior.matches on
video_motion of the decoded frames) and the median shift / scale. Rotation is not measured: the VAE
decodes a blurred sketch, on which the ink-alignment angle search is unreliable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py
from _bootstrap import package_module  # noqa: E402  (the package, installed or a plain clone)

flow = package_module("core.guidance.learned_flow_prior")
lp = package_module("core.guidance.learned_prior")
comfy_models = package_module("testing.comfy_models")
CAPTIONS = ("moving left", "moving right", "moving up", "moving down", "growing", "shrinking")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default=str(flow.bundled_flow_prior_path()))
    ap.add_argument("--comfyui", default=os.environ.get("COMFYUI_PATH", ""))
    ap.add_argument("--num", type=int, default=12)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--captions", nargs="+", default=list(CAPTIONS))
    ap.add_argument("--negative", choices=("empty", "opposite"), default="empty",
                    help="negative prompt: \"\" (as users run it) or the opposite caption (a diagnostic: guidance "
                    "then amplifies only what tells the two directions apart)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--png", default=None, help="write the first seed's samples as one image (rows = videos)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.comfyui)
    import comfy.cli_args

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True
    import comfy.sd
    import comfy.utils

    files = flow.bundled_flow_prior_files(args.folder)
    model = comfy.sd.load_diffusion_model_state_dict(comfy.utils.load_torch_file(str(files["model"])))
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(files["vae"])))
    opposite = package_module("core.synthetic_motion").OPPOSITE
    negatives = [opposite[c] if args.negative == "opposite" else "" for c in args.captions]
    for seed in args.seeds:
        t0 = time.time()
        with torch.inference_mode():
            videos = comfy_models.sample_flow_prior(model, vae, args.captions, num=args.num, steps=args.steps, cfg=args.cfg,
                                                    seed=seed, folder=args.folder, negatives=negatives)
        print(f"seed {seed}: {len(videos)} videos in {time.time() - t0:.1f} s")
        for i, c in enumerate(args.captions):
            ms = [lp.video_motion(v) for v in videos[i * args.num:(i + 1) * args.num]]
            ok = sum(lp.matches(c, m) for m in ms)
            med = {k: statistics.median(m[k] for m in ms) for k in ("dx", "dy", "scale")}
            print(f"  {c:<14} {ok:>2}/{args.num}  median dx {med['dx']:+6.1f} dy {med['dy']:+6.1f} "
                  f"scale {med['scale']:.2f}")
        if args.png and seed == args.seeds[0]:
            from PIL import Image

            img = torch.cat([torch.cat(list(v), 1) for v in videos], 0)
            Image.fromarray((img.numpy() * 255).astype("uint8")).save(args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
