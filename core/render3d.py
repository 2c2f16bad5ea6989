"""Render a dynamic 3D sketch (SketchAnimation with D = 3) from any camera at any time.

Times are normalised like the synthetic scenes and D-NeRF: t in [0, 1], frame i of a
T-frame animation sits at t = i / (T - 1); a fractional time blends the two nearest
frames linearly. Cubic strokes are projected through the cameras
(`scenes3d.project_sketch`, each cubic split into `subdivide` pieces so perspective
stays accurate) and drawn by `core.raster.render`. Strokes are painted far to near
per frame (mean depth of their control points), so overlaps look right; a stroke
with a control point behind a camera is left out of that frame. Stroke widths stay
in pixels (the sketch's own widths times `width_scale`) whatever the distance.

Camera paths (`camera_path`): "turntable" (a full circle), "orbit" (an arc of `span`
degrees), "fixed" (one pose), "input" (the animation's own cameras). Without an
explicit distance the camera is placed so that every frame of the animation fits
(`fit_view`). The paths circle the world's up axis: given (`up`, a vector or "+y",
"+z", ...), else the one the animation's own cameras agree on (`animation_up`: +y for
D-NeRF data), else +z.
"""

from __future__ import annotations

import math

import torch

from .camera import Cameras, fixed, orbit, parse_up, up_from_cameras
from .errors import SketchError
from .sketch import SketchAnimation

WHITE = (1.0, 1.0, 1.0)
CAMERA_MODES = ("turntable", "orbit", "fixed", "input")
IMAGE_OUTPUTS = (".gif", ".webp", ".png")
FIT_MARGIN = 1.1  # the bounding sphere fills 1 / FIT_MARGIN of the narrower field of view


def _check_3d(anim) -> SketchAnimation:
    if not isinstance(anim, SketchAnimation):
        raise SketchError(f"Expected a 3D sketch animation, got {type(anim).__name__}.")
    if anim.dim != 3:
        raise SketchError("This is a 2D animation; 3D rendering needs a 3D sketch (D = 3). Render 2D animations "
                          "with Render Sketch / `python -m sketchmotion export`.")
    return anim


def frames_at(anim: SketchAnimation, times) -> torch.Tensor:
    """Control points [F, N, D] at normalised times in [0, 1] (linear between neighbouring frames)."""
    t = torch.as_tensor(times, dtype=torch.float32).reshape(-1)
    if t.numel() == 0 or not bool(torch.isfinite(t).all()) or bool((t < 0).any() | (t > 1).any()):
        raise SketchError("Render times must be finite numbers in [0, 1] (0 = first frame, 1 = last frame).")
    fr = anim.frames.detach().float()
    T = fr.shape[0]
    if T == 1:
        return fr.expand(t.numel(), -1, -1).clone()
    u = t.to(fr.device) * (T - 1)
    i0 = u.floor().long().clamp(max=T - 2)
    w = (u - i0.float())[:, None, None]
    return fr[i0] * (1 - w) + fr[i0 + 1] * w


def fit_view(anim: SketchAnimation, fov: float = 40.0, size=None, margin: float = FIT_MARGIN) -> tuple[torch.Tensor, float]:
    """(target [3], distance): an orbit about the centre of every frame's control points that keeps them in view.

    fov is horizontal (degrees); with a (width, height) size taller or wider than square the
    narrower of the two fields of view decides.
    """
    pts = _check_3d(anim).frames.detach().float().reshape(-1, 3).cpu()
    lo, hi = pts.min(0).values, pts.max(0).values
    centre = (lo + hi) / 2
    radius = max(float((pts - centre).norm(dim=-1).max()), 1e-3)
    if not 0.0 < fov < 180.0:
        raise SketchError(f"Field of view must be between 0 and 180 degrees, got {fov}.")
    half = math.radians(fov) / 2
    if size is not None and not isinstance(size, (int, float)):
        w, h = (float(v) for v in size)
        half = min(half, math.atan(math.tan(half) * h / w))
    return centre, radius * margin / math.sin(half)


def animation_up(anim: SketchAnimation | None, up=None) -> torch.Tensor:
    """The up vector [3] camera paths use: `up` when given ("auto" / None: derive), else the one the
    animation's cameras agree on (camera.up_from_cameras), else +z."""
    if up is not None and not (isinstance(up, str) and up == "auto"):
        return parse_up(up)
    if anim is not None and anim.cameras is not None:
        return up_from_cameras(anim.cameras)
    return torch.tensor([0.0, 0.0, 1.0])


def camera_path(mode: str, num_frames: int, size=256, fov: float = 40.0, distance: float | None = None,
                elevation: float = 20.0, azimuth: float = 0.0, span: float = 90.0, target=None,
                projection: str = "perspective", anim: SketchAnimation | None = None, up=None) -> Cameras:
    """Cameras for `mode` in CAMERA_MODES; distance / target None = fitted to `anim` (else 4 units, origin);
    up: the axis the paths circle (None / "auto": from the animation's cameras, see `animation_up`)."""
    if mode not in CAMERA_MODES:
        raise SketchError(f"Unknown camera mode {mode!r}; choose one of: {', '.join(CAMERA_MODES)}.")
    if mode == "input":
        if anim is None or anim.cameras is None:
            raise SketchError("This animation carries no cameras; use a turntable, orbit or fixed camera instead.")
        return anim.cameras
    if distance is None or target is None:
        centre, dist = fit_view(anim, fov, size) if anim is not None else (torch.zeros(3), 4.0)
        distance = dist if distance is None else distance
        target = centre if target is None else target
    target = tuple(float(v) for v in torch.as_tensor(target).reshape(3))
    if not distance > 0:
        raise SketchError(f"Camera distance must be positive, got {distance}.")
    up = animation_up(anim, up)
    if mode == "fixed":
        return fixed(num_frames, radius=float(distance), elevation=elevation, azimuth=azimuth, fov=fov, size=size,
                     target=target, projection=projection, up=up)
    span = 360.0 if mode == "turntable" else span
    return orbit(num_frames, radius=float(distance), elevation=elevation, fov=fov, size=size, azimuth_start=azimuth,
                 azimuth_span=span, target=target, projection=projection, up=up)


def _broadcast(cameras: Cameras, times, anim: SketchAnimation) -> tuple[Cameras, torch.Tensor]:
    B, T = len(cameras), anim.num_frames
    if times is None:
        n = T if B == 1 else B
        times = torch.linspace(0.0, 1.0, n) if n > 1 else torch.zeros(1)
    times = torch.as_tensor(times, dtype=torch.float32).reshape(-1)
    F = max(B, times.numel())
    if B not in (1, F) or times.numel() not in (1, F):
        raise SketchError(f"{B} cameras and {times.numel()} times do not match; give one camera, one time, "
                          "or the same number of each.")
    return (cameras.repeat(F) if B == 1 and F > 1 else cameras), times.expand(F).clone()


def paint_order(sketch, points: torch.Tensor, cameras: Cameras) -> list[tuple[int, ...]]:
    """Per frame, the visible paths far to near (mean control-point depth); points [F, N, 3]."""
    _, depth = cameras.project(points)  # [F, N]
    P = sketch.num_paths
    idx = sketch.point_path.to(depth.device)
    total = torch.zeros(depth.shape[0], P, device=depth.device).index_add_(1, idx, depth)
    count = torch.bincount(idx, minlength=P).to(depth)
    behind = torch.zeros(depth.shape[0], P, device=depth.device).index_add_(1, idx, (depth <= cameras.near).float())
    mean = total / count
    orders = []
    for f in range(depth.shape[0]):
        paths = torch.argsort(-mean[f], stable=True).tolist()
        orders.append(tuple(p for p in paths if behind[f, p] == 0))
    return orders


def render_3d(anim: SketchAnimation, cameras: Cameras | str | None = None, times=None, size=None,
              background=WHITE, width_scale: float = 1.0, subdivide: int = 4, chunk: int = 8) -> torch.Tensor:
    """Render a 3D animation -> [F, H, W, 3] in 0..1 ([F, H, W, 4] premultiplied RGBA with background=None).

    cameras: Cameras (one per output frame, or one for all), a mode name of CAMERA_MODES
    (fitted to the animation, one output frame per animation frame), or None = the
    animation's own cameras if it has them, else a turntable.
    times: normalised times in [0, 1] per output frame (one value = a frozen moment);
    None = frame i for camera i when there are as many cameras as frames, else the whole
    animation spread evenly over the camera path.
    size: None = the cameras' size; an int = the longer side (aspect kept); (w, h).
    """
    from .raster import render
    from .scenes3d import project_sketch

    anim = _check_3d(anim)
    if cameras is None:
        cameras = "input" if anim.cameras is not None else "turntable"
    if isinstance(cameras, str):
        cameras = camera_path(cameras, anim.num_frames, anim=anim)
    if not isinstance(cameras, Cameras):
        raise SketchError(f"cameras must be core.camera.Cameras or a mode name, got {type(cameras).__name__}.")
    if size is not None:
        w, h = cameras.size
        if isinstance(size, (int, float)) and not isinstance(size, bool):
            s = int(size)
            size = (s, max(1, round(s * h / w))) if w >= h else (max(1, round(s * w / h)), s)
        cameras = cameras.resize(size)
    cameras, times = _broadcast(cameras, times, anim)
    sketch = anim.sketch.detach().to("cpu")
    cameras = cameras.to("cpu")
    points = frames_at(anim.to("cpu"), times)
    sketch = sketch.with_style(stroke_width=sketch.stroke_width * float(width_scale))
    W, H = cameras.size
    channels = 4 if background is None else 3
    out = torch.empty(len(times), H, W, channels)
    if background is None:
        out.zero_()
    else:
        out[:] = torch.as_tensor(background, dtype=torch.float32)
    groups: dict[tuple[int, ...], list[int]] = {}
    for f, order in enumerate(paint_order(sketch, points, cameras)):
        groups.setdefault(order, []).append(f)
    with torch.no_grad():
        for order, frames in groups.items():
            if not order:
                continue  # nothing in front of the camera: background only
            part = sketch.select_paths(order)
            cols = torch.cat([torch.arange(sketch.path_offsets[p], sketch.path_offsets[p + 1]) for p in order])
            for s in range(0, len(frames), chunk):
                fi = torch.tensor(frames[s : s + chunk])
                sk2, pix = project_sketch(part, points[fi][:, cols], cameras[fi], subdivide)
                out[fi] = render(sk2, pix, size=(W, H), background=background).clamp(0, 1).cpu()
    return out


def resolve_cameras(anim: SketchAnimation, cameras: Cameras | None = None, use_animation_cameras: bool = False,
                    num_frames: int = 0, up=None) -> Cameras:
    """The cameras a render uses: the animation's own, the given ones, or a fitted turntable.

    num_frames 0 = as many as the cameras (a fitted turntable: the animation's frame count);
    a single given camera is repeated to num_frames.
    """
    _check_3d(anim)
    if num_frames < 0:
        raise SketchError("The number of frames must be 0 (automatic) or more.")
    if use_animation_cameras:
        if cameras is not None:
            raise SketchError("Use either the animation's own cameras or the connected cameras, not both.")
        cameras = camera_path("input", 0, anim=anim)
    if cameras is None:
        return camera_path("turntable", num_frames or anim.num_frames, anim=anim, up=up)
    if not isinstance(cameras, Cameras):
        raise SketchError(f"cameras must be core.camera.Cameras, got {type(cameras).__name__}.")
    if num_frames and len(cameras) != num_frames:
        if len(cameras) != 1:
            raise SketchError(f"The camera path has {len(cameras)} cameras but {num_frames} frames were asked for; "
                              f"ask for 0 (automatic) or {len(cameras)} frames, or change the camera's frames.")
        cameras = cameras.repeat(num_frames)
    return cameras


def save_images(images, path: str, fps: float, loop: bool = True) -> list[str]:
    """uint8 frames [F, H, W, 3] -> an animated .gif / .webp (lossless; core.export.video's writers), or .png
    file(s) (NAME_000.png ... when there are several); returns the files written. GIF delays are whole 1/100 s."""
    import os

    import numpy as np
    from PIL import Image

    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in IMAGE_OUTPUTS:
        raise SketchError(f"Images are written as {', '.join(IMAGE_OUTPUTS)}; got {os.fspath(path)!r}.")
    if not fps > 0:
        raise SketchError(f"fps must be positive, got {fps}.")
    if ext == ".png":
        pics = [Image.fromarray(f) for f in images]
        if len(pics) == 1:
            pics[0].save(path)
            return [os.fspath(path)]
        stem = os.fspath(path)[: -len(ext)]
        names = [f"{stem}_{i:03d}.png" for i in range(len(pics))]
        for pic, name in zip(pics, names):
            pic.save(name)
        return names
    from .export.video import write_gif, write_webp  # the one GIF / WebP writer (GIF: at most 50 fps)

    write = write_gif if ext == ".gif" else write_webp
    return [write(np.asarray(images), path, fps, loop=loop)]


__all__ = ["CAMERA_MODES", "IMAGE_OUTPUTS", "animation_up", "camera_path", "fit_view", "frames_at", "paint_order", "render_3d",
           "resolve_cameras", "save_images"]
