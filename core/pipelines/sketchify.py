"""Image -> sketch (CLIPasso-style): N cubic strokes fitted to a picture through the renderer.

    result = sketchify(image, config=SketchifyConfig(strokes=16))     # model-free line-map loss
    result = sketchify(image, clip="path/to/open_clip_folder")         # CLIPasso's CLIP losses
    result.sketch, result.loss                                         # a Sketch, and which loss ran

1. Working image: the picture resized so its longer side is `work_size` (224 by default).
   Its line map (`sketchify_losses.line_map`: where a sketch would put ink) is computed once;
   with masks, it is kept only inside their union.
2. Initialisation where the image's structure is: a saliency map (the line map; with a CLIP
   model, the line map times CLIP's relevancy map, as CLIPasso intersects its attention map
   with an edge map) chooses each stroke's seed at random (probability ~ saliency^2, seeded),
   and the stroke follows the line it sits on (the local line direction from the line map's
   structure tensor, snapped to the ridge) until the line ends, turns too much or is already
   drawn; a cubic is fitted to the traced polyline and the covered pixels leave the map for
   the next seeds. With masks, each mask gets strokes in proportion to its area, seeded and
   traced inside it.
3. Optimisation of all control points (Adam, `lr` working px per step, cosine decay) through
   the differentiable renderer against the image, each step on the plain view and on
   `augmentations` random perspective + crop views (core.augment) applied the same to the
   render and the target. The loss (always reported in `SketchifyResult.loss`):
   - "lines" (no model): multi-scale L2 of the render's ink against the line map;
   - "clip": CLIPasso's geometric (intermediate activations, weight 1) + semantic (embedding
     cosine, weight 0.1) losses, with an open_clip model (folder / spec / ClipFeatures) or
     ComfyUI's CLIP_VISION (wrapped by the node as sketchify_losses.HiddenStatesFeatures);
   - "clip+lines": both;
   - plus LPIPS (the `lpips` package, VGG trunk) against the line drawing (1 - line map) when
     the trunk's ImageNet weights are on disk (lpips="auto") or when asked (lpips="on").
   With masks, the strokes of each mask are held inside it (a penalty on centre-line samples
   beyond a small tolerance outside their own mask) and the sketch's object groups are the masks.
   At 30% and 60% of the run, strokes that draw little line of their own (duplicates, strays)
   are re-traced on lines no stroke draws yet (`relocate_strokes`), in their own mask.
4. Colour: black, or sampled from the image under each stroke. The output canvas keeps the
   image's aspect with its longer side `canvas` px (256: LiveSketch's inputs), width `width`.

Deterministic: one seeded generator drives the seeds and the augmentations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..augment import AugmentConfig, apply_grid, sample_grid
from ..callbacks import NO_CALLBACKS, Callbacks
from ..errors import SketchError
from ..filters import gaussian_blur
from ..raster import WHITE, render
from ..sketch import Sketch, sketch_from_paths
from .sketchify_losses import ClipFeatures, OpenClipFeatures, clip_losses, clip_saliency, line_loss, line_map

LOSSES = ("auto", "lines", "clip", "clip+lines")
LPIPS_MODES = ("auto", "on", "off")
COLORS = ("black", "image")
RELOCATE_AT = (0.3, 0.6)  # fractions of the run at which redundant strokes move to undrawn lines


@dataclass
class SketchifyConfig:
    """Settings of one image -> sketch run."""

    strokes: int = 16
    width: float = 3.0  # full stroke width in output-canvas px (LiveSketch's inputs: 3 at 256)
    color: str = "black"  # "black" or "image" (sampled under each stroke)
    iterations: int = 300
    seed: int = 0
    canvas: int = 256  # longer side of the output canvas; 0 = the image's own size
    work_size: int = 224  # longer side at which the strokes are optimised
    loss: str = "auto"  # auto (clip when a CLIP model is given, else lines) | lines | clip | clip+lines
    lpips: str = "auto"  # auto: add LPIPS when its VGG weights are on disk | on | off
    augmentations: int = 1  # augmented views per step (besides the plain one); CLIPasso uses 4
    lr: float = 1.0  # Adam learning rate, in working px per step
    geometric_weight: float = 1.0
    semantic_weight: float = 0.1
    lines_weight: float = 1.0
    lpips_weight: float = 0.5
    mask_weight: float = 1.0  # per squared px of centre line outside its own mask (beyond the tolerance)
    max_stroke_length: float = 0.35  # longest initial stroke, as a fraction of the longer side
    relocate: bool = True  # move redundant / stray strokes onto undrawn lines at 30% and 60% of the run
    # torch threads on the CPU (0 = leave torch's setting). The per-step tensors are small: more threads
    # gain little, and on a shared CPU they collapse (bench/sketchify.py: 2 threads 60x slower than 1
    # on this 2-core machine under load).
    cpu_threads: int = 1
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def validate(self) -> "SketchifyConfig":
        if not 1 <= self.strokes <= 1024:
            raise SketchError(f"strokes must be between 1 and 1024, got {self.strokes}.")
        if not self.width > 0:
            raise SketchError(f"Stroke width must be positive, got {self.width}.")
        if self.color not in COLORS:
            raise SketchError(f"Unknown stroke colour {self.color!r}; use 'black' or 'image'.")
        if self.iterations < 0:
            raise SketchError(f"iterations must be >= 0, got {self.iterations}.")
        if self.loss not in LOSSES:
            raise SketchError(f"Unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}.")
        if self.lpips not in LPIPS_MODES:
            raise SketchError(f"lpips must be one of {', '.join(LPIPS_MODES)}, got {self.lpips!r}.")
        if not 32 <= self.work_size <= 2048:
            raise SketchError(f"work_size must be between 32 and 2048 px, got {self.work_size}.")
        if self.canvas < 0 or self.augmentations < 0 or self.cpu_threads < 0 or not self.lr > 0:
            raise SketchError("canvas, augmentations and cpu_threads must be >= 0 and lr > 0.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SketchifyResult:
    sketch: Sketch
    loss: str  # which loss ran, in words (the node's UI text and the CLI print it)
    iterations: int  # steps actually run
    stopped: bool  # True when should_stop ended the run early
    history: list[float]  # total loss per step
    line_map: torch.Tensor  # [h, w] at the working size
    saliency: torch.Tensor  # [h, w] the map the seeds were drawn from


# --------------------------------------------------------------------------- inputs
def as_image(image) -> torch.Tensor:
    """IMAGE-like input -> [H, W, 3] float in 0..1 on the CPU (RGBA is composited on white)."""
    x = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise SketchError(f"Sketchify takes one image, got a batch of {x.shape[0]}; pick one (e.g. ImageFromBatch).")
        x = x[0]
    if x.ndim == 2:
        x = x[..., None].expand(-1, -1, 3)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise SketchError(f"An image must be [H, W, 3] (or RGBA / gray), got {tuple(x.shape)}.")
    if not torch.is_floating_point(x):
        x = x.float() / 255.0
    x = x.detach().float().cpu().clone()
    if x.shape[-1] == 1:
        x = x.expand(-1, -1, 3)
    if x.shape[-1] == 4:
        x = x[..., :3] * x[..., 3:] + (1 - x[..., 3:])
    if min(x.shape[0], x.shape[1]) < 8:
        raise SketchError(f"The image is too small ({x.shape[1]}x{x.shape[0]}); use at least 8x8 px.")
    return x.clamp(0, 1).contiguous()


def _fit_size(W: int, H: int, long_side: int) -> tuple[int, int]:
    s = long_side / max(W, H)
    return max(1, round(W * s)), max(1, round(H * s))


def _resize(x: torch.Tensor, w: int, h: int) -> torch.Tensor:
    """[H, W, C] -> [h, w, C] (antialiased)."""
    if x.shape[:2] == (h, w):
        return x
    y = F.interpolate(x.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return y[0].permute(1, 2, 0).clamp(0, 1)


def as_masks(masks, w: int, h: int) -> torch.Tensor | None:
    """MASK batch [K, H, W] (any resolution, stretched over the image) -> bool [K, h, w]."""
    if masks is None:
        return None
    m = torch.as_tensor(np.asarray(masks) if not isinstance(masks, torch.Tensor) else masks).detach().float().cpu()
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[0] < 1:
        raise SketchError(f"masks must be a MASK batch [K, H, W] (one mask per object), got {tuple(m.shape)}.")
    if m.max() > 1.0:
        m = m / 255.0
    m = F.interpolate(m[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0] > 0.5
    empty = [k for k in range(m.shape[0]) if not m[k].any()]
    if empty:
        raise SketchError(f"Mask {empty[0]} is empty (at {w}x{h} px); remove it or draw it larger.")
    return m


def allocate_strokes(areas: list[float], n: int) -> list[int]:
    """Strokes per mask in proportion to its area (largest remainder), at least one each."""
    K = len(areas)
    if n < K:
        raise SketchError(f"{K} masks need at least {K} strokes (one each); raise strokes to {K} or more.")
    total = float(sum(areas))
    share = [(n - K) * a / total for a in areas]
    counts = [1 + int(math.floor(s)) for s in share]
    rest = sorted(range(K), key=lambda k: (-(share[k] - math.floor(share[k])), k))
    for k in rest[: n - sum(counts)]:
        counts[k] += 1
    return counts


def _outside_distance(region: torch.Tensor, tolerance: float, near: int = 24) -> torch.Tensor:
    """[K, h, w] bool -> [K, h, w] px beyond `tolerance` outside each region (0 inside or near).

    Chessboard distance by repeated dilation up to `near` px; farther pixels get `near` plus
    their distance to the region's bounding box (still pointing back at the region)."""
    K, h, w = region.shape
    dist = torch.zeros(K, h, w)
    cur = region.float()[:, None]
    for r in range(1, near + 1):
        if bool(cur.min() > 0):
            break
        nxt = F.max_pool2d(cur, 3, stride=1, padding=1)
        dist[(nxt[:, 0] > 0) & (cur[:, 0] == 0)] = float(r)
        cur = nxt
    far = cur[:, 0] == 0
    if bool(far.any()):
        ys, xs = torch.arange(h, dtype=torch.float32)[:, None], torch.arange(w, dtype=torch.float32)[None]
        for k in range(K):
            iy, ix = torch.nonzero(region[k], as_tuple=True)
            dx = (ix.min() - xs).clamp_min(0) + (xs - ix.max()).clamp_min(0)
            dy = (iy.min() - ys).clamp_min(0) + (ys - iy.max()).clamp_min(0)
            dist[k][far[k]] = (near + torch.sqrt(dx**2 + dy**2))[far[k]]
    return (dist - tolerance).clamp_min(0)


# --------------------------------------------------------------------------- initialisation
def _sampler(a: np.ndarray):
    H, W = a.shape

    def sample(x: float, y: float) -> float:
        u, v = x - 0.5, y - 0.5
        i0, j0 = int(math.floor(v)), int(math.floor(u))
        fy, fx = v - i0, u - j0
        total = 0.0
        for di, wy in ((0, 1 - fy), (1, fy)):
            for dj, wx in ((0, 1 - fx), (1, fx)):
                i, j = min(max(i0 + di, 0), H - 1), min(max(j0 + dj, 0), W - 1)
                total += wy * wx * float(a[i, j])
        return total

    return sample


def line_directions(m: torch.Tensor) -> np.ndarray:
    """[h, w, 3]: unit line direction (minor eigenvector of the line map's structure tensor) and
    its coherence in 0..1 (1 = one clear direction, 0 = none, e.g. at a crossing)."""
    g = gaussian_blur(m[None, None].float(), 1.0)
    p = F.pad(g, (1, 1, 1, 1), mode="replicate")
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2
    J = gaussian_blur(torch.cat([gx * gx, gx * gy, gy * gy], 1), 2.0)[0]
    theta = 0.5 * torch.atan2(2 * J[1], J[0] - J[2]) + math.pi / 2
    diff = torch.sqrt((J[0] - J[2]) ** 2 + 4 * J[1] ** 2)
    coherence = (diff / (J[0] + J[2]).clamp_min(1e-12)) ** 2
    return torch.stack([torch.cos(theta), torch.sin(theta), coherence.clamp(0, 1)], -1).numpy()


def fit_cubic(poly: np.ndarray) -> np.ndarray:
    """Least-squares cubic [4, 2] through a polyline [n, 2] (ends fixed, chord-length parameters)."""
    seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    t = t / max(t[-1], 1e-9)
    p0, p3 = poly[0], poly[-1]
    if len(poly) < 4:
        return np.stack([p0, p0 + (p3 - p0) / 3, p0 + 2 * (p3 - p0) / 3, p3])
    b1, b2 = 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2
    rhs = poly - ((1 - t) ** 3)[:, None] * p0 - (t**3)[:, None] * p3
    a11, a12, a22 = float(b1 @ b1), float(b1 @ b2), float(b2 @ b2)  # 2x2 normal equations, solved in closed form
    r1, r2 = b1 @ rhs, b2 @ rhs
    det = a11 * a22 - a12 * a12
    if abs(det) < 1e-12:
        return np.stack([p0, p0 + (p3 - p0) / 3, p0 + 2 * (p3 - p0) / 3, p3])
    return np.stack([p0, (a22 * r1 - a12 * r2) / det, (a11 * r2 - a12 * r1) / det, p3])


def _bezier_np(c: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 3 * c[0] + 3 * (1 - t) ** 2 * t * c[1] + 3 * (1 - t) * t**2 * c[2] + t**3 * c[3]


def _stamp(covered: np.ndarray, pts: np.ndarray, radius: float) -> None:
    """Mark pixels whose centre is within `radius` of any point [n, 2] (in place)."""
    H, W = covered.shape
    k = int(math.ceil(radius)) + 1
    off = np.stack(np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="xy"), -1).reshape(-1, 2)
    base = np.floor(pts).astype(int)
    pix = base[:, None, :] + off[None]
    d = np.linalg.norm(pix + 0.5 - pts[:, None, :], axis=-1)
    keep = (d <= radius) & (pix[..., 0] >= 0) & (pix[..., 0] < W) & (pix[..., 1] >= 0) & (pix[..., 1] < H)
    covered[pix[..., 1][keep], pix[..., 0][keep]] = True


def _trace(seed, u, *, m_at, dirs, covered, region, max_len, step=1.0, threshold=0.2, max_turn=math.radians(130)):
    """Follow the line through `seed` along direction u; returns the points after the seed.

    m_at: line-map sampler; dirs: line directions + coherence [h, w, 3]; covered / region: bool [h, w].
    Stops at max_len px, where the line map falls below `threshold`, after a bend over 50 degrees in one
    step or `max_turn` in all, outside `region`, or after 6 px over already drawn ink.
    """
    H, W = covered.shape
    p, d = np.array(seed, dtype=float), np.array(u, dtype=float)
    out, length, turn, run = [], 0.0, 0.0, 0
    offsets = np.array([-1.5, -0.75, 0.0, 0.75, 1.5])
    while length + step <= max_len:
        q = p + step * d
        n = np.array([-d[1], d[0]])
        vals = np.array([m_at(*(q + s * n)) for s in offsets])
        if vals.sum() > 1e-6:
            q = q + n * float((vals * offsets).sum() / vals.sum())
        j, i = int(q[0]), int(q[1])
        if not (0 <= i < H and 0 <= j < W) or not region[i, j] or m_at(*q) < threshold:
            break
        local, coherence = dirs[i, j, :2], dirs[i, j, 2]
        if local @ d < 0:
            local = -local
        new = (q - p) / max(np.linalg.norm(q - p), 1e-9) + coherence * local
        new = new / max(np.linalg.norm(new), 1e-9)
        a = math.acos(float(np.clip(new @ d, -1, 1)))
        turn += a
        if a > math.radians(50) or turn > max_turn:
            break
        run = run + 1 if covered[i, j] else 0
        if run * step > 6.0:
            break
        out.append(q)
        p, d, length = q, new, length + step
    while run > 0 and out:  # drop an already drawn tail
        out.pop()
        run -= 1
    return out


def init_strokes(m: torch.Tensor, saliency: torch.Tensor, region: torch.Tensor, n: int, width: float,
                 generator: torch.Generator, max_len: float, covered: np.ndarray | None = None) -> list[np.ndarray]:
    """n cubic strokes [4, 2] (working px) seeded from `saliency` and traced along the line map `m`
    inside `region` (bool [h, w]); `covered` (bool [h, w], updated) marks what earlier strokes drew."""
    h, w = m.shape
    mn = m.numpy().astype(np.float64)
    m_at = _sampler(mn)
    dirs = line_directions(m)
    reg = region.numpy()
    if covered is None:
        covered = np.zeros((h, w), dtype=bool)
    sal = (saliency * region).double()
    min_len = max(6.0, 3.0 * width)
    radius = width / 2 + 1.5
    line = dict(m_at=m_at, dirs=dirs, covered=covered, region=reg)
    strokes = []
    for _ in range(n):
        free = sal * torch.from_numpy(~covered)
        prob = free**2
        if float(prob.sum()) <= 1e-12:
            prob = sal
        if float(prob.sum()) <= 1e-12:
            prob = region.double()
        k = int(torch.multinomial(prob.flatten(), 1, generator=generator).item())
        seed = np.array([k % w + 0.5, k // w + 0.5])
        u = dirs[k // w, k % w, :2]
        fwd = _trace(seed, u, max_len=max_len / 2, **line)
        bwd = _trace(seed, -u, max_len=max_len - len(fwd), **line)
        poly = np.array([*bwd[::-1], seed, *fwd])
        if len(poly) < 2 or np.linalg.norm(np.diff(poly, axis=0), axis=1).sum() < min_len:
            c = poly.mean(0) if len(poly) else seed
            poly = np.stack([c - u * min_len / 2, c + u * min_len / 2])
        cubic = fit_cubic(poly)
        cubic[..., 0] = cubic[..., 0].clip(0, w)
        cubic[..., 1] = cubic[..., 1].clip(0, h)
        _stamp(covered, _bezier_np(cubic, max(8, int(len(poly) * 2))), radius)
        strokes.append(cubic)
    return strokes


@torch.no_grad()
def relocate_strokes(sk: Sketch, points: torch.Tensor, m: torch.Tensor, sal: torch.Tensor, regions, width: float,
                     generator: torch.Generator, max_len: float) -> dict[int, torch.Tensor]:
    """{path: new points}: strokes whose own contribution (line map drawn by no other stroke) is
    small are re-traced on a line no stroke draws yet, in their group's region, when the new
    place draws at least twice as much (working px, single-cubic paths). At most a quarter of
    the strokes move per call."""
    P = sk.num_paths

    def coverage(s, pts):
        return (1 - render(s, pts, background=WHITE).mean(-1)).cpu()

    cov = torch.stack([coverage(sk.select_paths([p]), points[sk.path_offsets[p]:sk.path_offsets[p + 1]])
                       for p in range(P)])  # [P, h, w]
    log_t = torch.log1p(-cov.clamp(max=1 - 1e-6))
    others = 1 - torch.exp(log_t.sum(0, keepdim=True) - log_t)  # ink of all the other strokes
    contribution = (cov * m * (1 - others)).flatten(1).sum(1)
    drawn = F.max_pool2d((1 - torch.exp(log_t.sum(0)))[None, None], 5, stride=1, padding=2)[0, 0]
    covered = (drawn > 0.3).numpy().copy()
    moved: dict[int, torch.Tensor] = {}
    for p in torch.argsort(contribution).tolist()[: max(1, P // 4)]:
        reg = regions[int(sk.group[p])]
        free = m * reg * torch.from_numpy(~covered)
        if float(free.sum()) < float(contribution[p]):
            continue
        trial = covered.copy()
        c = torch.tensor(init_strokes(m, sal * (free > 0), reg, 1, width=width, generator=generator, max_len=max_len,
                                      covered=trial)[0], dtype=points.dtype)
        single = sketch_from_paths([c], stroke_width=float(sk.stroke_width[p]), canvas=sk.canvas)
        gain = float((coverage(single, c.to(sk.device)) * free).sum())
        if gain > 2.0 * float(contribution[p]):
            moved[p] = c
            covered = trial
    return moved


# --------------------------------------------------------------------------- losses in use
def _lpips_weights(search_dirs=()):
    """The VGG16 ImageNet file LPIPS needs, or None (core.models looks in search_dirs and torch's cache)."""
    from ..models import find_backbone_weights

    return find_backbone_weights("vgg", search_dirs)


def describe_loss(kind: str, clip: ClipFeatures | None, lpips_on: bool, lpips_pre: bool = True) -> str:
    parts = []
    if "clip" in kind:
        layers = ", ".join(str(i + 1) for i in clip.layers)
        parts.append(f"CLIP geometric (layers {layers}) + semantic [{clip.name}]")
    if "lines" in kind:
        parts.append("multi-scale line map" + ("" if "clip" in kind else " (no model)"))
    if lpips_on:
        parts.append("LPIPS-vgg" + ("" if lpips_pre else " (random trunk)"))
    return " + ".join(parts)


def _resolve_clip(clip, device) -> ClipFeatures | None:
    if clip is None or isinstance(clip, ClipFeatures):
        return clip
    if isinstance(clip, (str, bytes)) or hasattr(clip, "__fspath__"):
        from ..metrics_clip import load_clip

        return OpenClipFeatures(load_clip(str(clip), device=device))
    if hasattr(clip, "visual"):  # an open_clip model, or ClipImageEncoder
        return OpenClipFeatures(clip)
    if hasattr(getattr(clip, "model", None), "visual"):
        return OpenClipFeatures(clip)
    raise SketchError(f"Cannot use {type(clip).__name__} as a CLIP model; pass an open_clip folder or model.")


def _square(x: torch.Tensor, fill: float = 1.0) -> torch.Tensor:
    """[B, H, W, C] -> centred square [B, S, S, C], padded with `fill`."""
    B, H, W, C = x.shape
    S = max(H, W)
    if H == W:
        return x
    l, t = (S - W) // 2, (S - H) // 2
    return F.pad(x.permute(0, 3, 1, 2), (l, S - W - l, t, S - H - t), value=fill).permute(0, 2, 3, 1)


def _resize_views(x: torch.Tensor, side: int) -> torch.Tensor:
    """[B, S, S, C] -> [B, side, side, C] (bilinear, differentiable)."""
    if x.shape[1] == side:
        return x
    return F.interpolate(x.permute(0, 3, 1, 2), size=(side, side), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)


# --------------------------------------------------------------------------- the pipeline
def sketchify(image, masks=None, config: SketchifyConfig | None = None, clip=None,
              callbacks: Callbacks = NO_CALLBACKS, device=None, search_dirs=()) -> SketchifyResult:
    """Turn one image into a sketch of cubic strokes. See the module docstring.

    image: [H, W, 3] (or [1, H, W, C], RGBA, uint8) in 0..1. masks: optional MASK batch [K, H', W'].
    clip: None, an open_clip folder / spec, an open_clip model, or a ClipFeatures adapter.
    search_dirs: folders to look in for LPIPS's VGG16 weights (besides torch's hub cache).
    Safe to call under torch.inference_mode() (as ComfyUI runs nodes): inputs are copied into
    normal tensors and the optimisation runs with gradients enabled. On the CPU it runs with
    `cfg.cpu_threads` torch threads (restored afterwards).
    """
    cfg = (config or SketchifyConfig()).validate()
    on_cpu = device is None or torch.device(device).type == "cpu"
    saved = torch.get_num_threads()
    if on_cpu and cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            return _sketchify(image, masks, config=cfg, clip=clip, callbacks=callbacks, device=device,
                              search_dirs=search_dirs)
    finally:
        torch.set_num_threads(saved)


def _sketchify(image, masks, config, clip, callbacks, device, search_dirs) -> SketchifyResult:
    cfg = (config or SketchifyConfig()).validate()
    dev = torch.device(device) if device is not None else torch.device("cpu")
    img = as_image(image)
    H0, W0 = img.shape[:2]
    w, h = _fit_size(W0, H0, cfg.work_size)
    work = _resize(img, w, h)
    canvas = (W0, H0) if cfg.canvas == 0 else _fit_size(W0, H0, cfg.canvas)
    scale = canvas[0] / w  # working px -> canvas px (same both ways up to rounding)
    width_work = cfg.width / scale

    kind = cfg.loss if cfg.loss != "auto" else ("clip" if clip is not None else "lines")
    feats = _resolve_clip(clip, dev)
    if "clip" in kind and feats is None:
        raise SketchError(f"Loss {kind!r} needs a CLIP model: connect a CLIP_VISION model or give an open_clip folder, "
                          "or use the model-free 'lines' loss.")
    lpips_file = _lpips_weights(search_dirs) if cfg.lpips != "off" else None
    lpips_on = cfg.lpips == "on" or lpips_file is not None

    mk = as_masks(masks, w, h)
    m = line_map(work, scale=width_work)
    region_all = torch.ones(h, w, dtype=torch.bool) if mk is None else mk.any(0)
    m = m * region_all
    sal = m.clone()
    if feats is not None:
        rel = clip_saliency(feats, work.to(dev)).cpu()
        sal = m * (0.25 + 0.75 * rel)  # CLIPasso: relevancy intersected with the edge map
    gen = torch.Generator().manual_seed(int(cfg.seed))

    # ---- initial strokes, per mask in proportion to its area
    max_len = cfg.max_stroke_length * max(w, h)
    regions = [region_all] if mk is None else list(mk)
    counts = [cfg.strokes] if mk is None else allocate_strokes([float(r.sum()) for r in regions], cfg.strokes)
    covered = np.zeros((h, w), dtype=bool)
    paths, groups = [], []
    for k, (reg, n) in enumerate(zip(regions, counts)):
        for c in init_strokes(m, sal, reg, n, width=width_work, generator=gen, max_len=max_len, covered=covered):
            paths.append(torch.tensor(c, dtype=torch.float32))
            groups.append(k)
    sk = sketch_from_paths(paths, stroke_width=width_work, canvas=(w, h), group=groups).to(dev)

    # ---- losses
    target_img = work.to(dev)
    target_map = m.to(dev)
    lp = None
    lpips_pre = True
    if lpips_on:
        from ..guidance.perceptual import load_lpips

        lp, lpips_pre = load_lpips("vgg", str(lpips_file) if lpips_file else None, allow_random=cfg.lpips == "on")
        lp = lp.to(dev)
    loss_name = describe_loss(kind, feats, lp is not None, lpips_pre)
    outside = None
    if mk is not None:
        outside = _outside_distance(mk, width_work / 2 + 1.0).to(dev)  # [K, h, w] px
        group_of_point = sk.group[sk.point_path]
    t_samples = torch.linspace(0, 1, 16, device=dev)[:, None]
    seg = sk.segment_index

    def total_loss(points, step_gen):
        out = render(sk, points, background=WHITE)  # [h, w, 3]
        stats = {}
        views_r, views_t, views_m = [out[None]], [target_img[None]], [1 - target_map[None, ..., None].expand(-1, -1, -1, 3)]
        for _ in range(cfg.augmentations):
            grid = sample_grid(h, w, cfg.augment, step_gen, out_size=min(h, w))
            views_r.append(apply_grid(out[None], grid))
            views_t.append(apply_grid(target_img[None], grid))
            views_m.append(apply_grid(views_m[0], grid))
        loss = 0.0
        if "lines" in kind:
            ll = sum(line_loss(1 - r.mean(-1), 1 - mm[..., 0]) for r, mm in zip(views_r, views_m)) / len(views_r)
            stats["lines"] = float(ll.detach())
            loss = loss + cfg.lines_weight * ll
        if "clip" in kind:
            side = max(h, w)  # the plain view padded square, the augmented (min-side) views resized to match
            rs = torch.cat([_square(views_r[0])] + [_resize_views(v, side) for v in views_r[1:]])
            ts = torch.cat([_square(views_t[0])] + [_resize_views(v, side) for v in views_t[1:]])
            geo, sem = clip_losses(feats, rs, ts)
            stats["geometric"], stats["semantic"] = float(geo.detach()), float(sem.detach())
            loss = loss + cfg.geometric_weight * geo + cfg.semantic_weight * sem
        if lp is not None:
            a = out.permute(2, 0, 1)[None] * 2 - 1
            b = views_m[0].permute(0, 3, 1, 2) * 2 - 1
            lv = lp(a, b).mean()
            stats["lpips"] = float(lv.detach())
            loss = loss + cfg.lpips_weight * lv
        if outside is not None:
            ctrl = points[seg]  # [S, 4, 2]
            t = t_samples
            curve = ((1 - t) ** 3 * ctrl[:, None, 0] + 3 * (1 - t) ** 2 * t * ctrl[:, None, 1]
                     + 3 * (1 - t) * t**2 * ctrl[:, None, 2] + t**3 * ctrl[:, None, 3])  # [S, 16, 2]
            g = group_of_point[seg[:, 0]]
            grid = torch.stack([2 * curve[..., 0] / w - 1, 2 * curve[..., 1] / h - 1], -1)[:, None]  # [S, 1, 16, 2]
            d = F.grid_sample(outside[g][:, None], grid, mode="bilinear", padding_mode="border", align_corners=False)
            pen = (d**2).mean()
            stats["outside_px2"] = float(pen.detach())
            loss = loss + cfg.mask_weight * pen
        stats["loss"] = float(loss.detach())
        return loss, stats, out

    # ---- optimisation
    points = sk.points.clone().requires_grad_(True)
    opt = _Adam(points)
    bounds = torch.tensor([w, h], dtype=points.dtype, device=dev)
    history: list[float] = []
    stopped = False
    steps = 0
    last = {}

    def preview():
        return render(sk, points.detach(), background=WHITE)[None]

    relocate_at = {round(cfg.iterations * f) for f in RELOCATE_AT} if cfg.iterations >= 30 else set()

    for step in range(1, cfg.iterations + 1):
        if callbacks.stop_requested():
            stopped = True
            break
        lr = cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / max(1, cfg.iterations))))
        loss, last, _ = total_loss(points, gen)
        points.grad = None
        loss.backward()
        if not bool(torch.isfinite(points.grad).all()):
            raise SketchError("The sketch loss produced NaN/inf gradients; try a lower lr or another seed.")
        opt.step(lr)
        with torch.no_grad():
            points.copy_(torch.minimum(points.clamp_min(0), bounds))
        history.append(last["loss"])
        steps = step
        if cfg.relocate and step in relocate_at:
            moved = relocate_strokes(sk, points.detach().cpu(), m, sal, regions, width=width_work, generator=gen,
                                     max_len=max_len)
            with torch.no_grad():
                for p, new in moved.items():
                    rows = slice(sk.path_offsets[p], sk.path_offsets[p + 1])
                    points[rows] = new.to(dev)
                    opt.reset(rows)  # fresh Adam moments for the moved strokes
            last["relocated"] = len(moved)
        callbacks.report(step, cfg.iterations, dict(last, loss_name=loss_name), preview)

    final = points.detach()
    colors = torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(sk.num_paths, 4).clone()
    if cfg.color == "image":
        colors = _sample_colors(sk.with_points(final).to("cpu"), work)
    out_sk = sketch_from_paths(
        [final.cpu()[sk.path_offsets[p]:sk.path_offsets[p + 1]] * scale for p in range(sk.num_paths)],
        stroke_width=cfg.width, stroke_color=colors, canvas=canvas, group=groups,
    )
    return SketchifyResult(sketch=out_sk, loss=loss_name, iterations=steps, stopped=stopped, history=history,
                           line_map=m, saliency=sal)


class _Adam:
    """Adam on one tensor (betas 0.9 / 0.999, eps 1e-8) with per-row resets; written out because
    torch.optim's first use imports torch._dynamo (seconds of start-up for a few lines of maths)."""

    def __init__(self, param: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.p, self.b1, self.b2, self.eps = param, betas[0], betas[1], eps
        self.m, self.v = torch.zeros_like(param), torch.zeros_like(param)
        self.t = torch.zeros(param.shape[0], 1, dtype=param.dtype, device=param.device)  # steps per row

    @torch.no_grad()
    def step(self, lr: float) -> None:
        g = self.p.grad
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        self.p.sub_(lr * m_hat / (v_hat.sqrt() + self.eps))

    def reset(self, rows) -> None:
        self.m[rows], self.v[rows], self.t[rows] = 0, 0, 0


@torch.no_grad()
def _sample_colors(sk: Sketch, image: torch.Tensor) -> torch.Tensor:
    """[P, 4]: each stroke's colour = the image under its core (coverage^4-weighted mean)."""
    out = []
    for p in range(sk.num_paths):
        a = 1 - render(sk.select_paths([p]), background=WHITE).mean(-1)  # [h, w] coverage
        wgt = a**4
        if float(wgt.sum()) <= 1e-9:
            out.append(torch.tensor([0.0, 0.0, 0.0, 1.0]))
            continue
        rgb = (image * wgt[..., None]).sum((0, 1)) / wgt.sum()
        out.append(torch.cat([rgb, torch.ones(1)]))
    return torch.stack(out)


__all__ = ["SketchifyConfig", "SketchifyResult", "sketchify", "line_map", "allocate_strokes", "init_strokes"]
