"""Train the pack's small flow-matching text-to-video prior for ComfyUI (a tiny Wan 2.1 + a TAESD).

    COMFYUI_PATH=/path/to/ComfyUI python scripts/train_flow_prior.py
        [--out assets/motion_prior/wan_tiny] [--steps 3000] [--videos 3000] [--batch 24]
        [--seed 0] [--threads 1] [--init FOLDER] [--contrast 1 --margin 0.05] [--probe] [--quick]

What it does (deterministic for a given seed and thread count):
1. draws `--videos` captioned videos with core.synthetic_motion (8 frames at 64x64, the `--captions`:
   translations, growing, shrinking), as scripts/train_motion_prior.py does;
2. builds the VAE: ComfyUI's TAESD at 16 latent channels (what comfy.sd.VAE builds for a state
   dict with `taesd_decoder.1.weight`), with weights SET, not trained: ComfyUI fixes its width at
   64 channels (2.5M parameters, ~1 GMAC per 64x64 frame each way), too slow to train on a
   shared CPU. The encoder computes the frame's ink (1 - grey), blurs it, averages it over 2x2 pixels,
   blurs it again and puts the 4x4 such values of each 8x8 cell into the 16 channels (space-to-depth), scaled per
   channel so that Wan 2.1's latent_format.process_in maps them to zero mean and unit variance
   over the training frames. Latents keep positions (the ink is blurred by ~2 px, a smooth signal a
   tiny transformer learns far faster than raw 2-px strokes). The decoder is a
   smooth upsampling of each cell's mean ink (a blurred sketch): enough to measure motion;
3. loads a tiny Wan 2.1 T2V state dict (`--dim` wide, ComfyUI makes dim // 128 heads) through
   comfy.sd.load_diffusion_model_state_dict (what Load Diffusion Model runs) and trains the module
   ComfyUI built (model.model.diffusion_model) with ComfyUI's Wan objective: x_t = (1 - s) x0 + s eps,
   target eps - x0, timestep model_sampling.timestep(s) = 1000 s, x0 = process_latent_in(VAE latent).
   Noise levels s: a `--mid-share` uniform in `--mid` (the content partly visible), the rest half as
   Wan samples them (shift 8), half uniform. Clips of `--clip-frames` frames at `--clip-stride` are cut
   from the videos (one length per step). The loss adds `--motion-weight` x the frame-to-frame
   difference of the error (its optimum is still the conditional mean) and, with `--contrast`, a hinge
   asking the loss with the opposite caption to exceed the right one's by `--margin` on the same inputs.
   Text: the bundled tiny CLIP text encoder (copied from assets/motion_prior/modelscope_tiny, frozen),
   zero-padded to 4096; 10% empty captions (classifier-free guidance). AdamW, cosine decay, EMA;
4. writes fp16 safetensors atomically (a temporary folder renamed at the end): the diffusion
   model (Load Diffusion Model format), the VAE (Load VAE format), text_encoder/, tokenizer/
   and training.json.

The log prints the loss and, on fixed batches (8-frame videos and 2-frame clips), the loss with the
right caption and how much worse the opposite and the empty caption do, at mid (s 0.3-0.7) and high
(0.7-0.95) noise: the caption's direction is used where opp-right > 0. `--probe` prints how much two
captions change each block's hidden state.

Why the direction is hard for this model (measured 2026-11-30, see assets/motion_prior/README.md):
Wan has RoPE only, and ComfyUI's Video Prior encodes frames one by one with an image VAE, so nothing
tells the model a token's absolute frame or place when the content is invisible (s near 1): there it
cannot use the caption at all (the diffusers prior, a UNet whose convolutions see the borders, learnt
the sign there). Lower, the video itself mostly shows which way it moves; the caption only helps where
the content is faint and the motion is not yet visible, by a few percent of the loss.

Status: not bundled. The plain objective never separated the right from the opposite caption
(within +-0.0006); `--contrast` does (stage 1: the defaults with `--steps 2400 --batch 16`, stopped at
the 1,200-step snapshot; stage 2: `--init` stage 1 `--contrast 1 --margin 0.05 --steps 1200 --batch 16`;
stage 3: `--init` stage 2 `--contrast 1 --margin 0.15 --clip-frames 2 3 8 8 --steps 1000 --batch 16
--seed 1`; ~55 CPU-minutes in all), but samples and score distillation still do not follow the caption
(numbers in assets/motion_prior/README.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py, scripts/_training.py
from _bootstrap import ROOT, package  # noqa: E402  (the package, installed or a plain clone)
from _training import EMA, opposite_indices, replace_folder, temporary_folder  # noqa: E402

_pkg = package()
synthetic_motion = importlib.import_module(_pkg.__name__ + ".core.synthetic_motion")
flow = importlib.import_module(_pkg.__name__ + ".core.guidance.learned_flow_prior")
randomize = importlib.import_module(_pkg.__name__ + ".testing.comfy_models").randomize
CAPTIONS, OPPOSITE = synthetic_motion.CAPTIONS, synthetic_motion.OPPOSITE
TRAINED = ("moving left", "moving right", "moving up", "moving down", "growing", "shrinking")

TEXT_SOURCE = ROOT / "assets" / "motion_prior" / "modelscope_tiny"
WAN_DIMS = dict(dim=256, ffn_dim=512, num_layers=2, num_heads=2)  # ComfyUI reads all but text_dim from the weights
SHIFT = 8.0  # WAN21_T2V sampling_settings
DECODE_GAIN = 5.0  # darkness per unit of a cell's mean ink in the decoded frames
VAE_SCALE = 0.1  # TAESD vae_scale: the decoder sees latents * 0.1 (inside its tanh clamp's near-linear range)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def import_comfy(path: str | None):
    """Put ComfyUI on sys.path and make it run on the CPU unless CUDA is there."""
    path = path or os.environ.get("COMFYUI_PATH", "")
    if not path or not (Path(path) / "comfy").is_dir():
        raise SystemExit("Set COMFYUI_PATH (or --comfyui) to a ComfyUI checkout.")
    if path not in sys.path:
        sys.path.insert(0, path)
    import comfy.cli_args

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True
    import comfy.latent_formats
    import comfy.sd  # noqa: F401

    return comfy


# ------------------------------------------------------------------- the VAE
TENT = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16


def _blur(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.conv2d(x, TENT.view(1, 1, 3, 3), padding=1)


def ink_cells(frames: torch.Tensor) -> torch.Tensor:
    """Grey frames [N, H, W] in 0..1 -> [N, 16, H/8, W/8]: ink blurred (3x3 tent), averaged over 2x2 pixels,
    blurred twice more on that grid (in all a blur of ~2 px), each 8x8 cell's 4x4 values as channels
    (channel = 4 * sub-row + sub-column). The fast equivalent of the TAESD encoder before its last 1x1 conv."""
    ink = (1 - frames.float()).unsqueeze(1)
    pooled = _blur(_blur(torch.nn.functional.avg_pool2d(_blur(ink), 2)))
    return torch.nn.functional.pixel_unshuffle(pooled, 4)


def _blur_block(block) -> None:
    """A TAESD Block (ReLU(conv(ReLU(conv(ReLU(conv(x))))) + x)) set to compute the tent blur of channel 0:
    the convs give [B(x), x] -> [B(x), x] -> B(x) - x; + x (skip) -> B(x) (>= 0, so the ReLUs pass it)."""
    c0, c2, c4 = block.conv[0], block.conv[2], block.conv[4]
    _set(c0, lambda w: (w[0, 0].copy_(TENT), w[1, 0, 1, 1].fill_(1.0)))
    _set(c2, lambda w: (w[0, 0, 1, 1].fill_(1.0), w[1, 1, 1, 1].fill_(1.0)))
    _set(c4, lambda w: (w[0, 0, 1, 1].fill_(1.0), w[0, 1, 1, 1].fill_(-1.0)))


def _set(conv, weight=None, bias=None):
    with torch.no_grad():
        conv.weight.zero_()
        if weight is not None:
            weight(conv.weight)
        if conv.bias is not None:
            conv.bias.zero_()
            if bias is not None:
                bias(conv.bias)


def build_taesd(comfy, ink_mean: float, ink_std: float):
    """ComfyUI's TAESD (16 channels) with the weights described in the module docstring."""
    import comfy.taesd.taesd as taesd

    vae = taesd.TAESD(latent_channels=16)
    fmt = comfy.latent_formats.Wan21()
    mean, std = fmt.latents_mean.flatten(), fmt.latents_std.flatten()
    for m in vae.modules():  # every conv to zero: each Block is then ReLU(x) = x on non-negative ink
        if isinstance(m, torch.nn.Conv2d):
            _set(m)
    enc, dec = vae.taesd_encoder, vae.taesd_decoder

    def first(w):  # ink = 1 - mean(rgb), input in 0..1
        w[0, :, 1, 1] = -1 / 3

    _set(enc[0], first, lambda b: b.__setitem__(0, 1.0))

    def avg2(w):  # stride 2, padding 1: output (i, j) sees inputs 2i-1..2i+1; the 2x2 block is taps 1..2
        w[0, 0, 1:, 1:] = 0.25

    _set(enc[2], avg2)
    for i in (1, 3, 4):  # blur at 64 px, then twice at 32 px
        _blur_block(enc[i])

    def s2d_a(w):  # 1 channel -> 4 (space-to-depth by 2)
        for da in (0, 1):
            for db in (0, 1):
                w[2 * da + db, 0, 1 + da, 1 + db] = 1.0

    def s2d_b(w):  # 4 channels -> 16: channel = 4 * (2 da2 + db2) + (2 da1 + db1)
        for da in (0, 1):
            for db in (0, 1):
                for k in range(4):
                    w[4 * (2 * da + db) + k, k, 1 + da, 1 + db] = 1.0

    _set(enc[6], s2d_a)
    _set(enc[10], s2d_b)
    # reorder to channel = 4 * sub-row + sub-col (sub-row = 2 da2 + da1, sub-col = 2 db2 + db1), then the affine
    perm = []
    for c in range(16):
        r, s = divmod(c, 4)
        da2, da1, db2, db1 = r // 2, r % 2, s // 2, s % 2
        perm.append(4 * (2 * da2 + db2) + (2 * da1 + db1))
    a = VAE_SCALE * std / ink_std  # encoder output / VAE_SCALE = mean_c + std_c (ink - m) / sd
    b = VAE_SCALE * (mean - std * ink_mean / ink_std)

    def last_w(w):
        for c in range(16):
            w[c, perm[c], 1, 1] = a[c]

    _set(enc[14], last_w, lambda bias: bias.copy_(b))
    with torch.no_grad():
        vae.vae_scale.fill_(VAE_SCALE)  # encode: enc(x) / vae_scale + vae_shift; decode: dec((z - shift) * scale)
        vae.vae_shift.zero_()

    # decoder: undo the affine, mean over the 16 sub-cells -> cell ink; upsample (nearest + tent blur) x3
    # the decoder's Blocks stay zero (identity on non-negative ink)
    def dec_in(w):
        w[0, :, 1, 1] = 1.0 / (16 * a)

    _set(dec[1], dec_in, lambda bias: bias.__setitem__(0, float(-(b / a).sum() / 16)))

    for i in (7, 12, 17):
        _set(dec[i], lambda w: w[0, 0].copy_(TENT))

    def out_w(w):
        w[:, 0, 1, 1] = -DECODE_GAIN

    _set(dec[19], out_w, lambda bias: bias.fill_(1.0))
    return vae


# ------------------------------------------------------------------ the model
def wan_state_dict(comfy, seed: int, dims: dict | None = None) -> dict:
    """Initial weights of the tiny Wan 2.1 T2V (fp32): ComfyUI's WanModel, N(0, 1/fan_in), norms 1, zero head,
    and only the first CLIP-width columns of the text embedding non-zero (the rest of the 4096 input is zero)."""
    import comfy.ldm.wan.model as wan_model
    import comfy.ops as ops

    m = wan_model.WanModel(model_type="t2v", in_dim=16, out_dim=16, text_dim=flow.TEXT_DIM,
                           operations=ops.disable_weight_init, **(dims or WAN_DIMS))
    randomize(m, seed)
    with torch.no_grad():
        m.head.head.weight.zero_()
        w = m.text_embedding[0].weight
        hidden = 32
        w[:, hidden:] = 0
        w[:, :hidden] *= (flow.TEXT_DIM / hidden) ** 0.5
    return {k: v.float() for k, v in m.state_dict().items()}


def load_model(comfy, sd: dict):
    import comfy.sd

    model = comfy.sd.load_diffusion_model_state_dict(sd, model_options={"dtype": torch.float32})
    assert type(model.model).__name__ == "WAN21", type(model.model).__name__
    return model


# ----------------------------------------------------------------------- save
def export(out: Path, model_sd: dict, vae_sd: dict, text_dir: Path, info: dict) -> None:
    from safetensors.torch import save_file

    tmp = temporary_folder(out)
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in model_sd.items()}, str(tmp / flow.MODEL_FILE))
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in vae_sd.items()}, str(tmp / flow.VAE_FILE))
    for sub in ("text_encoder", "tokenizer"):
        shutil.copytree(text_dir / sub, tmp / sub)
    (tmp / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    readme = out / "README.md"
    if readme.is_file():
        shutil.copy(readme, tmp / "README.md")
    replace_folder(tmp, out)


EVAL_BANDS = {"mid": (0.3, 0.7), "high": (0.7, 0.95)}


@torch.no_grad()
def probe_captions(dm, ms, z_all, ctx, pairs=((0, 1), (4, 5), (0, 8))) -> None:
    """Does the caption reach the output? Relative change of each block's hidden state (and of the
    output) between two captions on the same noisy input, at s = 0.5."""
    z = z_all[:8]
    s = torch.full((len(z),), 0.5)
    zt = 0.5 * z + 0.5 * torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
    for a, b in pairs:
        states = []
        hooks = [blk.register_forward_hook(lambda m, i, o: states.append(o)) for blk in dm.blocks]
        outs = [dm(zt, ms.timestep(s), context=ctx[[c] * len(z)]) for c in (a, b)]
        for h in hooks:
            h.remove()
        n = len(dm.blocks)
        rel = [float((states[i] - states[n + i]).norm() / states[i].norm().clamp_min(1e-12)) for i in range(n)]
        o = float((outs[0] - outs[1]).norm() / outs[0].norm().clamp_min(1e-12))
        log(f"probe captions {a} vs {b}: block hidden change {', '.join(f'{r:.3g}' for r in rel)}; output {o:.3g}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "assets" / "motion_prior" / flow.FOLDER))
    ap.add_argument("--comfyui", default=None, help="ComfyUI checkout (default: $COMFYUI_PATH)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--videos", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--dropout", type=float, default=0.1, help="share of empty captions")
    ap.add_argument("--captions", nargs="+", default=list(TRAINED),
                    help="captions to train (the empty caption is added for classifier-free guidance)")
    ap.add_argument("--mid", type=float, nargs=2, default=(0.5, 0.9), metavar=("LO", "HI"),
                    help="noise levels s drawn uniformly in [LO, HI] for a --mid-share of the samples: where the "
                    "content is partly visible and the caption tells how frames relate (a RoPE-only Wan cannot use "
                    "the caption at s near 1, see the docstring)")
    ap.add_argument("--mid-share", type=float, default=0.8)
    ap.add_argument("--wan-share", type=float, default=0.5,
                    help="share of the other noise levels drawn with Wan's shift 8 (the rest uniform in (0, 1))")
    ap.add_argument("--dim", type=int, default=WAN_DIMS["dim"], help="width (ComfyUI makes dim // 128 heads)")
    ap.add_argument("--layers", type=int, default=WAN_DIMS["num_layers"])
    ap.add_argument("--ffn", type=int, default=WAN_DIMS["ffn_dim"])
    ap.add_argument("--init", default=None, help="continue from this saved prior folder (new lr schedule)")
    ap.add_argument("--clip-frames", type=int, nargs="+", default=[2, 3, 8],
                    help="train on clips of these many frames (one drawn per step): in a short clip the video "
                    "itself hardly shows which way it moves, so the caption must")
    ap.add_argument("--clip-stride", type=int, nargs="+", default=[1, 2],
                    help="frame strides of the clips (2: twice the motion per frame)")
    ap.add_argument("--motion-weight", type=float, default=4.0,
                    help="weight of the frame-to-frame difference of the prediction error in the loss")
    ap.add_argument("--contrast", type=float, default=0.0,
                    help="weight of a hinge that makes the loss with the opposite caption exceed the loss with the "
                    "right one by --margin (relative) on the same inputs (costs a second pass)")
    ap.add_argument("--margin", type=float, default=0.05)
    ap.add_argument("--attn-gain", type=float, default=2.5,
                    help="multiply the attention q/k RMSNorm weights of a new model by this (sharper attention)")
    ap.add_argument("--probe", action="store_true",
                    help="print, per block, how much the hidden state changes between two captions, then exit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-every", type=int, default=1000, help="0: only at the end")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run (48 videos, 20 steps of batch 8)")
    args = ap.parse_args(argv)
    if args.quick:
        args.videos, args.steps, args.batch = min(args.videos, 48), min(args.steps, 20), min(args.batch, 8)
        args.save_every, args.eval_every = 0, 10
    torch.set_num_threads(args.threads)
    comfy = import_comfy(args.comfyui)
    out = Path(args.out)
    t0 = time.time()

    data = synthetic_motion.MotionVideos(seed=args.seed)
    videos, caps = data.batch(args.videos, captions=tuple(args.captions))
    cap_index = torch.tensor([CAPTIONS.index(c) for c in caps])
    log(f"{len(videos)} videos {tuple(videos.shape[1:])} drawn in {time.time() - t0:.1f} s")

    # VAE: per-channel affine from the ink statistics of the training frames
    cells = ink_cells(videos.flatten(0, 1).float() / 255)  # [N*T, 16, 8, 8]
    ink_mean, ink_std = float(cells.mean()), float(cells.std())
    if args.init:  # keep the latent scaling the model was trained with
        prev = json.loads((Path(args.init) / "training.json").read_text())
        ink_mean, ink_std = prev["ink_mean"], prev["ink_std"]
    vae = build_taesd(comfy, ink_mean, ink_std)
    fmt = comfy.latent_formats.Wan21()
    with torch.no_grad():  # the fast path must be what the TAESD module computes
        probe = videos[:2].flatten(0, 1).float() / 255
        x = probe[:, None].expand(-1, 3, -1, -1) * 2 - 1
        ref = fmt.process_in(vae.encode(x).movedim(0, 1)[None])[0].movedim(0, 1)
        fast = (ink_cells(probe) - ink_mean) / ink_std
        err = float((ref - fast).abs().max())
        assert err < 1e-4, f"TAESD and its fast path differ by {err}"
    z_all = ((cells - ink_mean) / ink_std).unflatten(0, videos.shape[:2]).movedim(1, 2).contiguous()  # [N,16,T,8,8]
    del cells
    log(f"latents {tuple(z_all.shape[1:])}: ink mean {ink_mean:.4f} std {ink_std:.4f} (TAESD = fast path within {err:.1e})")

    # text: the bundled tiny CLIP, copied beside the prior
    text_dir = out.with_name(out.name + ".text")
    shutil.rmtree(text_dir, ignore_errors=True)
    text_dir.mkdir(parents=True)
    for sub in ("text_encoder", "tokenizer"):
        shutil.copytree(TEXT_SOURCE / sub, text_dir / sub)
    (text_dir / flow.MODEL_FILE).touch()
    (text_dir / flow.VAE_FILE).touch()
    texts = list(CAPTIONS) + [""]
    ctx = flow.text_embeddings(texts, text_dir)  # [9, 8, 4096]
    empty = len(CAPTIONS)

    torch.manual_seed(args.seed)
    if args.init:
        import comfy.utils

        init = {k: v.float() for k, v in comfy.utils.load_torch_file(str(Path(args.init) / flow.MODEL_FILE)).items()}
        model = load_model(comfy, init)
        info_init = json.loads((Path(args.init) / "training.json").read_text())
        log(f"initialised from {args.init} ({info_init.get('steps_done')} steps)")
    else:
        info_init = None
        dims = dict(dim=args.dim, ffn_dim=args.ffn, num_layers=args.layers, num_heads=args.dim // 128)
        model = load_model(comfy, wan_state_dict(comfy, args.seed, dims))
    dm = model.model.diffusion_model
    ms = model.get_model_object("model_sampling")
    assert abs(float(ms.shift) - SHIFT) < 1e-6 and float(ms.timestep(torch.tensor([0.5]))) == 500.0
    dm.train().requires_grad_(True)
    if args.attn_gain != 1.0 and not args.init:  # a continued model keeps its own
        with torch.no_grad():
            for name, p in dm.named_parameters():
                if name.endswith(("norm_q.weight", "norm_k.weight")):
                    p.mul_(args.attn_gain)
    n_params = sum(p.numel() for p in dm.parameters())
    dims = {k: getattr(dm, k) for k in ("dim", "ffn_dim", "num_layers", "num_heads")}
    log(f"Wan {dims}: {n_params} parameters; TAESD {sum(p.numel() for p in vae.parameters())}")

    # the objective is ComfyUI's: apply_model's denoised x0 = x_t - s v
    with torch.no_grad():
        zt, s = torch.randn(2, 16, 8, 8, 8), torch.tensor([0.3, 0.8])
        v = dm(zt, ms.timestep(s), context=ctx[:2])
        den = model.model.apply_model(zt, s, c_crossattn=ctx[:2])
        assert torch.allclose(den, zt - s.view(-1, 1, 1, 1, 1) * v, atol=1e-4)

    g = torch.Generator().manual_seed(args.seed + 1)
    opt = torch.optim.AdamW(dm.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, min(100, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(k, args.steps) / args.steps)))
    ema = EMA(dm, args.ema)

    def draw_sigma(n, gen):
        u = torch.rand(n, generator=gen).clamp(1e-3, 1 - 1e-3)
        shifted = SHIFT * u / (1 + (SHIFT - 1) * u)
        s = torch.where(torch.rand(n, generator=gen) < args.wan_share, shifted, u)
        lo, hi = args.mid
        mid = lo + (hi - lo) * torch.rand(n, generator=gen)
        return torch.where(torch.rand(n, generator=gen) < args.mid_share, mid, s)

    def loss_fn(net, z0, c, s, eps, motion_weight=None, per_sample=False):
        """Wan's flow loss plus `motion_weight` x the same error's frame-to-frame difference (the motion part of
        the prediction, where the caption matters; the optimum is still the conditional mean)."""
        sv = s.view(-1, 1, 1, 1, 1)
        zt = (1 - sv) * z0 + sv * eps
        err = net(zt, ms.timestep(s), context=ctx[c]) - (eps - z0)
        w = args.motion_weight if motion_weight is None else motion_weight
        loss = err.pow(2).mean((1, 2, 3, 4))
        if w:
            loss = loss + w * err.diff(dim=2).pow(2).mean((1, 2, 3, 4))
        return loss if per_sample else loss.mean()

    opposite = opposite_indices(CAPTIONS, OPPOSITE, empty)
    ge = torch.Generator().manual_seed(12345)
    n_eval = min(len(videos), 96)
    ev_c = cap_index[:n_eval]
    ev_z = {"8f": z_all[:n_eval]}
    start = torch.randint(0, z_all.shape[2] - 1, (n_eval,), generator=ge)  # 2-frame clips: the caption is all that
    ev_z["2f"] = torch.stack([z_all[i, :, int(f):int(f) + 2] for i, f in enumerate(start)])  # says which way
    ev_eps = {k: torch.randn(z.shape, generator=ge) for k, z in ev_z.items()}
    ev_u = torch.rand(n_eval, generator=ge)
    ev_opp = opposite[ev_c]

    @torch.no_grad()
    def evaluate(net):
        """Loss on fixed batches (8-frame videos and 2-frame clips of them) with the right, the opposite and the
        empty caption, at mid noise (s in 0.3..0.7) and high noise (0.7..0.95). The caption is used where
        right < opposite."""
        out = {}
        for band, (lo, hi) in EVAL_BANDS.items():
            s = lo + (hi - lo) * ev_u
            for clip, z in ev_z.items():
                for k, c in (("right", ev_c), ("opposite", ev_opp), ("empty", torch.full_like(ev_c, empty))):
                    out[f"{clip}_{band}_{k}"] = float(loss_fn(net, z, c, s, ev_eps[clip], motion_weight=0.0))
        return out

    def show(e):
        return "  ".join(f"{k}: right {e[k + '_right']:.4f} opp-right {e[k + '_opposite'] - e[k + '_right']:+.4f} "
                         f"empty-right {e[k + '_empty'] - e[k + '_right']:+.4f}"
                         for k in (f"{c}_{b}" for c in ev_z for b in EVAL_BANDS))

    if args.probe:
        probe_captions(dm, ms, z_all, ctx)
        return 0

    info = {"script": "scripts/train_flow_prior.py", "args": vars(args), "captions": list(args.captions), "wan": dims,
            "parameters": n_params, "frames": 8, "size": 64, "shift": SHIFT, "ink_mean": ink_mean, "ink_std": ink_std,
            "eval": [], "previous": info_init}

    def save(done):
        info.update(steps_done=done, minutes=round((time.time() - t0) / 60, 1))
        export(out, ema.model.state_dict(), vae.state_dict(), text_dir, info)
        log(f"saved {out} at step {done}")

    e = evaluate(dm)
    log(f"eval step 0: {show(e)}")
    run, ts = [], time.time()
    for step in range(args.steps):
        frames = args.clip_frames[int(torch.randint(len(args.clip_frames), (1,), generator=g))]
        stride = args.clip_stride[int(torch.randint(len(args.clip_stride), (1,), generator=g))]
        stride = min(stride, (z_all.shape[2] - 1) // max(frames - 1, 1))
        n = args.batch * max(1, 8 // frames)  # shorter clips are cheaper: more of them
        idx = torch.randint(len(videos), (n,), generator=g)
        first = torch.randint(0, z_all.shape[2] - (frames - 1) * stride, (n,), generator=g)
        frame_idx = first[:, None] + stride * torch.arange(frames)
        z0 = z_all[idx[:, None], :, frame_idx].movedim(1, 2)  # [n, C, frames, h, w]
        c = cap_index[idx].clone()
        c[torch.rand(n, generator=g) < args.dropout] = empty
        s = draw_sigma(n, g)
        eps = torch.randn(z0.shape, generator=g)
        loss = loss_fn(dm, z0, c, s, eps)
        if args.contrast:  # the same inputs with the opposite caption must do worse, by a margin
            k = c != empty
            per_right = loss_fn(dm, z0[k], c[k], s[k], eps[k], per_sample=True)
            per_opp = loss_fn(dm, z0[k], opposite[c[k]], s[k], eps[k], per_sample=True)
            hinge = torch.relu(args.margin * per_right.detach() - (per_opp - per_right))
            loss = loss + args.contrast * hinge.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dm.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update(dm, step)
        run.append(float(loss.detach()))
        done = step + 1
        if done % 50 == 0 or done == args.steps:
            log(f"step {done}/{args.steps} loss {sum(run) / len(run):.4f} lr {sched.get_last_lr()[0]:.2e} "
                f"{(time.time() - ts) / len(run):.3f} s/step")
            run, ts = [], time.time()
        if done % args.eval_every == 0 or done == args.steps:
            e = evaluate(ema.model)
            info["eval"].append({"step": done, **{k: round(v, 5) for k, v in e.items()}})
            log(f"eval step {done} (EMA): {show(e)}")
        if (args.save_every and done % args.save_every == 0) or done == args.steps:
            save(done)
    shutil.rmtree(text_dir, ignore_errors=True)
    log(f"done in {(time.time() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
