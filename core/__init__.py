"""SketchMotion core library: plain PyTorch, never imports ComfyUI.

Heavy optional libraries (diffusers, transformers, open_clip, lpips) are imported
inside the functions that need them. The package itself imports nothing: its
public names load on first use (PEP 562), so torch-free submodules such as
core.options can be read while ComfyUI lists the nodes.
"""

import importlib

_LAZY = {
    "SketchError": ".errors",
    "Sketch": ".sketch",
    "SketchAnimation": ".sketch",
    "sketch_from_paths": ".sketch",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
