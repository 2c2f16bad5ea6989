"""`python -m sketchmotion metrics`: the LiveSketch paper's two measures of an animation.

    python -m sketchmotion metrics ANIMATION [--prompt "..."] [--clip-model ViT-B-32:openai|PATH]
        [--xclip-model microsoft/xclip-base-patch32|PATH] [--sketch INPUT.svg] [--models-dir DIR ...]
        [--allow-download] [--device cpu|cuda] [--json]

ANIMATION is an animation file (.safetensors) or an .svg (one frame). Prints the
sketch-to-video consistency (CLIP) and, with --prompt, the text-to-video alignment (X-CLIP);
--json prints core.metrics_clip.measure_animation's dict. See core/metrics_clip.py for
where the models are looked for.
"""

from __future__ import annotations

import json

DEFAULT_CLIP = "ViT-B-32:openai"  # = core.metrics_clip.DEFAULT_CLIP (not imported here: torch)
DEFAULT_XCLIP = "microsoft/xclip-base-patch32"


def cmd_metrics(args) -> int:
    from ..animation_io import load_animation
    from ..metrics_clip import format_report, measure_animation

    anim = load_animation(args.animation)
    reference = None
    if args.sketch:
        from ..svg import load

        reference = load(args.sketch)
    result = measure_animation(anim, args.prompt, clip_model=args.clip_model, xclip_model=args.xclip_model,
                               device=args.device, sketch=reference, search_dirs=args.models_dir,
                               allow_download=args.allow_download)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def register(sub) -> None:
    p = sub.add_parser("metrics", help="sketch-to-video consistency (CLIP) and text-to-video alignment (X-CLIP)")
    p.add_argument("animation", help="an animation file (.safetensors) or an .svg (one frame)")
    p.add_argument("--prompt", default=None, help="the motion prompt; without it only consistency is measured")
    p.add_argument("--clip-model", default=DEFAULT_CLIP,
                   help=f"open_clip folder, 'hf-hub:ORG/REPO' or ARCH:TAG (default {DEFAULT_CLIP})")
    p.add_argument("--xclip-model", default=DEFAULT_XCLIP,
                   help=f"X-CLIP folder or Hugging Face id (default {DEFAULT_XCLIP})")
    p.add_argument("--sketch", default=None, help="reference sketch (.svg); default: the animation's base sketch")
    p.add_argument("--models-dir", action="append", default=[], help="folder(s) holding the CLIP / X-CLIP folders")
    p.add_argument("--allow-download", action="store_true", help="download missing models into the HF cache")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_metrics)
