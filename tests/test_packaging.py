"""Packaging rules: requirements.txt and pyproject agree, and never list torch."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _names(lines):
    out = set()
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out.add(re.split(r"[<>=!~;\[ ]", line)[0].lower())
    return out


def test_requirements_match_pyproject_and_leave_torch_to_comfyui():
    req = _names((ROOT / "requirements.txt").read_text().splitlines())
    proj = _names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert req == proj
    assert not req & {"torch", "torchvision", "torchaudio"}


def test_comfy_registry_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "comfyui-sketchmotion"
    comfy = meta["tool"]["comfy"]
    assert comfy["DisplayName"] == "SketchMotion" and comfy["PublisherId"] and comfy["Icon"]
    assert comfy["requires-comfyui"]
