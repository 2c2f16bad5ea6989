"""Callbacks every long loop takes instead of printing.

The CLI maps them to a progress bar, the ComfyUI nodes to comfy.utils.ProgressBar
(whose update also raises on Cancel: never swallow that exception).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

ProgressFn = Callable[[int, int, "torch.Tensor | None", dict], None]


@dataclass
class Callbacks:
    """progress(step, total, preview, stats): preview is None or frames [T, H, W, 3] in 0..1
    (sent every `preview_every` steps); should_stop() is asked every step and ends the
    loop early with what it has."""

    progress: ProgressFn | None = None
    should_stop: Callable[[], bool] | None = None
    preview_every: int = 0  # 0: never render previews for the callback

    def report(self, step: int, total: int, stats: dict | None = None, preview_fn=None) -> None:
        if self.progress is None:
            return
        preview = None
        if preview_fn is not None and self.preview_every > 0 and (step % self.preview_every == 0 or step == total):
            with torch.no_grad():
                preview = preview_fn()
        self.progress(step, total, preview, stats or {})

    def stop_requested(self) -> bool:
        return bool(self.should_stop and self.should_stop())


NO_CALLBACKS = Callbacks()
