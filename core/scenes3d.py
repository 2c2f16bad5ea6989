"""Small dynamic 3D scenes with known geometry and motion (ground truth for Liv3Stroke).

Every scene is a set of 3D cubic Bezier strokes (a `Sketch` with D = 3) whose
control points move rigidly per part over time t in [0, 1]. Rigid motion of
control points is rigid motion of the curves, so the strokes are exact ground
truth for stage 2 and their curve samples (`sample_points`) for stage 1.
Scenes are built z up; `DynamicScene.oriented(up)` turns one into a world with another up
axis (the D-NeRF writer's default is +y, D-NeRF's own convention). Every scene fits inside a
ball of radius ~1 about the origin.

`render_dnerf_folder` writes a scene as a D-NeRF dataset (transforms_*.json +
RGBA PNGs, dark strokes on transparent) plus `ground_truth.npz` / `scene.json`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch

from .camera import Cameras, fixed, look_at, orbit_eyes, parse_up, up_rotation
from .errors import SketchError
from .motion.strokes3d import bernstein3
from .sketch import Sketch, SketchAnimation, sketch_from_paths

KAPPA = 0.5522847498  # cubic Bezier quarter-circle handle length


# ------------------------------------------------------------------ geometry
def line3(a, b) -> torch.Tensor:
    """A straight cubic segment [4, 3] from a to b."""
    a, b = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    return torch.stack([a, a + (b - a) / 3, a + 2 * (b - a) / 3, b])


def circle3(center, radius: float, u=(1.0, 0.0, 0.0), v=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """A closed circle of 4 cubic segments [12, 3] in the plane spanned by unit vectors u, v."""
    c = torch.as_tensor(center, dtype=torch.float32)
    u, v = torch.as_tensor(u, dtype=torch.float32) * radius, torch.as_tensor(v, dtype=torch.float32) * radius
    pts = []
    for a, b in ((u, v), (v, -u), (-u, -v), (-v, u)):  # quarter arcs
        pts += [c + a, c + a + KAPPA * b, c + b + KAPPA * a]
    return torch.stack(pts)


def rotation(axis, angle: float) -> torch.Tensor:
    """3x3 rotation about a unit axis by angle radians (Rodrigues)."""
    k = torch.as_tensor(axis, dtype=torch.float32)
    k = k / k.norm()
    K = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return torch.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)


def rotate(points: torch.Tensor, axis, angle: float, pivot=(0.0, 0.0, 0.0)) -> torch.Tensor:
    p = torch.as_tensor(pivot, dtype=torch.float32)
    return (points - p) @ rotation(axis, angle).T + p


def bezier_points(points: torch.Tensor, segment_index: torch.Tensor, params: torch.Tensor,
                  segment_of: torch.Tensor) -> torch.Tensor:
    """Evaluate cubic segments: points [..., N, D]; sample k uses segment segment_of[k] at params[k]."""
    P = points[..., segment_index[segment_of], :]  # [..., M, 4, D]
    w = bernstein3(params)  # [M, 4]
    return (P * w[..., None]).sum(-2)


# -------------------------------------------------------------------- scenes
@dataclass(frozen=True, eq=False)
class DynamicScene:
    """Canonical strokes (t = 0) and a function t -> control points [N, 3]."""

    name: str
    sketch: Sketch
    motion: Callable[[float], torch.Tensor]
    radius: float = 1.0

    up: str = "+z"

    def oriented(self, up) -> "DynamicScene":
        """The same scene in a world whose up axis is `up` ("+y" for D-NeRF; see camera.up_rotation)."""
        R = up_rotation(up) @ up_rotation(self.up).T
        if torch.allclose(R, torch.eye(3)):
            return self
        motion = self.motion
        return replace(self, sketch=self.sketch.with_points(self.sketch.points @ R.T),
                       motion=lambda t: motion(t) @ R.T, up=up)

    def control_points(self, times) -> torch.Tensor:
        """[T, N, 3] control points at times in [0, 1]."""
        return torch.stack([self.motion(float(t)) for t in torch.as_tensor(times).reshape(-1)])

    def times(self, num_frames: int) -> torch.Tensor:
        return torch.linspace(0.0, 1.0, num_frames) if num_frames > 1 else torch.zeros(1)

    def animation(self, num_frames: int, fps: float = 8.0) -> SketchAnimation:
        """The ground-truth 3D animation over num_frames evenly spaced times."""
        return SketchAnimation(self.sketch, self.control_points(self.times(num_frames)), fps=fps,
                               settings={"scene": self.name})

    def sample_params(self, num_samples: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
        """(segment id [M], parameter [M]): samples spread by canonical segment length."""
        seg = self.sketch.segment_index
        fine = torch.linspace(0, 1, 33)
        all_seg = torch.arange(seg.shape[0]).repeat_interleave(33)
        poly = bezier_points(self.sketch.points, seg, fine.repeat(seg.shape[0]), all_seg).reshape(-1, 33, 3)
        length = (poly[:, 1:] - poly[:, :-1]).norm(dim=-1).sum(-1)
        counts = torch.clamp((length / length.sum() * num_samples).round().long(), min=1)
        seg_of = torch.arange(seg.shape[0]).repeat_interleave(counts)
        params = torch.cat([(torch.arange(int(c)) + 0.5) / int(c) for c in counts])
        return seg_of, params

    def sample_points(self, times, num_samples: int = 2000) -> torch.Tensor:
        """[T, M, 3] points on the strokes, the same curve parameters in every frame (so they correspond)."""
        seg_of, params = self.sample_params(num_samples)
        return bezier_points(self.control_points(times), self.sketch.segment_index, params, seg_of)


def _scene(name, paths, closed, parts, part_motion, radius=1.0) -> DynamicScene:
    sk = sketch_from_paths(paths, closed=closed, stroke_width=2.0)
    base = sk.points
    part_of_point = torch.repeat_interleave(torch.tensor(parts), torch.tensor(
        [3 * k + (0 if c else 1) for k, c in zip(sk.num_segments, sk.closed)]))

    def motion(t: float) -> torch.Tensor:
        out = base.clone()
        for part in sorted(set(parts)):
            m = part_of_point == part
            out[m] = part_motion(part, base[m], t)
        return out

    return DynamicScene(name, sk, motion, radius)


def stick_figure() -> DynamicScene:
    """A stick figure (facing -y) waving its right forearm; the upper arm lifts a little, the body sways."""
    hip, neck, shoulder = (0.0, 0.0, -0.15), (0.0, 0.0, 0.45), (0.0, 0.0, 0.35)
    elbow, hand = (0.35, -0.05, 0.45), (0.55, -0.1, 0.75)
    torso = torch.tensor([hip, (0.04, -0.02, 0.05), (0.03, -0.02, 0.3), neck])
    paths = [
        circle3((0.0, 0.0, 0.62), 0.16),  # head
        torso,
        line3(hip, (-0.25, 0.08, -0.9)),  # legs
        line3(hip, (0.25, -0.08, -0.9)),
        line3(shoulder, (-0.4, 0.1, 0.0)),  # left arm, resting
        line3(shoulder, elbow),  # right upper arm
        line3(elbow, hand),  # right forearm
    ]
    parts = [0, 0, 0, 0, 0, 1, 2]

    def part_motion(part, p, t):
        sway = 0.08 * math.sin(2 * math.pi * t)
        lift = 0.35 * math.sin(math.pi * t)  # upper arm raises and lowers once
        wave = 0.9 * math.sin(2 * math.pi * t)  # forearm waves back and forth
        if part >= 1:
            if part == 2:
                p = rotate(p, (0.0, 1.0, 0.3), -wave, elbow)
            p = rotate(p, (0.0, 1.0, 0.0), -lift, shoulder)
        return rotate(p, (0.0, 0.0, 1.0), sway, (0.0, 0.0, 0.0))

    return _scene("stick_figure", paths, [True] + [False] * 6, parts, part_motion)


def curve_set() -> DynamicScene:
    """Three curved strokes moving as one rigid body: spinning about z, tilting, translating."""
    g = torch.Generator().manual_seed(3)
    paths = []
    for _ in range(3):
        p = (torch.rand(7, 3, generator=g) - 0.5) * 0.9 - torch.tensor([0.15, 0.0, 0.0])
        paths.append(p)

    def part_motion(part, p, t):
        pivot = (-0.15, 0.0, 0.0)
        p = rotate(p, (0.0, 0.0, 1.0), math.pi * 0.5 * t, pivot)
        p = rotate(p, (1.0, 0.0, 0.0), 0.3 * math.sin(2 * math.pi * t), pivot)
        return p + torch.tensor([0.35 * t, 0.0, 0.15 * math.sin(2 * math.pi * t)])

    return _scene("curve_set", paths, [False] * 3, [0, 0, 0], part_motion)


def flapping_wings() -> DynamicScene:
    """A body stroke along x with two closed wings hinged on it, flapping in opposition while the body bobs."""
    body = torch.tensor([(-0.6, 0.0, 0.0), (-0.2, 0.0, 0.08), (0.2, 0.0, 0.08), (0.6, 0.0, 0.0)])

    def wing(side: float) -> torch.Tensor:
        a = (-0.3, 0.0, 0.0)  # hinge on the body; the closed wing returns to it
        tip = (0.05, side * 0.8, 0.05)
        return torch.tensor([a, (-0.45, side * 0.5, 0.0), (-0.1, side * 0.85, 0.05), tip,
                             (0.3, side * 0.7, 0.05), (0.4, side * 0.2, 0.0)])

    paths = [body, wing(1.0), wing(-1.0)]

    def part_motion(part, p, t):
        flap = 0.8 * math.sin(2 * math.pi * t)
        if part == 1:
            p = rotate(p, (1.0, 0.0, 0.0), flap)
        elif part == 2:
            p = rotate(p, (1.0, 0.0, 0.0), -flap)
        return p + torch.tensor([0.0, 0.0, 0.15 * math.sin(2 * math.pi * t)])

    return _scene("flapping_wings", paths, [False, True, True], [0, 1, 2], part_motion)


def walker() -> DynamicScene:
    """A stick figure walking in place (facing -y): thighs, shins and arms swing forward and back,
    i.e. in depth for a camera in front of it; knees bend on the back swing and the body bobs."""
    hip, shoulder = (0.0, 0.0, -0.05), (0.0, 0.0, 0.42)
    knee_l, knee_r, foot_l, foot_r = (-0.14, 0.0, -0.5), (0.14, 0.0, -0.5), (-0.16, 0.0, -0.95), (0.16, 0.0, -0.95)
    paths = [
        circle3((0.0, 0.0, 0.66), 0.15),  # head
        line3(hip, (0.0, 0.0, 0.5)),  # torso
        line3(hip, knee_l), line3(knee_l, foot_l),  # left thigh, shin
        line3(hip, knee_r), line3(knee_r, foot_r),  # right thigh, shin
        torch.stack([torch.tensor(shoulder), torch.tensor((-0.2, 0.0, 0.35)), torch.tensor((-0.26, 0.0, 0.15)),
                     torch.tensor((-0.28, 0.0, -0.05))]),  # left arm
        torch.stack([torch.tensor(shoulder), torch.tensor((0.2, 0.0, 0.35)), torch.tensor((0.26, 0.0, 0.15)),
                     torch.tensor((0.28, 0.0, -0.05))]),  # right arm
    ]
    parts = [0, 0, 1, 2, 3, 4, 5, 6]

    def part_motion(part, p, t):
        ph = 2 * math.pi * t
        swing = 0.55 * math.sin(ph)  # thighs, opposite phases; + = foot forward (towards -y)
        bob = torch.tensor([0.0, 0.0, 0.04 * (math.cos(2 * ph) - 1.0)])
        if part in (1, 2, 3, 4):
            side = 1.0 if part in (1, 2) else -1.0
            a = side * swing
            if part in (2, 4):  # the knee bends (shin back) while the leg swings back
                bend = 0.7 * (max(0.0, -side * math.sin(ph + 0.6)) - max(0.0, -side * math.sin(0.6)))
                p = rotate(p, (1.0, 0.0, 0.0), -bend, knee_l if part == 2 else knee_r)
            p = rotate(p, (1.0, 0.0, 0.0), -a, hip)
        elif part in (5, 6):
            side = 1.0 if part == 5 else -1.0
            p = rotate(p, (1.0, 0.0, 0.0), side * 0.45 * math.sin(ph), shoulder)
        return p + bob

    return _scene("walker", paths, [True] + [False] * 7, parts, part_motion)


def bird() -> DynamicScene:
    """A bird (body along x, head, tail) whose two-part wings flap: the outer wing lags the inner one."""
    body = torch.tensor([(-0.55, 0.0, -0.02), (-0.2, 0.0, 0.1), (0.2, 0.0, 0.1), (0.5, 0.0, 0.05)])
    tail = torch.tensor([(-0.55, 0.0, -0.02), (-0.7, 0.12, -0.05), (-0.8, 0.0, -0.08), (-0.7, -0.12, -0.05)])
    shoulder = (0.05, 0.0, 0.08)

    def inner(side):
        return torch.tensor([shoulder, (0.15, side * 0.2, 0.1), (0.05, side * 0.4, 0.1), (-0.05, side * 0.45, 0.08)])

    def outer(side):
        return torch.tensor([(-0.05, side * 0.45, 0.08), (0.05, side * 0.6, 0.1), (-0.1, side * 0.8, 0.08),
                             (-0.3, side * 0.9, 0.05)])

    paths = [body, tail, circle3((0.6, 0.0, 0.12), 0.1, (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
             inner(1.0), outer(1.0), inner(-1.0), outer(-1.0)]
    parts = [0, 0, 0, 1, 2, 3, 4]
    elbow = {2: (-0.05, 0.45, 0.08), 4: (-0.05, -0.45, 0.08)}

    def part_motion(part, p, t):
        ph = 2 * math.pi * t
        flap = 0.7 * math.sin(ph)
        if part in (1, 2, 3, 4):
            side = 1.0 if part in (1, 2) else -1.0
            if part in (2, 4):  # the outer wing lags: an extra rotation about the elbow
                p = rotate(p, (1.0, 0.0, 0.0), side * 0.5 * (math.sin(ph - 0.9) + math.sin(0.9)), elbow[part])
            p = rotate(p, (1.0, 0.0, 0.0), side * flap, shoulder)
        return p + torch.tensor([0.0, 0.0, 0.1 * math.sin(ph + math.pi / 2) - 0.1])

    return _scene("bird", paths, [False, False, True, False, False, False, False], parts, part_motion)


def rotating_box() -> DynamicScene:
    """A wireframe box with a cross on its front face and a mast on one top corner (no symmetry hides its
    turn) turning a quarter turn about z while rocking about x: one rigid object whose every point moves
    differently."""
    a, b, c = 0.45, 0.3, 0.35
    corners = [torch.tensor((x, y, z)) for z in (-c, c) for y in (-b, b) for x in (-a, a)]
    edges = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    paths = [line3(corners[i], corners[j]) for i, j in edges] + [line3(corners[0], corners[5]),
                                                                 line3(corners[1], corners[4]),
                                                                 line3(corners[7], corners[7] + torch.tensor([0, 0, 0.4]))]

    def part_motion(part, p, t):
        p = rotate(p, (0.0, 0.0, 1.0), 0.5 * math.pi * t)
        return rotate(p, (1.0, 0.0, 0.0), 0.25 * math.sin(2 * math.pi * t))

    return _scene("rotating_box", paths, [False] * len(paths), [0] * len(paths), part_motion)


# Held-out scenes: unlike the bench's (motion in depth along a curved path, a small off-centre object hopping
# and turning about its own centre, a monotone opening instead of a periodic one); not in BENCH_SCENES.
def pendulum() -> DynamicScene:
    """A curved rod with a round bob on a gallows stand, swinging one cycle about a slanted axis off the
    scene centre: the bob travels ~0.7 along y (in depth for a camera in front) on a curved path."""
    pivot = (0.15, 0.0, 0.8)
    paths = [
        line3((-0.55, 0.0, -0.9), (-0.55, 0.0, 0.8)),  # stand: post and beam (still)
        line3((-0.55, 0.0, 0.8), (0.4, 0.0, 0.8)),
        line3((-0.8, 0.0, -0.9), (-0.3, 0.0, -0.9)),  # foot
        torch.tensor([pivot, (0.25, 0.0, 0.4), (0.05, 0.0, 0.0), (0.15, 0.0, -0.35)]),  # curved rod
        circle3((0.15, 0.0, -0.5), 0.15),  # bob, in the x-z plane
    ]
    parts = [0, 0, 0, 1, 1]

    def part_motion(part, p, t):
        if part == 1:
            p = rotate(p, (1.0, 0.25, 0.0), 0.6 * math.sin(2 * math.pi * t), pivot)
        return p

    return _scene("pendulum", paths, [False] * 4 + [True], parts, part_motion)


def hopper() -> DynamicScene:
    """A small wireframe house (a third of the scene's size, off the centre) hopping twice across the floor
    while turning about its own vertical axis and tipping forward in the air: global translation plus a
    rotation about a moving centre, not the origin."""
    a, h = 0.15, 0.3  # half width, wall height
    base = torch.tensor((-0.5, -0.25, -0.7))
    c = [base + torch.tensor((x, y, z)) for z in (0.0, h) for y in (-a, a) for x in (-a, a)]
    edges = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    ridge = [base + torch.tensor((-a, 0.0, h + 0.15)), base + torch.tensor((a, 0.0, h + 0.15))]
    paths = [line3(c[i], c[j]) for i, j in edges] + [line3(ridge[0], ridge[1]), line3(c[4], ridge[0]),
                                                      line3(c[6], ridge[0]), line3(c[5], ridge[1]),
                                                      line3(c[7], ridge[1]), line3(c[0], c[3])]
    centre = base + torch.tensor((0.0, 0.0, h / 2))

    def part_motion(part, p, t):
        hop = 0.35 * abs(math.sin(2 * math.pi * t))  # two hops, landing at t = 0.5 and 1
        p = rotate(p, (0.0, 0.0, 1.0), 0.9 * t, centre)  # turns about its own axis
        p = rotate(p, (0.0, 1.0, 0.0), 0.3 * math.sin(2 * math.pi * t), centre)  # tips in the air
        return p + torch.tensor((0.95 * t, 0.45 * t, hop))

    return _scene("hopper", paths, [False] * len(paths), [0] * len(paths), part_motion)


def door() -> DynamicScene:
    """A door with a window cross and a curved handle opening ~70 degrees towards -y on a still frame:
    a monotone (not periodic) motion whose canonical frame (t = 0, closed) overlaps the frame."""
    x0, x1, z0, z1 = -0.36, 0.36, -0.85, 0.75  # the door; the frame is 0.04 outside it
    hinge = (x0, 0.0, 0.0)
    frame = torch.tensor([(x0 - 0.04, 0.0, -0.9), (x0 - 0.04, 0.0, 0.8), (x1 + 0.04, 0.0, 0.8),
                          (x1 + 0.04, 0.0, -0.9)])
    paths = [
        torch.stack([frame[0], (2 * frame[0] + frame[1]) / 3, (frame[0] + 2 * frame[1]) / 3, frame[1],
                     (2 * frame[1] + frame[2]) / 3, (frame[1] + 2 * frame[2]) / 3, frame[2],
                     (2 * frame[2] + frame[3]) / 3, (frame[2] + 2 * frame[3]) / 3, frame[3]]),  # frame, one path
        line3((x0, 0.0, z0), (x0, 0.0, z1)), line3((x0, 0.0, z1), (x1, 0.0, z1)),  # door panel
        line3((x1, 0.0, z1), (x1, 0.0, z0)), line3((x1, 0.0, z0), (x0, 0.0, z0)),
        line3((-0.2, 0.0, 0.15), (0.2, 0.0, 0.15)), line3((0.0, 0.0, 0.0), (0.0, 0.0, 0.6)),  # window cross
        torch.tensor([(0.25, 0.0, -0.05), (0.25, -0.08, -0.05), (0.2, -0.1, -0.12), (0.12, -0.1, -0.1)]),  # handle
    ]
    parts = [0, 1, 1, 1, 1, 1, 1, 1]

    def part_motion(part, p, t):
        if part == 1:
            p = rotate(p, (0.0, 0.0, 1.0), -1.2 * (1.0 - math.cos(math.pi * t)) / 2, hinge)
        return p

    return _scene("door", paths, [False] * len(paths), parts, part_motion)


SCENES = {"stick_figure": stick_figure, "walker": walker, "bird": bird, "rotating_box": rotating_box,
          "curve_set": curve_set, "flapping_wings": flapping_wings, "pendulum": pendulum, "hopper": hopper,
          "door": door}
# The scenes the motion benchmark and its tests measure (limbs in depth, flapping, rigid rotation, waving).
BENCH_SCENES = ("walker", "bird", "rotating_box", "stick_figure")


def get_scene(name: str, up="+z") -> DynamicScene:
    """A synthetic scene by name (see SCENES), in a world with this up axis."""
    if name not in SCENES:
        raise SketchError(f"Unknown synthetic scene {name!r}; choose one of {', '.join(SCENES)}.")
    return SCENES[name]().oriented(up)


# ---------------------------------------------------------------- projection
def split_cubic(points: torch.Tensor, pieces: int) -> torch.Tensor:
    """Split every cubic [..., S, 4, D] into `pieces` equal-parameter cubics -> [..., S * pieces, 4, D]."""
    out = []
    for i in range(pieces):
        a, b = i / pieces, (i + 1) / pieces
        # control points of the sub-curve on [a, b] (blossoming)
        def blossom(u1, u2, u3):
            p = points
            for u in (u1, u2, u3):
                p = (1 - u) * p[..., :-1, :] + u * p[..., 1:, :]
            return p[..., 0, :]

        out.append(torch.stack([blossom(a, a, a), blossom(a, a, b), blossom(a, b, b), blossom(b, b, b)], -2))
    return torch.stack(out, -3).flatten(-4, -3)


def project_sketch(sketch: Sketch, points: torch.Tensor, cameras: Cameras, subdivide: int = 1):
    """Project 3D strokes through cameras -> (2D Sketch on the camera canvas, points [B, M, 2]).

    points: [B, N, 3] (one frame per camera) or [N, 3]. Control points are
    projected, which is exact for orthographic cameras; `subdivide` > 1 splits
    every cubic into that many pieces first, shrinking the perspective error
    quadratically. Returned widths are the sketch's (in pixels).
    """
    if subdivide < 1:
        raise SketchError("subdivide must be >= 1.")
    if points.ndim == 2:
        points = points[None].expand(len(cameras), -1, -1)
    if subdivide == 1:
        pix, _ = cameras.project(points)
        return replace(sketch, points=sketch.points[:, :2], canvas=cameras.size), pix
    seg = sketch.segment_index  # [S, 4]
    sub = split_cubic(points[:, seg], subdivide)  # [B, S*k, 4, 3]
    pts = sub.reshape(points.shape[0], -1, 3)  # every piece becomes an open path of one segment
    seg_path = sketch.segment_path.repeat_interleave(subdivide)
    P = seg_path.shape[0]
    sk2 = Sketch(points=torch.zeros(4 * P, 2), num_segments=(1,) * P, closed=(False,) * P,
                 stroke_width=sketch.stroke_width[seg_path], stroke_color=sketch.stroke_color[seg_path],
                 fill_color=torch.zeros(P, 4), group=sketch.group[seg_path], canvas=cameras.size)
    pix, _ = cameras.project(pts)
    return sk2, pix


# ------------------------------------------------------------ D-NeRF writing
def _views(camera_mode: str, n: int, rng: np.random.Generator, radius: float, fov: float, size,
           up="+z") -> Cameras:
    if camera_mode == "fixed":
        return fixed(n, radius=radius, elevation=15.0, azimuth=20.0, fov=fov, size=size, up=up)
    if camera_mode != "moving":
        raise SketchError(f"camera_mode must be 'moving' or 'fixed', got {camera_mode!r}.")
    golden = (math.sqrt(5) - 1) / 2  # low-discrepancy azimuths, like D-NeRF's random upper-hemisphere poses
    az = (rng.uniform() + golden * np.arange(n)) % 1.0 * 360.0
    el = rng.uniform(5.0, 45.0, n)
    eye = orbit_eyes(torch.tensor(az, dtype=torch.float32), torch.tensor(el, dtype=torch.float32), radius, up=up)
    return Cameras.perspective(look_at(eye, up=parse_up(up)), size, fov_x_deg=fov)


def render_scene(scene: DynamicScene, times, cameras: Cameras, stroke_width: float = 2.0,
                 subdivide: int = 4) -> torch.Tensor:
    """Render the scene at `times` through `cameras` (one per time) -> premultiplied RGBA [T, H, W, 4]."""
    from .raster import render

    pts3 = scene.control_points(times)
    sk2, pix = project_sketch(scene.sketch.with_style(stroke_width=stroke_width), pts3, cameras, subdivide)
    with torch.no_grad():
        return render(sk2, pix, size=cameras.size, background=None)


@torch.no_grad()
def render_depth(scene: DynamicScene, times, cameras: Cameras, num_samples: int = 8000, dilate: int = 1) -> torch.Tensor:
    """Metric depth maps [T, H, W] of the strokes (distance along the view direction; 0 = no stroke).

    Curve samples are z-buffered into their pixels, then spread `dilate` px (nearest
    wins) to cover the drawn stroke width: what a depth sensor would give for the strokes.
    """
    pts = scene.sample_points(times, num_samples)
    pix, depth = cameras.project(pts)
    W, H = cameras.size
    u, v = pix[..., 0].floor().long(), pix[..., 1].floor().long()
    ok = (u >= 0) & (u < W) & (v >= 0) & (v < H) & (depth > cameras.near)
    T = pts.shape[0]
    flat = torch.arange(T)[:, None] * (H * W) + v.clamp(0, H - 1) * W + u.clamp(0, W - 1)
    buf = torch.full((T * H * W,), float("inf"))
    buf = buf.scatter_reduce(0, flat[ok], depth[ok], reduce="amin")
    d = buf.reshape(T, 1, H, W)
    if dilate > 0:
        d = -torch.nn.functional.max_pool2d(-d, 2 * dilate + 1, 1, dilate)
    return torch.where(torch.isinf(d), torch.zeros_like(d), d)[:, 0]


def _write_png_rgba(path: str, premult: torch.Tensor) -> None:
    from PIL import Image

    a = premult[..., 3:].clamp(0, 1)
    rgb = torch.where(a > 1e-6, premult[..., :3] / a.clamp_min(1e-6), torch.zeros_like(premult[..., :3]))
    arr = (torch.cat([rgb.clamp(0, 1), a], -1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    Image.fromarray(arr, "RGBA").save(path)


IMAGE_STYLES = ("rgba", "black_on_white", "white_on_black")


def _write_png_rgb(path: str, premult: torch.Tensor, style: str, quality: int) -> None:
    """Opaque frames (no alpha): the strokes composited on white, or inverted (white ink on black); JPEG by suffix."""
    from PIL import Image

    rgb = premult[..., :3] + (1.0 - premult[..., 3:].clamp(0, 1))  # on white
    if style == "white_on_black":
        rgb = 1.0 - rgb
    arr = (rgb.clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    Image.fromarray(arr, "RGB").save(path, **({"quality": quality} if path.endswith(".jpg") else {}))


def render_dnerf_folder(scene: DynamicScene | str, folder: str, num_frames: int = 24, size: int | tuple = 128,
                        camera_mode: str = "moving", num_eval_frames: int | None = None, radius: float = 4.0,
                        fov: float = 40.0, stroke_width: float = 2.0, num_samples: int = 2000,
                        seed: int = 0, up="+y", scale: float = 1.0, offset=(0.0, 0.0, 0.0),
                        time_range=(0.0, 1.0), shuffle_frames: bool = False, image_style: str = "rgba",
                        image_format: str = "png", jpeg_quality: int = 85) -> dict:
    """Write a scene as a D-NeRF folder; returns {split: {"times", "cameras"}}.

    Files: transforms_{train,val,test}.json, {split}/r_XXX.png (RGBA, dark strokes
    on transparent), ground_truth.npz ({split}_times, {split}_control_points
    [T,N,3], {split}_samples [T,M,3], corresponding curve samples) and scene.json.
    train: num_frames times evenly over [0, 1]; val/test: num_eval_frames times
    between them. camera_mode "moving": a new pose on the upper hemisphere every
    frame (D-NeRF style); "fixed": one pose for every frame and split. up: the
    world's up axis (default +y as in D-NeRF; the ground truth is in that world).
    size: int (square) or (W, H); fov is horizontal (D-NeRF's camera_angle_x).

    Other writers' conventions (the defaults are D-NeRF's; issue 11's held-out scenes come from other writers):
    scale / offset: the world is scale x the scene + offset, cameras and ground truth alike (the images do not
    change); time_range: the times written are t0 + (t1 - t0) t (ground_truth.npz keeps them); shuffle_frames:
    frames listed out of time order in the json (ground_truth.npz stays in time order); image_style "rgba" (dark
    strokes on transparent), "black_on_white" / "white_on_black" (opaque RGB); image_format "png" or "jpg" (the
    json's file_path has no extension either way, as D-NeRF's).
    """
    if isinstance(scene, str):
        scene = get_scene(scene)
    scene = scene.oriented(up)
    if num_frames < 2:
        raise SketchError("A D-NeRF scene needs at least 2 frames.")
    if image_style not in IMAGE_STYLES or image_format not in ("png", "jpg") or (
            image_format == "jpg" and image_style == "rgba"):
        raise SketchError(f"image_style must be one of {IMAGE_STYLES} and image_format png or jpg (jpg has no alpha: "
                          f"use an opaque style); got {image_style!r}, {image_format!r}.")
    if not scale > 0:
        raise SketchError(f"scale must be positive, got {scale}.")
    t0, t1 = (float(v) for v in time_range)
    offset_t = torch.as_tensor(offset, dtype=torch.float32)
    moved = scale != 1.0 or bool((offset_t != 0).any())
    n_eval = num_eval_frames if num_eval_frames is not None else max(2, num_frames // 4)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = {
        "train": torch.linspace(0.0, 1.0, num_frames),
        "val": (torch.arange(n_eval, dtype=torch.float32) + 0.25) / n_eval,
        "test": (torch.arange(n_eval, dtype=torch.float32) + 0.75) / n_eval,
    }
    seg_of, params = scene.sample_params(num_samples)
    gt, out = {}, {}
    for split, times in splits.items():
        cams = _views(camera_mode, len(times), rng, radius, fov, size, up)
        images = render_scene(scene, times, cams, stroke_width)
        if moved:  # a similarity of the whole world (cameras included) leaves every image as it is
            c2w = cams.c2w.clone()
            c2w[:, :3, 3] = c2w[:, :3, 3] * scale + offset_t
            cams = replace(cams, c2w=c2w)
        written = t0 + (t1 - t0) * times if (t0, t1) != (0.0, 1.0) else times
        os.makedirs(os.path.join(folder, split), exist_ok=True)
        frames = []
        for i in range(len(times)):
            name = f"r_{i:03d}"
            if image_style == "rgba":
                _write_png_rgba(os.path.join(folder, split, name + ".png"), images[i])
            else:
                _write_png_rgb(os.path.join(folder, split, f"{name}.{image_format}"), images[i], image_style,
                               jpeg_quality)
            frames.append({"file_path": f"./{split}/{name}", "time": float(written[i]),
                           "transform_matrix": cams.c2w[i].tolist()})
        if shuffle_frames:
            frames = [frames[i] for i in np.random.default_rng([seed, 1]).permutation(len(frames))]
        meta = {"camera_angle_x": float(cams.camera_angle_x[0]), "frames": frames}
        with open(os.path.join(folder, f"transforms_{split}.json"), "w") as f:
            json.dump(meta, f, indent=2)
        cp = scene.control_points(times)
        samples = bezier_points(cp, scene.sketch.segment_index, params, seg_of)
        if moved:
            cp, samples = cp * scale + offset_t, samples * scale + offset_t
        gt[f"{split}_times"] = written.numpy()
        gt[f"{split}_control_points"] = cp.numpy()
        gt[f"{split}_samples"] = samples.numpy()
        out[split] = {"times": written, "cameras": cams}
    np.savez_compressed(os.path.join(folder, "ground_truth.npz"), **gt)
    info = {"scene": scene.name, "num_frames": num_frames, "size": size, "camera_mode": camera_mode,
            "radius": radius, "fov": fov, "stroke_width": stroke_width, "scene_radius": scene.radius,
            "num_segments": list(scene.sketch.num_segments), "closed": list(scene.sketch.closed),
            "up": scene.up, "units": "world units; the scene fits in a ball of radius scene_radius"}
    if moved or (t0, t1) != (0.0, 1.0) or shuffle_frames or image_style != "rgba" or image_format != "png":
        info.update({"scale": scale, "offset": offset_t.tolist(), "time_range": [t0, t1],
                     "shuffle_frames": shuffle_frames, "image_style": image_style, "image_format": image_format,
                     "units": "world units: scale x the scene + offset; the scene fits in a ball of radius "
                              "scale x scene_radius about offset"})
    with open(os.path.join(folder, "scene.json"), "w") as f:
        json.dump(info, f, indent=2)
    return out


def load_ground_truth(folder: str, split: str = "train") -> dict:
    """{"times" [T], "control_points" [T,N,3], "samples" [T,M,3], "scene": scene.json} of a synthetic folder."""
    path = os.path.join(folder, "ground_truth.npz")
    if not os.path.isfile(path):
        raise SketchError(f"No ground_truth.npz in {folder}; only folders written by render_dnerf_folder have one.")
    with np.load(path) as z:
        if f"{split}_times" not in z:
            raise SketchError(f"ground_truth.npz has no split {split!r}; use train, val or test.")
        d = {k: torch.from_numpy(z[f"{split}_{k}"]) for k in ("times", "control_points", "samples")}
    with open(os.path.join(folder, "scene.json")) as f:
        d["scene"] = json.load(f)
    return d
