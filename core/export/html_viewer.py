"""A single self-contained HTML file that plays a dynamic 3D sketch, with orbit and zoom by mouse and touch.

The page embeds the stroke JSON document (strokes3d.py) and a small player written
for SketchMotion (viewer3d.js, canvas 2D, no third-party code, no network): every
frame it projects each stroke's Bezier control points through an orbit camera (each
cubic split into `subdivide` pieces, like render_3d), paints strokes far to near and
draws them with bezierCurveTo. Drag (mouse or one finger) orbits, the wheel or a
pinch zooms, double-click resets the view, space or the button plays / pauses, the
slider scrubs. The first view is `viewer_cameras(...)`, so a render_3d of the same
camera shows what the page shows.
"""

from __future__ import annotations

import html
import json
import os

from ..camera import Cameras
from ..errors import SketchError
from .strokes3d import strokes_json, timeline_3d
from .timeline import output_size

PLAYER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "viewer3d.js")
CONTROLS_HEIGHT = 32  # px of the play / scrub bar under the canvas


def _css_colour(background) -> str:
    try:
        r, g, b = (min(max(float(c), 0.0), 1.0) for c in background)
    except (TypeError, ValueError):
        raise SketchError(f"background must be RGB in 0..1, got {background!r}.") from None
    return f"rgb({round(r * 255)},{round(g * 255)},{round(b * 255)})"


def _view(anim, size, azimuth: float, elevation: float, fov: float, up=None) -> dict:
    from ..camera import up_rotation
    from ..render3d import animation_up, fit_view

    if not -89.0 <= elevation <= 89.0:
        raise SketchError(f"The viewer's elevation must be within -89..89 degrees, got {elevation}.")
    w, h = output_size(anim.sketch.canvas, size)
    target, distance = fit_view(anim, fov, (w, h))
    u = animation_up(anim, up)
    return {"width": w, "height": h, "azimuth": float(azimuth), "elevation": float(elevation), "fov": float(fov),
            "distance": float(distance), "target": [float(v) for v in target], "up": [float(v) for v in u],
            "orbit_basis": up_rotation(u).tolist()}


def viewer_cameras(anim, *, size=None, azimuth: float = 30.0, elevation: float = 20.0, fov: float = 40.0,
                   distance: float | None = None, up=None) -> Cameras:
    """The page's camera as core.camera.Cameras (one camera): its first view, or with the azimuth / elevation /
    distance that `window.sketchViewer.getView()` reports after orbiting and zooming (distance None = the first)."""
    from ..camera import orbit

    v = _view(timeline_3d(anim, fmt="HTML viewer").source, size, azimuth, elevation, fov, up)
    dist = v["distance"] if distance is None else float(distance)
    return orbit(1, radius=dist, elevation=v["elevation"], fov=v["fov"], size=(v["width"], v["height"]),
                 azimuth_start=v["azimuth"], azimuth_span=0.0, target=v["target"], up=v["up"])


def html_viewer(anim, *, fps=None, loop: bool = True, pingpong: bool = False, size=None, azimuth: float = 30.0,
                elevation: float = 20.0, fov: float = 40.0, background=(1.0, 1.0, 1.0), title: str | None = None,
                subdivide: int = 4, autoplay: bool = True, decimals: int = 5, up=None) -> str:
    """The HTML page (text) playing `anim`; size = the canvas (None = the sketch canvas, int = longer side, (w, h));
    up = the axis the view orbits (None: the one the animation's cameras agree on, else +z)."""
    if subdivide < 1:
        raise SketchError("subdivide must be >= 1.")
    doc = strokes_json(anim, fps=fps, loop=loop, pingpong=pingpong, decimals=decimals)
    options = {**_view(anim, size, azimuth, elevation, fov, up), "background": _css_colour(background),
               "subdivide": int(subdivide), "autoplay": bool(autoplay)}
    with open(PLAYER, encoding="utf-8") as f:
        player = f.read()

    def embed(obj) -> str:  # JSON that cannot close the <script> element it sits in
        return json.dumps(obj, separators=(",", ":")).replace("<", "\\u003c")

    name = html.escape(title or str(doc["settings"].get("scene") or "3D sketch"))
    w, h = options["width"], options["height"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{name} - SketchMotion</title>
<style>
html, body {{ margin: 0; padding: 0; background: {options["background"]}; font: 13px sans-serif; }}
#view {{ display: block; touch-action: none; cursor: grab; }}
#bar {{ display: flex; align-items: center; gap: 8px; width: {w}px; height: {CONTROLS_HEIGHT}px; padding: 0 6px;
        box-sizing: border-box; }}
#time {{ flex: 1; }}
</style></head>
<body>
<canvas id="view" width="{w}" height="{h}" aria-label="{name}: drag to orbit, scroll or pinch to zoom"></canvas>
<div id="bar"><button id="play" type="button">pause</button>
<input id="time" type="range" min="0" max="1" step="0.001" value="0"><span id="frame"></span></div>
<script type="application/json" id="sketch-data">{embed(doc)}</script>
<script type="application/json" id="viewer-options">{embed(options)}</script>
<script>
{player}
</script>
</body></html>
"""


def save_html_viewer(anim, path, *, fps=None, size=None, loop: bool = True, pingpong: bool = False,
                     azimuth: float = 30.0, elevation: float = 20.0, fov: float = 40.0, background=(1.0, 1.0, 1.0),
                     title: str | None = None, subdivide: int = 4, autoplay: bool = True, up=None) -> str:
    """Write html_viewer(...) to `path` (UTF-8); returns the path."""
    text = html_viewer(anim, fps=fps, loop=loop, pingpong=pingpong, size=size, azimuth=azimuth, elevation=elevation,
                       fov=fov, background=background, title=title, subdivide=subdivide, autoplay=autoplay, up=up)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return os.fspath(path)


__all__ = ["html_viewer", "save_html_viewer", "viewer_cameras"]
