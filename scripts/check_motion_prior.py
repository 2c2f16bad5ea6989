"""Sample a learned motion prior for every caption and count the videos that move as captioned.

    python scripts/check_motion_prior.py [MODEL_DIR] [--num 12] [--steps 25] [--guidance 7.5] [--seed 0]
        [--threads 1] [--grid samples.png] [--data] [--gaps] [--rotation-pivot 0.4]

MODEL_DIR defaults to the bundled prior (core.guidance.learned_prior.bundled_motion_prior_path).
Loads it with the user's loader (load_diffusers_prior), samples `--num` videos per caption with
DDIM and classifier-free guidance, measures each with video_motion (ink centroid shift, rotation,
size ratio from first to last frame) and prints, per caption, how many match (learned_prior.matches)
and the median measured motion.

Diagnostics (cheap, no sampling):
- `--data`: the same count on `--num` synthetic training videos per caption (core.synthetic_motion)
  and on their round trip through the model's autoencoder: whether the measure and the 8x-down
  latents keep each motion (they must, or no prior could learn it); for rotations also how often
  a frame's latent turned the captioned way matches the next frame's latent better than turned the
  other way (whether the sign is visible frame to frame at the latents' 8x8 resolution);
- `--gaps`: the paired loss gap (opposite caption - right caption) / right, in % of the eps loss,
  per caption and DDPM timestep band, on those videos: where the prior uses its caption. A caption
  whose gap is ~0 in every band is ignored by the model. Also how much the prediction changes at
  all between a caption and its opposite (~0: the model does not tell the two captions apart).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

BANDS = ((50, 150), (150, 300), (300, 500), (500, 700), (700, 900), (900, 1000))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py
from _bootstrap import package_module  # noqa: E402  (the package, installed or a plain clone)

lp = package_module("core.guidance.learned_prior")
dp = package_module("core.guidance.diffusers_prior")
sm = package_module("core.synthetic_motion")


def _turned(z: torch.Tensor, degrees: float) -> torch.Tensor:
    """Latent frames [T, C, h, w] turned about the canvas centre (clockwise on screen for degrees > 0)."""
    a = torch.deg2rad(torch.tensor(float(degrees)))
    theta = torch.stack([torch.stack([a.cos(), a.sin(), a * 0]), torch.stack([-a.sin(), a.cos(), a * 0])])[None]
    grid = torch.nn.functional.affine_grid(theta.expand(len(z), -1, -1), list(z.shape), align_corners=False)
    return torch.nn.functional.grid_sample(z, grid, align_corners=False)


def latent_turn_visible(z: torch.Tensor, degrees_per_frame: float) -> bool:
    """Whether latents [T, C, h, w] of a rotating video step from frame to frame the captioned way."""
    z = z - z.mean((0, 2, 3), keepdim=True)
    err = {s: float((_turned(z[:-1], s * degrees_per_frame) - z[1:]).pow(2).mean()) for s in (1, -1)}
    return err[1] < err[-1]


@torch.no_grad()
def data_report(prior, num: int, seed: int, gaps: bool, rotation_pivot: float = 0.0) -> None:
    """Motion counts on synthetic videos and their autoencoder round trip; optionally the caption loss gaps."""
    data = sm.MotionVideos(seed=seed + 1000, rotation_pivot=rotation_pivot)  # not the training draw (seeds 0..)
    latents = {}
    for c in lp.CAPTIONS:
        samples = [data.sample(c) for _ in range(num)]
        frames = torch.stack([s.frames for s in samples])  # [N, T, H, W]
        x = (frames.flatten(0, 1) * 2 - 1)[:, None].expand(-1, 3, -1, -1).to(prior.vae_dtype)
        z = prior.vae.encode(x).latent_dist.mean
        rec = ((prior.vae.decode(z).sample.float() + 1) / 2).clamp(0, 1).mean(1).unflatten(0, frames.shape[:2])
        latents[c] = (z.float() - prior.shift_factor).unflatten(0, frames.shape[:2]).permute(0, 2, 1, 3, 4) \
            * prior.scaling_factor
        row = []
        for name, vids in (("videos", frames), ("autoencoded", rec)):
            ms = [lp.video_motion(v) for v in vids]
            row.append(f"{name} {sum(lp.matches(c, m) for m in ms):2d}/{num} (median rotation "
                       f"{statistics.median(m['rotation'] for m in ms):+6.1f} deg)")
        if sm.MOTIONS[c][0] == "rotate":
            zs = z.float().unflatten(0, frames.shape[:2])
            seen = sum(latent_turn_visible(zz, s.params["degrees_per_frame"]) for zz, s in zip(zs, samples))
            row.append(f"latent turn visible {seen}/{num}")
        print(f"  {c:27s} " + "   ".join(row))
    if not gaps:
        return
    ac = prior.sds.schedule.alphas_cumprod.float()
    g = torch.Generator().manual_seed(seed)
    emb = {}
    for c in lp.CAPTIONS:
        prior.prepare(c, "")
        emb[c] = prior._current[1:]
    tables = {"(opposite - right) / right caption eps loss, %": ({}, "+10.2f"),
              "|eps(right caption) - eps(opposite)| / |eps(right caption)|, %": ({}, "10.2f")}
    (gap_rows, _), (delta_rows, _) = tables.values()
    for c in lp.CAPTIONS:
        z0 = latents[c]
        cells, deltas = [], []
        for lo, hi in BANDS:
            t = torch.randint(lo, hi, (len(z0),), generator=g)
            noise = torch.randn(z0.shape, generator=g)
            ab = ac[t].view(-1, 1, 1, 1, 1)
            zt = (ab.sqrt() * z0 + (1 - ab).sqrt() * noise).to(prior.dtype)
            loss, pred = {}, {}
            for k, cap in (("right", c), ("opposite", lp.OPPOSITE[c])):
                e = emb[cap].expand(len(z0), -1, -1)
                pred[k] = prior.unet(zt, t.to(prior.device), encoder_hidden_states=e,
                                     **dp.text_condition(prior.unet, e)).sample.float()
                loss[k] = (pred[k] - noise).pow(2).mean((1, 2, 3, 4))
            cells.append(float(100 * (loss["opposite"] - loss["right"]).mean() / loss["right"].mean()))
            deltas.append(float(100 * (pred["right"] - pred["opposite"]).norm() / pred["right"].norm()))
        gap_rows[c], delta_rows[c] = cells, deltas
    for title, (rows, fmt) in tables.items():
        print(f"  {title}, by DDPM timestep band:")
        print("  " + " " * 27 + "".join(f"{f'{lo}..{hi - 1}':>10s}" for lo, hi in BANDS))
        for c, cells in rows.items():
            print(f"  {c:27s}" + "".join(format(v, fmt) for v in cells))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None)
    ap.add_argument("--num", type=int, default=12, help="videos per caption")
    ap.add_argument("--steps", type=int, default=25, help="DDIM steps")
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid", default=None, help="write the first two samples of every caption as a PNG grid")
    ap.add_argument("--data", action="store_true",
                    help="instead of sampling: count motions on synthetic videos and their autoencoder round trip")
    ap.add_argument("--gaps", action="store_true", help="with --data: the caption loss gap by noise band")
    ap.add_argument("--rotation-pivot", type=float, default=0.0,
                    help="with --data: rotations drawn about a pivot above the drawing (train_motion_prior's option)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = Path(args.model) if args.model else lp.bundled_motion_prior_path("modelscope")
    prior = dp.load_diffusers_prior(path, device="cpu")
    if args.data or args.gaps:
        print(f"{path}: {args.num} synthetic videos per caption (seed {args.seed + 1000})")
        data_report(prior, args.num, args.seed, args.gaps, args.rotation_pivot)
        return 0
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
