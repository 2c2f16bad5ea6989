"""Captioned synthetic motion videos: stroke sketches moving as their caption says.

The training data of the pack's bundled motion priors (scripts/train_motion_prior.py)
and a known-answer source for tests. Each video is one drawing (random cubic strokes
or one of the bundled example shapes, black on white) moved rigidly over `num_frames`
frames as its caption says, rendered with the pack's own rasteriser (core.raster):

- "moving left/right/up/down": 2.5-5 px per frame at 64 px (scaled with the size);
- "rotating clockwise/counterclockwise": about the drawing's centre (clockwise as seen
  on screen, y pointing down), as fast as makes the control points move 2.5-5 px per
  frame at their RMS radius (as the translations), within 8-18 degrees per frame; the
  drawing is larger (28-52 px) than a translated one so the turn shows at 8x8 latents;
- with `rotation_pivot` > 0 (an experiment, off by default) a rotation turns about a pivot that
  distance (in drawing sizes) above the drawing's centre instead, the drawing hanging straight
  below it at mid-clip: the drawing swings like a pendulum, so a rotation caption's mean video
  drifts (clockwise: leftwards) as a translation's does;
- "growing" / "shrinking": the drawing's size changes by a factor 1.06-1.10 per frame
  (1.5x-1.95x over 8 frames); stroke widths stay as they are (as in an animation).

Everything is drawn from one torch.Generator: the same seed gives the same videos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .sketch import Sketch, sketch_from_paths

# caption -> (kind, sign); see `transform_points`
MOTIONS = {
    "moving left": ("translate", (-1.0, 0.0)),
    "moving right": ("translate", (1.0, 0.0)),
    "moving up": ("translate", (0.0, -1.0)),
    "moving down": ("translate", (0.0, 1.0)),
    "rotating clockwise": ("rotate", 1.0),
    "rotating counterclockwise": ("rotate", -1.0),
    "growing": ("scale", 1.0),
    "shrinking": ("scale", -1.0),
}
CAPTIONS = tuple(MOTIONS)
OPPOSITE = {
    "moving left": "moving right", "moving right": "moving left",
    "moving up": "moving down", "moving down": "moving up",
    "rotating clockwise": "rotating counterclockwise", "rotating counterclockwise": "rotating clockwise",
    "growing": "shrinking", "shrinking": "growing",
}
SPEED_PX = (2.5, 5.0)  # px per frame at 64 px
ROTATION_DEG = (8.0, 18.0)  # degrees per frame (limits of the speed-derived rate)
SCALE_RATE = (1.06, 1.10)  # size factor per frame
EXAMPLES = ("cat.svg", "stick_figure.svg", "two_objects.svg", "icon_filled.svg")


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return float(lo + (hi - lo) * torch.rand((), generator=g))


def example_shapes(folder: str | Path | None = None) -> list[Sketch]:
    """The bundled example drawings as black strokes without fills (as a sketch would be drawn)."""
    from .svg import load

    if folder is None:
        root = Path(__file__).resolve().parents[1]
        folder = next((root / d for d in ("sketches", "examples") if (root / d).is_dir()), root / "sketches")
    folder = Path(folder)
    out = []
    for name in EXAMPLES:
        p = folder / name
        if p.is_file():
            s = load(p)
            out.append(s)  # styles are replaced when a video is drawn
    return out


def random_stroke_shape(g: torch.Generator) -> Sketch:
    """2-7 random open cubic strokes (some multi-segment) and sometimes a closed loop, in a 256 canvas."""
    n = int(torch.randint(2, 8, (), generator=g))
    paths, closed = [], []
    spread = _uniform(g, 40, 110)
    for _ in range(n):
        c = 128 + (torch.rand(2, generator=g) - 0.5) * 2 * spread
        if float(torch.rand((), generator=g)) < 0.15:  # a closed blob
            r = _uniform(g, 12, 40)
            k = 4
            ang = torch.arange(3 * k) * (2 * math.pi / (3 * k)) + _uniform(g, 0, 6.3)
            rad = r * (1 + 0.25 * torch.randn(3 * k, generator=g))
            paths.append(c + torch.stack([ang.cos(), ang.sin()], 1) * rad[:, None])
            closed.append(True)
            continue
        segs = int(torch.randint(1, 3, (), generator=g))
        length = _uniform(g, 30, 90)
        pts = [c]
        d = torch.nn.functional.normalize(torch.randn(2, generator=g), dim=0)
        for _ in range(segs):
            step = d * length / segs
            a = pts[-1]
            wig = torch.randn(2, 2, generator=g) * length * 0.15
            pts += [a + step / 3 + wig[0], a + 2 * step / 3 + wig[1], a + step]
            d = torch.nn.functional.normalize(d + 0.8 * torch.randn(2, generator=g), dim=0)
        paths.append(torch.stack(pts))
        closed.append(False)
    return sketch_from_paths(paths, closed=closed, stroke_width=3.0, canvas=(256, 256))


def _unit(points: torch.Tensor) -> torch.Tensor:
    """Centre a drawing's points on their bounding-box centre and scale its larger extent to 1."""
    lo, hi = points.min(0).values, points.max(0).values
    return (points - (lo + hi) / 2) / (hi - lo).max().clamp_min(1e-6)


@dataclass
class MotionSample:
    caption: str
    frames: torch.Tensor  # [T, H, W] grayscale 0..1 (1 = white paper)
    params: dict


def transform_points(unit: torch.Tensor, caption: str, num_frames: int, size: int, g: torch.Generator,
                     rotation_pivot: float = 0.0):
    """Per-frame points [T, N, 2] in pixels of a `size` canvas for a unit-size drawing, and the drawn parameters.
    `rotation_pivot` > 0: rotations swing about a pivot that many drawing sizes above the centre (see module doc)."""
    kind, sign = MOTIONS[caption]
    px = size / 64.0
    t = torch.arange(num_frames, dtype=torch.float32)
    angle0 = _uniform(g, -25, 25)  # a random initial pose
    flip = -1.0 if float(torch.rand((), generator=g)) < 0.5 else 1.0
    aspect = _uniform(g, 0.85, 1.15)
    base = unit * torch.tensor([flip * aspect, 1.0 / aspect])
    a = math.radians(angle0)
    R0 = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    base = base @ R0.T
    centre = torch.tensor([size / 2, size / 2]) + (torch.rand(2, generator=g) - 0.5) * 12 * px
    scale = torch.ones(num_frames)
    rot = torch.zeros(num_frames)
    shift = torch.zeros(num_frames, 2)
    params = {"caption": caption}
    if kind == "translate":
        extent = _uniform(g, 14, 44) * px
        v = _uniform(g, *SPEED_PX) * px
        d = torch.tensor(sign)
        shift = (t - (num_frames - 1) / 2)[:, None] * v * d  # the path is centred on `centre`
        perp = torch.tensor([abs(sign[1]), abs(sign[0])])
        centre = centre * (1 - perp) + perp * (size / 2 + (torch.rand((), generator=g) - 0.5) * 24 * px)
        scale = scale * extent
        params.update(speed=v / px)
    elif kind == "rotate":
        extent = _uniform(g, 28, 52) * px
        radius = float(base.pow(2).sum(1).mean().sqrt()) * extent  # RMS radius of the points, px
        v = _uniform(g, *SPEED_PX) * px  # px per frame at that radius
        w = min(max(math.degrees(v / max(radius, 1e-6)), ROTATION_DEG[0]), ROTATION_DEG[1])
        rot = t * w * sign
        scale = scale * extent
        params.update(degrees_per_frame=w * sign)
        if rotation_pivot > 0:  # swing about a pivot above the drawing, hanging straight down at mid-clip
            rot = (t - (num_frames - 1) / 2) * w * sign
            arm = torch.tensor([0.0, rotation_pivot * extent])  # pivot -> drawing centre at mid-clip (y down)
            r = torch.deg2rad(rot)
            turned = torch.stack([-r.sin() * arm[1], r.cos() * arm[1]], -1)  # R(rot) @ arm
            shift = turned - arm  # the drawing's centre follows the arm's end
            params.update(pivot=rotation_pivot)
    else:
        r = _uniform(g, *SCALE_RATE)
        if sign > 0:
            extent = _uniform(g, 12, 28) * px
            scale = extent * r ** t
        else:
            extent = _uniform(g, 28, 52) * px
            scale = extent * r ** (-t)
        params.update(rate=r ** sign)
    rad = torch.deg2rad(rot)
    c, s = rad.cos(), rad.sin()
    R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # [T, 2, 2]
    pts = torch.einsum("tij,nj->tni", R, base) * scale[:, None, None] + (centre + shift)[:, None, :]
    return pts, params


class MotionVideos:
    """Generator of captioned videos; `sample(caption)` draws one, `batch(n)` many with balanced captions."""

    def __init__(self, seed: int = 0, size: int = 64, num_frames: int = 8, example_fraction: float = 0.35,
                 width_px: tuple[float, float] = (0.7, 1.6), examples: list[Sketch] | None = None,
                 rotation_pivot: float = 0.0):
        self.g = torch.Generator().manual_seed(int(seed))
        self.size, self.num_frames = int(size), int(num_frames)
        self.example_fraction = float(example_fraction)
        self.width_px = width_px
        self.examples = example_shapes() if examples is None else examples
        self.rotation_pivot = float(rotation_pivot)

    def shape(self) -> Sketch:
        if self.examples and float(torch.rand((), generator=self.g)) < self.example_fraction:
            return self.examples[int(torch.randint(len(self.examples), (), generator=self.g))]
        return random_stroke_shape(self.g)

    def sample(self, caption: str) -> MotionSample:
        from .raster import render

        shape = self.shape()
        unit = _unit(shape.points)
        pts, params = transform_points(unit, caption, self.num_frames, self.size, self.g,
                                       self.rotation_pivot)
        w = _uniform(self.g, *self.width_px) * self.size / 64.0
        sk = Sketch(points=pts[0], num_segments=shape.num_segments, closed=shape.closed,
                    stroke_width=torch.full((shape.num_paths,), w), stroke_color=torch.tensor([[0.0, 0, 0, 1]]).expand(shape.num_paths, 4),
                    fill_color=torch.zeros(shape.num_paths, 4), fill_rule=shape.fill_rule,
                    canvas=(self.size, self.size), compound=shape.compound)
        with torch.no_grad():
            rgb = render(sk, pts)  # [T, H, W, 3]
        return MotionSample(caption, rgb.mean(-1).clamp(0, 1), params)

    def batch(self, n: int, captions=CAPTIONS) -> tuple[torch.Tensor, list[str]]:
        """[n, T, H, W] uint8 grayscale videos and their captions (cycling through `captions`)."""
        vids, caps = [], []
        for i in range(n):
            c = captions[i % len(captions)]
            s = self.sample(c)
            vids.append((s.frames * 255).round().to(torch.uint8))
            caps.append(c)
        return torch.stack(vids), caps
