"""Pinhole and orthographic cameras, batched (one camera per frame).

Conventions (D-NeRF / Blender, "OpenGL"):
- `c2w` is a camera-to-world 4x4 matrix; camera axes x right, y up, looking down -z.
- world up: the camera paths below take `up` (a vector or "+z", "+y", ...; default +z,
  Blender); D-NeRF data is y up. `up_from_cameras` derives it from posed cameras.
- pixels: u to the right, v down, origin at the image's top-left corner, pixel
  (i, j) covers [i, i+1) x [j, j+1) - the same canvas coordinates as `Sketch`.
  A point on the optical axis projects to (cx, cy) = (W/2, H/2).
- perspective: u = cx + fx * x_c / d, v = cy - fy * y_c / d, depth d = -z_c;
  focal = 0.5 W / tan(0.5 camera_angle_x).
- orthographic: u = cx + fx * x_c, v = cy - fy * y_c (fx = pixels per world unit).
OpenCV (x right, y down, +z forward) differs by flipping the camera's y and z
axes: c2w_cv = c2w_gl @ diag(1, -1, -1, 1); `intrinsics()` is the OpenCV K.
Angles given to the path helpers are in degrees; `camera_angle_x` is radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch

from .errors import SketchError

PROJECTIONS = ("perspective", "orthographic")
_FLIP_YZ = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0]))


def _size(size) -> tuple[int, int]:
    if isinstance(size, int):
        w = h = size
    else:
        w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise SketchError(f"Image size must be positive, got {w}x{h}.")
    return w, h


def opengl_to_opencv(c2w: torch.Tensor) -> torch.Tensor:
    """Camera-to-world [..., 4, 4]: OpenGL axes (y up, -z forward) -> OpenCV (y down, +z forward)."""
    return c2w @ _FLIP_YZ.to(c2w)


def opencv_to_opengl(c2w: torch.Tensor) -> torch.Tensor:
    """Camera-to-world [..., 4, 4]: OpenCV axes -> OpenGL axes (the same flip; it is its own inverse)."""
    return c2w @ _FLIP_YZ.to(c2w)


def focal_from_fov(fov_rad: float | torch.Tensor, size: float) -> float | torch.Tensor:
    """Focal length in pixels for a field of view (radians) across `size` pixels."""
    tan = torch.tan(0.5 * fov_rad) if torch.is_tensor(fov_rad) else math.tan(0.5 * fov_rad)
    return 0.5 * size / tan


def fov_from_focal(focal: float | torch.Tensor, size: float) -> float | torch.Tensor:
    """Field of view (radians) across `size` pixels for a focal length in pixels."""
    if torch.is_tensor(focal):
        return 2.0 * torch.atan(0.5 * size / focal)
    return 2.0 * math.atan(0.5 * size / focal)


def look_at(eye, target=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """OpenGL camera-to-world matrices [B, 4, 4] for cameras at `eye` [B, 3] looking at `target`."""
    eye = torch.as_tensor(eye, dtype=torch.float32)
    single = eye.ndim == 1
    eye = eye.reshape(-1, 3)
    target = torch.as_tensor(target, dtype=torch.float32).to(eye).expand_as(eye)
    up = torch.as_tensor(up, dtype=torch.float32).to(eye).expand_as(eye)
    back = eye - target  # camera +z points away from what it looks at
    if bool((back.norm(dim=-1) < 1e-9).any()):
        raise SketchError("look_at: the camera sits on its target; move it away.")
    z = back / back.norm(dim=-1, keepdim=True)
    x = torch.cross(up, z, dim=-1)
    bad = x.norm(dim=-1) < 1e-6
    if bool(bad.any()):  # looking straight along `up`: pick another up vector
        alt = torch.tensor([0.0, 1.0, 0.0]).to(eye).expand_as(eye)
        alt = torch.where((torch.cross(alt, z, dim=-1).norm(dim=-1) < 1e-6)[:, None],
                          torch.tensor([0.0, 0.0, -1.0]).to(eye).expand_as(eye), alt)
        x = torch.where(bad[:, None], torch.cross(alt, z, dim=-1), x)
    x = x / x.norm(dim=-1, keepdim=True)
    y = torch.cross(z, x, dim=-1)
    c2w = torch.eye(4).repeat(eye.shape[0], 1, 1)
    c2w[:, :3, 0], c2w[:, :3, 1], c2w[:, :3, 2], c2w[:, :3, 3] = x, y, z, eye
    return c2w[0] if single else c2w


@dataclass(frozen=True, eq=False)
class Cameras:
    """A batch of B cameras sharing one image size (see the module docstring)."""

    c2w: torch.Tensor  # [B, 4, 4] OpenGL camera-to-world
    fx: torch.Tensor  # [B] pixels (orthographic: pixels per world unit)
    fy: torch.Tensor  # [B]
    cx: torch.Tensor  # [B] pixels
    cy: torch.Tensor  # [B]
    width: int
    height: int
    projection: str = "perspective"
    near: float = 1e-3  # points closer than this (depth) are invalid

    def __post_init__(self):
        c2w = torch.as_tensor(self.c2w, dtype=torch.float32)
        if c2w.ndim == 2:
            c2w = c2w[None]
        if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
            raise SketchError(f"Camera matrices must be [B, 4, 4], got {tuple(c2w.shape)}.")
        B = c2w.shape[0]
        if B < 1:
            raise SketchError("A camera batch needs at least one camera.")
        if not bool(torch.isfinite(c2w).all()):
            raise SketchError("A camera matrix has NaN or infinite entries; check the pose data.")
        object.__setattr__(self, "c2w", c2w)
        for name in ("fx", "fy", "cx", "cy"):
            v = torch.as_tensor(getattr(self, name), dtype=torch.float32).to(c2w.device)
            v = v.reshape(-1).expand(B).clone() if v.numel() in (1, B) else v
            if v.shape != (B,):
                raise SketchError(f"Camera {name} must be one value or one per camera ({B}), got {tuple(v.shape)}.")
            if not bool(torch.isfinite(v).all()):
                raise SketchError(f"Camera {name} has NaN or infinite values.")
            object.__setattr__(self, name, v)
        if bool((self.fx <= 0).any()) or bool((self.fy <= 0).any()):
            raise SketchError("Camera focal lengths / scales must be positive.")
        w, h = _size((self.width, self.height))
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "height", h)
        if self.projection not in PROJECTIONS:
            raise SketchError(f"Unknown projection {self.projection!r}; use 'perspective' or 'orthographic'.")
        rot = c2w[:, :3, :3]
        eye = torch.eye(3, device=c2w.device)
        if float((rot.transpose(1, 2) @ rot - eye).abs().max()) > 1e-3:
            raise SketchError("A camera matrix's rotation part is not orthonormal (scaled or sheared pose).")

    # ----------------------------------------------------------- constructors
    @classmethod
    def perspective(cls, c2w, size, fov_x_deg: float | None = None, focal: float | None = None) -> "Cameras":
        """Pinhole cameras from a horizontal field of view (degrees) or a focal length (pixels)."""
        w, h = _size(size)
        if (fov_x_deg is None) == (focal is None):
            raise SketchError("Give a camera either a field of view or a focal length (one of them).")
        if focal is None:
            if not (0.0 < float(fov_x_deg) < 180.0):
                raise SketchError(f"Field of view must be between 0 and 180 degrees, got {fov_x_deg}.")
            focal = focal_from_fov(math.radians(float(fov_x_deg)), w)
        return cls(c2w, focal, focal, w / 2.0, h / 2.0, w, h, "perspective")

    @classmethod
    def orthographic(cls, c2w, size, half_width: float) -> "Cameras":
        """Orthographic cameras seeing `half_width` world units either side of the centre horizontally."""
        w, h = _size(size)
        if not half_width > 0:
            raise SketchError(f"Orthographic half width must be positive, got {half_width}.")
        s = 0.5 * w / float(half_width)
        return cls(c2w, s, s, w / 2.0, h / 2.0, w, h, "orthographic")

    @classmethod
    def from_opencv(cls, c2w_cv, K, size) -> "Cameras":
        """Pinhole cameras from OpenCV camera-to-world [B,4,4] and intrinsics K [B,3,3] or [3,3]."""
        w, h = _size(size)
        c2w_cv = torch.as_tensor(c2w_cv, dtype=torch.float32)
        K = torch.as_tensor(K, dtype=torch.float32)
        if K.ndim == 2:
            K = K[None]
        return cls(opencv_to_opengl(c2w_cv), K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], w, h)

    # -------------------------------------------------------------- structure
    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def __getitem__(self, idx) -> "Cameras":
        if isinstance(idx, int):
            idx = slice(idx, idx + 1 if idx != -1 else None)
        return replace(self, c2w=self.c2w[idx], fx=self.fx[idx], fy=self.fy[idx], cx=self.cx[idx], cy=self.cy[idx])

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def device(self) -> torch.device:
        return self.c2w.device

    @property
    def centers(self) -> torch.Tensor:
        """[B, 3] camera positions in the world."""
        return self.c2w[:, :3, 3]

    @property
    def directions(self) -> torch.Tensor:
        """[B, 3] unit viewing directions (the camera's -z axis)."""
        return -self.c2w[:, :3, 2]

    @property
    def camera_angle_x(self) -> torch.Tensor:
        """[B] horizontal field of view in radians (D-NeRF's camera_angle_x); perspective only."""
        if self.projection != "perspective":
            raise SketchError("An orthographic camera has no field of view.")
        return fov_from_focal(self.fx, self.width)

    def to(self, device) -> "Cameras":
        return replace(self, c2w=self.c2w.to(device), fx=self.fx.to(device), fy=self.fy.to(device),
                       cx=self.cx.to(device), cy=self.cy.to(device))

    def repeat(self, n: int) -> "Cameras":
        """A single camera repeated n times (a fixed camera for n frames)."""
        if len(self) != 1:
            raise SketchError("repeat needs a single camera.")
        return replace(self, c2w=self.c2w.expand(n, 4, 4).clone(), fx=self.fx.expand(n).clone(),
                       fy=self.fy.expand(n).clone(), cx=self.cx.expand(n).clone(), cy=self.cy.expand(n).clone())

    def resize(self, size) -> "Cameras":
        """The same cameras for images resampled to another size (intrinsics scaled)."""
        w, h = _size(size)
        sx, sy = w / self.width, h / self.height
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=self.cx * sx, cy=self.cy * sy, width=w, height=h)

    def intrinsics(self) -> torch.Tensor:
        """[B, 3, 3] OpenCV intrinsics K (v down)."""
        K = torch.zeros(len(self), 3, 3, device=self.device)
        K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = self.fx, self.fy, self.cx, self.cy, 1.0
        return K

    def opencv_c2w(self) -> torch.Tensor:
        """[B, 4, 4] camera-to-world in OpenCV axes."""
        return opengl_to_opencv(self.c2w)

    def w2c(self) -> torch.Tensor:
        """[B, 4, 4] world-to-camera (OpenGL axes); exact inverse of a rigid pose."""
        R = self.c2w[:, :3, :3]
        t = self.c2w[:, :3, 3]
        out = torch.eye(4, device=self.device).repeat(len(self), 1, 1)
        out[:, :3, :3] = R.transpose(1, 2)
        out[:, :3, 3] = -(R.transpose(1, 2) @ t[:, :, None])[:, :, 0]
        return out

    # ------------------------------------------------------------- projection
    def world_to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """points [N,3] (shared) or [..., B, N, 3] -> camera coordinates [..., B, N, 3] (OpenGL axes)."""
        if points.shape[-1] != 3:
            raise SketchError(f"Points must end in 3 coordinates, got {tuple(points.shape)}.")
        if points.ndim == 2:
            points = points[None]
        R = self.c2w[:, :3, :3].to(points)
        t = self.c2w[:, :3, 3].to(points)
        return (points - t[:, None, :]) @ R  # row vectors: R^T (p - t)

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project world points -> (pixels [..., B, N, 2], depth [..., B, N]).

        points: [N, 3] seen by every camera, or [..., B, N, 3] one set per camera.
        depth is the distance along the viewing direction (positive in front);
        pixels of points at depth <= near are not meaningful (mask them with depth).
        """
        pc = self.world_to_camera(points)
        depth = -pc[..., 2]
        f = torch.stack([self.fx, -self.fy], -1).to(pc)[:, None, :]
        c = torch.stack([self.cx, self.cy], -1).to(pc)[:, None, :]
        if self.projection == "perspective":
            xy = pc[..., :2] / depth.clamp_min(self.near)[..., None]
        else:
            xy = pc[..., :2]
        return xy * f + c, depth

    def unproject(self, pixels: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Inverse of `project`: pixels [..., B, N, 2] and depth [..., B, N] -> world points [..., B, N, 3]."""
        f = torch.stack([self.fx, -self.fy], -1).to(pixels)[:, None, :]
        c = torch.stack([self.cx, self.cy], -1).to(pixels)[:, None, :]
        xy = (pixels - c) / f
        if self.projection == "perspective":
            xy = xy * depth[..., None]
        pc = torch.cat([xy, -depth[..., None]], -1)
        R = self.c2w[:, :3, :3].to(pixels)
        t = self.c2w[:, :3, 3].to(pixels)
        return pc @ R.transpose(1, 2) + t[:, None, :]

    def rays(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World rays through pixels [B, N, 2]: (origins [B,N,3], unit directions [B,N,3])."""
        p1 = self.unproject(pixels, torch.ones(pixels.shape[:-1], device=pixels.device))
        p2 = self.unproject(pixels, 2 * torch.ones(pixels.shape[:-1], device=pixels.device))
        d = p2 - p1
        return p1 - d, d / d.norm(dim=-1, keepdim=True)

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        return {"c2w": self.c2w.detach().cpu(), "fx": self.fx.cpu(), "fy": self.fy.cpu(), "cx": self.cx.cpu(),
                "cy": self.cy.cpu(), "width": self.width, "height": self.height, "projection": self.projection}

    @classmethod
    def from_state_dict(cls, d: dict) -> "Cameras":
        return cls(d["c2w"], d["fx"], d["fy"], d["cx"], d["cy"], int(d["width"]), int(d["height"]),
                   d.get("projection", "perspective"))

    def __repr__(self) -> str:
        return f"Cameras({len(self)} x {self.projection}, {self.width}x{self.height})"


UP_AXES = ("+z", "+y", "-y", "-z", "+x", "-x")


def parse_up(up) -> torch.Tensor:
    """A unit up vector [3] from a vector or a name in UP_AXES."""
    if isinstance(up, str):
        name = up.strip().lower()
        name = name if name[:1] in "+-" else "+" + name
        if name not in UP_AXES:
            raise SketchError(f"Unknown up axis {up!r}; use one of {', '.join(UP_AXES)} or a 3-vector.")
        v = torch.zeros(3)
        v["xyz".index(name[1])] = 1.0 if name[0] == "+" else -1.0
        return v
    v = torch.as_tensor(up, dtype=torch.float32).reshape(-1)
    if v.shape != (3,) or not bool(torch.isfinite(v).all()) or float(v.norm()) < 1e-9:
        raise SketchError(f"An up vector needs 3 finite numbers, not all zero; got {up!r}.")
    return v / v.norm()


def up_rotation(up) -> torch.Tensor:
    """3x3 rotation taking the z-up frame of the path helpers to a world with this up vector.

    The smallest rotation taking +z to `up` (so +y up maps (x, y, z) -> (x, z, -y): azimuth 0,
    the -y side in z-up, becomes the +z side, where OpenGL's default camera sits).
    """
    u = parse_up(up)
    z = torch.tensor([0.0, 0.0, 1.0])
    c = float(u @ z)
    if c < -1 + 1e-6:  # upside down: half a turn about x
        return torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    v = torch.linalg.cross(z, u)
    K = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return torch.eye(3) + K + K @ K / (1.0 + c)


def up_from_cameras(cameras: "Cameras", snap_degrees: float = 30.0) -> torch.Tensor:
    """The world up vector [3] posed cameras agree on: the mean of their up (y) axes.

    Within `snap_degrees` of a world axis the axis itself is returned (D-NeRF's random
    upper-hemisphere poses average to +y; a camera tilted down at a fixed scene still
    says +y). Cameras that disagree completely fall back to +z.
    """
    m = cameras.c2w[:, :3, 1].detach().float().cpu().mean(0)
    if float(m.norm()) < 1e-3:
        return torch.tensor([0.0, 0.0, 1.0])
    m = m / m.norm()
    k = int(m.abs().argmax())
    if float(m.abs()[k]) >= math.cos(math.radians(snap_degrees)):
        axis = torch.zeros(3)
        axis[k] = float(torch.sign(m[k]))
        return axis
    return m


def orbit_eyes(azimuth_deg, elevation_deg, radius: float, target=(0.0, 0.0, 0.0), up="+z") -> torch.Tensor:
    """Camera positions [B, 3] on a sphere about `target` (z up: azimuth 0 = on the -y side, looking +y;
    another `up` rotates that frame by `up_rotation`)."""
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32).reshape(-1))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32).reshape(-1))
    az, el = torch.broadcast_tensors(az, el)
    eye = torch.stack([torch.cos(el) * torch.sin(az), -torch.cos(el) * torch.cos(az), torch.sin(el)], -1)
    eye = eye @ up_rotation(up).T
    return eye * float(radius) + torch.as_tensor(target, dtype=torch.float32)


def _cameras(c2w, size, fov: float, radius: float, projection: str) -> Cameras:
    if projection == "perspective":
        return Cameras.perspective(c2w, size, fov_x_deg=fov)
    if projection == "orthographic":
        return Cameras.orthographic(c2w, size, half_width=float(radius) * math.tan(math.radians(fov) / 2))
    raise SketchError(f"Unknown projection {projection!r}; use 'perspective' or 'orthographic'.")


def orbit(
    num_frames: int,
    radius: float = 4.0,
    elevation: float | Sequence[float] = 20.0,
    fov: float = 40.0,
    size=256,
    azimuth_start: float = 0.0,
    azimuth_span: float = 360.0,
    target=(0.0, 0.0, 0.0),
    projection: str = "perspective",
    up="+z",
) -> Cameras:
    """Cameras circling `target` about the `up` axis: azimuth from start over span degrees (no repeated end
    frame when span is 360)."""
    if num_frames < 1:
        raise SketchError("A camera path needs at least one frame.")
    if not radius > 0:
        raise SketchError(f"Orbit radius must be positive, got {radius}.")
    closed = abs(abs(azimuth_span) - 360.0) < 1e-9
    steps = num_frames if closed else max(num_frames - 1, 1)
    az = azimuth_start + azimuth_span * torch.arange(num_frames, dtype=torch.float32) / steps
    eye = orbit_eyes(az, torch.as_tensor(elevation, dtype=torch.float32).expand(num_frames), radius, target, up)
    return _cameras(look_at(eye, target, parse_up(up)), size, fov, radius, projection)


def turntable(num_frames: int, radius: float = 4.0, elevation: float = 20.0, fov: float = 40.0, size=256,
              projection: str = "perspective", up="+z") -> Cameras:
    """A full 360-degree orbit about the origin (for rendering results)."""
    return orbit(num_frames, radius, elevation, fov, size, 0.0, 360.0, projection=projection, up=up)


def fixed(num_frames: int, radius: float = 4.0, elevation: float = 0.0, azimuth: float = 0.0, fov: float = 40.0,
          size=256, target=(0.0, 0.0, 0.0), projection: str = "perspective", up="+z") -> Cameras:
    """The same camera for every frame (the usual case for a generated video)."""
    if num_frames < 1:
        raise SketchError("A camera path needs at least one frame.")
    eye = orbit_eyes(azimuth, elevation, radius, target, up)
    return _cameras(look_at(eye, target, parse_up(up)), size, fov, radius, projection).repeat(num_frames)
