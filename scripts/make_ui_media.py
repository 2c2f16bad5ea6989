"""Make the pictures ComfyUI shows for this pack: node-doc pictures (web/docs/media/) and
workflow template thumbnails (workflows/<name>.jpg), all from the pack's own output.

    .venv/bin/python scripts/make_ui_media.py            # everything (a few seconds on CPU)
    .venv/bin/python scripts/make_ui_media.py --check    # list what is missing, make nothing

Text-driven animation needs a video model that was not available where these were made, so
the animate / prior / measure pictures show the method's inputs (real renders of the bundled
cat and its control points) rather than a prompt-driven result. The 3D reconstruction picture
reuses docs/walker_3d.png, made by scripts/make_docs_media.sh (scripts/make_3d_docs_media.py) with the
reconstruct3d command (real output, ~minutes on CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA = os.path.join(ROOT, "web", "docs", "media")
WORKFLOWS = os.path.join(ROOT, "workflows")
THUMB = 400  # template thumbnails are square cards in ComfyUI's template browser


def _pkg():
    try:
        import sketchmotion  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.dirname(ROOT))
    import importlib

    return importlib.import_module("sketchmotion" if "sketchmotion" in sys.modules else os.path.basename(ROOT))


def _font(size: int):
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    return ImageFont.load_default()


def _img(t):
    import numpy as np
    from PIL import Image

    a = t.detach().float().clamp(0, 1).cpu().numpy()
    return Image.fromarray((a[..., :3] * 255 + 0.5).astype(np.uint8))


def _caption(im, text: str, size: int = 16):
    from PIL import Image, ImageDraw

    font, lines = _font(size), text.split("\n")
    width = max([im.width] + [int(ImageDraw.Draw(im).textlength(t, font=font)) + 16 for t in lines])
    out = Image.new("RGB", (width, im.height + (size + 4) * len(lines) + 8), "white")
    out.paste(im, ((width - im.width) // 2, 0))
    ImageDraw.Draw(out).text((8, im.height + 4), text, fill=(60, 60, 60), font=font, spacing=4)
    return out


def _row(images, gap: int = 8, bg="white"):
    from PIL import Image

    h = max(i.height for i in images)
    out = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1), h), bg)
    x = 0
    for i in images:
        out.paste(i, (x, (h - i.height) // 2))
        x += i.width + gap
    return out


def _arrow(width: int = 40, height: int = 40):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    y = height // 2
    d.line([(4, y), (width - 10, y)], fill=(90, 90, 90), width=3)
    d.polygon([(width - 4, y), (width - 14, y - 7), (width - 14, y + 7)], fill=(90, 90, 90))
    return im


def _box(text: str, width: int, height: int):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([1, 1, width - 2, height - 2], radius=10, outline=(90, 90, 90), width=2, fill=(244, 246, 250))
    font = _font(15)
    lines = text.split("\n")
    y = (height - 20 * len(lines)) // 2
    for line in lines:
        w = d.textlength(line, font=font)
        d.text(((width - w) / 2, y), line, fill=(30, 30, 30), font=font)
        y += 20
    return im


def make(check: bool = False) -> list[str]:
    pkg = _pkg()
    import importlib

    import torch
    from PIL import Image, ImageDraw

    mod = lambda name: importlib.import_module(f"{pkg.__name__}.{name}")  # noqa: E731
    svg, raster, procedural = mod("core.svg"), mod("core.raster"), mod("core.procedural")
    grouping, export, scenes3d, render3d = mod("core.grouping"), mod("core.export"), mod("core.scenes3d"), mod("core.render3d")
    torch.manual_seed(0)
    os.makedirs(MEDIA, exist_ok=True)
    made = []

    def save(im, name, folder=MEDIA, **kw):
        path = os.path.join(folder, name)
        im.save(path, **kw)
        made.append(os.path.relpath(path, ROOT))

    sk = lambda name, n=256: svg.load(os.path.join(ROOT, "sketches", name), normalize=n)  # noqa: E731
    render = lambda s, size=256, **kw: _img(raster.composite(raster.render(s, points=s.points[None], size=size, background=None, **kw)[0]))  # noqa: E731
    cat, stick, two = sk("cat.svg"), sk("stick_figure.svg"), sk("two_objects.svg")

    # --- sketch nodes
    save(_caption(render(cat), "sketches/cat.svg, normalize 256"), "load_sketch.png")
    text = mod("core.svg").loads('<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">\n'
                                 '  <path d="M 48 200 C 96 40, 160 40, 208 200" fill="none" stroke="black" stroke-width="3"/>\n</svg>')
    save(_caption(render(text, 192), "the default SVG text"), "svg_text.png")
    rgba = raster.render(stick, points=stick.points[None], size=256, background=None)[0]
    mask = rgba[..., 3:4].expand(-1, -1, 3)
    save(_row([_caption(_img(raster.composite(rgba)), "image"), _caption(_img(1 - mask), "mask (dark = 1)")]),
         "render_sketch.png")
    grouped = grouping.group_strokes(two, mode="auto", objects=2)
    save(_row([_caption(render(two), "input"), _caption(_img(grouping.group_preview(grouped, 256)), "grouped: 2 objects")]),
         "group_strokes.png")

    # --- animation (model-free, real output of the pack)
    wiggle = procedural.procedural_motion(cat, num_frames=16, kind="wiggle", amplitude=3.0, seed=0, fps=8)
    sway = procedural.procedural_motion(cat, num_frames=16, kind="sway", amplitude=8.0, fps=8)
    export.export(wiggle, os.path.join(MEDIA, "wiggle.gif"), format="gif", size=192)
    export.export(sway, os.path.join(MEDIA, "sway.gif"), format="gif", size=192)
    made += ["web/docs/media/wiggle.gif", "web/docs/media/sway.gif"]
    frames = raster.composite(raster.render(cat, points=wiggle.frames, size=128, background=None))
    strip = _row([_caption(_img(frames[i]), f"frame {i}", 13) for i in (0, 4, 8, 12)], gap=4)
    save(strip, "frames_strip.png")
    resampled = wiggle.sample(48)
    save(_caption(_row([_img(raster.composite(raster.render(cat, points=resampled.frames[i:i + 1], size=96,
                                                               background=None))[0]) for i in range(0, 12, 2)], gap=2),
                  "Sample Animation: 16 -> 48 frames, first 12 of them (every 2nd)", 13), "sample_animation.png")

    # --- the method's picture for the animate / prior nodes (inputs shown; no model was available)
    pts = cat.points.reshape(-1, 2)
    dots = render(cat)
    d = ImageDraw.Draw(dots)
    for x, y in pts.tolist():
        d.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill=(220, 60, 40))
    method = _row([_caption(render(cat, 200), "sketch + prompt"), _arrow(),
                   _box("render 24 frames\n-> video model (noised)\n-> score-distillation\ngradient", 210, 140), _arrow(),
                   _caption(dots.resize((200, 200)), "displacement field moves\nevery control point (red)", 13)])
    save(method, "animate_method.png")
    prior = _row([_box("Load Diffusion Model\n+ Load VAE + CLIP\nText Encode", 190, 110), _arrow(),
                  _box("ComfyUI Video Prior\nscore distillation\nthrough ComfyUI's sampler", 210, 110), _arrow(),
                  _box("Animate Sketch /\nAnimate Objects", 170, 110)])
    save(prior, "video_prior.png")
    dprior = _row([_box("models/diffusers/<name>\n(ModelScope, ZeroScope)\nor the HF cache", 210, 110), _arrow(),
                   _box("Diffusers Video Prior", 190, 110), _arrow(), _box("Animate Sketch /\nAnimate Objects", 170, 110)])
    save(dprior, "diffusers_prior.png")
    measure = _row([_caption(render(cat, 128), "sketch", 13), _box("CLIP image\nsimilarity", 120, 80),
                    _caption(_img(frames[0]), "frames", 13), _box("X-CLIP\nvs prompt", 110, 80)], gap=6)
    save(measure, "measure.png")

    # --- 3D
    scene = scenes3d.get_scene("stick_figure")
    anim3d = scene.animation(24)
    cams = render3d.camera_path("turntable", 24, 160, anim=anim3d)
    tt = raster.composite(render3d.render_3d(anim3d, cams, size=160, background=None))
    save(_row([_caption(_img(tt[i]), f"view {i}", 13) for i in (0, 6, 12, 18)], gap=4), "render3d.png")
    fixed = render3d.camera_path("fixed", 24, 160, anim=anim3d)
    play = raster.composite(render3d.render_3d(anim3d, fixed, size=160, background=None))
    save(_row([_caption(_img(play[i]), f"t = {i / 23:.2f}", 13) for i in (0, 8, 16, 23)], gap=4), "scene3d.png")
    orbit = render3d.camera_path("orbit", 24, size=160, fov=40.0, distance=None, elevation=20.0, azimuth=0.0,
                                span=90.0, anim=anim3d)
    ob = raster.composite(render3d.render_3d(anim3d, orbit, times=torch.zeros(24), size=160, background=None))
    save(_row([_caption(_img(ob[i]), f"camera {i}", 13) for i in (0, 8, 16, 23)], gap=4), "camera.png")
    recon = os.path.join(ROOT, "docs", "walker_3d.png")
    if os.path.isfile(recon):
        with Image.open(recon) as im:
            save(im.convert("RGB"), "reconstruct3d.png")

    # --- Image to Sketch: a filled drawing (rendered as a picture) traced into 16 strokes, model-free loss
    picture = None
    try:
        sketchify = mod("core.pipelines.sketchify")
    except ImportError:
        sketchify = None
    if sketchify is not None:
        icon = sk("icon_filled.svg")
        picture = raster.composite(raster.render(icon, points=icon.points[None], size=256, background=None))[0]
        result = sketchify.sketchify(picture, config=sketchify.SketchifyConfig(strokes=16, iterations=150, loss="lines",
                                                                               lpips="off", seed=0))
        traced = render(result.sketch, 256)
        save(_row([_caption(_img(picture), "picture (IMAGE)"), _arrow(), _caption(traced, "16 strokes (SKETCH)")]),
             "image_to_sketch.png")

    # --- workflow thumbnails (square jpg named like the workflow)
    def thumb(im, name):
        from PIL import ImageOps

        im = ImageOps.pad(im.convert("RGB"), (THUMB, THUMB), color="white")
        save(im, name + ".jpg", folder=WORKFLOWS, quality=85)

    thumb(_row([render(stick, 300)]), "render_sketch")
    thumb(_row([_img(frames[i]).resize((190, 190)) for i in (0, 8)], gap=6), "export_animation")
    thumb(_row([render(cat, 200), _arrow(), _box("prompt\n->\nmotion", 110, 110)]), "animate_sketch")
    thumb(_row([render(cat, 200), _arrow(), _box("Wan 2.1\nprompt\n->\nmotion", 110, 130)]), "animate_sketch_wan")
    if os.path.isfile(recon):
        with Image.open(recon) as im:
            thumb(im, "video_to_3d_sketch")
    if sketchify is not None:
        for name in missing():
            if name.startswith("image_to_"):
                thumb(_row([_img(picture).resize((180, 180)), _arrow(30), traced.resize((180, 180))]), name)
    return made


def missing() -> list[str]:
    """Workflows without a thumbnail."""
    names = [f[:-5] for f in os.listdir(WORKFLOWS) if f.endswith(".json")]
    return sorted(n for n in names if not os.path.isfile(os.path.join(WORKFLOWS, n + ".jpg")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.check:
        for f in make():
            print("wrote", f)
    gone = missing()
    if gone:
        print("workflows without a thumbnail (add one in scripts/make_ui_media.py):", ", ".join(gone))
        sys.exit(1)


if __name__ == "__main__":
    main()
