"""Per-path stroke styles beyond width and colour, and clip regions: `PathStyle`.

A `Sketch` without a `style` draws every stroke with round caps and round joins,
solid and unclipped: the look of LiveSketch's inputs (diffvg draws only round
caps and joins) and the default for sketches made in code. Reading a real SVG
follows SVG's own defaults instead (butt caps, miter joins, miter limit 4), so
`svg.load` always attaches a `PathStyle`.

Per path (tuples of length P):
- cap: "butt" | "round" | "square"
- join: "miter" | "round" | "bevel" (a miter longer than miterlimit x width becomes a bevel)
- miterlimit: float >= 1
- dash: () for a solid line, else an even-length tuple of on/off lengths in canvas
  px, canonical (no zero-length gaps: they are merged; see `canonical_dash`)
- dash_offset: float, canvas px (where in the pattern the path starts)
- clip: index into `clips`, or -1 (not clipped)

`clips`: tuple of `ClipRegion(sketch, parent)`. A clip region is the filled area of
a fill-only Sketch in the same canvas coordinates (each compound shape with its own
fill rule = SVG's clip-rule; strokes of a clip are ignored, as in SVG), intersected
with its `parent` region (-1: none). Nested clips (a clipped group inside a clipped
group, a clipPath with its own clip-path) are chains of parents. Clip regions are
static: they do not move with an animation's frames.

Paint servers (optional; older code and files have none): `fill_paint` and
`stroke_paint` (per path, index into `paints` or -1 = the flat colour) and `paints`:
tuple of `Gradient` (linear or radial, SVG semantics, in canvas coordinates). The
Sketch's flat `fill_color` / `stroke_color` of such a path is the gradient's mean
colour (its alpha included), so every consumer that wants one RGBA per path still
gets a sensible one; the renderer paints the gradient per pixel. Gradients are
static in canvas space, like clip regions.

Group opacity (optional): `opacity_groups`, tuple of (start, end, opacity): the paths
[start, end) are composited together first and the result is faded by `opacity`, as
SVG does for a `<g opacity>` (or a shape with fill and stroke). Ranges nest or are
disjoint. The paths' flat colours still carry the opacity (product over their groups),
so consumers that draw path by path get SVG's per-shape approximation; the renderer
divides it out and composites each group exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch

from .errors import SketchError

CAPS = ("butt", "round", "square")
JOINS = ("miter", "round", "bevel")
SPREADS = ("pad", "reflect", "repeat")


def canonical_dash(values: Sequence[float], offset: float = 0.0) -> tuple[tuple[float, ...], float]:
    """SVG dash list -> (canonical pattern, offset).

    Odd lists are repeated (SVG). A pattern that sums to 0, has a negative entry or
    has no gap is solid: `()`. Zero-length gaps are merged into the dashes around them
    (so every boundary in the pattern is a real on/off change); a zero-length dash (a dot,
    visible with round or square caps) is kept.
    """
    v = [float(x) for x in values]
    if not v or any(not math.isfinite(x) or x < 0 for x in v) or sum(v) <= 0:
        return (), 0.0
    if len(v) % 2:
        v = v + v
    pairs = [[v[i], v[i + 1]] for i in range(0, len(v), 2)]
    offset = float(offset) if math.isfinite(float(offset)) else 0.0
    if all(off == 0 for _, off in pairs):
        return (), 0.0
    # rotate so that the last pair has a real gap, then merge zero gaps forward
    while pairs[-1][1] == 0:
        last = pairs.pop()
        pairs[0][0] += last[0]
        offset += last[0]
    merged = []
    for on, off in pairs:
        if merged and merged[-1][1] == 0:
            merged[-1][0] += on
            merged[-1][1] = off
        else:
            merged.append([on, off])
    out = tuple(x for pr in merged for x in pr)
    period = sum(out)
    return out, offset % period


@dataclass(frozen=True, eq=False)
class ClipRegion:
    """The filled area of `sketch` (canvas coordinates), intersected with clip `parent` (-1: none).

    path_clip: () or, per path of `sketch`, an earlier region of the same PathStyle that clips that
    path (-1: none) -- a clipPath whose shapes have their own clip-path."""

    sketch: "object"  # a fill-only core.sketch.Sketch
    parent: int = -1
    path_clip: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "path_clip", tuple(int(c) for c in self.path_clip))
        if self.path_clip and len(self.path_clip) != self.sketch.num_paths:
            raise SketchError("A clip region's path_clip needs one entry per path of its sketch.")

    def state_dict(self) -> dict:
        return {"sketch": self.sketch.state_dict(), "parent": int(self.parent), "path_clip": list(self.path_clip)}

    def to_json(self) -> dict:
        d = self.sketch.state_dict()
        return {
            "parent": int(self.parent),
            "path_clip": list(self.path_clip),
            "points": d["points"].tolist(),
            "num_segments": list(d["num_segments"]),
            "closed": list(d["closed"]),
            "fill_rule": list(d["fill_rule"]),
            "fill_color": d["fill_color"].tolist(),
            "compound": d["compound"].tolist(),
            "canvas": list(d["canvas"]),
        }

    @classmethod
    def from_json(cls, d: dict) -> "ClipRegion":
        from .sketch import Sketch

        P = len(d["num_segments"])
        sk = Sketch(
            points=torch.tensor(d["points"], dtype=torch.float32).reshape(-1, 2),
            num_segments=tuple(d["num_segments"]),
            closed=tuple(d["closed"]),
            stroke_width=torch.zeros(P),
            stroke_color=torch.zeros(P, 4),
            fill_color=torch.tensor(d["fill_color"], dtype=torch.float32).reshape(P, 4),
            fill_rule=tuple(d["fill_rule"]),
            canvas=tuple(d["canvas"]),
            compound=torch.tensor(d["compound"], dtype=torch.long),
        )
        return cls(sk, int(d.get("parent", -1)), tuple(d.get("path_clip", ())))


def _matrix(m) -> tuple[float, ...]:
    m = tuple(float(v) for v in m)
    if len(m) != 6 or not all(math.isfinite(v) for v in m):
        raise SketchError(f"A gradient transform needs 6 finite numbers (a b c d e f), got {m}.")
    return m


@dataclass(frozen=True, eq=False)
class Gradient:
    """A linear or radial gradient paint, as SVG draws it, in canvas pixel coordinates.

    kind: "linear" (geometry x1, y1, x2, y2) or "radial" (geometry cx, cy, r, fx, fy, fr; the
    focal circle (fx, fy, fr) is kept inside the end circle, as SVG 1.1 does);
    transform: (a, b, c, d, e, f), gradient space -> canvas px (SVG's matrix(), with the
    element's transform, the gradientTransform and objectBoundingBox units folded in);
    spread: "pad" | "reflect" | "repeat";
    offsets: stop offsets in 0..1, non-decreasing; colors [K, 4]: straight RGBA of the stops
    with every opacity of the painted element already applied (a tensor: may require grad).
    """

    kind: str
    geometry: tuple[float, ...]
    transform: tuple[float, ...]
    spread: str
    offsets: tuple[float, ...]
    colors: torch.Tensor

    def __post_init__(self):
        object.__setattr__(self, "geometry", tuple(float(v) for v in self.geometry))
        object.__setattr__(self, "transform", _matrix(self.transform))
        object.__setattr__(self, "offsets", tuple(float(v) for v in self.offsets))
        cols = torch.as_tensor(self.colors)
        object.__setattr__(self, "colors", cols.float() if not torch.is_floating_point(cols) else cols)
        if self.kind not in ("linear", "radial") or self.spread not in SPREADS:
            raise SketchError(f"A gradient is 'linear' or 'radial' with spread in {SPREADS}, got {self.kind!r}, {self.spread!r}.")
        if len(self.geometry) != (4 if self.kind == "linear" else 6) or not all(map(math.isfinite, self.geometry)):
            raise SketchError(f"A {self.kind} gradient has {len(self.geometry)} geometry numbers or a non-finite one.")
        K = len(self.offsets)
        if K < 1 or self.colors.shape != (K, 4):
            raise SketchError(f"A gradient needs >= 1 stop and colors [K, 4]; got {K} offsets, colors {tuple(self.colors.shape)}.")
        if any(not (0 <= o <= 1) for o in self.offsets) or any(b < a for a, b in zip(self.offsets, self.offsets[1:])):
            raise SketchError(f"Gradient stop offsets must be non-decreasing in 0..1, got {self.offsets}.")

    def mean_color(self) -> torch.Tensor:
        """[4] the mean of the colour ramp over t in 0..1 (the flat colour stand-in)."""
        o = torch.tensor((0.0,) + self.offsets + (1.0,), dtype=self.colors.dtype, device=self.colors.device)
        c = torch.cat([self.colors[:1], self.colors, self.colors[-1:]])
        return ((o[1:] - o[:-1])[:, None] * (c[1:] + c[:-1]) / 2).sum(0)

    def mapped(self, scale, shift) -> "Gradient":
        """The gradient after canvas points map to p * scale + shift (scale: number or (sx, sy))."""
        sx, sy = (float(scale), float(scale)) if not hasattr(scale, "__len__") else (float(scale[0]), float(scale[1]))
        a, b, c, d, e, f = self.transform
        return replace(self, transform=(a * sx, b * sy, c * sx, d * sy, e * sx + float(shift[0]), f * sy + float(shift[1])))

    def to_json(self) -> dict:
        return {"kind": self.kind, "geometry": list(self.geometry), "transform": list(self.transform),
                "spread": self.spread, "offsets": list(self.offsets), "colors": self.colors.detach().cpu().tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "Gradient":
        return cls(d["kind"], tuple(d["geometry"]), tuple(d["transform"]), d.get("spread", "pad"),
                   tuple(d["offsets"]), torch.tensor(d["colors"], dtype=torch.float32).reshape(-1, 4))


def nesting_depths(ranges) -> list[int] | None:
    """Per (start, end, ...) range: how many of the others enclose it (of two equal ranges the later is
    inside the earlier), or None when two ranges cross (overlap without one holding the other).
    One sort and a stack of the ends of the ranges still open."""
    depth = [0] * len(ranges)
    open_ends: list = []
    for i in sorted(range(len(ranges)), key=lambda i: (ranges[i][0], -ranges[i][1])):
        a, b = ranges[i][0], ranges[i][1]
        while open_ends and open_ends[-1] <= a:
            open_ends.pop()
        if open_ends and open_ends[-1] < b:  # starts inside the top range and ends beyond it
            return None
        depth[i] = len(open_ends)
        open_ends.append(b)
    return depth


def _groups_ok(groups, P: int) -> bool:
    return all(0 <= a < b <= P and 0.0 <= o <= 1.0 for a, b, o in groups) and nesting_depths(groups) is not None


def _select_groups(groups, paths: list[int]) -> tuple:
    """Opacity groups after a selection of paths: kept where the selected members stay one run."""
    pos = {p: i for i, p in enumerate(paths)}
    out = []
    for a, b, o in groups:
        members = sorted(pos[p] for p in range(a, b) if p in pos)
        if members and members == list(range(members[0], members[-1] + 1)):
            out.append((members[0], members[-1] + 1, o))
    return tuple(out) if _groups_ok(out, len(paths)) else ()


@dataclass(frozen=True, eq=False)
class PathStyle:
    """Caps, joins, miter limits, dashes and clips of every path (see the module docstring)."""

    cap: tuple[str, ...]
    join: tuple[str, ...]
    miterlimit: tuple[float, ...]
    dash: tuple[tuple[float, ...], ...]
    dash_offset: tuple[float, ...]
    clip: tuple[int, ...]
    clips: tuple[ClipRegion, ...] = ()
    fill_paint: tuple[int, ...] = ()  # per path: index into paints, or -1 (flat colour); () = all -1
    stroke_paint: tuple[int, ...] = ()
    paints: tuple[Gradient, ...] = ()
    opacity_groups: tuple[tuple[int, int, float], ...] = ()  # (start, end, opacity), composited as one

    def __post_init__(self):
        object.__setattr__(self, "cap", tuple(str(c) for c in self.cap))
        object.__setattr__(self, "join", tuple(str(j) for j in self.join))
        object.__setattr__(self, "miterlimit", tuple(float(m) for m in self.miterlimit))
        object.__setattr__(self, "dash", tuple(tuple(float(x) for x in d) for d in self.dash))
        object.__setattr__(self, "dash_offset", tuple(float(o) for o in self.dash_offset))
        object.__setattr__(self, "clip", tuple(int(c) for c in self.clip))
        object.__setattr__(self, "clips", tuple(self.clips))
        P = len(self.cap)
        for name in ("fill_paint", "stroke_paint"):
            v = tuple(int(i) for i in getattr(self, name))
            object.__setattr__(self, name, v if v else (-1,) * P)
        object.__setattr__(self, "paints", tuple(self.paints))
        object.__setattr__(self, "opacity_groups", tuple((int(a), int(b), float(o)) for a, b, o in self.opacity_groups))
        for name in ("join", "miterlimit", "dash", "dash_offset", "clip", "fill_paint", "stroke_paint"):
            if len(getattr(self, name)) != P:
                raise SketchError(f"PathStyle.{name} needs one entry per path ({P}), got {len(getattr(self, name))}.")
        bad = [c for c in self.cap if c not in CAPS] + [j for j in self.join if j not in JOINS]
        if bad:
            raise SketchError(f"Unknown stroke cap or join {bad[0]!r}; caps: {CAPS}, joins: {JOINS}.")
        if any(not (m >= 1 and math.isfinite(m)) for m in self.miterlimit):
            raise SketchError("Every miter limit must be a finite number >= 1.")
        for d in self.dash:
            if len(d) % 2 or any(not (x >= 0 and math.isfinite(x)) for x in d) or (d and sum(d) <= 0):
                raise SketchError(f"A dash pattern must be an even list of lengths >= 0 with a positive sum, got {d}.")
        n = len(self.clips)
        if any(c < -1 or c >= n for c in self.clip):
            raise SketchError(f"A path's clip index is outside the {n} clip regions.")
        for i, c in enumerate(self.clips):
            if not (-1 <= c.parent < i) or any(not (-1 <= j < i) for j in c.path_clip):
                raise SketchError("A clip region's parent (and the clips of its paths) must be earlier regions (or -1).")
        n = len(self.paints)
        if any(i < -1 or i >= n for i in self.fill_paint + self.stroke_paint):
            raise SketchError(f"A path's paint index is outside the {n} gradients.")
        if not _groups_ok(self.opacity_groups, P):
            raise SketchError("Opacity groups must be path ranges 0 <= start < end <= P, nested or disjoint, "
                              "with an opacity in 0..1.")

    # ---------------------------------------------------------------- builders
    @classmethod
    def default(cls, num_paths: int, cap: str = "round", join: str = "round", miterlimit: float = 4.0) -> "PathStyle":
        """Every path solid and unclipped with the given cap and join (round/round = the Sketch default)."""
        P = int(num_paths)
        return cls(cap=(cap,) * P, join=(join,) * P, miterlimit=(float(miterlimit),) * P, dash=((),) * P,
                   dash_offset=(0.0,) * P, clip=(-1,) * P)

    @classmethod
    def svg_default(cls, num_paths: int) -> "PathStyle":
        """SVG's initial values: butt caps, miter joins, miter limit 4, solid, unclipped."""
        return cls.default(num_paths, "butt", "miter", 4.0)

    # ---------------------------------------------------------------- queries
    @property
    def num_paths(self) -> int:
        return len(self.cap)

    def is_round_solid(self, p: int) -> bool:
        """True when path p draws like the default (round caps and joins, no dashes); clips aside."""
        return self.cap[p] == "round" and self.join[p] == "round" and not self.dash[p]

    @property
    def is_default(self) -> bool:
        return all(self.is_round_solid(p) for p in range(self.num_paths)) and not self.clips and not self.has_paints

    @property
    def has_paints(self) -> bool:
        """True when some path is painted with a gradient."""
        return bool(self.paints) and any(i >= 0 for i in self.fill_paint + self.stroke_paint)

    # ---------------------------------------------------------------- copies
    def select(self, paths: Sequence[int]) -> "PathStyle":
        paths = [int(p) for p in paths]
        return replace(
            self,
            cap=tuple(self.cap[p] for p in paths),
            join=tuple(self.join[p] for p in paths),
            miterlimit=tuple(self.miterlimit[p] for p in paths),
            dash=tuple(self.dash[p] for p in paths),
            dash_offset=tuple(self.dash_offset[p] for p in paths),
            clip=tuple(self.clip[p] for p in paths),
            fill_paint=tuple(self.fill_paint[p] for p in paths),
            stroke_paint=tuple(self.stroke_paint[p] for p in paths),
            opacity_groups=_select_groups(self.opacity_groups, paths),
        )

    def transformed(self, scale, shift=(0.0, 0.0), canvas=None) -> "PathStyle":
        """The style after points map to points * scale + shift (scale: one number or (sx, sy)):
        dash lengths scale by sqrt(sx sy), clip regions move with the points."""
        sxy = torch.as_tensor(scale, dtype=torch.float32).reshape(-1).expand(2)
        s = float(sxy.prod().sqrt())
        sh = torch.as_tensor(shift, dtype=torch.float32)
        clips = tuple(
            replace(c, sketch=replace(c.sketch.with_points(c.sketch.points * sxy.to(c.sketch.points) + sh.to(c.sketch.points)),
                                      canvas=tuple(canvas) if canvas is not None else c.sketch.canvas))
            for c in self.clips
        )
        shift_xy = [float(v) for v in sh.reshape(-1).expand(2)]
        return replace(
            self,
            dash=tuple(tuple(x * s for x in d) for d in self.dash),
            dash_offset=tuple(o * s for o in self.dash_offset),
            clips=clips,
            paints=tuple(g.mapped(sxy.tolist(), shift_xy) for g in self.paints),
        )

    def with_canvas(self, canvas) -> "PathStyle":
        return replace(self, clips=tuple(replace(c, sketch=replace(c.sketch, canvas=tuple(canvas))) for c in self.clips))

    # ---------------------------------------------------------------- persistence
    def to_json(self) -> dict:
        return {
            "cap": list(self.cap),
            "join": list(self.join),
            "miterlimit": list(self.miterlimit),
            "dash": [list(d) for d in self.dash],
            "dash_offset": list(self.dash_offset),
            "clip": list(self.clip),
            "clips": [c.to_json() for c in self.clips],
            "fill_paint": list(self.fill_paint),
            "stroke_paint": list(self.stroke_paint),
            "paints": [g.to_json() for g in self.paints],
            "opacity_groups": [list(g) for g in self.opacity_groups],
        }

    @classmethod
    def from_json(cls, d: dict) -> "PathStyle":
        try:
            return cls(
                cap=tuple(d["cap"]),
                join=tuple(d["join"]),
                miterlimit=tuple(d["miterlimit"]),
                dash=tuple(tuple(x) for x in d["dash"]),
                dash_offset=tuple(d["dash_offset"]),
                clip=tuple(d["clip"]),
                clips=tuple(ClipRegion.from_json(c) for c in d.get("clips", [])),
                fill_paint=tuple(d.get("fill_paint", ())),
                stroke_paint=tuple(d.get("stroke_paint", ())),
                paints=tuple(Gradient.from_json(g) for g in d.get("paints", [])),
                opacity_groups=tuple(tuple(g) for g in d.get("opacity_groups", [])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise SketchError(f"The stored path style is damaged ({type(e).__name__}: {str(e)[:80]}).") from None


__all__ = ["CAPS", "JOINS", "SPREADS", "ClipRegion", "Gradient", "PathStyle", "canonical_dash", "nesting_depths"]
