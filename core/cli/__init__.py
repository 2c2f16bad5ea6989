"""`python -m sketchmotion ...`: the core library without ComfyUI, one module per command.

    python -m sketchmotion info SKETCH.svg [--json]
    python -m sketchmotion render SKETCH.svg --out OUT.png [--size N] [--width-scale S] [--transparent]
    python -m sketchmotion normalize SKETCH.svg --out OUT.svg [--size N] [--margin FRACTION]
    python -m sketchmotion export ANIMATION --out PATH [--format FMT] [--fps N] [--size N|WxH] [--no-loop] [--pingpong]
    python -m sketchmotion preview-motion SKETCH.svg --out OUT [--kind wiggle|sway|none] [--frames N] [--fps N]
                                         [--amplitude A] [--seed S]
    python -m sketchmotion resample | animate | group | render3d | metrics | scene3d | reconstruct3d | sketchify ...

Each command is a module of this package with `register(subparsers)` (listed in
COMMAND_MODULES, in the order `python -m sketchmotion -h` shows them); a new command
is a new module added there. Heavy imports stay inside the command functions, so
building the parser imports no torch.

A user error prints one line naming the problem and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from ..errors import SketchError

COMMAND_MODULES = ["info", "render", "normalize", "export", "preview_motion", "resample", "animate", "group",
                   "render3d", "metrics", "scene3d", "reconstruct3d", "sketchify"]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sketchmotion", description="SketchMotion: bring sketches to life.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        import_module(f".{name}", __package__).register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SketchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f"error: {e.strerror or e}: {e.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
