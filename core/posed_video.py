"""Posed video: frames + one camera per frame + a time per frame (the input of reconstruct3d).

Two sources:
- `load_dnerf(folder)`: a D-NeRF-format folder (transforms_{split}.json with
  camera_angle_x and frames of {file_path, time, transform_matrix}; RGBA PNGs
  composited on white; alpha kept as `masks`);
- `from_frames(frames, ...)`: ComfyUI IMAGE frames [T, H, W, C] with a fixed
  camera (the same pose every frame, the usual case for a generated video), an
  orbit, or any `Cameras`; optional masks [T, H, W] and depth maps.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace

import torch

from .camera import Cameras, fixed, orbit
from .errors import SketchError

DEPTH_MODES = ("relative", "metric")


@dataclass(frozen=True, eq=False)
class PosedVideo:
    """frames [T,H,W,3] in 0..1 on white, cameras (T of them), times [T] in [0, 1].

    masks [T,H,W] (0..1, 1 = object) and depth [T,H,W] are optional. depth_mode
    "metric": depth along the viewing direction in world units; "relative": a
    depth node's output (bright = near), mapped into the scene's depth range.
    """

    frames: torch.Tensor
    cameras: Cameras
    times: torch.Tensor
    masks: torch.Tensor | None = None
    depth: torch.Tensor | None = None
    depth_mode: str = "relative"

    def __post_init__(self):
        fr = torch.as_tensor(self.frames, dtype=torch.float32)
        if fr.ndim != 4 or fr.shape[-1] != 3:
            raise SketchError(f"Frames must be [T, H, W, 3], got {tuple(fr.shape)}.")
        if not bool(torch.isfinite(fr).all()):
            raise SketchError("The frames contain NaN or infinite values.")
        T, H, W, _ = fr.shape
        object.__setattr__(self, "frames", fr)
        if len(self.cameras) != T:
            raise SketchError(f"There are {T} frames but {len(self.cameras)} cameras; give one camera per frame.")
        if self.cameras.size != (W, H):
            raise SketchError(f"Cameras are for {self.cameras.width}x{self.cameras.height} images but the frames are "
                              f"{W}x{H}; resize the cameras (Cameras.resize) or the frames.")
        times = torch.as_tensor(self.times, dtype=torch.float32).reshape(-1)
        if times.shape[0] != T:
            raise SketchError(f"There are {T} frames but {times.shape[0]} times; give one time per frame.")
        if not bool(torch.isfinite(times).all()) or float(times.min()) < 0 or float(times.max()) > 1:
            raise SketchError("Frame times must be finite and within [0, 1].")
        object.__setattr__(self, "times", times)
        for name in ("masks", "depth"):
            v = getattr(self, name)
            if v is None:
                continue
            v = torch.as_tensor(v, dtype=torch.float32)
            if v.ndim == 4:  # IMAGE-like [T,H,W,C]: take the first channel
                v = v[..., 0]
            if v.shape != (T, H, W):
                raise SketchError(f"{name} must be [{T}, {H}, {W}] (one per frame, same size), got {tuple(v.shape)}.")
            if not bool(torch.isfinite(v).all()):
                raise SketchError(f"{name} contain NaN or infinite values.")
            object.__setattr__(self, name, v)
        if self.depth_mode not in DEPTH_MODES:
            raise SketchError(f"depth_mode must be 'relative' or 'metric', got {self.depth_mode!r}.")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.frames.shape[2]), int(self.frames.shape[1]))

    def resize(self, size) -> "PosedVideo":
        """Frames (area-averaged), masks, depth and cameras resampled to size (int or (W, H))."""
        W, H = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if (W, H) == self.size:
            return self

        def rs(x):
            if x is None:
                return None
            return torch.nn.functional.interpolate(x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2), (H, W),
                                                   mode="area" if W <= self.size[0] else "bilinear")

        fr = rs(self.frames).permute(0, 2, 3, 1)
        m = rs(self.masks)
        d = rs(self.depth)
        return replace(self, frames=fr, cameras=self.cameras.resize((W, H)),
                       masks=None if m is None else m[:, 0], depth=None if d is None else d[:, 0])

    def to(self, device) -> "PosedVideo":
        f = lambda x: None if x is None else x.to(device)  # noqa: E731
        return replace(self, frames=f(self.frames), cameras=self.cameras.to(device), times=f(self.times),
                       masks=f(self.masks), depth=f(self.depth))


# ----------------------------------------------------------------- foreground
def background_colour(rgb: torch.Tensor) -> torch.Tensor:
    """The background colour [3] of frames [T, H, W, 3]: the median of every frame's border pixels."""
    border = torch.cat([rgb[:, 0], rgb[:, -1], rgb[:, :, 0], rgb[:, :, -1]], 1).reshape(-1, 3)
    return border.median(0).values


def foreground(rgb: torch.Tensor, alpha: torch.Tensor | None = None, threshold: float = 0.1,
               softness: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(masks [T, H, W], frames on white [T, H, W, 3]) from frames [T, H, W, 3] and an optional alpha [T, H, W].

    The alpha is the mask when it has transparent pixels; frames without alpha, or with an alpha that is
    opaque everywhere (PNGs saved without transparency), are split by their difference from the
    background colour (`background_colour`): a pixel is object by a smooth ramp from `threshold` to
    `threshold + softness` of its largest channel difference. Frames whose background is not white are
    redrawn as dark ink on white (1 - mask), the picture both 3D stages fit.
    """
    if alpha is not None and float((alpha < 0.98).float().mean()) > 1e-3:
        return alpha.clamp(0, 1), rgb
    bg = background_colour(rgb)
    diff = (rgb - bg).abs().amax(-1)
    mask = ((diff - threshold) / max(softness, 1e-6)).clamp(0, 1)
    if float(bg.min()) > 0.9:
        return mask, rgb
    return mask, (1.0 - mask)[..., None].expand(-1, -1, -1, 3).contiguous()


def with_depth(video: PosedVideo, depth, depth_mode: str = "relative") -> PosedVideo:
    """The video with depth maps attached: [T, H, W] or IMAGE-like [T, H, W, C] (first channel), resized
    (bilinear) to the frames' size; one map for every frame, or one for all. "relative": bright = near (a
    depth-estimation node's output); "metric": distance along the view direction in world units (0 = none)."""
    d = torch.as_tensor(depth, dtype=torch.float32).detach().cpu()
    if d.ndim == 4:
        d = d[..., 0]
    if d.ndim == 2:
        d = d[None]
    if d.ndim != 3 or d.shape[0] not in (1, video.num_frames):
        raise SketchError(f"Depth maps must be one per frame ({video.num_frames}) or one for all, as [T, H, W] or "
                          f"an IMAGE batch; got {tuple(torch.as_tensor(depth).shape)}.")
    W, H = video.size
    if tuple(d.shape[1:]) != (H, W):
        d = torch.nn.functional.interpolate(d[:, None], (H, W), mode="bilinear", align_corners=False)[:, 0]
    return replace(video, depth=d.expand(video.num_frames, -1, -1).contiguous(), depth_mode=depth_mode)


# --------------------------------------------------------------------- D-NeRF
def _read_rgba(path: str) -> torch.Tensor:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGBA")
            import numpy as np

            arr = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise SketchError(f"Cannot read image {path}: {e}. Check that the file is a valid PNG.") from e
    return torch.from_numpy(arr.copy())


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _image_file(path: str) -> str:
    """The image a frame's file_path names: D-NeRF's paths have no extension (its PNGs), other writers' frames
    may be JPEGs; a path without an image extension takes the first one that exists (else .png, for the message)."""
    if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
        return path
    for ext in IMAGE_EXTENSIONS + ("",):
        if os.path.isfile(path + ext):
            return path + ext
    return path + ".png"


def _clock_range(folder: str, split: str, times: list[float]) -> tuple[float, float]:
    """(first, last) time over every split of the folder (`times`: those of `split`, already read; its own range
    when the others cannot be read), so that train, val and test are rescaled alike."""
    every = list(times)
    for other in ("train", "val", "test"):
        if other == split:
            continue
        try:
            with open(os.path.join(folder, f"transforms_{other}.json")) as f:
                every += [float(fr["time"]) for fr in json.load(f)["frames"] if "time" in fr]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    every = [t for t in every if math.isfinite(t)]
    return min(every), max(every)


def load_dnerf(folder: str, split: str = "train", size: int | tuple[int, int] | None = None,
               max_frames: int | None = None) -> PosedVideo:
    """Load a D-NeRF-format folder split -> PosedVideo (RGBA composited on white; alpha as masks).

    Frames are ordered by time; times outside [0, 1] (frame numbers, seconds) are rescaled onto it over the
    range of every split. `size` resizes frames and cameras; `max_frames` keeps that many frames evenly spread
    over the sequence.
    """
    path = os.path.join(folder, f"transforms_{split}.json")
    if not os.path.isdir(folder):
        raise SketchError(f"D-NeRF folder {folder} does not exist.")
    if not os.path.isfile(path):
        raise SketchError(f"{path} is missing; a D-NeRF folder holds transforms_train.json / _val / _test.")
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SketchError(f"Cannot read {path}: {e}.") from e
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise SketchError(f"{path} has no 'frames' list.")
    if "camera_angle_x" not in meta and "fl_x" not in meta:
        raise SketchError(f"{path} has no camera_angle_x (horizontal field of view in radians).")
    missing_t = [i for i, fr in enumerate(frames) if "time" not in fr]
    if missing_t and len(missing_t) != len(frames):
        raise SketchError(f"{path}: frames {missing_t[:5]} have no 'time' while others do; give every frame a time.")
    times = [float(fr["time"]) for fr in frames] if not missing_t else [
        i / max(len(frames) - 1, 1) for i in range(len(frames))]
    if all(map(math.isfinite, times)) and (min(times) < 0 or max(times) > 1):
        lo, hi = _clock_range(folder, split, times)  # another writer's clock (frame numbers, seconds): onto [0, 1]
        times = [(t - lo) / (hi - lo) if hi > lo else 0.0 for t in times]
    order = sorted(range(len(frames)), key=lambda i: times[i])
    if max_frames is not None and max_frames < len(order):
        if max_frames < 1:
            raise SketchError("max_frames must be at least 1.")
        pick = torch.linspace(0, len(order) - 1, max_frames).round().long().tolist()
        order = [order[i] for i in pick]
    images, mats = [], []
    for i in order:
        fr = frames[i]
        if "file_path" not in fr or "transform_matrix" not in fr:
            raise SketchError(f"{path}: frame {i} needs 'file_path' and 'transform_matrix'.")
        img_path = _image_file(os.path.normpath(os.path.join(folder, fr["file_path"])))
        if not os.path.isfile(img_path):
            raise SketchError(f"Image {img_path} (frame {i} of {path}) is missing.")
        images.append(_read_rgba(img_path))
        m = torch.as_tensor(fr["transform_matrix"], dtype=torch.float32)
        if m.shape != (4, 4):
            raise SketchError(f"{path}: frame {i} transform_matrix must be 4x4, got {tuple(m.shape)}.")
        if not bool(torch.isfinite(m).all()):
            raise SketchError(f"{path}: frame {i} transform_matrix has NaN or infinite entries.")
        mats.append(m)
    shapes = {tuple(im.shape) for im in images}
    if len(shapes) != 1:
        raise SketchError(f"{path}: images have different sizes {sorted(shapes)}; D-NeRF frames share one size.")
    rgba = torch.stack(images)
    H, W = rgba.shape[1:3]
    alpha = rgba[..., 3]
    rgb = rgba[..., :3] * alpha[..., None] + (1.0 - alpha[..., None])
    masks, rgb = foreground(rgb, alpha)  # opaque PNGs: the difference from their background colour
    c2w = torch.stack(mats)
    if "camera_angle_x" in meta:
        focal = 0.5 * W / math.tan(0.5 * float(meta["camera_angle_x"]))
        cams = Cameras(c2w, focal, focal, W / 2.0, H / 2.0, W, H)
    else:  # instant-ngp style intrinsics in pixels of the stored images
        cams = Cameras(c2w, float(meta["fl_x"]), float(meta.get("fl_y", meta["fl_x"])),
                       float(meta.get("cx", W / 2.0)), float(meta.get("cy", H / 2.0)), W, H)
    video = PosedVideo(rgb, cams, torch.tensor([times[i] for i in order]), masks=masks)
    return video.resize(size) if size is not None else video


# --------------------------------------------------------------- IMAGE frames
def from_frames(frames: torch.Tensor, camera: str | Cameras = "fixed", fov: float = 40.0, radius: float = 4.0,
                elevation: float = 0.0, azimuth: float = 0.0, orbit_degrees: float = 360.0,
                times=None, masks=None, depth=None, depth_mode: str = "relative",
                projection: str = "perspective") -> PosedVideo:
    """ComfyUI IMAGE frames [T,H,W,C] (C = 1, 3 or 4; 4 is composited on white) -> PosedVideo.

    masks default to the alpha when it has transparent pixels, else to the difference from the
    background colour (`foreground`; frames on a dark background become dark ink on white).

    camera: "fixed" (the same pose every frame, `radius` from the origin at
    `elevation`/`azimuth` degrees, horizontal `fov` degrees), "orbit" (azimuth
    advances over `orbit_degrees` across the frames) or a Cameras batch.
    times default to evenly spaced in [0, 1].
    """
    fr = torch.as_tensor(frames, dtype=torch.float32)
    if fr.ndim == 3:
        fr = fr[None]
    if fr.ndim != 4 or fr.shape[-1] not in (1, 3, 4):
        raise SketchError(f"IMAGE frames must be [T, H, W, C] with C in 1, 3, 4; got {tuple(fr.shape)}.")
    fr = fr.cpu()
    if float(fr.min()) < -1e-3 or float(fr.max()) > 1 + 1e-3:
        raise SketchError("IMAGE frames must hold values in 0..1.")
    if fr.shape[-1] == 1:
        fr = fr.expand(-1, -1, -1, 3)
    alpha = None
    if fr.shape[-1] == 4:
        a = fr[..., 3:]
        alpha = a[..., 0]
        fr = fr[..., :3] * a + (1 - a)
    if masks is None:
        masks, fr = foreground(fr, alpha)
    T, H, W, _ = fr.shape
    if isinstance(camera, Cameras):
        cams = camera if len(camera) == T else (camera.repeat(T) if len(camera) == 1 else camera)
    elif camera == "fixed":
        cams = fixed(T, radius=radius, elevation=elevation, azimuth=azimuth, fov=fov, size=(W, H),
                     projection=projection)
    elif camera == "orbit":
        cams = orbit(T, radius=radius, elevation=elevation, fov=fov, size=(W, H), azimuth_start=azimuth,
                     azimuth_span=orbit_degrees, projection=projection)
    else:
        raise SketchError(f"camera must be 'fixed', 'orbit' or a Cameras batch, got {camera!r}.")
    if times is None:
        times = torch.linspace(0.0, 1.0, T) if T > 1 else torch.zeros(1)
    return PosedVideo(fr, cams, times, masks=masks, depth=depth, depth_mode=depth_mode)
