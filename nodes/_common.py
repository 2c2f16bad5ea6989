"""Helpers several nodes share: the animation input, background choice, output file names, ComfyUI model folders.

Only the nodes package imports this module; its names are public within the package.
"""

from __future__ import annotations

import os

BACKGROUNDS = ["white", "black", "transparent", "custom"]
BACKGROUND_TOOLTIP = ("Colour behind the strokes. transparent: IMAGE holds the stroke colours and MASK the coverage "
                      "(Join Image with Alpha makes an RGBA image); custom: custom_color.")


def animation_input():
    """The `animation` input of the export nodes: an animation, or a static sketch (one frame)."""
    from comfy_api.latest import io

    from ._types import Sketch, SketchAnimation

    return io.MultiType.Input("animation", types=[SketchAnimation, Sketch],
                              tooltip="A sketch animation, or a static sketch (exported as one frame).")


def background_inputs():
    """The `background` choice and its `custom_color` (read them with background_rgb)."""
    from comfy_api.latest import io

    return [io.Combo.Input("background", options=BACKGROUNDS, default="white", tooltip=BACKGROUND_TOOLTIP),
            io.String.Input("custom_color", default="#ffffff",
                            tooltip="Background colour when background is 'custom' (any CSS colour).")]


def background_rgb(background: str, custom_color: str):
    """RGB in 0..1 for the background choice; None for transparent."""
    from PIL import ImageColor

    from ..core.errors import SketchError

    if background == "transparent":
        return None
    name = custom_color.strip() if background == "custom" else background
    try:
        return tuple(c / 255.0 for c in ImageColor.getrgb(name)[:3])
    except ValueError:
        raise SketchError(f"Unknown colour {name!r}; use a CSS colour such as '#ff8800', 'rgb(255,136,0)' or 'orange'.")


def save_target(prefix: str, anim, size: int, ext: str, base_dir: str) -> tuple[str, str, str]:
    """(full path, file name, subfolder) for the next free name; refuses folders outside base_dir."""
    import folder_paths

    from ..core.export.timeline import output_size

    w, h = output_size(anim.sketch.canvas, size or None)
    folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, base_dir, w, h)
    file = f"{name}_{counter:05}_{ext}"
    return os.path.join(folder, file), file, subfolder


def model_dirs(kind: str) -> list[str]:
    """ComfyUI's models/<kind> folders (extra_model_paths.yaml may add more)."""
    import folder_paths

    try:
        dirs = folder_paths.get_folder_paths(kind)
    except KeyError:  # not registered: ComfyUI's default location
        dirs = []
    base = getattr(folder_paths, "models_dir", None)
    return dirs or ([os.path.join(base, kind)] if base else [])


def model_options(kind: str, marker: str, extra: list[str]) -> list[str]:
    """Folder names under models/<kind> that hold `marker`, then the `extra` names not among them."""
    found = []
    for root in model_dirs(kind):
        if os.path.isdir(root):
            found += sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, marker)))
    return found + [m for m in extra if m not in found]
