"""2D exports, each READ BACK by a tool nobody here wrote and compared with our renderer.

Readers: headless Chromium (animated SVG, lottie-web), python-lottie (Lottie JSON),
resvg (per-frame SVG, python-lottie's frame SVG), svgpathtools (path data), Pillow
via imageio (GIF, WebP), FFmpeg via PyAV/imageio (MP4, WebM).

Tolerances. Pixel errors are mean absolute differences of RGB in 0..1 against
core.raster.render of the same frame (the same timeline point). For the test
animation a frame that is one step off already differs by ~0.06, so a check also
demands that the right frame is at least 5x closer than the neighbouring one.
- vector players (Chromium, lottie-web, resvg): different anti-aliasing only; the
  difference lives in the ~1 px band at stroke edges (about 10% of the pixels here,
  each off by at most ~0.1), so <= 0.01; measured 0.0007-0.0009.
- lossless formats (PNG, WebP lossless, GIF with < 256 colours): <= 0.002 (measured 0).
- H.264 CRF 18 / VP9 CRF 24 with 4:2:0 chroma: the chroma of 3-4 px coloured strokes is
  smeared over 2x2 blocks; <= 0.02 (measured ~0.0055), flat colours within 3 levels.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
from sketchmotion.core.errors import SketchError
from sketchmotion.core.export import (
    FORMATS,
    animated_svg,
    export,
    format_for_path,
    frames_folder,
    frames_zip,
    image_frames,
    lottie,
    save_animated_svg,
    save_gif,
    save_lottie,
    save_mp4,
    save_webm,
    save_webp,
)
from sketchmotion.core.export.timeline import make_timeline
from sketchmotion.core.raster import render
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths

try:  # tests/browser.py: tests/ is on sys.path under pytest's default import mode
    from browser import LOTTIE_WEB, chromium_page
except ImportError:  # tests/ became a package
    from .browser import LOTTIE_WEB, chromium_page

SVG_NS = "{http://www.w3.org/2000/svg}"
VECTOR_TOL = 0.01
LOSSLESS_TOL = 0.002
LOSSY_TOL = 0.02
T, FPS, S = 6, 6.0, 128


@pytest.fixture(scope="module")
def anim() -> SketchAnimation:
    """Three paths (open black stroke, open red half-width stroke, closed filled blob with a
    translucent outline), 6 frames at 6 fps on 128x128: rotation about the centre plus a
    per-point wiggle, so every frame differs from its neighbours."""
    paths = [
        torch.tensor([[20, 100], [35, 70], [50, 110], [64, 80], [78, 50], [95, 95], [108, 70.0]]),
        torch.tensor([[20, 20], [40, 10], [60, 30], [80, 20.0]]),
        torch.tensor([[64, 40], [84, 40], [84, 70], [64, 70], [44, 70], [44, 40.0]]),
    ]
    sk = sketch_from_paths(
        paths,
        closed=[False, False, True],
        stroke_width=[3.0, 4.0, 2.5],
        stroke_color=[[0, 0, 0, 1], [0.9, 0.1, 0.1, 1], [0.1, 0.2, 0.9, 0.6]],
        fill_color=[[0, 0, 0, 0], [0, 0, 0, 0], [0.2, 0.8, 0.3, 1]],
        group=[0, 0, 1],
        canvas=(S, S),
    )
    c = torch.tensor([64.0, 64.0])
    idx = torch.arange(sk.num_points, dtype=torch.float32)
    frames = []
    for t in range(T):
        a = math.radians(9.0 * t)
        R = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        wig = 3.0 * torch.stack([torch.sin(idx + t), torch.cos(0.7 * idx + t)], dim=1)
        frames.append((sk.points - c) @ R.T + c + wig + torch.tensor([2.0 * t, -1.0 * t]))
    return SketchAnimation(sk, torch.stack(frames), fps=FPS)


def points_at(frames: torch.Tensor, t_frames: float, loop: bool = True) -> torch.Tensor:
    """Control points at a fractional frame position, linear in between (loop wraps)."""
    F = frames.shape[0]
    i0 = math.floor(t_frames)
    w = t_frames - i0
    i1 = (i0 + 1) % F if loop else min(i0 + 1, F - 1)
    return frames[i0 % F] * (1 - w) + frames[i1] * w


def ours(anim: SketchAnimation, pts: torch.Tensor, size=None) -> np.ndarray:
    return render(anim.sketch, pts, size=size).detach().numpy()


def mae(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) / (255.0 if a.dtype == np.uint8 else 1.0)
    b = b.astype(np.float64) / (255.0 if b.dtype == np.uint8 else 1.0)
    return float(np.abs(a[..., :3] - b[..., :3]).mean())


def assert_matches(img, anim, pts, wrong_pts, tol, what):
    err = mae(img, ours(anim, pts, size=img.shape[1::-1]))
    wrong = mae(img, ours(anim, wrong_pts, size=img.shape[1::-1]))
    assert err < tol, f"{what}: mean abs error {err:.4f} >= {tol}"
    assert err * 5 < wrong, f"{what}: error {err:.4f} is not clearly below the wrong-frame error {wrong:.4f}"
    return err


def rgb_on_white(rgba: np.ndarray) -> np.ndarray:
    x = rgba.astype(np.float64) / 255.0
    if x.shape[-1] == 3:
        return x
    return x[..., :3] * x[..., 3:] + (1.0 - x[..., 3:])


def resvg_png(svg_text: str) -> np.ndarray:
    resvg_py = pytest.importorskip("resvg_py", reason="resvg-py (requirements-dev.txt) renders reference SVGs")
    from PIL import Image

    png = bytes(resvg_py.svg_to_bytes(svg_string=svg_text))
    return rgb_on_white(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")))


# ------------------------------------------------------------------ animated SVG


def _animates(svg_text):
    root = ElementTree.fromstring(svg_text.encode())
    return root, list(root.iter(f"{SVG_NS}path"))


def test_animated_svg_structure_and_path_data(anim):
    from svgpathtools import parse_path

    text = animated_svg(anim)
    root, paths = _animates(text)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("128", "128", "0 0 128 128")
    assert len(paths) == anim.sketch.num_paths
    for p, el in enumerate(paths):
        assert el.get("stroke-linecap") == "round" and el.get("stroke-linejoin") == "round"
        an = el.find(f"{SVG_NS}animate")
        assert an.get("attributeName") == "d" and an.get("calcMode") == "linear"
        assert an.get("repeatCount") == "indefinite"
        assert float(an.get("dur").rstrip("s")) == pytest.approx(T / FPS)
        values, times = an.get("values").split(";"), [float(k) for k in an.get("keyTimes").split(";")]
        assert len(values) == len(times) == T + 1 and times[0] == 0 and times[-1] == 1
        assert times == pytest.approx([i / T for i in range(T + 1)], abs=1e-6)
        assert values[-1] == values[0]  # a loop blends back into frame 0
        a, b = anim.sketch.path_offsets[p], anim.sketch.path_offsets[p + 1]
        for f in range(T):  # an independent SVG path parser gives back our control points
            segs = parse_path(values[f])
            pts = [c for s in segs for c in (s.start, s.control1, s.control2)]
            if not anim.sketch.closed[p]:
                pts.append(segs[-1].end)
            got = np.array([[c.real, c.imag] for c in pts])
            np.testing.assert_allclose(got, anim.frames[f, a:b].numpy(), atol=0.006)
    # styles: the filled blob keeps its fill, translucent stroke
    blob = paths[2]
    assert blob.get("fill") == "#33cc4d" and float(blob.get("stroke-opacity")) == pytest.approx(0.6)
    assert paths[0].get("fill") == "none" and paths[0].get("stroke-width") == "3"
    assert [g.get("data-object") for g in root.iter(f"{SVG_NS}g")] == ["0", "1"]
    # the file's static frame (frame 0) loads back with our own SVG reader, groups included
    from sketchmotion.core.svg import loads

    back = loads(text)
    np.testing.assert_allclose(back.points.numpy(), anim.frames[0].numpy(), atol=0.006)
    assert back.group.tolist() == [0, 0, 1] and back.closed == anim.sketch.closed


def test_animated_svg_options(anim):
    _, once = _animates(animated_svg(anim, loop=False, interpolate=False))
    an = once[0].find(f"{SVG_NS}animate")
    assert (an.get("repeatCount"), an.get("fill"), an.get("calcMode")) == ("1", "freeze", "discrete")
    assert len(an.get("values").split(";")) == len(an.get("keyTimes").split(";")) == T
    _, pp = _animates(animated_svg(anim, pingpong=True))
    an = pp[0].find(f"{SVG_NS}animate")
    vals = an.get("values").split(";")
    assert len(vals) == 2 * T - 2 + 1 and vals[T - 2] == vals[T] and vals[1] == vals[-2]
    assert float(an.get("dur").rstrip("s")) == pytest.approx((2 * T - 2) / FPS)
    root, sized = _animates(animated_svg(anim, size=(256, 64)))
    assert root.get("viewBox") == "0 0 256 64"
    d0 = sized[1].get("d")
    first = [float(v) for v in re.findall(r"-?\d+\.?\d*", d0)[:2]]
    np.testing.assert_allclose(first, anim.frames[0, 7].numpy() * [2.0, 0.5], atol=0.006)
    # fps re-sampling keeps the duration: 12 fps -> 12 frames over the same second
    _, fast = _animates(animated_svg(anim, fps=12))
    an = fast[0].find(f"{SVG_NS}animate")
    assert len(an.get("values").split(";")) == 2 * T + 1
    assert float(an.get("dur").rstrip("s")) == pytest.approx(T / FPS)
    # a sketch that does not move writes no animation at all
    still = SketchAnimation(anim.sketch, anim.sketch.points.expand(3, -1, -1), fps=FPS)
    assert "<animate" not in animated_svg(still)


@pytest.fixture(scope="module")
def page():
    with chromium_page() as pg:
        yield pg


def _svg_at(page, t: float) -> np.ndarray:
    page.js_async(
        "const done = arguments[arguments.length - 1]; const s = document.documentElement;"
        "s.pauseAnimations(); s.setCurrentTime(arguments[0]);"
        "requestAnimationFrame(() => requestAnimationFrame(() => done(1)));",
        t,
    )
    return page.screenshot()


def test_animated_svg_plays_in_chromium(anim, page, tmp_path):
    path = save_animated_svg(anim, tmp_path / "anim.svg", background=(1, 1, 1))
    page.open(str(path), S, S)
    fr = anim.frames
    errs = []
    for f in (0, 1, 3, 5):  # frame i is on screen at t = i / fps
        img = _svg_at(page, f / FPS + 1e-4)
        errs.append(assert_matches(img, anim, fr[f], fr[(f + 1) % T], VECTOR_TOL, f"svg frame {f}"))
    # in between frames the browser interpolates control points linearly, like resample
    img = _svg_at(page, 2.5 / FPS)
    errs.append(assert_matches(img, anim, points_at(fr, 2.5), fr[2], VECTOR_TOL, "svg t=2.5 frames"))
    # the last interval blends back into frame 0, and the loop restarts at t = duration
    img = _svg_at(page, 5.5 / FPS)
    errs.append(assert_matches(img, anim, points_at(fr, 5.5), fr[5], VECTOR_TOL, "svg t=5.5 frames"))
    img = _svg_at(page, T / FPS + 1 / FPS + 1e-4)
    errs.append(assert_matches(img, anim, fr[1], fr[2], VECTOR_TOL, "svg second loop, frame 1"))
    assert not page.console_errors()
    print(f"chromium animated SVG mean abs error: max {max(errs):.4f}")


def test_discrete_animated_svg_in_chromium(anim, page, tmp_path):
    path = save_animated_svg(anim, tmp_path / "discrete.svg", interpolate=False, loop=False, background=(1, 1, 1))
    page.open(str(path), S, S)
    fr = anim.frames
    img = _svg_at(page, 2.6 / FPS)  # holds frame 2 until frame 3 starts
    assert_matches(img, anim, fr[2], fr[3], VECTOR_TOL, "discrete t=2.6")
    img = _svg_at(page, 3 * T / FPS)  # played once: frozen on the last frame
    assert_matches(img, anim, fr[T - 1], fr[0], VECTOR_TOL, "frozen end")


# ------------------------------------------------------------------ Lottie


def test_lottie_parsed_by_python_lottie(anim, tmp_path):
    pytest.importorskip("lottie", reason="python-lottie (requirements-dev.txt) is the independent Lottie reader")
    from lottie.objects import Animation

    path = save_lottie(anim, tmp_path / "anim.json")
    with open(path) as f:
        data = json.load(f)
    la = Animation.load(data)
    assert (la.frame_rate, la.in_point, la.out_point, la.width, la.height) == (FPS, 0, T, S, S)
    assert len(la.layers) == anim.sketch.num_paths
    sk = anim.sketch
    for li, layer in enumerate(la.layers):
        p = sk.num_paths - 1 - li  # the first layer is drawn on top: reversed paint order
        kinds = [type(s).__name__ for s in layer.shapes[0].shapes]
        assert kinds == (
            ["Path", "Stroke", "Fill", "TransformShape"] if p == 2 else ["Path", "Stroke", "TransformShape"]
        )
        path_shape, stroke = layer.shapes[0].shapes[0], layer.shapes[0].shapes[1]
        assert stroke.width.value == pytest.approx(float(sk.stroke_width[p]))
        assert list(stroke.color.value)[:3] == pytest.approx(sk.stroke_color[p, :3].tolist(), abs=1e-3)
        assert stroke.opacity.value == pytest.approx(100 * float(sk.stroke_color[p, 3]))
        assert (stroke.line_cap.name, stroke.line_join.name) == ("Round", "Round")
        kfs = path_shape.shape.keyframes
        assert [k.time for k in kfs] == list(range(T + 1))
        a, b = sk.path_offsets[p], sk.path_offsets[p + 1]
        for f in range(T):
            bz = kfs[f].start
            assert bz.closed == sk.closed[p]
            v = np.array([[q.x, q.y] for q in bz.vertices])
            ti = np.array([[q.x, q.y] for q in bz.in_tangents])
            to = np.array([[q.x, q.y] for q in bz.out_tangents])
            # rebuild our control chain from vertex + relative tangents
            n = len(v)
            k = n if bz.closed else n - 1
            chain = []
            for j in range(k):
                chain += [v[j], v[j] + to[j], v[(j + 1) % n] + ti[(j + 1) % n]]
            if not bz.closed:
                chain.append(v[-1])
            np.testing.assert_allclose(np.array(chain), anim.frames[f, a:b].numpy(), atol=1e-3)
        # python-lottie's own interpolation between keyframes is linear, as in our resample
        mid = path_shape.shape.get_value(2.5)
        np.testing.assert_allclose(
            [mid.vertices[0].x, mid.vertices[0].y], points_at(anim.frames, 2.5)[a].numpy(), atol=2e-3
        )


def test_lottie_frames_rendered_by_python_lottie_and_resvg(anim):
    pytest.importorskip("lottie", reason="python-lottie (requirements-dev.txt) is the independent Lottie reader")
    from lottie.exporters.svg import export_svg
    from lottie.objects import Animation

    la = Animation.load(json.loads(json.dumps(lottie(anim))))
    fr = anim.frames
    for f, wrong in ((0, fr[1]), (3, fr[4]), (2.5, fr[2])):
        buf = io.BytesIO()
        export_svg(la, buf, f, pretty=False)  # python-lottie's own Lottie -> SVG conversion
        img = resvg_png(buf.getvalue().decode())
        assert_matches(img, anim, points_at(fr, f), wrong, VECTOR_TOL, f"python-lottie frame {f}")


def test_lottie_plays_in_lottie_web(anim, page, tmp_path):
    if not os.path.isfile(LOTTIE_WEB):
        pytest.skip(f"lottie-web not found at {LOTTIE_WEB}; run scripts/install_test_tools.sh (npm)")
    html = tmp_path / "player.html"
    html.write_text(
        "<!doctype html><html><head><style>html,body{margin:0;background:#fff}"
        f"#c{{width:{S}px;height:{S}px}}</style><script src='file://{LOTTIE_WEB}'></script></head>"
        "<body><div id='c'></div><script>window.player = lottie.loadAnimation({container: "
        "document.getElementById('c'), renderer: 'svg', loop: true, autoplay: false, "
        f"animationData: {json.dumps(lottie(anim))}}});</script></body></html>"
    )
    page.open(str(html), S, S)
    assert page.js("return window.player.totalFrames") == T
    assert page.js("return window.player.frameRate") == FPS
    fr = anim.frames
    for f, wrong in ((0, fr[1]), (2, fr[3]), (4.5, fr[4]), (5.5, fr[5])):
        page.js_async(
            "const done = arguments[arguments.length - 1]; window.player.goToAndStop(arguments[0], true);"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(1)));",
            f,
        )
        assert_matches(page.screenshot(), anim, points_at(fr, f), wrong, VECTOR_TOL, f"lottie-web frame {f}")
    assert not page.console_errors()


# ------------------------------------------------------------------ GIF / WebP


def test_gif_read_back(anim, tmp_path):
    import imageio.v3 as iio

    path = save_gif(anim, tmp_path / "a.gif")
    frames = np.stack(list(iio.imiter(path, plugin="pillow")))
    meta = iio.immeta(path, plugin="pillow")
    assert frames.shape[:3] == (T, S, S)
    assert meta["loop"] == 0 and meta["duration"] == 170  # 1/6 s rounded to whole 1/100 s
    for f in range(T):
        assert_matches(frames[f], anim, anim.frames[f], anim.frames[(f + 1) % T], LOSSLESS_TOL, f"gif frame {f}")
    # played once: no NETSCAPE loop block
    once = save_gif(anim, tmp_path / "once.gif", loop=False)
    assert "loop" not in iio.immeta(once, plugin="pillow")


def test_gif_resampled_fps_and_size(anim, tmp_path):
    import imageio.v3 as iio

    path = save_gif(anim, tmp_path / "b.gif", fps=12, size=64)
    frames = np.stack(list(iio.imiter(path, plugin="pillow")))
    assert frames.shape[:3] == (2 * T, 64, 64)
    assert iio.immeta(path, plugin="pillow")["duration"] == 80
    # frame 3 of the 12 fps version sits half-way between source frames 1 and 2
    assert_matches(frames[3], anim, points_at(anim.frames, 1.5), anim.frames[1], 3 * LOSSLESS_TOL, "gif 12 fps frame 3")
    with pytest.raises(SketchError, match="fps"):
        save_gif(anim, tmp_path / "c.gif", fps=60)


def test_webp_read_back(anim, tmp_path):
    import imageio.v3 as iio
    from PIL import Image

    path = save_webp(anim, tmp_path / "a.webp")
    frames = np.stack(list(iio.imiter(path, plugin="pillow")))
    assert frames.shape[:3] == (T, S, S)
    for f in range(T):
        assert_matches(frames[f], anim, anim.frames[f], anim.frames[(f + 1) % T], LOSSLESS_TOL, f"webp frame {f}")
    with Image.open(path) as im:
        assert im.n_frames == T and im.info["loop"] == 0
        durations = []
        for i in range(T):
            im.seek(i)
            im.load()
            durations.append(im.info["duration"])
    assert durations == [167] * T
    # transparent background: alpha is our coverage, colours are straight (not premultiplied)
    clear = save_webp(anim, tmp_path / "clear.webp", background=None)
    rgba = next(iter(iio.imiter(clear, plugin="pillow")))
    ref = render(anim.sketch, anim.frames[0], background=None).numpy()
    assert np.abs(rgba[..., 3] / 255.0 - ref[..., 3]).mean() < LOSSLESS_TOL
    assert rgba[..., 3].min() == 0 and mae(rgb_on_white(rgba), ours(anim, anim.frames[0])) < LOSSLESS_TOL


# ------------------------------------------------------------------ MP4 / WebM


@pytest.mark.parametrize("fmt, codec", [("mp4", "h264"), ("webm", "vp9")])
def test_video_read_back_with_pyav(anim, tmp_path, fmt, codec):
    import av

    writer = save_mp4 if fmt == "mp4" else save_webm
    path = writer(anim, tmp_path / f"a.{fmt}")
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        assert st.codec_context.name == codec and st.codec_context.pix_fmt == "yuv420p"
        assert (st.codec_context.width, st.codec_context.height) == (S, S)
        assert float(st.average_rate) == pytest.approx(FPS)
        frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(st)]
    assert len(frames) == T
    for f in range(T):
        assert_matches(frames[f], anim, anim.frames[f], anim.frames[(f + 1) % T], LOSSY_TOL, f"{fmt} frame {f}")
    # a flat colour survives the YUV round trip (BT.709 tags honoured by the decoder)
    blob = anim.sketch.fill_color[2, :3].numpy() * 255
    a = anim.sketch.path_offsets[2]
    cx, cy = anim.frames[0, a:].mean(0).round().long().tolist()
    assert np.abs(frames[0][cy - 2 : cy + 3, cx - 2 : cx + 3].reshape(-1, 3).mean(0) - blob).max() < 3


def test_video_sizes_and_fps(anim, tmp_path):
    import imageio.v3 as iio

    path = save_mp4(anim, tmp_path / "big.mp4", size=(192, 96), fps=3)
    meta = iio.immeta(path, plugin="pyav")
    frames = np.stack(list(iio.imiter(path, plugin="pyav")))
    assert frames.shape == (T // 2, 96, 192, 3) and meta["fps"] == pytest.approx(3)
    with pytest.raises(SketchError, match="even"):
        save_mp4(anim, tmp_path / "odd.mp4", size=(101, 75))
    # a derived size is rounded up to even: longest side 99 on a square canvas -> 100x100
    odd = save_webm(anim, tmp_path / "odd.webm", size=99)
    assert iio.improps(odd, plugin="pyav").shape[1:3] == (100, 100)
    with pytest.raises(SketchError, match="background"):
        save_mp4(anim, tmp_path / "clear.mp4", background=None)


# ------------------------------------------------------------------ frame sequences


def test_frames_zip_png_and_svg(anim, tmp_path):
    from PIL import Image

    path = frames_zip(anim, tmp_path / "frames.zip")
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
        assert names == sorted([f"frame_{i:05d}.{k}" for i in range(T) for k in ("png", "svg")])
        for f in (0, 4):
            png = np.asarray(Image.open(io.BytesIO(z.read(f"frame_{f:05d}.png"))).convert("RGB"))
            assert_matches(png, anim, anim.frames[f], anim.frames[f + 1], LOSSLESS_TOL, f"png frame {f}")
            svg = z.read(f"frame_{f:05d}.svg").decode()
            assert "<animate" not in svg
            assert_matches(resvg_png(svg), anim, anim.frames[f], anim.frames[f + 1], VECTOR_TOL, f"svg frame {f}")


def test_frames_folder(anim, tmp_path):
    from PIL import Image

    out = frames_folder(anim, tmp_path / "seq", kinds=("png",), size=64, pingpong=True)
    assert [os.path.basename(p) for p in out] == [f"frame_{i:05d}.png" for i in range(2 * T - 2)]
    back = np.asarray(Image.open(out[T]).convert("RGB"))  # ping-pong: frame T is source frame T-2
    assert back.shape == (64, 64, 3)
    assert_matches(back, anim, anim.frames[T - 2], anim.frames[T - 1], LOSSLESS_TOL, "ping-pong frame")
    with pytest.raises(SketchError, match="subset"):
        frames_folder(anim, tmp_path / "bad", kinds=("jpg",))


def test_image_frames_for_comfyui(anim):
    images, fps = image_frames(anim, fps=12, size=(96, 64))
    assert images.dtype == torch.float32 and images.shape == (2 * T, 64, 96, 3) and fps == 12
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    ref = ours(anim, points_at(anim.frames, 1.5), size=(96, 64))  # 12 fps frame 3 = source frame 1.5
    assert mae(images[3].numpy(), ref) < 1e-3  # same renderer; only float rounding of the scaling differs


# ------------------------------------------------------------------ dispatch and errors


def test_export_dispatch(anim, tmp_path):
    assert format_for_path("x/anim.MP4") == "mp4" and format_for_path("a.json") == "lottie"
    p = export(anim, tmp_path / "auto.svg", fps=3)
    with open(p) as f:
        assert "<animate" in f.read()
    p = export(anim, tmp_path / "anim.bin", format="lottie", pingpong=True)
    with open(p) as f:
        assert json.load(f)["op"] == 2 * T - 2
    files = export(anim, tmp_path / "frames", format="frames", kinds=("svg",))
    assert len(files) == T
    with pytest.raises(SketchError, match="format"):
        export(anim, tmp_path / "a.avi")
    with pytest.raises(SketchError, match="Unknown export format"):
        export(anim, tmp_path / "a.gif", format="flash")
    with pytest.raises(SketchError, match="no option 'crf'"):
        export(anim, tmp_path / "a.gif", crf=20)
    with pytest.raises(SketchError, match="does not exist"):
        export(anim, tmp_path / "missing" / "a.gif")
    anim3d = SketchAnimation(
        anim.sketch.with_points(torch.zeros(anim.sketch.num_points, 3)), torch.zeros(2, anim.sketch.num_points, 3)
    )
    with pytest.raises(SketchError, match="3D"):
        export(anim3d, tmp_path / "a.gif")
    with pytest.raises(SketchError, match="fps"):
        export(anim, tmp_path / "a.svg", fps=0)
    assert set(FORMATS) >= {"svg", "lottie", "gif", "webp", "mp4", "webm", "frames_zip", "frames_folder"}


def test_timeline_resample_keeps_duration(anim):
    tl = make_timeline(anim, fps=9)
    assert tl.num_frames == 9 and tl.duration == pytest.approx(anim.duration)
    np.testing.assert_allclose(tl.frames[3].numpy(), points_at(anim.frames, 2.0).numpy(), atol=1e-4)
