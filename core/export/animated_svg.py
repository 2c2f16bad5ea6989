"""Animated SVG: one self-contained file, each path's `d` animated with SMIL `<animate>`.

Static attributes follow core.svg.dumps (same paint attributes, caps/joins/dashes, clip paths,
`<g data-object="k">` runs when object groups are set), so the file's first frame
loads back with core.svg.load.

Plays in every current browser (and Inkscape/other SMIL-aware viewers) with no script.

Interpolation: `interpolate=True` (default) writes calcMode="linear". A path's `d`
keeps the same commands in every frame (M, then one C per segment, Z if closed), so
the browser interpolates every number pairwise; for cubic Beziers that is exactly the
linear interpolation of control points, i.e. the in-betweens equal what
`SketchAnimation.resample` would give. Motion stays smooth at any display rate while
frame i still appears exactly at t = i / fps. `interpolate=False` writes
calcMode="discrete" (frames snap, like a GIF).
"""

from __future__ import annotations

import os


from ..sketch import SketchAnimation
from ..svg import fmt_num, hex_color, path_data, shape_elements, style_attributes, svg_defs
from .timeline import Timeline, make_timeline


def _key_times(n: int) -> str:
    return ";".join(fmt_num(i / n, 6) for i in range(n)) + (";1" if n else "")


def timeline_svg(tl: Timeline, interpolate: bool = True, background=None, decimals: int = 2) -> str:
    """Write an animated SVG from a prepared Timeline (see make_timeline)."""
    sk = tl.sketch
    W, H = tl.size
    F = tl.num_frames
    frames = tl.frames.numpy()
    dur = fmt_num(F / tl.fps, 6)
    repeat = 'repeatCount="indefinite"' if tl.loop else 'repeatCount="1" fill="freeze"'
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
    ]
    if background is not None:
        out.append(f'<rect width="{W}" height="{H}" fill="{hex_color(background)}"/>')
    out += svg_defs(sk)  # clip regions and gradients are static (they do not move with the frames)

    def element(first, members):
        ds = [
            " ".join(path_data(frames[i, sk.path_offsets[p] : sk.path_offsets[p + 1]], sk.closed[p], decimals)
                     for p in members)
            for i in range(F)
        ]
        head = f'<path d="{ds[0]}" {style_attributes(sk, first)}'
        if all(d == ds[0] for d in ds):  # this shape does not move: no animation needed
            return head + "/>"
        if interpolate:
            # one value per frame start plus the closing value at t = dur: the first frame
            # again when looping (the last interval blends back), else the last frame held
            values = ds + [ds[0] if tl.loop else ds[-1]]
            times, mode = _key_times(F), "linear"
        else:
            values = ds
            times, mode = ";".join(fmt_num(i / F, 6) for i in range(F)), "discrete"
        return (
            head
            + f'><animate attributeName="d" dur="{dur}s" {repeat} calcMode="{mode}" '
            + f'keyTimes="{times}" values="{";".join(values)}"/></path>'
        )

    out += shape_elements(sk, element)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def animated_svg(
    anim: SketchAnimation,
    *,
    fps: float | None = None,
    loop: bool = True,
    pingpong: bool = False,
    size=None,
    interpolate: bool = True,
    background=None,
) -> str:
    """Animated SVG text of `anim` (SMIL on each path's `d`).

    fps:         output frame rate (re-sampled, same duration); default the animation's.
    loop:        repeat forever (else play once and hold the last frame).
    pingpong:    play forwards then backwards.
    size:        None (canvas), int (longest side) or (width, height) in px.
    interpolate: linear in-betweens (default) or discrete frames; see the module docstring.
    background:  RGB in 0..1 for an opaque backdrop; None keeps it transparent.
    """
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    return timeline_svg(tl, interpolate=interpolate, background=background)


def save_animated_svg(
    anim: SketchAnimation,
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    loop: bool = True,
    pingpong: bool = False,
    size=None,
    interpolate: bool = True,
    background=None,
) -> str:
    """Write animated_svg(...) to `path` (UTF-8); returns the path."""
    text = animated_svg(
        anim, fps=fps, loop=loop, pingpong=pingpong, size=size, interpolate=interpolate, background=background
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return os.fspath(path)
