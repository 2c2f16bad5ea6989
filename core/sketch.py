"""The one data model: `Sketch` (vector strokes) and `SketchAnimation` (strokes over time).

A sketch is a list of paths in paint order. Every path is a chain of cubic Bezier
segments whose control points live in one tensor `points` [N, D] (D = 2 for a
drawing, 3 for a 3D sketch):

- an open path with k segments owns 3k + 1 consecutive points
  (p0 c c p1 c c p2 ... pk);
- a closed path with k segments owns 3k points; its last segment ends on the
  path's first point, so motion can never tear a closed shape open.

Per path: stroke width (full SVG width, in canvas pixels; 0 = no stroke), stroke
and fill colour as straight RGBA in 0..1 (fill alpha 0 = no fill; fills only make
sense for closed paths), fill rule (nonzero / evenodd) and an object group id.

Compound shapes: consecutive paths with the same `compound` id are the subpaths
of one SVG element and are FILLED TOGETHER (their winding numbers add, so a hole
drawn as a second subpath stays a hole). The fill colour and rule of a compound
are those of its first path. Strokes are always per path.

Both classes are immutable: methods return new objects, tensors are never
written in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Sequence

import torch

from .errors import SketchError
from .motion.registry import StoredMotion, sample_motion

FILL_RULES = ("nonzero", "evenodd")


@dataclass(frozen=True, eq=False)
class Sketch:
    """Vector paths in paint order. See the module docstring for the layout."""

    points: torch.Tensor  # [N, D] float32
    num_segments: tuple[int, ...]  # per path, k >= 1
    closed: tuple[bool, ...]  # per path
    stroke_width: torch.Tensor  # [P] float32, full width in canvas px
    stroke_color: torch.Tensor  # [P, 4] straight RGBA 0..1
    fill_color: torch.Tensor  # [P, 4] straight RGBA 0..1 (alpha 0 = no fill)
    fill_rule: tuple[str, ...] = ()  # per path, "nonzero" | "evenodd"
    group: torch.Tensor | None = None  # [P] int64 object ids
    canvas: tuple[int, int] = (256, 256)  # (width, height) in px
    compound: torch.Tensor | None = None  # [P] int64, consecutive runs fill together
    style: Any = None  # core.style.PathStyle (caps, joins, dashes, clips, gradients, group opacity); None = round, solid
    dropped: tuple[str, ...] = ()  # what the source file had that cannot be drawn (see core.svg)

    def __post_init__(self):
        pts = torch.as_tensor(self.points)
        if not torch.is_floating_point(pts):
            pts = pts.float()
        object.__setattr__(self, "points", pts)
        P = len(self.num_segments)
        object.__setattr__(self, "num_segments", tuple(int(k) for k in self.num_segments))
        object.__setattr__(self, "closed", tuple(bool(c) for c in self.closed))
        dev = pts.device
        for name in ("stroke_width", "stroke_color", "fill_color"):
            object.__setattr__(self, name, torch.as_tensor(getattr(self, name), dtype=pts.dtype, device=dev))
        if not self.fill_rule:
            object.__setattr__(self, "fill_rule", ("nonzero",) * P)
        else:
            object.__setattr__(self, "fill_rule", tuple(self.fill_rule))
        if self.group is None:
            object.__setattr__(self, "group", torch.zeros(P, dtype=torch.long, device=dev))
        else:
            object.__setattr__(self, "group", torch.as_tensor(self.group, dtype=torch.long, device=dev))
        if self.compound is None:
            object.__setattr__(self, "compound", torch.arange(P, device=dev))
        else:
            object.__setattr__(self, "compound", torch.as_tensor(self.compound, dtype=torch.long, device=dev))
        object.__setattr__(self, "canvas", (int(self.canvas[0]), int(self.canvas[1])))
        object.__setattr__(self, "dropped", tuple(str(x) for x in self.dropped))
        self._validate()

    # ------------------------------------------------------------------ checks
    def _validate(self):
        P = len(self.num_segments)
        if P == 0:
            raise SketchError("The sketch has no paths.")
        if len(self.closed) != P or len(self.fill_rule) != P:
            raise SketchError("closed / fill_rule must have one entry per path.")
        if any(k < 1 for k in self.num_segments):
            raise SketchError("Every path needs at least one Bezier segment.")
        if self.points.ndim != 2 or self.points.shape[1] not in (2, 3):
            raise SketchError(f"points must be [N, 2] or [N, 3], got {tuple(self.points.shape)}.")
        expected = sum(3 * k + (0 if c else 1) for k, c in zip(self.num_segments, self.closed))
        if self.points.shape[0] != expected:
            raise SketchError(
                f"points has {self.points.shape[0]} rows but the path structure needs {expected} "
                "(3k+1 per open path, 3k per closed path)."
            )
        if self.stroke_width.shape != (P,):
            raise SketchError(f"stroke_width must be [{P}], got {tuple(self.stroke_width.shape)}.")
        for name in ("stroke_color", "fill_color"):
            if getattr(self, name).shape != (P, 4):
                raise SketchError(f"{name} must be [{P}, 4] RGBA, got {tuple(getattr(self, name).shape)}.")
        if self.group.shape != (P,):
            raise SketchError(f"group must be [{P}], got {tuple(self.group.shape)}.")
        if self.compound.shape != (P,):
            raise SketchError(f"compound must be [{P}], got {tuple(self.compound.shape)}.")
        if P > 1:
            change = self.compound[1:] != self.compound[:-1]
            if len(set(self.compound.tolist())) != int(change.sum()) + 1:
                raise SketchError("Paths of one compound shape must be consecutive in paint order.")
        bad = [r for r in self.fill_rule if r not in FILL_RULES]
        if bad:
            raise SketchError(f"Unknown fill rule {bad[0]!r}; use 'nonzero' or 'evenodd'.")
        if self.canvas[0] <= 0 or self.canvas[1] <= 0:
            raise SketchError(f"Canvas size must be positive, got {self.canvas}.")
        if not bool(torch.isfinite(self.points).all()):
            raise SketchError("The sketch has NaN or infinite coordinates.")
        if not bool(torch.isfinite(self.stroke_width).all()):
            raise SketchError("A stroke width is infinite or NaN (too large for float32); use a finite width.")
        if self.style is not None and self.style.num_paths != P:
            raise SketchError(f"The path style has {self.style.num_paths} entries for {P} paths.")

    # -------------------------------------------------------------- structure
    @property
    def num_paths(self) -> int:
        return len(self.num_segments)

    @property
    def num_points(self) -> int:
        return int(self.points.shape[0])

    @property
    def dim(self) -> int:
        return int(self.points.shape[1])

    @property
    def device(self) -> torch.device:
        return self.points.device

    @cached_property
    def path_offsets(self) -> tuple[int, ...]:
        """First point index of every path (length P + 1; the last entry is N)."""
        offs = [0]
        for k, c in zip(self.num_segments, self.closed):
            offs.append(offs[-1] + 3 * k + (0 if c else 1))
        return tuple(offs)

    @cached_property
    def segment_index(self) -> torch.Tensor:
        """[S, 4] long: the four control-point indices of every cubic segment."""
        rows = []
        for p, (k, c) in enumerate(zip(self.num_segments, self.closed)):
            base = self.path_offsets[p]
            n = 3 * k + (0 if c else 1)
            for j in range(k):
                rows.append([base + 3 * j, base + 3 * j + 1, base + 3 * j + 2, base + (3 * j + 3) % n if c else base + 3 * j + 3])
        return torch.tensor(rows, dtype=torch.long, device=self.device)

    @cached_property
    def segment_path(self) -> torch.Tensor:
        """[S] long: the path each cubic segment belongs to."""
        return torch.repeat_interleave(
            torch.arange(self.num_paths, device=self.device),
            torch.tensor(self.num_segments, device=self.device),
        )

    @cached_property
    def point_path(self) -> torch.Tensor:
        """[N] long: the path each control point belongs to."""
        counts = torch.tensor(
            [3 * k + (0 if c else 1) for k, c in zip(self.num_segments, self.closed)], device=self.device
        )
        return torch.repeat_interleave(torch.arange(self.num_paths, device=self.device), counts)

    def path_points(self, p: int) -> torch.Tensor:
        """Control points of path p ([3k(+1), D])."""
        return self.points[self.path_offsets[p] : self.path_offsets[p + 1]]

    @property
    def num_groups(self) -> int:
        return int(self.group.max().item()) + 1 if self.num_paths else 0

    @cached_property
    def compound_first(self) -> torch.Tensor:
        """[P] long: index of the first path of each path's compound shape."""
        P = self.num_paths
        idx = torch.arange(P, device=self.device)
        if P == 1:
            return idx
        start = torch.ones(P, dtype=torch.bool, device=self.device)
        start[1:] = self.compound[1:] != self.compound[:-1]
        return torch.cummax(torch.where(start, idx, torch.zeros_like(idx)), 0).values

    @property
    def has_fill(self) -> torch.Tensor:
        """[P] bool: closed paths with a visible fill (for a compound shape, its first path decides)."""
        closed = torch.tensor(self.closed, device=self.device)
        return closed & (self.fill_color[self.compound_first, 3] > 0)

    @property
    def has_stroke(self) -> torch.Tensor:
        """[P] bool: paths with a visible stroke."""
        return (self.stroke_width > 0) & (self.stroke_color[:, 3] > 0)

    def center_of_mass(self) -> torch.Tensor:
        """Mean of all control points ([D]); the pivot of LiveSketch's global path."""
        return self.points.mean(dim=0)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(min [D], max [D]) of the control points (an upper bound of the drawing)."""
        return self.points.min(dim=0).values, self.points.max(dim=0).values

    # ------------------------------------------------------------------ copies
    def with_points(self, points: torch.Tensor) -> "Sketch":
        """Same paths and styles, new control points (same count; D may change 2 <-> 3)."""
        points = torch.as_tensor(points)
        if points.shape[0] != self.num_points:
            raise SketchError(f"with_points needs {self.num_points} points, got {points.shape[0]}.")
        return replace(self, points=points)

    def with_groups(self, group) -> "Sketch":
        """Same sketch with new object group ids ([P])."""
        return replace(self, group=torch.as_tensor(group, dtype=torch.long, device=self.device))

    def with_style(self, stroke_width=None, stroke_color=None, fill_color=None) -> "Sketch":
        """Override styles: scalars/one colour broadcast to every path."""
        P = self.num_paths
        kw: dict[str, Any] = {}
        if stroke_width is not None:
            kw["stroke_width"] = torch.as_tensor(stroke_width, dtype=torch.float32).expand(P).clone()
        if stroke_color is not None:
            kw["stroke_color"] = torch.as_tensor(stroke_color, dtype=torch.float32).expand(P, 4).clone()
        if fill_color is not None:
            kw["fill_color"] = torch.as_tensor(fill_color, dtype=torch.float32).expand(P, 4).clone()
        return replace(self, **kw)

    def select_paths(self, paths: Sequence[int]) -> "Sketch":
        """A new sketch with only the given paths, in the given order."""
        paths = [int(p) for p in paths]
        if not paths:
            raise SketchError("select_paths needs at least one path.")
        idx = torch.cat([torch.arange(self.path_offsets[p], self.path_offsets[p + 1]) for p in paths]).to(self.device)
        pi = torch.tensor(paths, device=self.device)
        return Sketch(
            points=self.points[idx],
            num_segments=tuple(self.num_segments[p] for p in paths),
            closed=tuple(self.closed[p] for p in paths),
            stroke_width=self.stroke_width[pi],
            stroke_color=self.stroke_color[pi],
            fill_color=self.fill_color[pi],
            fill_rule=tuple(self.fill_rule[p] for p in paths),
            group=self.group[pi],
            canvas=self.canvas,
            compound=_renumber_runs(self.compound[pi]),
            style=None if self.style is None else self.style.select(paths),
            dropped=self.dropped,
        )

    def to(self, device=None, dtype=None) -> "Sketch":
        """Move every tensor to a device (and floats to a dtype)."""
        f = lambda t: t.to(device=device, dtype=dtype)  # noqa: E731
        return replace(
            self,
            points=f(self.points),
            stroke_width=f(self.stroke_width),
            stroke_color=f(self.stroke_color),
            fill_color=f(self.fill_color),
            group=self.group.to(device=device),
            compound=self.compound.to(device=device),
        )

    def clone(self) -> "Sketch":
        """A copy with fresh tensors (e.g. normal tensors from ComfyUI's inference tensors)."""
        return replace(
            self,
            points=self.points.clone(),
            stroke_width=self.stroke_width.clone(),
            stroke_color=self.stroke_color.clone(),
            fill_color=self.fill_color.clone(),
            group=self.group.clone(),
            compound=self.compound.clone(),
        )

    def detach(self) -> "Sketch":
        return replace(
            self,
            points=self.points.detach(),
            stroke_width=self.stroke_width.detach(),
            stroke_color=self.stroke_color.detach(),
            fill_color=self.fill_color.detach(),
        )

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Plain tensors and lists (safe to save with torch.save / safetensors + JSON)."""
        return {
            "points": self.points.detach().cpu(),
            "num_segments": list(self.num_segments),
            "closed": list(self.closed),
            "stroke_width": self.stroke_width.detach().cpu(),
            "stroke_color": self.stroke_color.detach().cpu(),
            "fill_color": self.fill_color.detach().cpu(),
            "fill_rule": list(self.fill_rule),
            "group": self.group.cpu(),
            "canvas": list(self.canvas),
            "compound": self.compound.cpu(),
            "style": None if self.style is None else self.style.to_json(),
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_state_dict(cls, d: dict) -> "Sketch":
        return cls(
            points=d["points"],
            num_segments=tuple(d["num_segments"]),
            closed=tuple(d["closed"]),
            stroke_width=d["stroke_width"],
            stroke_color=d["stroke_color"],
            fill_color=d["fill_color"],
            fill_rule=tuple(d["fill_rule"]),
            group=d["group"],
            canvas=tuple(d["canvas"]),
            compound=d.get("compound"),
            style=_style_from_json(d.get("style")),
            dropped=tuple(d.get("dropped") or ()),
        )

    def __repr__(self) -> str:
        return (
            f"Sketch(paths={self.num_paths}, segments={sum(self.num_segments)}, points={self.num_points}, "
            f"dim={self.dim}, canvas={self.canvas[0]}x{self.canvas[1]}, groups={self.num_groups})"
        )


def _style_from_json(d):
    if not d:
        return None
    from .style import PathStyle

    return PathStyle.from_json(d)


def _renumber_runs(ids: torch.Tensor) -> torch.Tensor:
    """Give each run of equal consecutive ids its own new id (0, 1, 2, ...)."""
    if ids.numel() <= 1:
        return torch.zeros_like(ids)
    change = torch.cat([torch.zeros(1, dtype=torch.long, device=ids.device), (ids[1:] != ids[:-1]).long()])
    return torch.cumsum(change, 0)


def sketch_from_paths(
    paths: Sequence[torch.Tensor],
    closed: Sequence[bool] | None = None,
    stroke_width: float | Sequence[float] = 3.0,
    stroke_color=(0.0, 0.0, 0.0, 1.0),
    fill_color=(0.0, 0.0, 0.0, 0.0),
    fill_rule: Sequence[str] | None = None,
    group: Sequence[int] | None = None,
    canvas: tuple[int, int] = (256, 256),
    compound: Sequence[int] | None = None,
) -> Sketch:
    """Build a Sketch from a list of per-path control-point arrays.

    Each entry is [3k+1, D] for an open path or [3k, D] for a closed one.
    Scalars and single colours are broadcast to every path.
    """
    P = len(paths)
    if P == 0:
        raise SketchError("sketch_from_paths needs at least one path.")
    closed = [False] * P if closed is None else list(closed)
    tensors = [torch.as_tensor(p, dtype=torch.float32) for p in paths]
    nseg = []
    for p, (t, c) in enumerate(zip(tensors, closed)):
        n = t.shape[0]
        if c:
            if n % 3 != 0 or n < 3:
                raise SketchError(f"Closed path {p} needs 3k control points, got {n}.")
            nseg.append(n // 3)
        else:
            if (n - 1) % 3 != 0 or n < 4:
                raise SketchError(f"Open path {p} needs 3k+1 control points, got {n}.")
            nseg.append((n - 1) // 3)

    def per_path(v, tail):
        t = torch.as_tensor(v, dtype=torch.float32)
        return t.expand(P, *tail).clone() if t.ndim == len(tail) else t

    return Sketch(
        points=torch.cat(tensors, dim=0),
        num_segments=tuple(nseg),
        closed=tuple(closed),
        stroke_width=per_path(stroke_width, ()),
        stroke_color=per_path(stroke_color, (4,)),
        fill_color=per_path(fill_color, (4,)),
        fill_rule=tuple(fill_rule) if fill_rule else ("nonzero",) * P,
        group=torch.as_tensor(group) if group is not None else None,
        canvas=canvas,
        compound=torch.as_tensor(compound) if compound is not None else None,
    )


@dataclass(frozen=True, eq=False)
class SketchAnimation:
    """A base sketch and its control points in every frame.

    frames: [T, N, D] (D = 2 for 2D animation, 3 for a dynamic 3D sketch).
    settings: JSON-serialisable record of what produced it (prompt, steps, seed...).
    cameras: optional per-frame camera description for 3D sketches (see core.camera).
    motion: optional trained motion model (core.motion.registry.StoredMotion: tensors + config with a
        "kind"), e.g. the continuous-time displacement fields of `animate`; `sample` uses it to draw
        frames at any count.
    """

    sketch: Sketch
    frames: torch.Tensor
    fps: float = 8.0
    settings: dict = field(default_factory=dict)
    cameras: Any = None
    motion: StoredMotion | None = None

    def __post_init__(self):
        fr = torch.as_tensor(self.frames, dtype=torch.float32)
        object.__setattr__(self, "frames", fr)
        if fr.ndim != 3 or fr.shape[1] != self.sketch.num_points or fr.shape[2] not in (2, 3):
            raise SketchError(
                f"frames must be [T, {self.sketch.num_points}, D] with D in (2, 3), got {tuple(fr.shape)}."
            )
        if fr.shape[0] < 1:
            raise SketchError("An animation needs at least one frame.")
        if not bool(torch.isfinite(fr).all()):
            raise SketchError("The animation has NaN or infinite coordinates.")
        if not (self.fps > 0):
            raise SketchError(f"fps must be positive, got {self.fps}.")
        if self.motion is not None and not isinstance(self.motion, StoredMotion):
            raise SketchError(f"motion must be a core.motion.registry.StoredMotion, got {type(self.motion).__name__}.")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def dim(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        """Seconds: num_frames / fps."""
        return self.num_frames / float(self.fps)

    def frame(self, i: int) -> Sketch:
        """The sketch as drawn in frame i."""
        return self.sketch.with_points(self.frames[i])

    def resample(self, num_frames: int, fps: float | None = None, loop: bool = False) -> "SketchAnimation":
        """Linearly re-sample the frames to another count (the motion-model-free way).

        With loop=True the last frame blends back into the first.
        """
        if num_frames < 1:
            raise SketchError("num_frames must be >= 1.")
        T = self.num_frames
        if num_frames == T:
            return replace(self, fps=fps or self.fps)
        if T == 1:
            fr = self.frames.expand(num_frames, -1, -1).clone()
        else:
            span = T if loop else T - 1
            u = torch.linspace(0, span, num_frames + (1 if loop else 0), device=self.frames.device)[:num_frames]
            i0 = u.floor().long().clamp(max=T - 1)
            w = (u - i0.float())[:, None, None]
            i1 = (i0 + 1) % T if loop else (i0 + 1).clamp(max=T - 1)
            fr = self.frames[i0] * (1 - w) + self.frames[i1] * w
        return replace(self, frames=fr, fps=fps or self.fps * num_frames / T)

    def sample(self, num_frames: int) -> "SketchAnimation":
        """The animation at another frame count, same duration: sampled from the trained motion
        model when there is one (see core.motion.registry; an unknown kind raises), else linearly
        re-sampled frames."""
        if self.motion is None:
            return self.resample(num_frames)
        return sample_motion(self, num_frames, self.motion)

    def to(self, device=None) -> "SketchAnimation":
        return replace(self, sketch=self.sketch.to(device), frames=self.frames.to(device))

    def state_dict(self) -> dict:
        return {
            "sketch": self.sketch.state_dict(),
            "frames": self.frames.detach().cpu(),
            "fps": float(self.fps),
            "settings": dict(self.settings),
        }

    @classmethod
    def from_state_dict(cls, d: dict) -> "SketchAnimation":
        return cls(
            sketch=Sketch.from_state_dict(d["sketch"]),
            frames=d["frames"],
            fps=float(d["fps"]),
            settings=dict(d.get("settings", {})),
        )

    def __repr__(self) -> str:
        return f"SketchAnimation(frames={self.num_frames}, fps={self.fps:g}, {self.sketch!r})"
