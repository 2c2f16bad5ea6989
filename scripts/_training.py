"""Pieces the prior-training scripts share (train_motion_prior.py, train_flow_prior.py)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import torch


def opposite_indices(captions, opposite: dict, empty: int) -> torch.Tensor:
    """[len(captions) + 1]: the index of each caption's opposite (e.g. "moving left" -> "moving right"), the
    empty caption (index `empty`, last) its own; the right-vs-opposite evaluations and contrast terms index it."""
    return torch.tensor([captions.index(opposite[c]) for c in captions] + [empty])


class EMA:
    """An exponential moving average of a model's weights (decay warmed up over the first steps)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)


def temporary_folder(folder: Path) -> Path:
    """An empty `<folder>.tmp` beside `folder`, to write a save into before `replace_folder`."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def replace_folder(tmp: Path, folder: Path) -> None:
    """Put the finished `tmp` in place of `folder` by renames, so an interrupted save never leaves a
    half-written model where the last good one was."""
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
