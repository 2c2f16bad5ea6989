"""Helpers for node tests (the `comfy` fixture itself lives in conftest.py).

With COMFYUI_PATH pointing at a ComfyUI checkout the real `comfy_api.latest` and
`folder_paths` are used; otherwise the small stand-in in tests/comfy_stub.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
STUB = Path(__file__).resolve().parent / "comfy_stub"
COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
REAL = bool(COMFYUI_PATH) and (Path(COMFYUI_PATH) / "comfy_api" / "latest" / "_io.py").is_file()
API_ROOT = Path(COMFYUI_PATH) if REAL else STUB

LINE_SVG = (  # one horizontal stroke, 6 px wide, across a 100 x 50 canvas
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
    '<path d="M 10 25 C 30 25, 60 25, 90 25" stroke="black" stroke-width="6" fill="none"/></svg>'
)
DIAGONAL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    '<path d="M 8 8 L 56 56" stroke="#0000ff" stroke-width="4" fill="none"/></svg>'
)


def node(comfy, node_id):
    """The node class with `node_id`, from the pack's extension (as ComfyUI lists it)."""
    nodes = asyncio.run(comfy.nodes.SketchMotionExtension().get_node_list())
    return {n.define_schema().node_id: n for n in nodes}[node_id]


def run(cls, **inputs):
    """Call execute like ComfyUI does (inside inference mode) and return the NodeOutput."""
    with torch.inference_mode():
        return cls.execute(**inputs)


def outputs(cls, **inputs) -> tuple:
    """run(...) and return the node's output values (NodeOutput.args)."""
    return run(cls, **inputs).args


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
