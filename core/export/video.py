"""Raster exports: GIF, animated WebP, MP4 (H.264), WebM (VP9), PNG/SVG frame sequences.

Frames come from core.raster.render at the output size (vectors are re-rasterised,
never scaled as pixels). Encoders are the libraries' own: Pillow through imageio for
GIF/WebP, FFmpeg's libx264 / libvpx-vp9 through PyAV for MP4/WebM.
"""

from __future__ import annotations

import io
import os
import zipfile
from fractions import Fraction

import numpy as np

from ..errors import SketchError
from ..sketch import SketchAnimation
from ..svg import dumps
from .timeline import Timeline, make_timeline, render_frames, render_timeline

WHITE = (1.0, 1.0, 1.0)
GIF_MAX_FPS = 50.0  # GIF delays are whole 1/100 s; browsers slow delays under 2/100 s down to 1/10 s


def _frames_rgb(tl: Timeline, background) -> np.ndarray:
    """uint8 [F, H, W, 3], or straight-alpha RGBA [F, H, W, 4] with background=None."""
    if background is not None:
        return render_frames(tl, background=tuple(float(c) for c in background))
    pre = render_frames(tl, background=None).astype(np.float32)
    a = pre[..., 3:4]
    rgb = np.where(a > 0, pre[..., :3] * 255.0 / np.maximum(a, 1.0), 0.0)
    return np.concatenate([np.clip(rgb + 0.5, 0, 255), a], axis=-1).astype(np.uint8)


def image_frames(anim: SketchAnimation, *, fps=None, size=None, loop=True, pingpong=False, background=WHITE):
    """Frames for ComfyUI's IMAGE type: (float32 [F, H, W, 3] in 0..1 on the CPU, fps).

    The same timeline as the file exports (fps re-sampled at the same duration, ping-pong
    unfolded, size None | longest side | (w, h)); plug into CreateVideo / Video Combine.
    """
    _need_opaque(background, "IMAGE output")
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    return render_timeline(tl, background=tuple(float(c) for c in background)).float(), tl.fps


def _need_opaque(background, fmt: str):
    if background is None:
        raise SketchError(f"{fmt} has no usable transparency; give a background colour (e.g. white).")


def write_gif(frames: np.ndarray, path, fps: float, loop: bool = True) -> str:
    """uint8 frames [F, H, W, 3] -> animated GIF (Pillow via imageio): the one GIF writer.

    Frame delays are rounded to the nearest 1/100 s (8 fps -> 0.12 s, 6 fps -> 0.17 s), so the played
    rate is 100 / round(100 / fps); above GIF_MAX_FPS a SketchError says to use WebP / MP4 (never a
    silently slower GIF). Pillow merges identical consecutive frames into one longer frame.
    """
    if not fps > 0:
        raise SketchError(f"fps must be positive, got {fps}.")
    if fps > GIF_MAX_FPS:
        raise SketchError(
            f"GIF cannot play {fps:g} fps (delays are in 1/100 s and browsers slow very short ones down); "
            f"use fps <= {GIF_MAX_FPS:g}, or WebP/MP4 for higher rates."
        )
    import imageio.v3 as iio

    kw = {"duration": 10 * max(2, round(100.0 / fps))}  # nearest whole 1/100 s, in ms
    if loop:
        kw["loop"] = 0  # NETSCAPE2.0 extension: repeat forever; without it the GIF plays once
    iio.imwrite(path, frames, extension=".gif", plugin="pillow", **kw)
    return os.fspath(path)


def write_webp(frames: np.ndarray, path, fps: float, loop: bool = True, lossless: bool = True,
               quality: int = 90) -> str:
    """uint8 frames [F, H, W, 3 | 4] (RGBA: straight alpha) -> animated WebP: the one WebP writer.

    Frame delays are whole milliseconds (at least 1).
    """
    if not fps > 0:
        raise SketchError(f"fps must be positive, got {fps}.")
    import imageio.v3 as iio

    iio.imwrite(
        path,
        frames,
        extension=".webp",
        plugin="pillow",
        duration=max(1, round(1000.0 / fps)),
        loop=0 if loop else 1,
        lossless=bool(lossless),
        quality=int(quality),
        method=4,
    )
    return os.fspath(path)


def save_gif(anim: SketchAnimation, path, *, fps=None, size=None, loop=True, pingpong=False, background=WHITE) -> str:
    """Animated GIF (Pillow via imageio). Frame delays are rounded to the nearest 1/100 s
    (8 fps -> 0.12 s, 6 fps -> 0.17 s), so the played rate is 100 / round(100 / fps).

    Pillow merges identical consecutive frames into one longer frame (the timing is kept).
    """
    _need_opaque(background, "GIF")
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    return write_gif(_frames_rgb(tl, background), path, tl.fps, loop=loop)


def save_webp(
    anim: SketchAnimation,
    path,
    *,
    fps=None,
    size=None,
    loop=True,
    pingpong=False,
    background=WHITE,
    lossless: bool = True,
    quality: int = 90,
) -> str:
    """Animated WebP (Pillow via imageio); lossless by default (line art stays crisp and small).

    background=None keeps transparency. Frame delays are whole milliseconds.
    """
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    return write_webp(_frames_rgb(tl, background), path, tl.fps, loop=loop, lossless=lossless, quality=quality)


_CODECS = {
    # container: (encoder, default options)
    "mp4": ("libx264", {"crf": "18", "preset": "medium"}),
    "webm": ("libvpx-vp9", {"crf": "24", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}),
}


def _save_ffmpeg(fmt: str, anim, path, *, fps, size, loop, pingpong, background, crf) -> str:
    _need_opaque(background, fmt.upper())
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size, even=True)
    import av

    codec, opts = _CODECS[fmt]
    opts = dict(opts)
    if crf is not None:
        opts["crf"] = str(int(crf))
    if codec not in av.codecs_available:
        raise SketchError(f"This PyAV build has no {codec} encoder; install the PyAV wheel from PyPI (pip install av).")
    frames = _frames_rgb(tl, background)
    W, H = tl.size
    rate = Fraction(tl.fps).limit_denominator(1001)
    container_opts = {"movflags": "+faststart"} if fmt == "mp4" else {}
    with av.open(os.fspath(path), mode="w", format=fmt, options=container_opts) as out:
        stream = out.add_stream(codec, rate=rate, options=opts)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        cc = stream.codec_context
        # BT.709, limited range, tagged so players convert back the same way
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1
        for img in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            vf = vf.reformat(format="yuv420p", dst_colorspace="ITU709")
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return os.fspath(path)


def save_mp4(
    anim: SketchAnimation, path, *, fps=None, size=None, loop=True, pingpong=False, background=WHITE, crf=None
) -> str:
    """MP4, H.264 (libx264, yuv420p, CRF 18 by default; even width and height).

    `loop` only shapes the re-sampling at a new fps (MP4 has no loop flag).
    """
    return _save_ffmpeg("mp4", anim, path, fps=fps, size=size, loop=loop, pingpong=pingpong, background=background,
                        crf=crf)


def save_webm(
    anim: SketchAnimation, path, *, fps=None, size=None, loop=True, pingpong=False, background=WHITE, crf=None
) -> str:
    """WebM, VP9 (libvpx-vp9, yuv420p, constant quality CRF 24 by default; even width and height)."""
    return _save_ffmpeg("webm", anim, path, fps=fps, size=size, loop=loop, pingpong=pingpong, background=background,
                        crf=crf)


FRAME_KINDS = ("png", "svg")


def _frame_files(tl: Timeline, kinds, background):
    """Yield (name, bytes) for every frame: frame_00000.png / .svg ..."""
    from PIL import Image

    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in FRAME_KINDS]
    if bad or not kinds:
        raise SketchError(f"Frame formats must be a non-empty subset of {FRAME_KINDS}, got {kinds!r}.")
    images = _frames_rgb(tl, background) if "png" in kinds else None
    for i in range(tl.num_frames):
        if "png" in kinds:
            buf = io.BytesIO()
            Image.fromarray(images[i]).save(buf, format="PNG")
            yield f"frame_{i:05d}.png", buf.getvalue()
        if "svg" in kinds:  # a static, editable vector frame (transparent, as the source sketch)
            yield f"frame_{i:05d}.svg", dumps(tl.sketch.with_points(tl.frames[i])).encode("utf-8")


def frames_zip(
    anim: SketchAnimation,
    path,
    *,
    fps=None,
    size=None,
    loop=True,
    pingpong=False,
    kinds=FRAME_KINDS,
    background=WHITE,
) -> str:
    """A zip of per-frame PNG and/or static SVG files (frame_00000.png, frame_00000.svg, ...).

    PNGs are composited on `background` (None: transparent); SVGs are core.svg.dumps of each frame.
    """
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in _frame_files(tl, kinds, background):
            z.writestr(name, data)
    return os.fspath(path)


def frames_folder(
    anim: SketchAnimation,
    folder,
    *,
    fps=None,
    size=None,
    loop=True,
    pingpong=False,
    kinds=FRAME_KINDS,
    background=WHITE,
) -> list[str]:
    """Write per-frame PNG and/or static SVG files into `folder` (created); returns the paths."""
    tl = make_timeline(anim, fps=fps, loop=loop, pingpong=pingpong, size=size)
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, data in _frame_files(tl, kinds, background):
        p = os.path.join(folder, name)
        with open(p, "wb") as f:
            f.write(data)
        written.append(p)
    return written
