"""One resumable training run: checkpoint file, fingerprint check, checkpoint policy, interrupts.

Every long optimisation loop (the CLI's `animate`, the Animate Sketch / Animate Objects
nodes, `pipelines.animate.animate`) runs through a `TrainingRun`:

    run = TrainingRun.in_folder(out_dir)                 # CLI: OUT_DIR/checkpoint.pt, kept when finished
    run = TrainingRun(temp_file, keep_finished=False)    # nodes: a temp file, deleted when finished
    anim = run.execute(trainer, callbacks)

The trainer provides ``fingerprint()``, ``state_dict()``, ``load_state_dict()``,
``complete_state()`` (the state of the last COMPLETED step, also in the middle of a step),
``steps_done``, ``total_steps`` and ``run(callbacks, run=...)``, which calls
``run.step_completed(trainer)`` after every step.

Checkpoint policy (the same for the CLI, the nodes and the Python API):
- no checkpoint: start at step 0;
- a checkpoint of THIS run (same fingerprint: sketch, prompts, model, settings; same format
  version): resume from its step; a finished run's checkpoint returns at once, nothing retrained;
- a foreign checkpoint (another sketch, prompt, model or settings, another version, or an
  unreadable file): never loaded and never an error; the run says so (``log``) and starts
  afresh, overwriting it at its first checkpoint;
- ``fresh=True``: any checkpoint is ignored the same way.
Saving: every ``every`` steps (0: only on exit), and whenever the loop ends - finished,
stopped, or interrupted by ANY exception (Ctrl-C / SIGINT, ComfyUI's Cancel, out of memory):
the last completed step is written before the exception propagates, so a re-run resumes from
it (an interruption inside a step loses only that step). While a checkpoint is being written,
a Ctrl-C is held back until the file is complete (main thread only). Writes go to a temp file
that replaces the checkpoint, so a checkpoint is never half-written. A finished run keeps its
checkpoint (``keep_finished=True``) or deletes it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Callable

import torch

from .errors import SketchError

CHECKPOINT_NAME = "checkpoint.pt"


@contextlib.contextmanager
def sigint_held_back():
    """Hold back SIGINT (Ctrl-C) inside the block and deliver it at the end (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    try:
        previous = signal.signal(signal.SIGINT, lambda sig, frame: pending.append(sig))
    except (ValueError, OSError):  # no signals here (embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending and callable(previous):
            previous(signal.SIGINT, None)
        elif pending:
            raise KeyboardInterrupt


class TrainingRun:
    """Checkpoints, resume policy and interrupt handling of one run (see the module docstring).

    checkpoint: where the run saves (None: nothing is saved). resume_from: where it looks for a
    checkpoint to resume (default: `checkpoint`). every: save every this many steps (0: only when
    the loop ends). keep_finished: keep the checkpoint of a finished run. fresh: never resume.
    log: receives one line per decision (resumed / foreign / interrupted).
    """

    def __init__(self, checkpoint: str | Path | None, *, resume_from: str | Path | None = None, every: int = 0,
                 keep_finished: bool = True, fresh: bool = False, log: Callable[[str], None] | None = None):
        if every < 0:
            raise SketchError(f"Checkpoint interval must be >= 0 steps, got {every}.")
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.resume_path = Path(resume_from) if resume_from else self.checkpoint
        self.every, self.keep_finished, self.fresh = int(every), bool(keep_finished), bool(fresh)
        self.log = log or (lambda msg: None)
        self.status = "new"  # new | resumed | foreign | fresh

    @classmethod
    def in_folder(cls, folder: str | Path, **kw) -> "TrainingRun":
        """A run whose checkpoint is FOLDER/checkpoint.pt (the CLI's output folder)."""
        return cls(Path(folder) / CHECKPOINT_NAME, **kw)

    # ------------------------------------------------------------------ resume
    def read(self) -> dict | None:
        """The checkpoint's state, or None if there is none or it cannot be read."""
        path = self.resume_path
        if path is None or not path.exists():
            return None
        try:  # on the CPU: generator states must stay CPU tensors; modules move what they load
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - an unreadable file is a foreign checkpoint
            return {}

    def begin(self, trainer) -> str:
        """Apply the checkpoint policy to a new trainer; returns the status (also in .status)."""
        path = self.resume_path
        if path is None or not path.exists():
            self.status = "new"
            return self.status
        if self.fresh:
            self.status = "fresh"
            self.log(f"ignoring the checkpoint {path} (fresh run); starting at step 0")
            return self.status
        state = self.read()
        if state and trainer.accepts(state):
            trainer.load_state_dict(state)
            self.status = "resumed"
            self.log(f"resuming from step {trainer.steps_done} of {trainer.total_steps} ({path})")
        else:
            self.status = "foreign"
            self.log(f"not resuming: the checkpoint {path} belongs to another run (sketch, prompt, model or "
                     "settings changed, or an older version); starting afresh, it will be overwritten")
        return self.status

    # ------------------------------------------------------------------ saving
    def save(self, state: dict) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint.with_suffix(self.checkpoint.suffix + ".tmp")
        with sigint_held_back():
            torch.save(state, tmp)
            tmp.replace(self.checkpoint)  # never leave a half-written checkpoint

    def step_completed(self, trainer) -> None:
        """Called by the trainer after every whole step."""
        if self.checkpoint is not None and self.every and trainer.steps_done % self.every == 0:
            self.save(trainer.state_dict())

    @property
    def saves(self) -> bool:
        return self.checkpoint is not None

    # ------------------------------------------------------------------ the run
    def execute(self, trainer, callbacks=None):
        """begin() + trainer.run(): whatever ends the loop, the last completed step is saved first."""
        from .callbacks import NO_CALLBACKS

        if self.status == "new" and self.resume_path is not None:
            self.begin(trainer)
        trainer.snapshots = self.saves  # keep the last completed step in memory while a step runs
        try:
            result = trainer.run(callbacks or NO_CALLBACKS, run=self)
        except BaseException:
            if self.saves:
                self.save(trainer.complete_state())
                self.log(f"interrupted: step {trainer.completed_steps} of {trainer.total_steps} is saved in "
                         f"{self.checkpoint}; run again with the same inputs to resume")
            raise
        if self.saves:
            if self.keep_finished or trainer.steps_done < trainer.total_steps:
                self.save(trainer.state_dict())
            elif self.checkpoint.exists():
                self.checkpoint.unlink()
        return result
