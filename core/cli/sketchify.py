"""`python -m sketchmotion sketchify`: turn a picture into a stroke sketch (core.pipelines.sketchify).

    python -m sketchmotion sketchify IMAGE --out sketch.svg [--strokes 16] [--iterations 300] [--width 3]
        [--color black|image] [--seed 0] [--mask M1.png --mask M2.png ...] [--clip-model FOLDER|ARCH:TAG]
        [--loss auto|lines|clip|clip+lines] [--lpips auto|on|off] [--canvas 256] [--preview P.png]
        [--models-dir DIR ...] [--device cpu|cuda]

Each --mask is one object (white = inside; any size, stretched over the image); the strokes are
shared out by mask area and the SVG groups them per mask (<g data-object="k">). Without
--clip-model the model-free line-map loss runs. The loss that ran is always printed.
"""

from __future__ import annotations

import sys
import time


def _open_image(path, what: str, mode: str):
    """The picture at `path` in PIL `mode` as float32 [H, W, C] in 0..1; a SketchError names an unreadable file."""
    import numpy as np
    from PIL import Image

    from ..errors import SketchError

    try:
        im = Image.open(path)
        im.load()
    except (OSError, ValueError) as e:
        raise SketchError(f"Cannot read {what} {path}: {e}") from e
    return np.asarray(im.convert(mode), dtype=np.float32) / 255.0


def _read_image(path):
    import torch

    return torch.from_numpy(_open_image(path, "image", "RGBA"))


def _read_masks(paths):
    import torch

    from ..errors import SketchError

    masks = []
    for p in paths:
        a = _open_image(p, "mask", "LA")  # gray x alpha: transparent = outside
        masks.append(torch.from_numpy(a[..., 0] * a[..., 1]))
    shapes = {tuple(m.shape) for m in masks}
    if len(shapes) > 1:
        raise SketchError(f"All masks must have the same size, got {sorted(shapes)}.")
    return torch.stack(masks)


def cmd_sketchify(args) -> int:
    from ..callbacks import Callbacks
    from ..pipelines.sketchify import SketchifyConfig, sketchify
    from ..svg import save
    from .common import image_to_png, out_path

    image = _read_image(args.image)
    masks = _read_masks(args.mask) if args.mask else None
    cfg = SketchifyConfig(strokes=args.strokes, width=args.width, color=args.color, iterations=args.iterations,
                          seed=args.seed, canvas=args.canvas, loss=args.loss, lpips=args.lpips)
    start = time.time()
    last = [-1]

    def progress(step, total, preview, stats):
        pct = int(100 * step / max(total, 1))
        if pct != last[0] and (pct % 5 == 0 or step == total):
            last[0] = pct
            print(f"\r{pct:3d}% step {step}/{total} loss {stats.get('loss', 0):.4f}", end="", file=sys.stderr)

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    clip = args.clip_model
    if clip:
        from ..metrics_clip import load_clip

        clip = load_clip(clip, search_dirs=args.models_dir, device=device)
    result = sketchify(image, masks=masks, config=cfg, clip=clip, callbacks=Callbacks(progress=progress),
                       device=device, search_dirs=args.models_dir)
    print(file=sys.stderr)
    out = out_path(args.out)
    save(result.sketch, out)
    sk = result.sketch
    print(f"loss: {result.loss}")
    final = f"{result.history[-1]:.4f}" if result.history else "n/a"
    print(f"wrote {out} ({sk.num_paths} strokes, {sk.num_groups} group{'s' * (sk.num_groups != 1)}, canvas "
          f"{sk.canvas[0]}x{sk.canvas[1]}; {result.iterations} steps in {time.time() - start:.1f} s, final loss {final})")
    if args.preview:
        from ..raster import render

        prev = out_path(args.preview)
        image_to_png(render(sk).detach(), prev)
        print(f"wrote {prev}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("sketchify", help="turn a picture into a sketch of N strokes (CLIPasso-style)")
    p.add_argument("image", help="a picture (PNG, JPEG, WebP...; transparency is composited on white)")
    p.add_argument("--out", required=True, help="output SVG")
    p.add_argument("--strokes", type=int, default=16, help="number of strokes (default 16)")
    p.add_argument("--iterations", type=int, default=300, help="optimisation steps (default 300)")
    p.add_argument("--width", type=float, default=3.0, help="stroke width in px on the canvas (default 3)")
    p.add_argument("--color", default="black", choices=["black", "image"], help="black, or sampled from the image")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mask", action="append", default=[], help="one mask image per object (repeat the flag)")
    p.add_argument("--clip-model", default=None,
                   help="open_clip folder, 'hf-hub:ORG/REPO' or ARCH:TAG for CLIPasso's losses (default: none)")
    p.add_argument("--loss", default="auto", choices=["auto", "lines", "clip", "clip+lines"],
                   help="auto: clip with --clip-model, else the model-free line-map loss")
    p.add_argument("--lpips", default="auto", choices=["auto", "on", "off"],
                   help="add LPIPS (VGG) when its weights are on disk (auto), always, or never")
    p.add_argument("--canvas", type=int, default=256, help="longer side of the sketch's canvas (0 = the image's size)")
    p.add_argument("--preview", default=None, help="also write a PNG of the sketch")
    p.add_argument("--models-dir", action="append", default=[], help="folder(s) holding CLIP / VGG weights")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.set_defaults(func=cmd_sketchify)
