"""What ComfyUI shows a user about each node: tooltips, a docs page, a sub-category; and a
thumbnail for every workflow template.

Generic: it reads every node the extension lists (new nodes are held to the same rules).
The schemas come from a subprocess that imports the nodes against ComfyUI's real
`comfy_api` (COMFYUI_PATH) or the small CI stand-in (tests/comfy_stub).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "web" / "docs"
COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
API_ROOT = COMFYUI_PATH if COMFYUI_PATH and (Path(COMFYUI_PATH) / "comfy_api" / "latest").is_dir() \
    else str(REPO / "tests" / "comfy_stub")
SUBCATEGORIES = {"SketchMotion/sketch", "SketchMotion/animate", "SketchMotion/3D", "SketchMotion/export"}

DUMP = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
if "comfy_stub" not in sys.argv[1]:
    import comfy.cli_args
    comfy.cli_args.args.cpu = True
from sketchmotion import nodes
out = []
for n in asyncio.run(nodes.SketchMotionExtension().get_node_list()):
    s = n.define_schema()
    out.append({"id": s.node_id, "category": s.category, "description": s.description,
                "inputs": [[i.id, i.tooltip] for i in s.inputs],
                "outputs": [[o.display_name or o.id, o.tooltip] for o in s.outputs]})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def schemas():
    run = subprocess.run([sys.executable, "-c", DUMP, API_ROOT], capture_output=True, text=True, timeout=600,
                         cwd=REPO.parent)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_every_socket_has_a_tooltip(schemas):
    missing = [f"{s['id']}.{name} (input)" for s in schemas for name, tip in s["inputs"] if not (tip or "").strip()]
    missing += [f"{s['id']}.{name} (output)" for s in schemas for name, tip in s["outputs"] if not (tip or "").strip()]
    sockets = sum(len(s["inputs"]) + len(s["outputs"]) for s in schemas)
    print(f"\n{len(schemas)} nodes, {sockets} sockets, {sockets - len(missing)} with a tooltip")
    assert not missing, "sockets without a tooltip: " + ", ".join(missing)


def test_every_node_is_in_a_sub_category(schemas):
    wrong = {s["id"]: s["category"] for s in schemas if s["category"] not in SUBCATEGORIES}
    assert not wrong, f"nodes outside {sorted(SUBCATEGORIES)}: {wrong}"


def _doc_targets(text: str) -> list[str]:
    """Relative files a markdown page links or shows."""
    found = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)", text) + re.findall(r"<img[^>]+src=\"([^\"]+)\"", text)
    return [t for t in found if "://" not in t and not t.startswith(("#", "/"))]


def test_every_node_has_a_docs_page_with_a_picture_naming_its_inputs(schemas):
    problems = []
    for s in schemas:
        page = DOCS / f"{s['id']}.md"
        if not page.is_file():
            problems.append(f"{s['id']}: no web/docs/{page.name}")
            continue
        text = page.read_text(encoding="utf-8")
        if not text.startswith("# "):
            problems.append(f"{page.name}: starts without a '# Title'")
        pictures = [t for t in _doc_targets(text) if t.lower().endswith((".png", ".jpg", ".webp", ".gif", ".svg"))]
        if not pictures:
            problems.append(f"{page.name}: no picture")
        problems += [f"{page.name}: {t} does not exist" for t in _doc_targets(text) if not (DOCS / t).is_file()]
        unnamed = [name for name, _ in s["inputs"] if f"`{name}`" not in text]
        if unnamed:
            problems.append(f"{page.name}: inputs not described: {', '.join(unnamed)}")
    assert not problems, "\n".join(problems)


def test_no_docs_page_for_a_node_that_does_not_exist(schemas):
    ids = {s["id"] for s in schemas}
    assert sorted(p.stem for p in DOCS.glob("*.md") if p.stem not in ids) == []


def test_docs_are_served_from_the_web_directory():
    import sketchmotion

    assert (Path(sketchmotion.__file__).parent / sketchmotion.WEB_DIRECTORY / "docs").resolve() == DOCS.resolve()


def test_every_workflow_has_a_thumbnail():
    from PIL import Image

    missing, bad = [], []
    for wf in sorted((REPO / "workflows").glob("*.json")):
        jpg = wf.with_suffix(".jpg")
        if not jpg.is_file():
            missing.append(jpg.name)
            continue
        with Image.open(jpg) as im:
            if im.format != "JPEG" or min(im.size) < 128:
                bad.append(f"{jpg.name} ({im.format}, {im.size})")
    assert not missing, f"workflows without a thumbnail: {missing} (scripts/make_ui_media.py makes them)"
    assert not bad, f"thumbnails that are not a JPEG of at least 128 px: {bad}"
