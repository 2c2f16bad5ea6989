"""Build the pack's flow prior for ComfyUI with hand-set weights: a tiny Wan 2.1 that follows its caption.

    COMFYUI_PATH=/path/to/ComfyUI python scripts/build_flow_prior.py [--out assets/motion_prior/wan_tiny]
        [--shift 2] [--blur 0] [--uncond own] [--check]

Why hand-set: trained with the rectified-flow objective on CPU budgets, the tiny Wan never used the
caption's direction (assets/motion_prior/README.md). Its architecture can express it exactly, so this
script writes the weights of a symmetric "each frame = its neighbours moved towards it the captioned way"
denoiser into ComfyUI's own WanModel (2 blocks, width 384, 3 heads of 128; Load Diffusion Model format),
beside the same set (not trained) TAESD and tiny CLIP text encoder as scripts/train_flow_prior.py.

The denoised estimate D of a clip x (8 frames), with sh = moved `--shift` cells the caption's way and
un = moved back, for moving right / left / up / down: D[f] = (sh(x[f-1]) + un(x[f+1])) / 2 inside,
D[0] = un(x[1]), D[7] = sh(x[6]) (`--blur B`: sh and un also blurred along the motion over +-B cells).
Score distillation's force on frame f is then x[f] - D[f]: inside, slope-free smoothing; at the ends, the
end gaps pushed towards the shift; summed over frames, zero at a still clip and at the ramp (no common
mode), so the fixed point is a ramp of `--shift` cells per frame (a still clip's D: frame 0 moved -shift,
the last +shift, the others unmoved).
For "" and any other caption (the unconditional estimate D_u that classifier-free guidance extrapolates
from), `--uncond own` (default): D_u[f] = the frame itself (x_s / (1 - s), unbiased); `--uncond neighbours`
(62909a5's build): the same formula with sh = un = identity. Why own: guidance w makes the force
w (x - D) - (w - 1) (x - D_u), and with the neighbours version that second term is a (w - 1) = 29-39 x
repulsion of every frame from its neighbours' unmoved copies (at the ends, a pull to w shifts): frames
pushed apart while close break the chain into sawtooths that never mend (README has the runs); with the
frame itself, D_u's force is zero-mean noise and the captioned pull is left alone.
An earlier build (D[f] = sh(x[f-1]), the first frame pushed the other way) made a transport chain whose
common mode was unbalanced; README has its measurements.

What the network computes, per token (a 2x2 patch of 8x8 latents = 8x8 cells of 2x2-pooled ink, 16x16 px),
with s the noise level, x_s = (1 - s) x0 + s eps the input and the residual stream laid out in channel groups:
- patch embedding: X = the token's 64 input values; two constant channels +-B make every LayerNorm a fixed
  scaling (each writer also writes minus the sum of what it adds into a sink channel, so the mean stays 0);
- block 1 self-attention: content-free q/k whose RoPE logits peak at (frame -+ 1, same place), falling back
  to (same frame, same place) where that frame is missing: head 0 gives Y = the previous frame's token
  (frame 0: itself), head 1 Z = the next frame's (last frame: itself);
- block 1 cross-attention: uniform over the 8 text tokens, a linear read-out fitted to the captions:
  one-hot codes for moving right / left / up / down ("" and the other captions: all zero);
- block 1 FFN: F = sum |X - Y| and G = sum |X - Z| (abs through GELU pairs): F ~0 only for the first frame,
  G only for the last (the noise of two frames differs); this is how the model tells the ends apart (RoPE
  alone gives no absolute time);
- block 2 self-attention: the queries read the codes: head 0's logits peak at (frame - 1, the neighbour
  token the motion comes from): N; head 1's at (frame + 1, the neighbour token on the other side): N2
  (head 2 only evens out the query's RMS across captions, RMSNorm being over all heads);
- block 2 FFN: GELU units gated by code and flags add to Y. `--uncond own`: X / (1 - s) - Y (always); per
  caption, (sh(Y) + un(Z)) / 2 - X / (1 - s), plus (un(Z) - sh(Y)) / 2 where F = 0 and minus it where
  G = 0. `--uncond neighbours`: (Z - Y) / 2 where G > 0 and again where F = 0 (any caption); per caption,
  (sh(Y) - Y + un(Z) - Z) / 2, plus (un(Z) - Z - sh(Y) + Y) / 2 where F = 0 and minus it where G = 0.
  sh reads Y and N across the token boundary, un reads Z and N2;
- time: attention outputs are gated by 1/(1 - s) (so Y, Z, N, N2 are unbiased estimates of the clean
  frames), both FFNs read X x 1/(1 - s), block 2's reads F and G x (1 - s); the caption's units close
  between s 0.6 and 0.75 (the caption does nothing at higher noise, where the moved frames are mostly
  noise that guidance would multiply); all from time_embedding / time_projection fitted on the sinusoidal
  embedding (time_layers);
- head: v = (X - Y) / s (the time modulation, bit-identical on X and Y, cancels its own shift term), so
  ComfyUI's denoised x_s - s v = Y: the estimate above.
Nothing here holds the clip's place: the estimate is translation invariant, so the common-mode part of the
guided noise (w (D_c - D_u), neighbours' noise minus the frame's own) drifts the whole sketch in LiveSketch;
holding the clip's mean frame in a third block did not stop it and weakened the ramps (assets/motion_prior/
README.md, "The wander"): the fix belongs to the pipeline.
Growing / shrinking and rotations are not built (they read as the empty caption). Why (analysed, not tried):
tokens can tell where they are from the canvas border, as frames tell the clip's ends: a query for (same frame,
2 tokens left) whose runner-up is the token itself marks the left half of the 4x4 token grid by |X - A| ~ 0
(block 1's third head is free). But a radial move also needs the neighbour reads to depend on caption AND half
(a product a linear query cannot form: one block more), diagonal moves (3 neighbour tokens a side: more heads,
and width 384 has no free 64-channel group), and would scale by whole 2-px cells about the canvas centre, not
the sketch's centroid: a wider 4-block rebuild whose translations would all need re-measuring.
Size: 13.4 MB fp16 (a quarter is the 4096-wide text input, a seventh time_projection). Status: not bundled
(assets/motion_prior/README.md has the measurements).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_flow_prior as tfp  # noqa: E402  (the VAE, the Wan key layout, export, ComfyUI import)

flow, synthetic_motion, log = tfp.flow, tfp.synthetic_motion, tfp.log

D, HEADS, HD, LAYERS = 384, 3, 128, 2
X, Y, N, Z, N2 = (range(i, i + 64) for i in range(0, 320, 64))
DIRS = ("moving right", "moving left", "moving up", "moving down")
OPPOSITE = {"moving right": "moving left", "moving left": "moving right", "moving up": "moving down",
            "moving down": "moving up"}
CODE = {d: 320 + i for i, d in enumerate(DIRS)}
FLAG, GFLAG, CPOS, CNEG, SINK = 324, 325, 326, 327, 328
TIME = range(329, 384)  # time features (the head does not read them)
GATE_CH = 383  # its block-2 FFN input is the time gate (1 below GATE_FROM, 0 above GATE_TO) via the input shift
GROUP = 65  # gated FFN units per group: 64 content values + the companion gelu(bias)
FFN = 2 * GROUP + 3 * GROUP * len(DIRS)  # block 2; block 1 uses 256 (F and G)
B = 256 * math.sqrt(D / 2)  # LayerNorm then scales every channel by 1 / GAIN_INV: content reads back x 256
GAIN_INV = 256.0
G = 30.0  # attention logit margin (softmax weight e^-30 on the runner-up)
ABS_GAIN, FLAG_SCALE = 20.0, 0.1  # |d| ~ gelu(20 d) + gelu(-20 d) over 20; F stored x 0.1 in the stream
M, K_FLAG, M_CODE = 8.0, 2.0, 400.0  # gate bias = M_CODE (code - 1) + K_FLAG F - M
RHO = 0.02  # gated content scaled down inside the GELU units
M_TIME = 24.0  # the time gate closes the caption's units at high noise (bias - M_TIME (1 - gate))
CODE_VALUE = 10.0  # a code of 1 is stored as 10 in the stream (keeps the weights reading it inside fp16)
GATE_FROM, GATE_TO = 0.6, 0.75  # noise levels over which the caption's effect fades out
AXES = (44, 42, 42)  # Wan's RoPE split of the 128-wide head: time, rows, columns (pairs 22 / 21 / 21)


def token_index(c: int, ph: int, pw: int) -> int:
    """Index of a latent value in the patch embedding's flattened input (channel, row, column of the 2x2 patch)."""
    return c * 4 + ph * 2 + pw


def cell_index(r: int, q: int) -> int:
    """Token value holding the pooled-ink cell at row r, column q (0..7) of the token's 8x8 cells."""
    return token_index(4 * (r % 4) + q % 4, r // 4, q // 4)


def shift_source(direction: str, r: int, q: int, k: int):
    """Where cell (r, q) of the moved frame comes from: ("Y" same token | "N" neighbour, source cell)."""
    dr, dq = {"moving right": (0, -k), "moving left": (0, k), "moving up": (k, 0), "moving down": (-k, 0)}[direction]
    sr, sq = r + dr, q + dq
    if 0 <= sr < 8 and 0 <= sq < 8:
        return "Y", cell_index(sr, sq)
    return "N", cell_index(sr % 8, sq % 8)


def blurred_sources(direction: str, r: int, q: int, k: int, blur: int):
    """Cell (r, q) of the moved frame blurred along the motion: [(weight, "Y" | "N", source cell)] over the
    shifts k - blur .. k + blur (a box; blur <= k keeps every source in the token or the one neighbour)."""
    assert 0 <= blur <= k and k + blur <= 8, (k, blur)
    w = 1.0 / (2 * blur + 1)
    return [(w, *shift_source(direction, r, q, kk)) for kk in range(k - blur, k + blur + 1)]


CELL = {cell_index(r, q): (r, q) for r in range(8) for q in range(8)}
NEIGHBOUR = {"moving right": (0, -1), "moving left": (0, 1), "moving up": (1, 0), "moving down": (-1, 0), "": (0, 0)}


def axis_query(axis: int, reach: int, target: dict, ridge: float = 1e-6) -> torch.Tensor:
    """RoPE query pairs (a_i, b_i) of one axis, for a key of pairs (1, 0), whose logit
    sum_i a_i cos(w_i d) + b_i sin(w_i d) + const fits target[d] over the displacements d = -reach..reach."""
    dim = AXES[axis]
    w = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    d = torch.arange(-reach, reach + 1, dtype=torch.float64)
    A = torch.cat([torch.cos(d[:, None] * w), torch.sin(d[:, None] * w), torch.ones(len(d), 1, dtype=torch.float64)], 1)
    t = torch.tensor([target[int(v)] for v in d], dtype=torch.float64)
    sol = torch.linalg.solve(A.T @ A + ridge * torch.eye(A.shape[1], dtype=torch.float64), A.T @ t)
    err = float((A @ sol - t).abs().max())
    assert err < 0.05 * math.sqrt(HD) * G, f"RoPE logit fit off by {err}"
    n = len(w)
    return torch.stack([sol[:n], sol[n:2 * n]], 1).flatten()  # interleaved pairs


def head_query(neighbour=(0, 0), dt: int = -1, frames: int = 8, size: int = 4) -> torch.Tensor:
    """128-wide query whose attention logits are -G (d - dt)^2 - G (dh - neighbour_h)^2 - G (dw - neighbour_w)^2:
    (frame + dt, the neighbour) first, then (same frame, same neighbour) or (frame + dt, one step off) at -G, the
    rest at -4G or less (quadratic targets fit RoPE's sinusoids with moderate coefficients, unlike a sharp table)."""
    scale = math.sqrt(HD)  # optimized_attention divides the logits by it
    parts = [axis_query(0, frames - 1, {d: -G * (d - dt) ** 2 * scale for d in range(-(frames - 1), frames)})]
    for axis, want in ((1, neighbour[0]), (2, neighbour[1])):
        parts.append(axis_query(axis, size - 1, {d: -G * (d - want) ** 2 * scale for d in range(-(size - 1), size)}))
    return torch.cat(parts).float()


def _ridge(h: torch.Tensor, target: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Least-squares read-out of features h [S, n] -> target [S, k] with fp16 coefficients (the bias refitted
    after rounding): (coef [n, k], bias [k], worst error relative to 1 + |target|)."""
    coef = torch.linalg.solve(h.T @ h + ridge * torch.eye(h.shape[1], dtype=h.dtype), h.T @ (target - target.mean(0)))
    coef = coef.half().double()
    bias = (target - h @ coef).mean(0).half().double()
    rel = float(((h @ coef + bias - target).abs() / (target.abs() + 1)).max())
    return coef, bias, rel


def time_layers(sd: dict, lo: float = 0.15, hi: float = 0.94, offset: float = 4.0, ridge: float = 1e-5) -> None:
    """The time embedding's MLP and time_projection, set (not trained) to give the modulations the network needs,
    as functions of the noise level s (timestep 1000 s; ComfyUI's SDS draws s in ~0.18..0.93):
    - time_embedding -> X and Y channels: 1/s - 1 (the head's scale: v = (X - Y) / s; both channels get the
      bit-identical value, so the shift the head's modulation also adds cancels exactly), TIME channels: sinusoids
      of periods ~200..1,600 steps, offset into SiLU's near-linear range (the head does not read them);
    - time_projection (shared by both blocks) from those: every attention output gated by 1/(1 - s) (Y and N
      become unbiased estimates), the FFN input scaled by 1/(1 - s) on X (block 1's |X - Y| compares like with
      like) and by 1 - s on the flags F and G (block 2's gates see them on the scale of the noise, not of
      1/(1 - s)); the FFN input shift of GATE_CH is the time gate, 1 falling to 0 between s = GATE_FROM and
      GATE_TO (cosine): above it the caption does nothing, since the moved frames are then mostly noise,
      which classifier-free guidance would multiply into the gradient."""
    import comfy.ldm.wan.model as wan_model

    s = torch.linspace(lo, hi, 800, dtype=torch.float64)
    emb = wan_model.sinusoidal_embedding_1d(256, (1000 * s).float()).double()
    freq = 10000 ** (-torch.arange(128, dtype=torch.float64) / 128)
    use = torch.cat([(freq > 4e-3) & (freq < 0.03)] * 2).nonzero().flatten()[:len(TIME) - 1]
    n = len(use)
    assert n <= len(TIME), n
    w1 = torch.zeros(D, 256, dtype=torch.float64)
    w1[torch.arange(n), use] = 1.0
    b1 = torch.zeros(D, dtype=torch.float64)
    b1[:n] = offset
    h = torch.nn.functional.silu(emb @ w1.T + b1)[:, :n]
    coef, bias, rel = _ridge(h, (1 / s - 1)[:, None], ridge)
    w2 = torch.zeros(D, D, dtype=torch.float64)
    b2 = torch.zeros(D, dtype=torch.float64)
    for ch in (*X, *Y):
        w2[ch, :n], b2[ch] = coef[:, 0], bias[0]
    for m in range(n):
        w2[TIME[m], m] = 1.0
    e = h @ w2[list(TIME)[:n], :n].T  # [S, n] = h
    phi = torch.nn.functional.silu(e)
    ramp = ((s - GATE_FROM) / (GATE_TO - GATE_FROM)).clamp(0, 1)
    gate = 0.5 * (1 + torch.cos(math.pi * ramp))
    c2, bias2, rel2 = _ridge(phi, torch.stack([1 / (1 - s), -s, gate], 1), ridge)
    log(f"time layers fit over s in {lo}..{hi}: 1/s - 1 within {rel:.1e}, 1/(1-s) and the F scale within {rel2:.1e} "
        "(relative to 1 + |target|)")
    assert rel < 2e-2 and rel2 < 5e-2, (rel, rel2)
    wp = torch.zeros(6 * D, D, dtype=torch.float64)
    bp = torch.zeros(6 * D, dtype=torch.float64)
    time_cols = list(TIME)[:n]
    for c in range(D):  # k = 2: the self-attention gate
        wp[2 * D + c, time_cols], bp[2 * D + c] = c2[:, 0], bias2[0]
    for c in X:  # k = 4: the FFN input scale (1 + e)
        wp[4 * D + c, time_cols], bp[4 * D + c] = c2[:, 0], bias2[0] - 1
    for c in (FLAG, GFLAG):
        wp[4 * D + c, time_cols], bp[4 * D + c] = c2[:, 1], bias2[1]
    wp[3 * D + GATE_CH, time_cols], bp[3 * D + GATE_CH] = c2[:, 2], bias2[2]  # k = 3: the FFN input shift
    sd["time_embedding.0.weight"], sd["time_embedding.0.bias"] = w1.float(), b1.float()
    sd["time_embedding.2.weight"], sd["time_embedding.2.bias"] = w2.float(), b2.float()
    sd["time_projection.1.weight"], sd["time_projection.1.bias"] = wp.float(), bp.float()


def zero_sum(w: torch.Tensor, b: torch.Tensor | None = None) -> None:
    """Write minus the sum of every other output row into the sink row (the stream's mean stays 0)."""
    w[SINK] = 0
    w[SINK] = -w.sum(0)
    if b is not None:
        b[SINK] = 0
        b[SINK] = -b.sum()


def attend_copies(sd: dict, pre: str, targets, gain: float) -> None:
    """Self-attention values and output: head h reads the token's content X and writes what it attends to
    into the channel group targets[h]."""
    for h, target in enumerate(targets):
        for j in range(64):
            sd[pre + "v.weight"][h * HD + j, X[j]] = gain
            sd[pre + "o.weight"][target[j], h * HD + j] = 1.0
    zero_sum(sd[pre + "o.weight"], sd[pre + "o.bias"])


def set_qk(sd: dict, pre: str, q: torch.Tensor, k: torch.Tensor) -> None:
    """Content-free q and k through the biases, with the RMSNorm weights that give them back unchanged."""
    sd[pre + "q.weight"].zero_()
    sd[pre + "k.weight"].zero_()
    sd[pre + "q.bias"] = q.clone()
    sd[pre + "k.bias"] = k.clone()
    sd[pre + "norm_q.weight"] = torch.full((D,), float(q.pow(2).mean().sqrt()))
    sd[pre + "norm_k.weight"] = torch.full((D,), float(k.pow(2).mean().sqrt()))


def caption_codes(text_dir: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit the cross-attention read-out: mean over the 8 text tokens of GELU(CLIP hidden state) -> codes."""
    texts = list(synthetic_motion.CAPTIONS) + [""]
    h = flow.text_embeddings(texts, text_dir)[..., :32].double()
    feats = torch.nn.functional.gelu(h, approximate="tanh").mean(1)  # [P, 32]
    target = torch.zeros(len(texts), len(DIRS), dtype=torch.float64)
    for i, t in enumerate(texts):
        if t in DIRS:
            target[i, DIRS.index(t)] = 1
    A = torch.cat([feats, torch.ones(len(texts), 1, dtype=torch.float64)], 1)
    coef = torch.linalg.pinv(A) @ target  # min-norm exact fit
    err = float((A @ coef - target).abs().max())
    log(f"caption codes fitted over {len(texts)} captions (max error {err:.1e})")
    assert err < 1e-3, err
    return coef[:32].T.float(), coef[32].float(), feats


def gated_group(w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, base: int, gate: dict, bias: float,
                content, out: float, gain: float) -> None:
    """GROUP GELU units from `base`: unit j = gelu(g + RHO c_j) - gelu(g) ~ RHO c_j where the gate g (bias plus
    `gate`: {input channel: weight}) is open (~M), ~0 where it is shut (g << 0); c_j = sum of (weight, channel)
    pairs in content(j), the change of cell j; out x c_j is added to Y[j]."""
    for u in range(base, base + GROUP):
        for ch, wt in gate.items():
            w1[u, ch] = wt
        b1[u] = bias
    for j in range(64):
        for wt, ch in content(j):
            w1[base + j, ch] += RHO * gain * wt
        w2[Y[j], base + j] = out / RHO
        w2[Y[j], base + 64] = -out / RHO


def build(comfy, shift: int, text_dir: Path, blur: int = 0, uncond: str = "own") -> dict:
    sd = tfp.wan_state_dict(comfy, 0, dict(dim=D, ffn_dim=FFN, num_layers=LAYERS, num_heads=HEADS))
    for k, v in sd.items():
        if "norm" in k and k.endswith("weight"):
            v.fill_(1.0)
        else:
            v.zero_()
    gain = GAIN_INV  # LayerNorm(x) * gain = x (content channels)

    # patch embedding: X = the token's 64 values; constants +-B
    pw = sd["patch_embedding.weight"]  # [D, 16, 1, 2, 2]
    for c in range(16):
        for ph in range(2):
            for pw_ in range(2):
                pw[X[token_index(c, ph, pw_)], c, 0, ph, pw_] = 1.0
    pb = sd["patch_embedding.bias"]
    pb[CPOS], pb[CNEG] = B, -B
    flat = pw.view(D, -1)
    zero_sum(flat, pb)

    # text embedding: the CLIP hidden state's 32 columns through GELU
    for i in range(32):
        sd["text_embedding.0.weight"][i, i] = 1.0
        sd["text_embedding.2.weight"][i, i] = 1.0

    time_layers(sd)
    for i in range(LAYERS):
        sd[f"blocks.{i}.modulation"][0, 5] = 1.0  # FFN output gate; the attention's comes from time_projection

    k_vec = torch.ones(D)
    k_vec[0:2 * HD] = 0.0
    k_vec[0:2 * HD:2] = 1.0  # heads 0 and 1: pairs (1, 0); head 2 unused

    def filled(heads: list[torch.Tensor], big: float) -> torch.Tensor:
        """Heads 0, 1 as given; head 2 a filler that evens the RMS out (RMSNorm over all heads)."""
        unit = torch.zeros(HD)
        unit[0] = math.sqrt(big ** 2 - sum(float(h.norm()) ** 2 for h in heads))
        return torch.cat([*heads, unit])

    # block 1 self-attention: Y = the previous frame's token (frame 0: its own), Z = the next frame's (last: its own)
    p = "blocks.0.self_attn."
    q = torch.cat([head_query((0, 0), -1), head_query((0, 0), +1), torch.zeros(HD)])
    set_qk(sd, p, q, k_vec)
    attend_copies(sd, p, (Y, Z), gain)

    # block 1 cross-attention: caption codes
    p = "blocks.0.cross_attn."
    w_code, b_code, _ = caption_codes(text_dir)
    sd[p + "v.weight"][:len(DIRS), :32] = w_code
    sd[p + "v.bias"][:len(DIRS)] = b_code
    for i, d in enumerate(DIRS):
        sd[p + "o.weight"][CODE[d], i] = CODE_VALUE
    zero_sum(sd[p + "o.weight"], sd[p + "o.bias"])

    # block 1 FFN: F = sum |X - Y| (0 only for the first frame), G = sum |X - Z| (0 only for the last)
    p = "blocks.0.ffn."
    for flag, other, base in ((FLAG, Y, 0), (GFLAG, Z, 128)):
        for j in range(64):
            for u, sign in ((base + 2 * j, 1.0), (base + 2 * j + 1, -1.0)):
                sd[p + "0.weight"][u, X[j]] = sign * ABS_GAIN * gain
                sd[p + "0.weight"][u, other[j]] = -sign * ABS_GAIN * gain
                sd[p + "2.weight"][flag, u] = FLAG_SCALE / ABS_GAIN
    zero_sum(sd[p + "2.weight"], sd[p + "2.bias"])

    # block 2 self-attention: N = the previous frame's neighbour token the caption's motion comes from,
    # N2 = the next frame's neighbour token on the other side (where the motion goes)
    p = "blocks.1.self_attn."
    heads = {"": [head_query((0, 0), -1), head_query((0, 0), +1)]}
    for d in DIRS:
        heads[d] = [head_query(NEIGHBOUR[d], -1), head_query(NEIGHBOUR[OPPOSITE[d]], +1)]
    big = max(math.sqrt(sum(float(h.norm()) ** 2 for h in hs)) for hs in heads.values()) * 1.05
    bias = filled(heads[""], big)
    set_qk(sd, p, bias, k_vec)
    for d in DIRS:
        sd[p + "q.weight"][:, CODE[d]] = (filled(heads[d], big) - bias) * gain / CODE_VALUE
    attend_copies(sd, p, (N, N2), gain)

    # block 2 FFN: the symmetric estimate, Y -> (sh(Y) + un(Z)) / 2 inside, un(Z) for the first frame (F = 0),
    # sh(Y) for the last (G = 0), with sh / un = moved the caption's way / back (identity for other captions):
    # caption-free (Z - Y) / 2 where G > 0 and again where F = 0; per caption (sh(Y) - Y + un(Z) - Z) / 2, then
    # (un(Z) - Z - sh(Y) + Y) / 2 where F = 0 and minus that where G = 0 (caption units shut at high noise)
    p = "blocks.1.ffn."
    w1, b1, w2 = sd[p + "0.weight"], sd[p + "0.bias"], sd[p + "2.weight"]
    k_flag = K_FLAG / FLAG_SCALE * gain
    own = uncond == "own"
    if own:  # every caption's estimate starts from the frame itself: Y -> X / (1 - s) (this FFN reads X so scaled)
        gated_group(w1, b1, w2, 0, {}, M, lambda j: ((1.0, X[j]), (-1.0, Y[j])), 1.0, gain)
    else:
        still = lambda j: ((1.0, Z[j]), (-1.0, Y[j]))  # noqa: E731
        gated_group(w1, b1, w2, 0, {GFLAG: k_flag}, -M, still, 0.5, gain)
        gated_group(w1, b1, w2, GROUP, {FLAG: -k_flag}, M, still, 0.5, gain)
    for di, d in enumerate(DIRS):
        def content(sign_sh: float, sign_un: float, base_terms: str, d=d):
            """Cell j's sign_sh sh(Y) + sign_un un(Z) minus base_terms ("neighbours": sign_sh Y + sign_un Z; "own":
            2 X / (1 - s), only used with sign_sh = sign_un = 1; "": nothing) as (weight, channel) pairs."""
            def pairs(j):
                r, qq = CELL[j]
                sh = [(sign_sh * w, (Y if src == "Y" else N)[sj]) for w, src, sj in blurred_sources(d, r, qq, shift, blur)]
                un = [(sign_un * w, (Z if src == "Y" else N2)[sj])
                      for w, src, sj in blurred_sources(OPPOSITE[d], r, qq, shift, blur)]
                rest = {"neighbours": ((-sign_sh, Y[j]), (-sign_un, Z[j])), "own": ((-2.0, X[j]),), "": ()}[base_terms]
                return (*sh, *un, *rest)
            return pairs

        base = 2 * GROUP + 3 * GROUP * di
        code = {CODE[d]: M_CODE * gain / CODE_VALUE, GATE_CH: M_TIME}  # the input shift, not the stream: no gain
        open_bias = -M_CODE + M - M_TIME
        # (sh(Y) + un(Z)) / 2 inside, then + (un(Z) - sh(Y)) / 2 where F = 0 and minus that where G = 0; "own" starts
        # from the frame itself (the first group), "neighbours" from the unmoved neighbours (every group)
        inside, ends = ("own", "") if own else ("neighbours", "neighbours")
        gated_group(w1, b1, w2, base, code, open_bias, content(1.0, 1.0, inside), 0.5, gain)
        gated_group(w1, b1, w2, base + GROUP, {**code, FLAG: -k_flag}, open_bias, content(-1.0, 1.0, ends), 0.5, gain)
        gated_group(w1, b1, w2, base + 2 * GROUP, {**code, GFLAG: -k_flag}, open_bias, content(-1.0, 1.0, ends),
                    -0.5, gain)
    zero_sum(w2, sd[p + "2.bias"])

    # head: v = (X - Y) / s, so ComfyUI's denoised x_s - s v = Y
    hw = sd["head.head.weight"]  # [64 = (ph, pw, c), D]
    for c in range(16):
        for ph in range(2):
            for pw_ in range(2):
                o = (ph * 2 + pw_) * 16 + c
                j = token_index(c, ph, pw_)
                hw[o, X[j]] = gain
                hw[o, Y[j]] = -gain
    return sd


# ---------------------------------------------------------------------- check
def ink_image(z: torch.Tensor, ink_mean: float, ink_std: float) -> torch.Tensor:
    """Model-space latents [..., 16, 8, 8] -> pooled ink [..., 32, 32]."""
    ink = z * ink_std + ink_mean
    return torch.nn.functional.pixel_shuffle(ink.flatten(0, -4), 4).view(*z.shape[:-3], 32, 32)


def centroid_slope(ink: torch.Tensor) -> tuple[float, float]:
    """Ink [T, 32, 32] -> (dx, dy) of the ink-weighted centroid from first to last frame (linear fit), in 64-px pixels."""
    w = (ink - ink.median()).clamp_min(0)
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    m = w.sum((1, 2)).clamp_min(1e-9)
    c = torch.stack([(w * xs).sum((1, 2)) / m, (w * ys).sum((1, 2)) / m], 1)  # [T, 2]
    t = torch.arange(len(c), dtype=c.dtype)
    t = t - t.mean()
    slope = (t[:, None] * (c - c.mean(0))).sum(0) / t.pow(2).sum()
    return float(slope[0] * (len(c) - 1) * 2), float(slope[1] * (len(c) - 1) * 2)


@torch.no_grad()
def check(model, ink_mean: float, ink_std: float, text_dir: Path, draws: int = 8) -> None:
    """x0-hat of still clips of unseen drawings at several noise levels: centroid motion per caption
    (what score distillation pulls a still sketch towards), averaged over noise draws."""
    data = synthetic_motion.MotionVideos(seed=123)
    videos, _ = data.batch(4, captions=("moving right",))
    z = (tfp.ink_cells(videos[:, 0].float() / 255) - ink_mean) / ink_std  # [4, 16, 8, 8] first frames
    still = z[:, :, None].expand(-1, -1, 8, -1, -1).contiguous()  # [4, 16, 8, 8, 8]
    texts = list(DIRS) + ["growing", ""]
    ctx = flow.text_embeddings(texts, text_dir)
    g = torch.Generator().manual_seed(0)
    for s in (0.2, 0.4, 0.6, 0.8, 0.93):
        row = []
        for ti, t in enumerate(texts):
            dxs, dys = [], []
            for _ in range(draws):
                zt = (1 - s) * still + s * torch.randn(still.shape, generator=g)
                den = model.model.apply_model(zt, torch.full((len(zt),), s), c_crossattn=ctx[[ti] * len(zt)])
                for v in den:
                    dx, dy = centroid_slope(ink_image(v.movedim(0, 1), ink_mean, ink_std))
                    dxs.append(dx)
                    dys.append(dy)
            row.append(f"{t or 'empty'}: {sum(dxs) / len(dxs):+.1f},{sum(dys) / len(dys):+.1f}")
        log(f"s {s}: x0-hat centroid dx,dy px over 8 frames: " + "; ".join(row))


def main(argv=None) -> int:
    global GATE_FROM, GATE_TO
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=str(tfp.ROOT / "assets" / "motion_prior" / flow.FOLDER))
    ap.add_argument("--comfyui", default=None, help="ComfyUI checkout (default: $COMFYUI_PATH)")
    ap.add_argument("--shift", type=int, default=2, help="cells (2 px at 64 px) the video moves per frame")
    ap.add_argument("--blur", type=int, default=0, help="the moved neighbours blurred along the motion over "
                    "+-BLUR cells (a box; <= --shift): a wider pull when a frame's strokes no longer overlap them")
    ap.add_argument("--uncond", choices=("neighbours", "own"), default="own",
                    help="the estimate for \"\" and other captions: the neighbours unmoved (a stillness pull) or the "
                    "frame itself (so classifier-free guidance multiplies no pull towards the unmoved neighbours)")
    ap.add_argument("--caption-gate", type=float, nargs=2, default=(GATE_FROM, GATE_TO), metavar=("FROM", "TO"),
                    help="noise levels s over which the caption's effect fades out (less noise multiplied by "
                    "guidance when lower, fewer draws that carry the caption)")
    ap.add_argument("--videos", type=int, default=600, help="synthetic videos for the latent scaling")
    ap.add_argument("--check", action="store_true", help="print the x0-hat motion of still clips per caption")
    args = ap.parse_args(argv)
    GATE_FROM, GATE_TO = args.caption_gate
    torch.set_num_threads(1)
    comfy = tfp.import_comfy(args.comfyui)
    out = Path(args.out)

    videos, _ = synthetic_motion.MotionVideos(seed=0).batch(args.videos, captions=tfp.TRAINED)
    cells = tfp.ink_cells(videos.flatten(0, 1).float() / 255)
    ink_mean, ink_std = float(cells.mean()), float(cells.std())
    vae = tfp.build_taesd(comfy, ink_mean, ink_std)

    text_dir = out.with_name(out.name + ".text")
    shutil.rmtree(text_dir, ignore_errors=True)
    text_dir.mkdir(parents=True)
    for sub in ("text_encoder", "tokenizer"):
        shutil.copytree(tfp.TEXT_SOURCE / sub, text_dir / sub)
    (text_dir / flow.MODEL_FILE).touch()
    (text_dir / flow.VAE_FILE).touch()

    sd = build(comfy, args.shift, text_dir, args.blur, args.uncond)
    half = {k: v.half().float() for k, v in sd.items()}  # what the fp16 file gives back
    worst = max(sd, key=lambda k: float(sd[k].abs().max()))
    assert all(torch.isfinite(v).all() for v in half.values()), f"{worst} overflows fp16"
    model = tfp.load_model(comfy, half)
    if args.check:
        check(model, ink_mean, ink_std, text_dir)
    info = {"script": "scripts/build_flow_prior.py", "args": vars(args), "hand_set": True, "wan": dict(
        dim=D, ffn_dim=FFN, num_layers=LAYERS, num_heads=HEADS), "frames": 8, "size": 64, "shift": tfp.SHIFT,
        "ink_mean": ink_mean, "ink_std": ink_std, "captions": list(DIRS)}
    tfp.export(out, sd, vae.state_dict(), text_dir, info)
    shutil.rmtree(text_dir, ignore_errors=True)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
