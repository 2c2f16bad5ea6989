"""Motion models stored with an animation, and the registry that samples them.

An animation may carry the motion model that produced it (`SketchAnimation.motion`,
a `StoredMotion`): its tensors (a state dict) and a JSON config whose "kind" names
the model. `sample_motion(anim, num_frames)` looks the kind up here and lets that
model draw the frames; a kind this registry does not know raises SketchError (no
silent fallback to linear interpolation).

Kinds are registered by dotted path and imported on first use, so the data model
(core.sketch) imports no model code and no module imports back into it at import time:

    register_motion_model("object_fields", "sketchmotion.core.motion.object_fields:sample_object_fields")

A sampler is `fn(anim, num_frames, motion: StoredMotion) -> SketchAnimation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Callable

import torch

from ..errors import SketchError

# kind -> "module:function" (relative to this package) or a callable
_SAMPLERS: dict[str, str | Callable] = {
    "object_fields": ".object_fields:sample_object_fields",
}


@dataclass(frozen=True, eq=False)
class StoredMotion:
    """A trained motion model as stored with an animation: tensors + JSON config (config["kind"] names it)."""

    state: dict = field(default_factory=dict)  # name -> tensor
    config: dict = field(default_factory=dict)  # JSON-serialisable; "kind" plus the model's settings

    def __post_init__(self):
        if not isinstance(self.state, dict) or not isinstance(self.config, dict):
            raise SketchError("A stored motion model is a dict of tensors and a dict config.")
        for name, t in self.state.items():
            if not torch.is_tensor(t):
                raise SketchError(f"motion state {name!r} is a {type(t).__name__}; put non-tensor values in the config.")

    @property
    def kind(self) -> str | None:
        return self.config.get("kind")


def register_motion_model(kind: str, sampler: str | Callable) -> None:
    """Make `kind` sampleable: `sampler` is fn(anim, num_frames, motion) or "module:function"."""
    _SAMPLERS[kind] = sampler


def motion_kinds() -> list[str]:
    return sorted(_SAMPLERS)


def sample_motion(anim, num_frames: int, motion: StoredMotion):
    """The animation at `num_frames` frames (same duration), drawn by its stored motion model."""
    sampler = _SAMPLERS.get(motion.kind) if isinstance(motion.kind, str) else None
    if sampler is None:
        raise SketchError(
            f"The animation's motion model has kind {motion.kind!r}, which this SketchMotion cannot sample "
            f"(known: {', '.join(motion_kinds())}). Update SketchMotion, or use resample() to interpolate the "
            "frames linearly."
        )
    if isinstance(sampler, str):
        module, _, name = sampler.partition(":")
        sampler = getattr(import_module(module, __package__), name)
    return sampler(anim, num_frames, motion)


__all__ = ["StoredMotion", "motion_kinds", "register_motion_model", "sample_motion"]
