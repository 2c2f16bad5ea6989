"""Import the sketchmotion package from a script, whether it is installed or a plain clone.

Installed (`pip install -e .`): `import sketchmotion`. A plain clone (e.g. in ComfyUI/custom_nodes,
under whatever folder name it was cloned as): the folder above the clone goes on sys.path and the
package is imported by the clone's folder name. A script finds this file first:

    sys.path.insert(0, str(Path(__file__).resolve().parents[N] / "scripts"))  # N: levels below the root
    from _bootstrap import package_module  # noqa: E402

    svg = package_module("core.svg")
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]  # the package folder


def package() -> ModuleType:
    """The sketchmotion package (installed, else this clone)."""
    try:
        return importlib.import_module("sketchmotion")
    except ImportError:
        if str(ROOT.parent) not in sys.path:
            sys.path.insert(0, str(ROOT.parent))
        return importlib.import_module(ROOT.name)


def package_module(name: str) -> ModuleType:
    """A module of the package by its dotted name inside it, e.g. "core.svg"."""
    return importlib.import_module(f"{package().__name__}.{name}")
