"""Group Strokes node (nodes/group_strokes.py) through ComfyUI's V3 contract (stand-in, or the
real API with COMFYUI_PATH): schema, the three modes, MASK batches, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from node_testing import node, run

from sketchmotion.core import svg
from sketchmotion.core.errors import SketchError

TWO = Path(__file__).resolve().parents[1] / "sketches" / "two_objects.svg"


@pytest.fixture()
def erased():
    sk = svg.load(TWO)
    return sk.with_groups(torch.zeros(sk.num_paths)), sk.group.tolist()


def test_schema(comfy):  # noqa: F811
    s = node(comfy, "SketchMotionGroupStrokes").define_schema()
    assert [i.get_io_type() for i in s.inputs] == ["SKETCH", "COMBO", "INT", "FLOAT", "STRING", "COMBO", "COMBO", "MASK"]
    assert [o.get_io_type() for o in s.outputs] == ["SKETCH", "IMAGE"]
    inputs = {i.id: i for i in s.inputs}
    assert inputs["mode"].as_dict()["options"] == ["auto", "masks", "manual"]
    assert inputs["masks"].optional and not inputs["sketch"].optional
    assert inputs["spec"].as_dict()["multiline"] is True
    assert inputs["objects"].as_dict()["default"] == 0


def test_auto_and_manual(comfy, erased):  # noqa: F811
    sketch, true = erased
    cls = node(comfy, "SketchMotionGroupStrokes")
    out = run(cls, sketch=sketch, mode="auto", objects=0, tolerance=0.02)
    grouped, preview = out[0], out[1]
    assert grouped.group.tolist() == true
    assert preview.shape == (1, 256, 256, 3) and preview.dtype == torch.float32
    assert 0 <= float(preview.min()) and float(preview.max()) <= 1
    assert (preview[0].sum(-1) < 2.5).sum() > 500  # coloured ink on white
    three = run(cls, sketch=sketch, mode="auto", objects=3, tolerance=0.02)[0]
    assert three.num_groups == 3
    manual = run(cls, sketch=sketch, mode="manual", objects=0, tolerance=0.02, spec="0-10\n11-19")[0]
    assert manual.group.tolist() == true
    own = run(cls, sketch=sketch, mode="manual", objects=0, tolerance=0.02, spec="11-19", unlisted="own")[0]
    assert own.group.tolist() == [0] * 11 + [1] * 9  # paint order: the unlisted bird comes first
    with pytest.raises(SketchError, match="does not list strokes 0-10"):
        run(cls, sketch=sketch, mode="manual", objects=0, tolerance=0.02, spec="11-19")


def test_masks_from_a_mask_batch(comfy, erased):  # noqa: F811
    sketch, true = erased
    cls = node(comfy, "SketchMotionGroupStrokes")
    masks = torch.zeros(2, 64, 128)  # [K, H, W] at another resolution and aspect than the 256x256 canvas
    masks[0, 50:, 64:] = 1  # the tree (listed first): its trunk and ground line...
    masks[0, 10:50, 70:] = 1  # ... and its canopy
    masks[1, 25:50, 0:64] = 1  # the bird
    grouped = run(cls, sketch=sketch, mode="masks", objects=0, tolerance=0.02, masks=masks)[0]
    assert grouped.group.tolist() == true  # ids in paint order (the bird's strokes come first)
    with pytest.raises(SketchError, match="needs a MASK"):
        run(cls, sketch=sketch, mode="masks", objects=0, tolerance=0.02)
