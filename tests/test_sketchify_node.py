"""Image to Sketch node (nodes/sketchify.py) through ComfyUI's V3 contract (stand-in, or the real API
with COMFYUI_PATH), its CLI (`python -m sketchmotion sketchify`), and, with a real ComfyUI, a tiny
CLIP vision model built by ComfyUI's own loader code (inference tensors, as Load CLIP Vision gives)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from node_testing import REAL, node, run

from sketchmotion.core import svg
from sketchmotion.core.errors import SketchError
from sketchmotion.core.raster import WHITE, render
from sketchmotion.core.synthetic import random_strokes

MODEL_FREE = "multi-scale line map (no model)"


def picture(seed=0, size=128):
    return render(random_strokes(8, size, seed=seed), background=WHITE)[None]  # IMAGE [1, H, W, 3]


def test_schema_has_a_tooltip_on_every_socket(comfy):
    s = node(comfy, "SketchMotionImageToSketch").define_schema()
    assert [i.get_io_type() for i in s.inputs] == ["IMAGE", "INT", "FLOAT", "COMBO", "INT", "INT", "COMBO", "COMBO",
                                                   "INT", "MASK", "CLIP_VISION"]
    assert [o.get_io_type() for o in s.outputs] == ["SKETCH", "IMAGE", "STRING"]
    assert all(i.tooltip for i in s.inputs) and all(o.tooltip for o in s.outputs)
    inputs = {i.id: i for i in s.inputs}
    assert inputs["masks"].optional and inputs["clip_vision"].optional and not inputs["image"].optional
    assert inputs["strokes"].as_dict()["default"] == 16 and inputs["width"].as_dict()["default"] == 3.0


def test_execute_model_free_with_masks(comfy, one_thread):
    import comfy.utils as cu  # the real one under COMFYUI_PATH, else the stand-in

    cls = node(comfy, "SketchMotionImageToSketch")
    image = picture()
    masks = torch.zeros(2, 128, 128)
    masks[0, :, :64], masks[1, :, 64:] = 1, 1
    out = run(cls, image=image, strokes=8, width=3.0, color="black", iterations=12, seed=0, masks=masks)
    sk, preview, report = out[0], out[1], out[2]
    assert sk.num_paths == 8 and sk.num_groups == 2 and sk.canvas == (256, 256)
    assert preview.shape == (1, 128, 128, 3) and preview.dtype == torch.float32
    assert float(preview.min()) < 0.2 and float(preview.mean()) > 0.8  # dark strokes on white
    assert report.startswith(f"loss: {MODEL_FREE}; 12 steps") and "8 strokes in 2 group(s)" in report
    assert out.ui["text"] == [report] and out.ui["images"]  # the loss is shown on the node
    if not REAL:
        assert cu.UPDATES and cu.UPDATES[-1][:2] == (12, 12)
    sk.points.add_(0)  # plain tensors downstream (not inference tensors): Animate Sketch can train on them


def test_execute_errors_are_user_messages(comfy, one_thread):
    cls = node(comfy, "SketchMotionImageToSketch")
    with pytest.raises(SketchError, match="needs a CLIP model"):
        run(cls, image=picture(), strokes=4, width=3.0, color="black", iterations=1, seed=0, loss="clip")


@pytest.mark.skipif(not REAL, reason="needs a real ComfyUI (COMFYUI_PATH) to build a CLIP_VISION model")
def test_execute_with_a_comfyui_clip_vision_model(comfy, tmp_path, one_thread):
    import comfy.clip_vision as comfy_clip_vision

    from sketchmotion.core.pipelines.sketchify_losses import HiddenStatesFeatures

    cfg = {"hidden_act": "quick_gelu", "hidden_size": 32, "image_size": 64, "intermediate_size": 64,
           "model_type": "clip_vision_model", "num_attention_heads": 2, "num_channels": 3, "num_hidden_layers": 3,
           "patch_size": 16, "projection_dim": 16, "layer_norm_eps": 1e-5}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with torch.inference_mode():  # as Load CLIP Vision: weights become inference tensors
        cv = comfy_clip_vision.ClipVisionModel(str(tmp_path / "cfg.json"))
        torch.manual_seed(0)
        sd = {k: torch.randn_like(v) * 0.05 for k, v in cv.get_sd().items()}
        cv.load_sd(sd)
        x = torch.rand(2, 64, 64, 3)
        ref = cv.model(pixel_values=((x.permute(0, 3, 1, 2) - torch.tensor(cv.image_mean).view(1, 3, 1, 1))
                                     / torch.tensor(cv.image_std).view(1, 3, 1, 1)), intermediate_output="all")
    # the layer-by-layer forward (out-of-place residuals) equals ComfyUI's own forward
    from sketchmotion.nodes.sketchify import _clip_features

    feats = _clip_features(cv)
    assert isinstance(feats, HiddenStatesFeatures) and feats.layers == [0, 1]
    acts, emb = feats(x)
    assert torch.allclose(emb, ref[2].float(), atol=1e-4)
    assert torch.allclose(acts[1], ref[1][:, 1].float(), atol=1e-4)

    cls = node(comfy, "SketchMotionImageToSketch")
    out = run(cls, image=picture(), strokes=6, width=3.0, color="black", iterations=3, seed=0, clip_vision=cv)
    assert out[2].startswith("loss: CLIP geometric (layers 1, 2) + semantic [ComfyUI CLIP_VISION")
    assert torch.isfinite(out[0].points).all()


# ------------------------------------------------------------------ CLI
def cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "sketchmotion", "sketchify", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_writes_a_grouped_svg_and_says_which_loss_ran(tmp_path):
    img = (picture(seed=3, size=160)[0].numpy() * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    left = np.zeros((160, 160), np.uint8)
    left[:, :80] = 255
    Image.fromarray(left).save(tmp_path / "m0.png")
    Image.fromarray(255 - left).save(tmp_path / "m1.png")
    r = cli(["in.png", "--strokes", "8", "--iterations", "10", "--out", "out/sketch.svg", "--mask", "m0.png",
             "--mask", "m1.png", "--preview", "out/p.png"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"loss: {MODEL_FREE}" in r.stdout
    sk = svg.load(tmp_path / "out" / "sketch.svg")
    assert sk.num_paths == 8 and sk.num_groups == 2
    assert np.asarray(Image.open(tmp_path / "out" / "p.png")).min() < 100

    r = cli(["missing.png", "--out", "x.svg"], tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:")
