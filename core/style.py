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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch

from .errors import SketchError

CAPS = ("butt", "round", "square")
JOINS = ("miter", "round", "bevel")


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
    """The filled area of `sketch` (canvas coordinates), intersected with clip `parent` (-1: none)."""

    sketch: "object"  # a fill-only core.sketch.Sketch
    parent: int = -1

    def state_dict(self) -> dict:
        return {"sketch": self.sketch.state_dict(), "parent": int(self.parent)}

    def to_json(self) -> dict:
        d = self.sketch.state_dict()
        return {
            "parent": int(self.parent),
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
        return cls(sk, int(d.get("parent", -1)))


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

    def __post_init__(self):
        object.__setattr__(self, "cap", tuple(str(c) for c in self.cap))
        object.__setattr__(self, "join", tuple(str(j) for j in self.join))
        object.__setattr__(self, "miterlimit", tuple(float(m) for m in self.miterlimit))
        object.__setattr__(self, "dash", tuple(tuple(float(x) for x in d) for d in self.dash))
        object.__setattr__(self, "dash_offset", tuple(float(o) for o in self.dash_offset))
        object.__setattr__(self, "clip", tuple(int(c) for c in self.clip))
        object.__setattr__(self, "clips", tuple(self.clips))
        P = len(self.cap)
        for name in ("join", "miterlimit", "dash", "dash_offset", "clip"):
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
            if not (-1 <= c.parent < i):
                raise SketchError("A clip region's parent must be an earlier region (or -1).")

    # ---------------------------------------------------------------- builders
    @classmethod
    def default(cls, num_paths: int, cap: str = "round", join: str = "round", miterlimit: float = 4.0) -> "PathStyle":
        """Every path solid and unclipped with the given cap and join (round/round = the Sketch default)."""
        P = int(num_paths)
        return cls((cap,) * P, (join,) * P, (float(miterlimit),) * P, ((),) * P, (0.0,) * P, (-1,) * P)

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
        return all(self.is_round_solid(p) for p in range(self.num_paths)) and not self.clips

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
        )

    def transformed(self, scale, shift=(0.0, 0.0), canvas=None) -> "PathStyle":
        """The style after points map to points * scale + shift (scale: one number or (sx, sy)):
        dash lengths scale by sqrt(sx sy), clip regions move with the points."""
        sxy = torch.as_tensor(scale, dtype=torch.float32).reshape(-1).expand(2)
        s = float(sxy.prod().sqrt())
        sh = torch.as_tensor(shift, dtype=torch.float32)
        clips = tuple(
            ClipRegion(replace(c.sketch.with_points(c.sketch.points * sxy.to(c.sketch.points) + sh.to(c.sketch.points)),
                               canvas=tuple(canvas) if canvas is not None else c.sketch.canvas), c.parent)
            for c in self.clips
        )
        return replace(
            self,
            dash=tuple(tuple(x * s for x in d) for d in self.dash),
            dash_offset=tuple(o * s for o in self.dash_offset),
            clips=clips,
        )

    def with_canvas(self, canvas) -> "PathStyle":
        return replace(self, clips=tuple(ClipRegion(replace(c.sketch, canvas=tuple(canvas)), c.parent) for c in self.clips))

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
        }

    @classmethod
    def from_json(cls, d: dict) -> "PathStyle":
        try:
            return cls(
                tuple(d["cap"]), tuple(d["join"]), tuple(d["miterlimit"]), tuple(tuple(x) for x in d["dash"]),
                tuple(d["dash_offset"]), tuple(d["clip"]), tuple(ClipRegion.from_json(c) for c in d.get("clips", [])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise SketchError(f"The stored path style is damaged ({type(e).__name__}: {str(e)[:80]}).") from None


__all__ = ["CAPS", "JOINS", "ClipRegion", "PathStyle", "canonical_dash"]
