"""Core Callbacks -> ComfyUI progress bar with frame previews (Cancel raises from update)."""

from __future__ import annotations

PREVIEW_EVERY = 10
PREVIEW_MAX_SIZE = 768


def preview_strip(frames, max_frames: int = 6):
    """A PIL image of up to `max_frames` evenly spaced frames side by side."""
    import numpy as np
    from PIL import Image

    T = frames.shape[0]
    idx = np.linspace(0, T - 1, min(T, max_frames)).round().astype(int)
    strip = frames[idx].detach().float().cpu().clamp(0, 1)
    strip = strip.permute(1, 0, 2, 3).reshape(strip.shape[1], -1, strip.shape[3])  # H, n*W, 3
    return Image.fromarray((strip.numpy() * 255 + 0.5).astype(np.uint8))


def comfy_callbacks(total: int, preview_every: int = PREVIEW_EVERY):
    """Callbacks whose progress updates ComfyUI's bar (with a preview strip every few steps)."""
    import comfy.model_management
    import comfy.utils

    from ..core.callbacks import Callbacks

    bar = comfy.utils.ProgressBar(total)

    def progress(step, total, preview, stats):
        image = None if preview is None else ("JPEG", preview_strip(preview), PREVIEW_MAX_SIZE)
        bar.update_absolute(step, total, image)  # the server's hook raises on Cancel here ...
        comfy.model_management.throw_exception_if_processing_interrupted()  # ... and so does this, hook or not

    return Callbacks(progress=progress, preview_every=preview_every)


def checkpoint_path(fingerprint: str) -> str:
    """A temp-folder checkpoint file named after the run's fingerprint (a re-run after Cancel resumes)."""
    import os

    import folder_paths

    h = str(fingerprint)[:20]
    folder = os.path.join(folder_paths.get_temp_directory(), "sketchmotion")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"animate_{h}.ckpt")
