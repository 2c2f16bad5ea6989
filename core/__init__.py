"""SketchMotion core library: plain PyTorch, never imports ComfyUI.

Heavy optional libraries (diffusers, transformers, open_clip, lpips) are imported
inside the functions that need them.
"""

from .errors import SketchError
from .sketch import Sketch, SketchAnimation, sketch_from_paths

__all__ = ["SketchError", "Sketch", "SketchAnimation", "sketch_from_paths"]
