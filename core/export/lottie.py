"""Lottie (Bodymovin JSON, schema 5.x): plays in lottie-web, the iOS/Android Lottie
players, After Effects (via Bodymovin import), LottieFiles, Telegram-style tools.

Layout: one shape layer per path, listed top-most first (Lottie paints the first
layer on top, so paint order is reversed). Each layer holds one group with
- "sh": the path, animated with one keyframe per frame ("ks" with "a": 1); each value
  is Lottie's bezier form: vertices "v", in-tangents "i" and out-tangents "o" (both
  RELATIVE to their vertex) and the closed flag "c";
- "st": stroke colour, opacity, width, caps "lc" (1 butt, 2 round, 3 square), joins "lj" (1 miter,
  2 round, 3 bevel), miter limit "ml" and dashes "d" (dash / gap entries then the offset) from the
  sketch's PathStyle (round caps and joins for a sketch without one); clip regions are not exported
  to Lottie (they would need track mattes): the Lottie file draws the paths unclipped;
- "fl": fill (only for filled closed paths), with its fill rule;
  gradient paints (core.style.Gradient) are written as the path's flat colour (the gradient's mean
  colour), not as Lottie gradient fills ("gf"/"gs"); group opacity is written per shape (each path's
  colour carries it: SVG's per-shape approximation, see core.style);
- "tr": the identity group transform.
Keyframes interpolate linearly between frames (or hold with interpolate=False), the
same choice as the animated SVG; see animated_svg for why.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..sketch import SketchAnimation
from .timeline import Timeline, make_timeline

LOTTIE_VERSION = "5.7.4"
_LINEAR_OUT = {"x": [0.0], "y": [0.0]}  # a straight (linear) easing curve
_LINEAR_IN = {"x": [1.0], "y": [1.0]}


def _r(x: float) -> float:
    return round(float(x), 3)


def bezier_vertices(pts: np.ndarray, closed: bool) -> dict:
    """One cubic chain ([3k+1, 2] open, [3k, 2] closed) -> Lottie {"i","o","v","c"}.

    Vertex j is the on-curve point p_j; "o"[j] = (first control point after p_j) - p_j,
    "i"[j] = (second control point before p_j) - p_j; ends of an open path get (0, 0).
    """
    n = len(pts)
    k = n // 3 if closed else (n - 1) // 3
    nv = k if closed else k + 1
    v = np.stack([pts[(3 * j) % n] for j in range(nv)])
    o = np.zeros_like(v)
    i = np.zeros_like(v)
    for j in range(k):
        a, b = j, (j + 1) % nv
        o[a] = pts[3 * j + 1] - v[a]
        i[b] = pts[3 * j + 2] - v[b]
    return {
        "i": [[_r(x), _r(y)] for x, y in i],
        "o": [[_r(x), _r(y)] for x, y in o],
        "v": [[_r(x), _r(y)] for x, y in v],
        "c": bool(closed),
    }


_LC = {"butt": 1, "round": 2, "square": 3}
_LJ = {"miter": 1, "round": 2, "bevel": 3}


def _stroke_style(sk, p: int) -> dict:
    """lc / lj / ml (and d, the dash list) of path p."""
    st = sk.style
    if st is None:
        return {"lc": 2, "lj": 2, "ml": 4}
    out = {"lc": _LC[st.cap[p]], "lj": _LJ[st.join[p]], "ml": _r(st.miterlimit[p])}
    if st.dash[p]:
        d = [{"n": "d" if i % 2 == 0 else "g", "nm": "dash" if i % 2 == 0 else "gap", "v": _static(_r(x))}
             for i, x in enumerate(st.dash[p])]
        d.append({"n": "o", "nm": "offset", "v": _static(_r(st.dash_offset[p]))})
        out["d"] = d
    return out


def _static(value) -> dict:
    return {"a": 0, "k": value}


def _color(rgba) -> list:
    return [_r(c) for c in list(rgba)[:3]] + [1]


def _path_layer(tl: Timeline, p: int, index: int, interpolate: bool) -> dict:
    sk = tl.sketch
    a, b = sk.path_offsets[p], sk.path_offsets[p + 1]
    closed = sk.closed[p]
    frames = tl.frames.numpy()[:, a:b]
    F = len(frames)
    shapes = [bezier_vertices(frames[i], closed) for i in range(F)]
    if all(s == shapes[0] for s in shapes):
        path = _static(shapes[0])
    else:
        kfs = []
        for t, s in enumerate(shapes):
            kf = {"t": t, "s": [s]}
            if interpolate:
                kf.update(o=_LINEAR_OUT, i=_LINEAR_IN)
            else:
                kf["h"] = 1
            kfs.append(kf)
        # closing keyframe at the out point: back to frame 0 when looping, else hold
        kfs.append({"t": F, "s": [shapes[0] if (tl.loop and interpolate) else shapes[-1]]})
        path = {"a": 1, "k": kfs}
    items = [{"ty": "sh", "nm": "path", "ks": path}]
    sw = float(sk.stroke_width[p])
    sc = sk.stroke_color[p].tolist()
    if sw > 0 and sc[3] > 0:
        items.append(
            {
                "ty": "st",
                "nm": "stroke",
                "c": _static(_color(sc)),
                "o": _static(_r(sc[3] * 100)),
                "w": _static(_r(sw)),
                **_stroke_style(sk, p),
            }
        )
    fc = sk.fill_color[p].tolist()
    if closed and fc[3] > 0:
        items.append(
            {
                "ty": "fl",
                "nm": "fill",
                "c": _static(_color(fc)),
                "o": _static(_r(fc[3] * 100)),
                "r": 2 if sk.fill_rule[p] == "evenodd" else 1,
            }
        )
    items.append(
        {
            "ty": "tr",
            "p": _static([0, 0]),
            "a": _static([0, 0]),
            "s": _static([100, 100]),
            "r": _static(0),
            "o": _static(100),
            "sk": _static(0),
            "sa": _static(0),
        }
    )
    return {
        "ddd": 0,
        "ind": index,
        "ty": 4,
        "nm": f"path {p} (group {int(sk.group[p])})",
        "sr": 1,
        "ks": {
            "o": _static(100),
            "r": _static(0),
            "p": _static([0, 0, 0]),
            "a": _static([0, 0, 0]),
            "s": _static([100, 100, 100]),
        },
        "ao": 0,
        "shapes": [{"ty": "gr", "nm": f"path {p}", "it": items}],
        "ip": 0,
        "op": F,
        "st": 0,
        "bm": 0,
    }


def timeline_lottie(tl: Timeline, interpolate: bool = True, name: str = "SketchMotion") -> dict:
    """Lottie animation dict from a prepared Timeline (see make_timeline)."""
    W, H = tl.size
    P = tl.sketch.num_paths
    layers = [_path_layer(tl, p, P - p, interpolate) for p in reversed(range(P))]
    return {
        "v": LOTTIE_VERSION,
        "nm": name,
        "fr": tl.fps,
        "ip": 0,
        "op": tl.num_frames,
        "w": W,
        "h": H,
        "ddd": 0,
        "assets": [],
        "layers": layers,
        "markers": [],
    }


def lottie(
    anim: SketchAnimation,
    *,
    fps: float | None = None,
    loop: bool = True,
    pingpong: bool = False,
    size=None,
    interpolate: bool = True,
) -> dict:
    """Lottie JSON (as a dict) of `anim`; arguments as for animated_svg.

    Lottie files have no loop flag (the player decides); `loop` only decides whether
    the last frame blends back into the first (True) or is held (False).
    """
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    return timeline_lottie(tl, interpolate=interpolate)


def save_lottie(
    anim: SketchAnimation,
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    loop: bool = True,
    pingpong: bool = False,
    size=None,
    interpolate: bool = True,
) -> str:
    """Write lottie(...) as compact JSON to `path`; returns the path."""
    data = lottie(anim, fps=fps, loop=loop, pingpong=pingpong, size=size, interpolate=interpolate)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    return os.fspath(path)
