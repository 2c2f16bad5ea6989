"""Liv3Stroke (dynamic 3D sketches from video), stage 1: motion guidance.

`motion_guidance(video, config, callbacks) -> PointMotion` fits a cloud of 3D
points and a deformation field (x, t) -> displacement to a posed video: at every
step the points are deformed to the times of a few frames, splatted through those
frames' cameras (core.raster.points) and compared with the frames.

Loss (REFERENCE.md section 3; the forms of the regularisers are our choice):
    L = 0.1 L_frame + 0.05 L_temp + 1e-4 L_rigid
- L_frame: LPIPS (the `lpips` package, VGG trunk) between the grayscale point
  render and the grayscale frame; "vgg": the sketch papers' variant (VGG16
  features before ReLU at 5 stages, channel-normalised, no learned heads);
  "l2" / "l1" / "l2_blur" (L2 over an average-pooling pyramid) for fast CPU runs.
- L_temp: mean over points and interior frames of |x^{t+1} - 2 x^t + x^{t-1}|^2
  (velocity continuity), positions in normalised scene units (volume -> [-1, 1]).
- L_rigid: mean over points, their k nearest canonical neighbours and frame
  pairs (t, t+1) of Charbonnier(|x_i^t - x_j^t| - |x_i^{t+1} - x_j^{t+1}|), eps 1e-3,
  normalised units.
Weights: the paper's 0.1 / 0.05 / 1e-4 with these definitions (its units and
reductions are not published).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from ..camera import Cameras
from ..errors import SketchError
from ..motion.point_field import DeformationField
from ..posed_video import PosedVideo
from ..raster.points import splat

FRAME_LOSSES = ("lpips", "vgg", "l2", "l1", "l2_blur")
INITS = ("auto", "volume", "mask", "ink", "depth")


@dataclass
class MotionGuidanceConfig:
    """Settings of stage 1. None means "choose from the device / input"."""

    num_points: int | None = None  # 10000 on GPU, 2000 on CPU
    iterations: int = 2000
    frames_per_step: int = 4
    render_size: int | None = 256  # longest side of the frames used for the loss (None: as given)
    point_sigma: float = 0.75  # Gaussian radius of a point, pixels at render_size
    point_opacity: float = 0.5
    init: str = "auto"  # auto: depth, else masks, else the frustum volume
    # deformation MLP (D-NeRF defaults)
    pos_freqs: int = 10
    time_freqs: int = 6
    mlp_depth: int = 8
    mlp_width: int = 256
    mlp_skip: int | None = 4
    canonical_time: float = 0.0
    # optimisation
    lr_field: float = 5e-4
    lr_points: float = 5e-3  # normalised units per step scale (Adam)
    lr_final_ratio: float = 0.1  # exponential decay to this fraction at the end
    frame_loss: str = "lpips"
    lpips_net: str = "vgg"
    weights_path: str | None = None  # VGG16 / AlexNet ImageNet state dict for the loss backbone
    allow_random_backbone: bool = True  # no weights found -> random-init trunk (with a warning)
    w_frame: float = 0.1
    w_temp: float = 0.05
    w_rigid: float = 1e-4
    knn: int = 8
    rigid_points: float = 10000.0  # L_rigid is a mean times this: a sum over the paper's 10k points
    static_warmup: float = 0.25  # first fraction of steps: canonical points only, field frozen (4DGS-style)
    prune_background: float | None = 0.5  # drop points on white in more than this fraction of frames
    preview_every: int = 0  # 0: about 10 previews per run
    seed: int = 0
    device: str | None = None


@dataclass(eq=False)
class PointMotion:
    """Stage-1 result: canonical points [N,3] (world) and the deformation field."""

    canonical: torch.Tensor
    field: DeformationField
    times: torch.Tensor  # input frame times, sorted
    cameras: Cameras
    steps: int = 0
    stopped: bool = False
    history: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @torch.no_grad()
    def points_at(self, times) -> torch.Tensor:
        """[T, N, 3] deformed points at times in [0, 1]."""
        dev = next(self.field.parameters()).device
        return self.field.deform(self.canonical.to(dev), torch.as_tensor(times, dtype=torch.float32).to(dev)).cpu()

    @property
    def trajectories(self) -> torch.Tensor:
        """[T, N, 3] points at the input frame times."""
        return self.points_at(self.times)


# ------------------------------------------------------------------ losses
def _backbone_file(net: str) -> str:
    """Where torchvision caches the ImageNet weights the loss trunk needs."""
    names = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}
    return os.path.join(torch.hub.get_dir(), "checkpoints", names[net])


def _backbone_state(net: str, weights_path: str | None, allow_random: bool) -> dict | None:
    path = weights_path or _backbone_file(net)
    if os.path.isfile(path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - a broken file is a user-fixable error
            raise SketchError(f"Cannot read loss backbone weights {path}: {e}.") from e
    if weights_path or not allow_random:
        raise SketchError(
            f"Loss backbone weights not found: {path}. Put torchvision's ImageNet {net} weights "
            f"({os.path.basename(_backbone_file(net))}) there, or allow a random backbone.")
    warnings.warn(f"No ImageNet weights at {path}; the perceptual loss uses a random-init {net} trunk.")
    return None


def load_lpips(net: str = "vgg", weights_path: str | None = None, allow_random: bool = True):
    """The `lpips` package's LPIPS (learned heads ship with the package); never downloads.

    The trunk is built random (pnet_rand) and then loaded from `weights_path` or
    torchvision's cache file under $TORCH_HOME/hub/checkpoints when present.
    Returns (module, pretrained_trunk: bool).
    """
    import lpips

    if net not in ("vgg", "alex"):
        raise SketchError(f"LPIPS net must be 'vgg' or 'alex', got {net!r}.")
    state = _backbone_state(net, weights_path, allow_random)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    if state is not None:
        trunk = model.net
        own = trunk.state_dict()
        mapped = {}
        for key in own:  # slice{k}.{i}.weight <- features.{i}.weight
            _, i, kind = key.split(".")
            src = f"features.{i}.{kind}"
            if src not in state:
                raise SketchError(f"Backbone weights lack {src}; is it torchvision's {net} ImageNet state dict?")
            mapped[key] = state[src]
        trunk.load_state_dict(mapped)
    model.eval().requires_grad_(False)
    return model, state is not None


class VGGFeatureLoss(torch.nn.Module):
    """The sketch papers' perceptual loss: VGG16 conv outputs before ReLU at 5 stages, channel-normalised."""

    CUTS = (3, 8, 15, 22, 29)  # features[:3] ends with conv1_2, ... conv5_3

    def __init__(self, state: dict | None):
        super().__init__()
        import torchvision

        feats = torchvision.models.vgg16(weights=None).features
        if state is not None:
            feats.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
        for m in feats:
            if isinstance(m, torch.nn.ReLU):
                m.inplace = False  # the pre-ReLU outputs are kept for the loss
        self.stages = torch.nn.ModuleList()
        prev = 0
        for cut in self.CUTS:
            self.stages.append(feats[prev:cut])
            prev = cut
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406])[None, :, None, None])
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225])[None, :, None, None])
        self.eval().requires_grad_(False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: [B, 3, H, W] in 0..1 -> mean loss."""
        x = (torch.cat([a, b]) - self.mean) / self.std
        total = 0.0
        for stage in self.stages:
            x = stage(x)  # stages after the first begin with that conv's ReLU
            fa, fb = x.chunk(2)
            fa = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
            fb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
            total = total + ((fa - fb) ** 2).sum(1).mean()
        return total


def make_frame_loss(kind: str, device, net: str = "vgg", weights_path: str | None = None,
                    allow_random: bool = True):
    """loss(render [B,H,W], target [B,H,W]) for grayscale images in 0..1, and a short description."""
    if kind not in FRAME_LOSSES:
        raise SketchError(f"Unknown frame loss {kind!r}; use one of {', '.join(FRAME_LOSSES)}.")
    if kind == "l2":
        return (lambda r, g: F.mse_loss(r, g)), "l2"
    if kind == "l1":
        return (lambda r, g: F.l1_loss(r, g)), "l1"
    if kind == "l2_blur":
        def pyramid_l2(r, g):
            r, g = r[:, None], g[:, None]
            loss = F.mse_loss(r, g)
            while min(r.shape[-2:]) >= 8:
                r, g = F.avg_pool2d(r, 2), F.avg_pool2d(g, 2)
                loss = loss + F.mse_loss(r, g)
            return loss
        return pyramid_l2, "l2_blur"
    if kind == "lpips":
        model, pre = load_lpips(net, weights_path, allow_random)
        model = model.to(device)

        def lp(r, g):
            return model(r[:, None].expand(-1, 3, -1, -1) * 2 - 1, g[:, None].expand(-1, 3, -1, -1) * 2 - 1).mean()
        return lp, f"lpips-{net}" + ("" if pre else " (random trunk)")
    state = _backbone_state("vgg", weights_path, allow_random)
    model = VGGFeatureLoss(state).to(device)
    return (lambda r, g: model(r[:, None].expand(-1, 3, -1, -1), g[:, None].expand(-1, 3, -1, -1))), (
        "vgg-features" + ("" if state is not None else " (random trunk)"))


# ------------------------------------------------------------ initialisation
def scene_bounds(cameras: Cameras) -> tuple[torch.Tensor, float]:
    """(centre [3], radius) of the volume all cameras look at.

    Centre: the point closest to every optical axis (least squares); for parallel
    axes (a fixed camera) the point on the axis nearest the world origin. Radius:
    the smallest half-extent of the view at the centre's depth over the cameras.
    """
    o, d = cameras.centers.double(), cameras.directions.double()
    A = torch.eye(3, dtype=torch.float64) * len(cameras) - torch.einsum("bi,bj->ij", d, d)
    if float(torch.linalg.svdvals(A).min()) > 1e-3 * len(cameras):
        b = (o - d * (d * o).sum(-1, keepdim=True)).sum(0)
        c = torch.linalg.solve(A, b)
    else:
        along = float((-(o[0]) * d[0]).sum())
        c = o[0] + d[0] * (along if along > 1e-6 else 1.0)
    c = c.float()
    depth = ((c[None] - cameras.centers) * cameras.directions).sum(-1)
    if bool((depth <= cameras.near).any()):
        raise SketchError("The cameras do not look at a common volume in front of them; check the poses.")
    half = torch.minimum(cameras.cx / cameras.fx, cameras.cy / cameras.fy)
    if cameras.projection == "perspective":
        half = half * depth
    return c, float(half.min())


def pixel_size(cameras: Cameras, centre: torch.Tensor) -> float:
    """World size of one pixel at the scene centre (median over the cameras)."""
    if cameras.projection == "orthographic":
        return float((1.0 / cameras.fx).median())
    depth = ((centre[None] - cameras.centers) * cameras.directions).sum(-1)
    return float((depth / cameras.fx).median())


def _in_view(cameras: Cameras, pts: torch.Tensor) -> torch.Tensor:
    pix, depth = cameras.project(pts)
    ok = (depth > cameras.near) & (pix[..., 0] >= 0) & (pix[..., 0] < cameras.width)
    ok = ok & (pix[..., 1] >= 0) & (pix[..., 1] < cameras.height)
    return ok.all(0)


def _sample_pixels(weight: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """n pixel positions [n, 2] drawn with probability proportional to weight [H, W], jittered in the pixel."""
    H, W = weight.shape
    flat = weight.reshape(-1).clamp_min(0).double()
    if float(flat.sum()) <= 0:
        raise SketchError("The mask / ink of the canonical frame is empty; cannot place points there.")
    idx = torch.multinomial(flat, n, replacement=True, generator=gen)
    xy = torch.stack([idx % W, idx // W], -1).float()
    return xy + torch.rand(n, 2, generator=gen)


def initial_points(video: PosedVideo, num: int, init: str, centre: torch.Tensor, radius: float,
                   gen: torch.Generator, canonical_index: int = 0) -> torch.Tensor:
    """Canonical points [num, 3]: in the frustum volume, or on rays through mask / ink / depth pixels."""
    if init not in INITS:
        raise SketchError(f"Unknown init {init!r}; use one of {', '.join(INITS)}.")
    if init == "auto":
        init = "depth" if video.depth is not None else ("mask" if video.masks is not None else "volume")
    if init == "volume":
        got, tries = [], 0
        while sum(len(g) for g in got) < num and tries < 50:
            cand = centre + (torch.rand(num * 2, 3, generator=gen) * 2 - 1) * radius
            got.append(cand[_in_view(video.cameras, cand)])
            tries += 1
        pts = torch.cat(got)
        if len(pts) < num:
            raise SketchError("Could not place points inside every camera's view; check the camera poses.")
        return pts[:num]
    cam = video.cameras[canonical_index]
    if init == "mask":
        if video.masks is None:
            raise SketchError("init='mask' needs masks with the frames.")
        weight = video.masks[canonical_index]
    elif init == "ink":
        weight = 1.0 - video.frames[canonical_index].mean(-1)
    else:
        if video.depth is None:
            raise SketchError("init='depth' needs depth maps with the frames.")
        weight = video.masks[canonical_index] if video.masks is not None else 1.0 - video.frames[canonical_index].mean(-1)
    pix = _sample_pixels(weight, num, gen)
    centre_depth = float(((centre - cam.centers[0]) * cam.directions[0]).sum())
    if init == "depth":
        dmap = video.depth[canonical_index]
        val = dmap[pix[:, 1].long().clamp(0, dmap.shape[0] - 1), pix[:, 0].long().clamp(0, dmap.shape[1] - 1)]
        if video.depth_mode == "metric":
            depth = val
        else:  # bright = near, spread over the volume's depth range
            lo, hi = float(dmap.min()), float(dmap.max())
            v = (val - lo) / max(hi - lo, 1e-6)
            depth = centre_depth + radius * (1.0 - 2.0 * v)
    else:
        depth = centre_depth + radius * (torch.rand(num, generator=gen) * 2 - 1)
    depth = depth.clamp_min(cam.near * 10)
    return cam.unproject(pix[None], depth[None])[0]


def knn_indices(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """[N, k] indices of each point's k nearest other points (chunked, no grad)."""
    k = min(k, x.shape[0] - 1)
    out = []
    with torch.no_grad():
        for s in range(0, x.shape[0], chunk):
            d = torch.cdist(x[s : s + chunk], x)
            d[torch.arange(d.shape[0]), torch.arange(s, s + d.shape[0])] = float("inf")
            out.append(d.topk(k, largest=False).indices)
    return torch.cat(out)


# --------------------------------------------------------------- the loop
def _callback(callbacks, name):
    if callbacks is None:
        return None
    if isinstance(callbacks, dict):
        return callbacks.get(name)
    return getattr(callbacks, name, None)


def motion_guidance(video: PosedVideo, config: MotionGuidanceConfig | None = None, callbacks=None) -> PointMotion:
    """Stage 1 of Liv3Stroke: fit points + deformation field to a posed video (see the module docstring).

    callbacks: None, a dict or an object with optional progress(step, total, preview)
    (preview: [H, 2W, 3] target | render image, or None) and should_stop() -> bool,
    both called every step; a stop returns the result so far.
    """
    cfg = config or MotionGuidanceConfig()
    if cfg.frame_loss not in FRAME_LOSSES:
        raise SketchError(f"Unknown frame loss {cfg.frame_loss!r}; use one of {', '.join(FRAME_LOSSES)}.")
    if cfg.iterations < 0 or cfg.frames_per_step < 1:
        raise SketchError("iterations must be >= 0 and frames_per_step >= 1.")
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    num = cfg.num_points or (10000 if device.type == "cuda" else 2000)
    if num < 2:
        raise SketchError("motion guidance needs at least 2 points.")
    gen = torch.Generator().manual_seed(cfg.seed)

    order = torch.argsort(video.times, stable=True)
    if not bool((order == torch.arange(len(order))).all()):
        video = PosedVideo(video.frames[order], video.cameras[order], video.times[order],
                           None if video.masks is None else video.masks[order],
                           None if video.depth is None else video.depth[order], video.depth_mode)
    if cfg.render_size is not None and max(video.size) > cfg.render_size:
        W, H = video.size
        s = cfg.render_size / max(W, H)
        video = video.resize((max(1, round(W * s)), max(1, round(H * s))))
    T = video.num_frames
    times = video.times
    canon_idx = int((times - cfg.canonical_time).abs().argmin())
    centre, radius = scene_bounds(video.cameras)
    pixel = pixel_size(video.cameras, centre)
    canonical = initial_points(video, num, cfg.init, centre, radius, gen, canon_idx)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        fieldnet = DeformationField(centre, radius, cfg.pos_freqs, cfg.time_freqs, cfg.mlp_depth, cfg.mlp_width,
                                    cfg.mlp_skip, cfg.canonical_time, anchor=True).to(device)
    loss_fn, loss_desc = make_frame_loss(cfg.frame_loss, device, cfg.lpips_net, cfg.weights_path,
                                         cfg.allow_random_backbone)
    cams = video.cameras.to(device)
    target = video.frames.to(device).mean(-1)  # grayscale [T, H, W]
    times_d = times.to(device)
    centre_d = centre.to(device)
    x_norm = torch.nn.Parameter(((canonical - centre) / radius).to(device))
    opt = torch.optim.Adam([{"params": fieldnet.parameters(), "lr": cfg.lr_field},
                            {"params": [x_norm], "lr": cfg.lr_points}])
    base_lrs = [cfg.lr_field, cfg.lr_points]
    F_step = min(cfg.frames_per_step, T)
    warmup_steps = int(cfg.static_warmup * cfg.iterations)
    preview_every = cfg.preview_every or max(1, cfg.iterations // 10)
    progress, should_stop = _callback(callbacks, "progress"), _callback(callbacks, "should_stop")
    history, stopped, step = [], False, 0
    nbrs = None
    t0 = time.perf_counter()
    for step in range(1, cfg.iterations + 1):
        if should_stop is not None and should_stop():
            stopped, step = True, step - 1
            break
        frac = (step - 1) / max(cfg.iterations - 1, 1)
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * cfg.lr_final_ratio**frac
        if nbrs is None or step % 50 == 1:
            nbrs = knn_indices(x_norm.detach(), cfg.knn)
        pick = torch.randperm(T, generator=gen)[:F_step].sort().values
        need = torch.unique(torch.cat([pick, (pick - 1).clamp_min(0), (pick + 1).clamp_max(T - 1)]))
        where = {int(i): j for j, i in enumerate(need.tolist())}
        x = x_norm * radius + centre_d
        pos = fieldnet.deform(x, times_d[need.to(device)])  # [U, N, 3] world
        sel = torch.tensor([where[int(i)] for i in pick], device=device)
        pix, depth = cams[pick.to(device)].project(pos[sel])
        img = splat(pix, cams.size, cfg.point_sigma, cfg.point_opacity, valid=depth > cams.near)
        l_frame = loss_fn(img, target[pick.to(device)])
        pn = pos / pixel  # pixel units for the regularisers
        trip = [(where[i - 1], where[i], where[i + 1]) for i in pick.tolist() if 0 < i < T - 1]
        if trip:
            a, b, c = (torch.tensor(v, device=device) for v in zip(*trip))
            l_temp = ((pn[c] - 2 * pn[b] + pn[a]) ** 2).sum(-1).mean()
        else:
            l_temp = pn.new_zeros(())
        pairs = sorted({(where[i], where[i + 1]) for i in pick.tolist() if i < T - 1}
                       | {(where[i - 1], where[i]) for i in pick.tolist() if i > 0})
        if pairs:
            a, b = (torch.tensor(v, device=device) for v in zip(*pairs))
            da = (pn[a][:, :, None] - pn[a][:, nbrs]).norm(dim=-1)
            db = (pn[b][:, :, None] - pn[b][:, nbrs]).norm(dim=-1)
            l_rigid = (torch.sqrt((da - db) ** 2 + 1e-6) - 1e-3).mean() * cfg.rigid_points
        else:
            l_rigid = pn.new_zeros(())
        loss = cfg.w_frame * l_frame + cfg.w_temp * l_temp + cfg.w_rigid * l_rigid
        if not bool(torch.isfinite(loss)):
            raise SketchError("Motion guidance diverged (NaN loss); lower the learning rates.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step <= warmup_steps:  # static stage: the field stays the identity
            for p in fieldnet.parameters():
                p.grad = None
        opt.step()
        history.append({"step": step, "loss": loss.item(), "frame": l_frame.item(), "temp": l_temp.item(),
                        "rigid": l_rigid.item()})
        if progress is not None:
            preview = None
            if step % preview_every == 0 or step == cfg.iterations:
                g = target[pick[0]].detach()
                preview = torch.cat([g, img[0].detach()], 1)[..., None].expand(-1, -1, 3).clamp(0, 1).cpu()
            progress(step, cfg.iterations, preview)
    elapsed = time.perf_counter() - t0

    fieldnet.eval()
    canonical = (x_norm.detach() * radius + centre_d)
    pruned = 0
    if cfg.prune_background is not None:
        keep = _on_ink(fieldnet, canonical, cams, times_d, target, cfg.prune_background)
        if int(keep.sum()) >= 2:
            pruned = int((~keep).sum())
            canonical = canonical[keep]
    settings = asdict(cfg)
    settings.update({"num_points": num, "frame_loss_used": loss_desc, "seconds": elapsed,
                     "seconds_per_step": elapsed / max(step, 1), "pruned": pruned, "scene_centre": centre.tolist(),
                     "scene_radius": radius, "render_size": list(video.size), "device": str(device)})
    return PointMotion(canonical.cpu(), fieldnet, times.clone(), video.cameras, step, stopped, history, settings)


@torch.no_grad()
def _on_ink(fieldnet, canonical, cams, times, target, max_fraction: float) -> torch.Tensor:
    """[N] bool: points that land on background (frame ink < 0.1 after 3x3 blur) in at most max_fraction of frames."""
    ink = F.avg_pool2d((1.0 - target)[:, None], 3, 1, 1)[:, 0]
    off = torch.zeros(canonical.shape[0], device=canonical.device)
    for s in range(0, len(times), 8):
        idx = torch.arange(s, min(s + 8, len(times)), device=canonical.device)
        pos = fieldnet.deform(canonical, times[idx])
        pix, depth = cams[idx].project(pos)
        u = pix[..., 0].floor().long()
        v = pix[..., 1].floor().long()
        inside = (u >= 0) & (u < cams.width) & (v >= 0) & (v < cams.height) & (depth > cams.near)
        val = ink[idx[:, None], v.clamp(0, cams.height - 1), u.clamp(0, cams.width - 1)]
        off += ((val < 0.1) | ~inside).float().sum(0)
    return off <= max_fraction * len(times)
