"""Oracle check: how much does a small denoiser gain from being TOLD a motion's sign, per noise band?

    python scripts/motion_sign_oracle.py [--captions "rotating clockwise" "rotating counterclockwise"]
        [--videos 1200] [--steps 1200] [--batch 32] [--hidden 48] [--rotation-pivot 0] [--model DIR]

Draws videos of two opposite captions (core.synthetic_motion), encodes them with the prior's autoencoder
(default: the bundled modelscope_tiny), and trains two identical small (2+1)D conv eps denoisers on the same
batches (DDPM scaled-linear schedule, plain eps loss, t uniform in 50..999): one is given the sign (+1 for the
first caption, -1 for the second) as an input channel and in its FiLM embedding, the other zeros. It prints,
per DDPM band on held-out videos, both losses and the paired gap of the sign net with the sign flipped. If even
this oracle gains little, the eps objective barely rewards knowing the sign, whatever the architecture of the
prior. 1 thread: ~0.5 s/step at batch 32.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py
from _bootstrap import ROOT, package_module  # noqa: E402

sm = package_module("core.synthetic_motion")
BANDS = ((50, 150), (150, 300), (300, 500), (500, 700), (700, 900), (900, 1000))


class Block(torch.nn.Module):
    """Spatial 3x3 conv with FiLM from the embedding, then a temporal 3-tap conv; both residual."""

    def __init__(self, c: int):
        super().__init__()
        self.n1, self.n2 = torch.nn.GroupNorm(8, c), torch.nn.GroupNorm(8, c)
        self.space = torch.nn.Conv3d(c, c, (1, 3, 3), padding=(0, 1, 1))
        self.time = torch.nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))
        self.film = torch.nn.Linear(c, 2 * c)

    def forward(self, h, e):
        a, b = (x[..., None, None, None] for x in self.film(e).chunk(2, 1))
        h = h + self.space(torch.nn.functional.silu(self.n1(h) * (1 + a) + b))
        return h + self.time(torch.nn.functional.silu(self.n2(h)))


class Denoiser(torch.nn.Module):
    """eps(z_t, t, sign): latent + sign + x/y coordinate channels in, FiLM from (t, sign)."""

    def __init__(self, channels: int = 4, hidden: int = 48, blocks: int = 5):
        super().__init__()
        self.inp = torch.nn.Conv3d(channels + 3, hidden, 3, padding=1)
        self.blocks = torch.nn.ModuleList(Block(hidden) for _ in range(blocks))
        self.emb = torch.nn.Sequential(torch.nn.Linear(17, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden))
        self.out = torch.nn.Sequential(torch.nn.GroupNorm(8, hidden), torch.nn.SiLU(),
                                       torch.nn.Conv3d(hidden, channels, 3, padding=1))

    def forward(self, z, t, sign):
        B, _, T, H, W = z.shape
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
        extra = [sign.view(B, 1, 1, 1, 1), yy, xx]
        h = torch.cat([z] + [x.expand(B, 1, T, H, W) for x in extra], 1)
        f = t.float()[:, None] / 1000 * torch.arange(1, 9).float() * math.pi
        e = self.emb(torch.cat([f.sin(), f.cos(), sign[:, None]], 1))
        h = self.inp(h)
        for block in self.blocks:
            h = block(h, e)
        return self.out(h)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--captions", nargs=2, default=("rotating clockwise", "rotating counterclockwise"))
    ap.add_argument("--videos", type=int, default=1200)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--eval-every", type=int, default=400)
    ap.add_argument("--rotation-pivot", type=float, default=0.0, help="see core.synthetic_motion")
    ap.add_argument("--model", default=str(ROOT / "assets" / "motion_prior" / "modelscope_tiny"),
                    help="diffusers folder whose vae/ encodes the videos")
    args = ap.parse_args(argv)
    from diffusers import AutoencoderKL

    torch.set_num_threads(1)
    t0 = time.time()
    vae = AutoencoderKL.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32).eval()
    sf = float(vae.config.scaling_factor)

    @torch.no_grad()
    def latents(seed: int, n: int):
        vids, caps = sm.MotionVideos(seed=seed, rotation_pivot=args.rotation_pivot).batch(n, captions=args.captions)
        x = (vids.float() / 127.5 - 1).flatten(0, 1)[:, None].expand(-1, 3, -1, -1)
        z = torch.cat([vae.encode(x[i:i + 256]).latent_dist.mean for i in range(0, len(x), 256)])
        sign = torch.tensor([1.0 if c == args.captions[0] else -1.0 for c in caps])
        return z.unflatten(0, vids.shape[:2]).permute(0, 2, 1, 3, 4) * sf, sign

    Z, S = latents(0, args.videos)
    ZE, SE = latents(777, 192)
    print(f"latents {tuple(Z.shape)} in {time.time() - t0:.0f} s", flush=True)
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    ac = torch.cumprod(1 - betas, 0).float()
    torch.manual_seed(1)
    told, blind = Denoiser(hidden=args.hidden), Denoiser(hidden=args.hidden)
    blind.load_state_dict(told.state_dict())
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.0) for m in (told, blind)]
    g, ge = torch.Generator().manual_seed(2), torch.Generator().manual_seed(3)
    ev = [(torch.randint(lo, hi, (len(ZE),), generator=ge), torch.randn(ZE.shape, generator=ge)) for lo, hi in BANDS]

    def noisy(z, t, n):
        ab = ac[t].view(-1, 1, 1, 1, 1)
        return ab.sqrt() * z + (1 - ab).sqrt() * n

    @torch.no_grad()
    def evaluate(step: int) -> None:
        print(f"eval step {step}: eps loss blind / told (gain) / told with the sign flipped (paired gap)")
        for (t, n), (lo, hi) in zip(ev, BANDS):
            zt = noisy(ZE, t, n)
            right, flipped, none = ((m(zt, t, s) - n).pow(2).mean() for m, s in
                                    ((told, SE), (told, -SE), (blind, SE * 0)))
            print(f"  t {lo:3d}..{hi - 1:3d}: blind {none:.4f} told {right:.4f} ({100 * (none - right) / none:+.1f}%)"
                  f" flipped {100 * (flipped - right) / right:+.1f}%", flush=True)

    ts = time.time()
    for step in range(args.steps):
        idx = torch.randint(len(Z), (args.batch,), generator=g)
        t = torch.randint(50, 1000, (args.batch,), generator=g)
        n = torch.randn(Z[idx].shape, generator=g)
        zt = noisy(Z[idx], t, n)
        lr = 1e-3 * min(1, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for model, opt, s in ((told, opts[0], S[idx]), (blind, opts[1], S[idx] * 0)):
            for pg in opt.param_groups:
                pg["lr"] = lr
            loss = (model(zt, t, s) - n).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1} {(time.time() - ts) / (step + 1):.2f} s/step", flush=True)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            evaluate(step + 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
