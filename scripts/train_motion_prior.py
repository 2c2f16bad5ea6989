"""Train the pack's small learned text-to-video prior on synthetic captioned motion.

    python scripts/train_motion_prior.py [--out assets/motion_prior/modelscope_tiny]
        [--steps 4000] [--vae-steps 600] [--videos 6000] [--batch 16] [--seed 0]
        [--threads 1] [--save-every 500] [--quick]
    # fine-tune a trained prior, text encoder frozen (caption embeddings unchanged), rotations 3x as often:
    python scripts/train_motion_prior.py --init assets/motion_prior/modelscope_tiny --freeze-text \
        --caption-weight "rotating clockwise=3" --caption-weight "rotating counterclockwise=3" ...

What it does (deterministic for a given seed and thread count):
1. draws `--videos` captioned videos with core.synthetic_motion (random cubic strokes
   and the bundled example shapes, black on white, 8 frames at 64x64, moving as
   captioned: moving left/right/up/down, rotating clockwise/counterclockwise,
   growing, shrinking), rendered by the pack's own rasteriser;
2. trains an AutoencoderKL (8x downsampling, 4 latent channels, ~0.25M parameters)
   as an autoencoder on the frames, so latents keep positions; its scaling factor
   is set so scaled latents have unit variance;
3. trains a UNet3DConditionModel (eps prediction, scaled-linear DDPM betas
   0.00085..0.012 as ModelScope) together with a tiny CLIPTextModel on the latents:
   token embeddings initialised with std 1, prompts padded to 8 tokens, 10% empty
   captions (classifier-free guidance), loss weighted by min(1/SNR, 10), AdamW with
   cosine decay, EMA of the weights;
4. writes the EMA weights (fp16 safetensors) as a diffusers ModelScope-layout folder
   (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) every
   `--save-every` steps and at the end. It loads through
   core.guidance.diffusers_prior.load_diffusers_prior (`animate --model PATH`).

The tokenizer is CLIP's byte-level BPE rebuilt offline from open_clip's bundled
vocabulary (bpe_simple_vocab_16e6.txt.gz), keeping its first 10,000 merges: the
kept tokens have CLIP's ids, and every prompt still tokenizes (rarer words into
smaller pieces). "clockwise" and "counterclockwise" get one token each (WHOLE_WORDS; ids after
<|endoftext|>), so the two rotation captions differ in one token as "moving left/right" do;
`--init` from a prior saved without them adds their embedding rows.

The log (stdout) prints the training loss, and on a fixed evaluation batch the
loss with the right caption, with the opposite caption ("moving left" <->
"moving right", ...) and with the empty caption: captions matter when right < opposite.
It also prints that gap paired (same video, noise and timestep), relative, per motion kind,
at mid noise (--mid-range) and high noise (700..999): the learning signal of a caption.

Where a caption's sign can be learned: a translation's start positions are biased, so its
caption's mean video drifts and the sign is learnt at high noise (--high-noise, --snr-cap);
a rotation's mean video carries no sign (a shape turned clockwise is distributed as one turned
counter-clockwise), only frame-to-frame structure does, which shows at mid noise. For that:
--mid-noise / --mid-range (timesteps drawn there), --snr-floor 1 (plain eps loss there instead of
the starving 1/SNR weight) and --contrast (a paired term asking the opposite caption to predict
the same noisy video worse by --contrast-margin; the caption-independent error cancels in it).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import importlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/_bootstrap.py
from _bootstrap import ROOT, package  # noqa: E402  (the package, installed or a plain clone)
from _training import EMA, opposite_indices, replace_folder, temporary_folder  # noqa: E402

_pkg = package()
synthetic_motion = importlib.import_module(_pkg.__name__ + ".core.synthetic_motion")
text_condition = importlib.import_module(_pkg.__name__ + ".core.guidance.diffusers_prior").text_condition
CAPTIONS, OPPOSITE = synthetic_motion.CAPTIONS, synthetic_motion.OPPOSITE
bytes_to_unicode = importlib.import_module(_pkg.__name__ + ".testing.tiny_models").bytes_to_unicode

MAX_TOKENS = 8
NUM_MERGES = 10_000
HIDDEN = 32


# ------------------------------------------------------------------ tokenizer
# Caption words given one token each. CLIP's first 10,000 merges split "rotating clockwise" into
# rot ating clo ck wise and "rotating counterclockwise" into rot ating counter clo ck wise: the two
# opposite captions share 5 of 6 pieces, shifted by one position, where "moving left" / "moving right"
# differ in one token at one place. With one token each the swing's sign was learned in 500 steps where
# 5,000 steps with the pieces learned nothing (assets/motion_prior/README.md, "Rotation, fifth try").
WHOLE_WORDS = ("clockwise", "counterclockwise")


def build_clip_tokenizer(folder: Path | None = None, num_merges: int = NUM_MERGES, max_length: int = MAX_TOKENS,
                         whole_words: tuple[str, ...] = WHOLE_WORDS):
    """CLIPTokenizer from open_clip's bundled BPE file (first `num_merges` merges), plus merges that make each of
    `whole_words` one token; saved to `folder` if given.

    The whole-word tokens get ids after <|endoftext|>, so every other token keeps the id it has without them
    (a prior trained before keeps its captions; `grow_token_embeddings` adds rows for the new ids)."""
    from open_clip.tokenizer import default_bpe
    from transformers import CLIPTokenizer

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:1 + num_merges]]
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    for word in whole_words:  # chain the word's current pieces left to right: (a, b) -> ab, (ab, c) -> abc, ...
        pieces = CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=merges).tokenize(word)
        for piece in pieces[1:]:
            merges.append((pieces[0], piece))
            pieces[0] += piece
            if pieces[0] not in vocab:
                vocab.append(pieces[0])
    ids = {tok: i for i, tok in enumerate(vocab)}
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp())
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(ids))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)
    tok.save_pretrained(folder)
    (folder / "tokenizer.json").unlink(missing_ok=True)  # rebuilt from vocab.json + merges.txt on load (-0.7 MB)
    return tok


def grow_token_embeddings(text_encoder, vocab_size: int):
    """Give a trained text encoder rows for token ids it has not seen (std 1, as `make_text_encoder`)."""
    emb = text_encoder.get_input_embeddings()
    old = emb.weight.shape[0]
    if vocab_size <= old:
        return text_encoder
    text_encoder.resize_token_embeddings(vocab_size, mean_resizing=False)
    with torch.no_grad():
        text_encoder.get_input_embeddings().weight[old:].normal_(0.0, 1.0)
    return text_encoder


# --------------------------------------------------------------------- models
def make_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 32, 32), layers_per_block=1, latent_channels=4, norm_num_groups=8,
        sample_size=64, scaling_factor=1.0,
    )


def make_unet(sample_size: int = 8, text_film: bool = False):
    """The prior's UNet; `text_film`: also add the pooled caption (mean of the text encoder's hidden states,
    `pooled_text`) to the timestep embedding, which every resnet block receives (`time_cond_proj_dim`)."""
    from diffusers import UNet3DConditionModel

    return UNet3DConditionModel(
        sample_size=sample_size, in_channels=4, out_channels=4, block_out_channels=(32, 64),
        layers_per_block=2, norm_num_groups=8, cross_attention_dim=HIDDEN, attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"), up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        time_cond_proj_dim=HIDDEN if text_film else None,
    )


def with_text_film(unet):
    """A copy of a trained UNet whose timestep embedding also takes the pooled caption; its projection starts
    at zero, so the copy predicts exactly what `unet` does until it trains."""
    new = make_unet(unet.config.sample_size, text_film=True)
    missing, unexpected = new.load_state_dict(unet.state_dict(), strict=False)
    assert not unexpected and all("cond_proj" in k for k in missing), (missing, unexpected)
    torch.nn.init.zeros_(new.time_embedding.cond_proj.weight)
    return new


def make_text_encoder(vocab_size: int, bos: int, eos: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, bos_token_id=bos, eos_token_id=eos,
        pad_token_id=eos, projection_dim=HIDDEN,
    )
    model = CLIPTextModel(cfg)
    with torch.no_grad():  # default init leaves "left" and "right" nearly parallel (cosine 0.96)
        model.get_input_embeddings().weight.normal_(0.0, 1.0)
    return model


def scheduler_config() -> dict:
    """ModelScope's published scheduler settings (DDIM, scaled-linear betas 0.00085..0.012, eps)."""
    return dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon")


def alphas_cumprod() -> torch.Tensor:
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


# ----------------------------------------------------------------------- save
def export(folder: Path, unet, vae, text_encoder, tokenizer_dir: Path, dtype=torch.float16, info: dict | None = None):
    """Write a ModelScope-layout diffusers folder (atomically: a temporary folder renamed at the end)."""
    import diffusers
    from diffusers import DDIMScheduler

    folder = Path(folder)
    tmp = temporary_folder(folder)
    copy.deepcopy(unet).to(dtype).save_pretrained(tmp / "unet")
    copy.deepcopy(vae).to(dtype).save_pretrained(tmp / "vae")
    copy.deepcopy(text_encoder).to(dtype).save_pretrained(tmp / "text_encoder")
    shutil.copytree(tokenizer_dir, tmp / "tokenizer")
    DDIMScheduler(**scheduler_config()).save_pretrained(tmp / "scheduler")
    index = {
        "_class_name": "TextToVideoSDPipeline", "_diffusers_version": diffusers.__version__,
        "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet3DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (tmp / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    if info is not None:
        (tmp / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    replace_folder(tmp, folder)


# ---------------------------------------------------------------------- train
def log(msg: str, stream=None) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=stream or sys.stdout, flush=True)


def to_rgb(frames_u8: torch.Tensor) -> torch.Tensor:
    """[..., H, W] uint8 grayscale -> [..., 3, H, W] in [-1, 1]."""
    x = frames_u8.float() / 127.5 - 1
    return x.unsqueeze(-3).expand(*x.shape[:-2], 3, *x.shape[-2:])


def train_vae(vae, videos: torch.Tensor, steps: int, batch: int, lr: float, g: torch.Generator):
    frames = videos.flatten(0, 1)  # [N*T, H, W]
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    warm = max(1, min(50, steps // 5))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    vae.train()
    hist = []
    for step in range(steps):
        idx = torch.randint(len(frames), (batch,), generator=g)
        x = to_rgb(frames[idx])
        dist = vae.encode(x).latent_dist
        z = dist.mean + dist.std * torch.randn(dist.mean.shape, generator=g)
        rec = vae.decode(z).sample
        ink = (1 - x[:, :1]) / 2  # 1 on ink
        recon = ((rec - x).abs() * (1 + 8 * ink)).mean()
        kl = 0.5 * (dist.mean ** 2 + dist.var - 1 - dist.logvar).mean()
        loss = recon + 1e-6 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        hist.append(float(recon.detach()))
        if (step + 1) % 50 == 0 or step == steps - 1:
            log(f"vae step {step + 1}/{steps} recon {sum(hist[-50:]) / len(hist[-50:]):.4f}")
    vae.eval()
    return hist


@torch.no_grad()
def encode_all(vae, videos: torch.Tensor, chunk: int = 256):
    """[N, T, H, W] uint8 -> latent mean and std [N, 4, T, h, w] (unscaled)."""
    N, T = videos.shape[:2]
    frames = videos.flatten(0, 1)
    means, stds = [], []
    for i in range(0, len(frames), chunk):
        d = vae.encode(to_rgb(frames[i:i + chunk])).latent_dist
        means.append(d.mean)
        stds.append(d.std)
    m = torch.cat(means).unflatten(0, (N, T)).permute(0, 2, 1, 3, 4).contiguous()
    s = torch.cat(stds).unflatten(0, (N, T)).permute(0, 2, 1, 3, 4).contiguous()
    return m, s


def snr_weight(ab: torch.Tensor, cap: float = 10.0, floor: float = 0.0) -> torch.Tensor:
    """1/SNR clamped to [floor, cap]: emphasises the noisy steps where the caption decides a translation;
    a floor of 1 keeps the mid-noise steps (where a rotation's sign is decided) from being starved."""
    return torch.clamp((1 - ab) / ab, min=floor, max=cap)


def diffusion_loss(unet, text_encoder, z0, ids, t, noise, ac, reduce=True, cap: float = 10.0, floor: float = 0.0):
    ab = ac[t].view(-1, 1, 1, 1, 1)
    zt = ab.sqrt() * z0 + (1 - ab).sqrt() * noise
    emb = text_encoder(ids)[0]
    pred = unet(zt, t, encoder_hidden_states=emb, **text_condition(unet, emb)).sample
    per = (pred - noise).pow(2).mean((1, 2, 3, 4)) * snr_weight(ac[t], cap, floor)
    return per.mean() if reduce else per


def draw_timesteps(n: int, g: torch.Generator, high: float = 0.0, mid: float = 0.0,
                   mid_range: tuple[int, int] = (150, 700)) -> torch.Tensor:
    """DDPM timesteps: a share `high` from 500..999, a share `mid` from `mid_range`, the rest from 0..999."""
    t = torch.randint(0, 1000, (n,), generator=g)
    u = torch.rand(n, generator=g)
    t = torch.where(u < high, torch.randint(500, 1000, (n,), generator=g), t)
    return torch.where((u >= high) & (u < high + mid), torch.randint(*mid_range, (n,), generator=g), t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "assets" / "motion_prior" / "modelscope_tiny"), help="output diffusers folder")
    ap.add_argument("--steps", type=int, default=4000, help="UNet + text encoder steps")
    ap.add_argument("--vae-steps", type=int, default=600, help="autoencoder steps")
    ap.add_argument("--videos", type=int, default=6000, help="synthetic training videos")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--dropout", type=float, default=0.1, help="share of empty captions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    ap.add_argument("--save-every", type=int, default=500, help="write the EMA model every N steps (0: only at the end)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--fp32", action="store_true", help="save fp32 weights (default fp16)")
    ap.add_argument("--quick", action="store_true",
                    help="seconds-long smoke run (32 videos, 30 VAE steps, 30 steps of batch 8): checks the script, not the prior")
    ap.add_argument("--history", default=None, help="write the loss history as JSON here")
    ap.add_argument("--init", default=None,
                    help="continue training from this saved model folder (its VAE is kept; a new lr schedule runs)")
    ap.add_argument("--warmup", type=int, default=100, help="lr warm-up steps")
    ap.add_argument("--snr-cap", type=float, default=10.0, help="loss weight min(1/SNR, cap)")
    ap.add_argument("--snr-floor", type=float, default=0.0,
                    help="loss weight at least this (1: plain eps loss where SNR > 1, so mid noise is not starved)")
    ap.add_argument("--mid-noise", type=float, default=0.0,
                    help="share of timesteps drawn from --mid-range (where a rotation's sign shows: the mean video "
                    "of a rotation caption carries no sign, only frame-to-frame structure does)")
    ap.add_argument("--mid-range", type=int, nargs=2, default=(150, 700), metavar=("LO", "HI"))
    ap.add_argument("--contrast", type=float, default=0.0,
                    help="weight of the paired caption contrast on --contrast-kind videos at --mid-range timesteps: "
                    "relu(margin - (loss with the opposite caption - loss with the right one) / right)")
    ap.add_argument("--contrast-margin", type=float, default=0.03, help="relative loss gap the contrast asks for")
    ap.add_argument("--contrast-kind", default="rotate", help="motion kinds (comma-separated: translate, rotate, scale)")
    ap.add_argument("--freeze-text", action="store_true",
                    help="keep the text encoder (and so every caption's embedding) as loaded with --init; "
                    "only the UNet trains")
    ap.add_argument("--caption-weight", action="append", default=[], metavar="CAPTION=W",
                    help="draw training videos of CAPTION W times as often (repeatable), e.g. "
                    "'rotating clockwise=3'")
    ap.add_argument("--high-noise", type=float, default=0.0,
                    help="share of timesteps drawn from 500..999 instead of 0..999 (where only the caption tells "
                    "left from right)")
    ap.add_argument("--rotation-pivot", type=float, default=0.0,
                    help="experiment: rotations swing about a pivot this many drawing sizes above the drawing "
                    "(core.synthetic_motion), so a rotation caption's mean video drifts as a translation's does")
    ap.add_argument("--text-film", action="store_true",
                    help="the UNet also gets the pooled caption through its timestep embedding (every resnet "
                    "block; time_cond_proj_dim); with --init the projection starts at zero")
    args = ap.parse_args(argv)
    if args.high_noise + args.mid_noise > 1:
        ap.error("--high-noise + --mid-noise must be <= 1")
    if args.freeze_text and not args.init:
        ap.error("--freeze-text needs --init (a trained text encoder to keep)")
    weights = {}
    for item in args.caption_weight:
        cap, _, w = item.rpartition("=")
        if cap not in CAPTIONS:
            ap.error(f"--caption-weight: unknown caption {cap!r}; known: {', '.join(CAPTIONS)}")
        weights[cap] = float(w)
    if args.quick:
        args.videos, args.vae_steps, args.steps = min(args.videos, 32), min(args.vae_steps, 30), min(args.steps, 30)
        args.batch, args.save_every, args.eval_every = min(args.batch, 8), 0, 10**9

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    out = Path(args.out)
    t0 = time.time()

    data = synthetic_motion.MotionVideos(seed=args.seed, rotation_pivot=args.rotation_pivot)
    videos, caps = data.batch(args.videos)
    cap_index = torch.tensor([CAPTIONS.index(c) for c in caps])
    log(f"{len(videos)} videos {tuple(videos.shape[1:])} drawn in {time.time() - t0:.1f} s "
        f"({len(data.examples)} example shapes + random strokes)")

    tok_dir = out.with_name(out.name + ".tokenizer")
    shutil.rmtree(tok_dir, ignore_errors=True)
    tok = build_clip_tokenizer(tok_dir)
    vocab = tok.get_vocab()
    texts = list(CAPTIONS) + [""]
    ids = tok(texts, padding="max_length", max_length=MAX_TOKENS, truncation=True, return_tensors="pt").input_ids
    empty = len(CAPTIONS)

    torch.manual_seed(args.seed)
    vae = make_vae()
    unet = make_unet(text_film=args.text_film)
    text_encoder = make_text_encoder(len(vocab), vocab["<|startoftext|>"], vocab["<|endoftext|>"])
    n_params = {k: sum(p.numel() for p in m.parameters()) for k, m in
                (("vae", vae), ("unet", unet), ("text_encoder", text_encoder))}
    log(f"parameters {n_params}")

    if args.init:  # continue from a saved model: its autoencoder (kept as is), UNet and text encoder
        from diffusers import AutoencoderKL, UNet3DConditionModel
        from transformers import CLIPTextModel

        init = Path(args.init)
        vae = AutoencoderKL.from_pretrained(init, subfolder="vae", torch_dtype=torch.float32)
        unet = UNet3DConditionModel.from_pretrained(init, subfolder="unet", torch_dtype=torch.float32)
        text_encoder = grow_token_embeddings(
            CLIPTextModel.from_pretrained(init, subfolder="text_encoder", dtype=torch.float32), len(vocab))
        if args.text_film and unet.config.time_cond_proj_dim is None:
            unet = with_text_film(unet)
        vae_hist = []
        mean, std = encode_all(vae, videos)
        sf = float(vae.config.scaling_factor)
        log(f"initialised from {init}")
    else:
        vae_hist = train_vae(vae, videos, args.vae_steps, 16 if args.quick else 32, 2e-3, g)
        mean, std = encode_all(vae, videos)
        sf = float(1.0 / mean.std())
        vae.register_to_config(scaling_factor=sf)
    log(f"latents {tuple(mean.shape[1:])}, scaling factor {sf:.4f}, encoded at {time.time() - t0:.0f} s")

    ac = alphas_cumprod()
    if args.freeze_text:
        text_encoder.requires_grad_(False).eval()
    params = list(unet.parameters()) + ([] if args.freeze_text else list(text_encoder.parameters()))
    kinds = args.contrast_kind.split(",")
    contrast_kind = torch.tensor([synthetic_motion.MOTIONS[x][0] in kinds for x in CAPTIONS] + [False])
    opposite_of = opposite_indices(CAPTIONS, OPPOSITE, empty)
    draw_p = torch.tensor([weights.get(c, 1.0) for c in caps], dtype=torch.float64)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = max(1, min(args.warmup, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    ema_unet, ema_text = EMA(unet, args.ema), EMA(text_encoder, args.ema)

    # fixed evaluation batch: right vs opposite vs empty caption at fixed noise
    ge = torch.Generator().manual_seed(12345)
    n_eval = min(len(videos), 96)
    ev = torch.arange(n_eval)
    ev_z = (mean[ev] + std[ev] * torch.randn(mean[ev].shape, generator=ge)) * sf
    ev_t = torch.randint(100, 900, (n_eval,), generator=ge)
    ev_noise = torch.randn(ev_z.shape, generator=ge)
    ev_right = cap_index[ev]
    ev_opp = opposite_of[ev_right]

    ev_rot = torch.tensor([synthetic_motion.MOTIONS[CAPTIONS[int(c)]][0] == "rotate" for c in ev_right])
    ev_kind = [synthetic_motion.MOTIONS[CAPTIONS[int(c)]][0] for c in ev_right]
    bands = {"mid": tuple(args.mid_range), "high": (700, 1000)}
    ev_band_t = {b: torch.randint(lo, hi, (n_eval,), generator=ge) for b, (lo, hi) in bands.items()}

    @torch.no_grad()
    def evaluate(u, te):
        out = {}
        for name, c in (("right", ev_right), ("opposite", ev_opp), ("empty", torch.full_like(ev_right, empty))):
            per = diffusion_loss(u, te, ev_z, ids[c], ev_t, ev_noise, ac, reduce=False)
            out[name] = float(per.mean())
            out["rotation_" + name] = float(per[ev_rot].mean())
        # the caption's learning signal: (opposite - right) / right in % of the plain eps loss, paired
        # (same video, noise and t), by motion kind and noise band
        for b, t in ev_band_t.items():
            r = diffusion_loss(u, te, ev_z, ids[ev_right], t, ev_noise, ac, reduce=False, cap=1.0, floor=1.0)
            o = diffusion_loss(u, te, ev_z, ids[ev_opp], t, ev_noise, ac, reduce=False, cap=1.0, floor=1.0)
            for kind in ("translate", "rotate", "scale"):
                m = torch.tensor([k == kind for k in ev_kind])
                out[f"gap_{kind}_{b}"] = float(100 * (o[m] - r[m]).mean() / r[m].mean())
        return out

    def gaps(e):
        return " ".join(f"{k[4:]} {v:+.2f}%" for k, v in e.items() if k.startswith("gap_"))

    history = {"vae_recon": vae_hist, "loss": [], "eval": [], "parameters": n_params, "scaling_factor": sf}
    info = {"script": "scripts/train_motion_prior.py", "args": vars(args), "captions": list(CAPTIONS),
            "parameters": n_params, "frames": 8, "size": 64}
    e = evaluate(unet, text_encoder)
    history["eval"].append({"step": 0, **e})
    log(f"eval step 0: right {e['right']:.4f} opposite {e['opposite']:.4f} empty {e['empty']:.4f}"
        f" (rotations: right {e['rotation_right']:.4f} opposite {e['rotation_opposite']:.4f})")
    log(f"  opposite-vs-right caption gap (eps loss): {gaps(e)}")
    unet.train()
    text_encoder.train(not args.freeze_text)
    run, run_gap, ts = [], [], time.time()
    for step in range(args.steps):
        if weights:
            idx = torch.multinomial(draw_p, args.batch, replacement=True, generator=g)
        else:
            idx = torch.randint(len(videos), (args.batch,), generator=g)
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=g)) * sf
        c = cap_index[idx].clone()
        c[torch.rand(args.batch, generator=g) < args.dropout] = empty
        t = draw_timesteps(args.batch, g, args.high_noise, args.mid_noise, tuple(args.mid_range))
        noise = torch.randn(z0.shape, generator=g)
        per = diffusion_loss(unet, text_encoder, z0, ids[c], t, noise, ac, reduce=False, cap=args.snr_cap,
                             floor=args.snr_floor)
        loss = per.mean()
        sel = contrast_kind[c] & (t >= args.mid_range[0]) & (t < args.mid_range[1])
        if args.contrast > 0 and bool(sel.any()):
            # paired caption contrast: the same noisy video with the opposite caption must be predicted worse by
            # a relative margin; the caption-independent error cancels in the difference, which the plain loss
            # buries (a rotation's sign changes the mid-noise eps loss by well under 1%)
            right = per[sel] / snr_weight(ac[t[sel]], args.snr_cap, args.snr_floor)
            wrong = diffusion_loss(unet, text_encoder, z0[sel], ids[opposite_of[c[sel]]], t[sel], noise[sel], ac,
                                   reduce=False, cap=1.0, floor=1.0)
            gap = (wrong - right) / right.detach()
            loss = loss + args.contrast * torch.relu(args.contrast_margin - gap).sum() / args.batch
            run_gap.append(float(gap.detach().mean()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        ema_unet.update(unet, step)
        if not args.freeze_text:
            ema_text.update(text_encoder, step)
        run.append(float(loss.detach()))
        history["loss"].append(run[-1])
        done = step + 1
        if done % 50 == 0 or done == args.steps:
            contrast = f" contrast gap {100 * sum(run_gap) / len(run_gap):+.2f}%" if run_gap else ""
            log(f"step {done}/{args.steps} loss {sum(run) / len(run):.4f} lr {sched.get_last_lr()[0]:.2e} "
                f"{(time.time() - ts) / len(run):.2f} s/step{contrast}")
            run, run_gap, ts = [], [], time.time()
        if done % args.eval_every == 0 or done == args.steps:
            e = evaluate(ema_unet.model, ema_text.model)
            history["eval"].append({"step": done, **e})
            log(f"eval step {done} (EMA): right {e['right']:.4f} opposite {e['opposite']:.4f} empty {e['empty']:.4f}"
                f" (rotations: right {e['rotation_right']:.4f} opposite {e['rotation_opposite']:.4f})")
            log(f"  opposite-vs-right caption gap (eps loss): {gaps(e)}")
        if (args.save_every and done % args.save_every == 0) or done == args.steps:
            info.update(steps_done=done, minutes=round((time.time() - t0) / 60, 1))
            export(out, ema_unet.model, vae, ema_text.model, tok_dir,
                   dtype=torch.float32 if args.fp32 else torch.float16, info=info)
            log(f"saved {out} at step {done}")
    shutil.rmtree(tok_dir, ignore_errors=True)
    if args.history:
        Path(args.history).write_text(json.dumps(history))
    log(f"done in {(time.time() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
