"""Score distillation through a ComfyUI MODEL: seconds per SDS pass and peak memory.

    COMFYUI_PATH=/path/to/ComfyUI python bench/comfy_prior.py [--frames 24] [--size 256] [--steps 2] [--full]

Builds a Wan 2.1 T2V model with ComfyUI's own classes and state-dict loader (tiny: one block,
dim 128; --full: the 1.3B architecture, dim 1536 x 30 blocks, random weights, meant for a GPU)
and the Wan 2.1 VAE architecture with random weights, runs the Animate Sketch trainer inside
ComfyUI's guider for a few steps (two passes each) and prints the time per pass. Needs a ComfyUI
checkout (COMFYUI_PATH); runs on the GPU when there is one, else on the CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="the full-size Wan 2.1 1.3B architecture (GPU)")
    args = ap.parse_args()
    comfy_path = os.environ.get("COMFYUI_PATH")
    if not comfy_path:
        sys.exit("set COMFYUI_PATH to a ComfyUI checkout (0.3.64 or later)")
    sys.path[:0] = [comfy_path]
    import comfy.cli_args

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True
    import comfy.model_management as mm
    import comfy.sd as comfy_sd

    from sketchmotion.testing.comfy_models import (FULL_WAN_1_3B, TINY_WAN, conditioning, tiny_wan_state_dict,
                                                   wan_vae_state_dict)

    from sketchmotion.core import svg
    from sketchmotion.core.pipelines.animate import AnimateConfig, AnimationTrainer
    from sketchmotion.nodes.comfy_prior import ComfyVideoPrior

    dims = FULL_WAN_1_3B if args.full else TINY_WAN
    state = tiny_wan_state_dict(0, dims)
    with torch.inference_mode():  # as ComfyUI's loader nodes run
        model = comfy_sd.load_diffusion_model_state_dict(state)
        vae = comfy_sd.VAE(sd=wan_vae_state_dict())
    del state
    prior = ComfyVideoPrior(model, vae, conditioning(2), conditioning(3))
    sketch = svg.load(ROOT / "sketches" / "cat.svg", normalize=args.size)
    cfg = AnimateConfig(prompt="", num_frames=args.frames, render_size=args.size, steps=args.steps)
    device = mm.get_torch_device()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer = AnimationTrainer(sketch, prior, cfg, device=device)
    t0 = time.perf_counter()
    trainer.run()
    dt = time.perf_counter() - t0
    passes = args.steps * len(trainer.passes)
    print(f"device {device}, Wan 2.1 {'1.3B' if args.full else 'tiny'} (random weights) + Wan VAE, "
          f"{prior.describe(args.frames, args.size, args.size)}")
    print(f"seconds per SDS pass: {dt / passes:.2f} ({passes} passes, first included)")
    line = f"peak process RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    if device.type == "cuda":
        line += f", CUDA max allocated {torch.cuda.max_memory_allocated() / 2**20:.0f} MB"
    print(line)


if __name__ == "__main__":
    main()
