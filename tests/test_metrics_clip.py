"""The paper's animation metrics (core/metrics_clip.py), the metrics CLI command and the Measure Animation node.

Tiny random CLIP / X-CLIP models (sketchmotion/testing/tiny_clip.py) are saved as real model folders and
loaded through the same loaders users run; no weights are downloaded. The preprocessing is
checked against open_clip's own transform and transformers' XCLIPProcessor.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image

from sketchmotion.core.animation_io import save_animation
from sketchmotion.core.errors import SketchError
from sketchmotion.core.metrics_clip import (
    format_report,
    load_clip,
    load_xclip,
    measure_animation,
    normalise_images,
    render_for_model,
    sketch_video_consistency,
    text_video_alignment,
)
from sketchmotion.core.procedural import procedural_motion
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths

pytest.importorskip("open_clip")

from node_testing import LINE_SVG, node, run, write

from sketchmotion.testing.tiny_clip import build_tiny_open_clip, build_tiny_xclip
from sketchmotion.testing.tiny_models import install_in_hf_cache

PROMPT = "a horse galloping in the field"
T = 12


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("metric_models")
    return build_tiny_open_clip(root / "open_clip" / "tiny-clip"), build_tiny_xclip(root / "xclip" / "tiny-xclip")


def random_sketch(gen, paths=8):
    return sketch_from_paths([torch.rand(4, 2, generator=gen) * 200 + 28 for _ in range(paths)], stroke_width=4.0)


@pytest.fixture(scope="module")
def base():
    return random_sketch(torch.Generator().manual_seed(0))


def still(sketch, frames=T):
    return SketchAnimation(sketch, sketch.points[None].repeat(frames, 1, 1))


def scrambled(sketch, seed=1, frames=T):
    """Every frame is another random drawing with the same path structure."""
    gen = torch.Generator().manual_seed(seed)
    return SketchAnimation(sketch, torch.stack([random_sketch(gen, sketch.num_paths).points for _ in range(frames)]))


# ------------------------------------------------------------------ consistency
def test_frames_equal_to_the_sketch_have_consistency_one(models, base):
    mean, per_frame = sketch_video_consistency(still(base), str(models[0]), device="cpu")
    assert mean == pytest.approx(1.0, abs=1e-6)
    assert len(per_frame) == T and all(v == pytest.approx(1.0, abs=1e-6) for v in per_frame)


def test_consistency_falls_as_frames_depart_from_the_sketch(models, base):
    clip = load_clip(str(models[0]), device="cpu")
    scores = [sketch_video_consistency(a, clip)[0] for a in (
        still(base),
        procedural_motion(base, T, "wiggle", 1.0, 0),
        procedural_motion(base, T, "wiggle", 8.0, 0),
        scrambled(base),
    )]
    assert scores[0] > scores[1] > scores[2] > scores[3], scores
    assert scores[3] < 1.0 - 1e-4


def test_consistency_is_invariant_to_frame_order(models, base):
    anim = procedural_motion(base, T, "wiggle", 6.0, 3)
    perm = torch.randperm(T, generator=torch.Generator().manual_seed(5))
    shuffled = SketchAnimation(anim.sketch, anim.frames[perm])
    m1, p1 = sketch_video_consistency(anim, str(models[0]), device="cpu")
    m2, p2 = sketch_video_consistency(shuffled, str(models[0]), device="cpu")
    assert m2 == pytest.approx(m1, abs=1e-7)
    assert np.allclose(np.array(p1)[perm.numpy()], p2, atol=1e-6)
    assert len(set(np.round(p1, 7))) > 1  # the frames really differ


def test_reference_sketch_can_differ_from_the_base(models, base):
    other = random_sketch(torch.Generator().manual_seed(9), paths=5)
    same, _ = sketch_video_consistency(still(base), str(models[0]), sketch=base, device="cpu")
    diff, _ = sketch_video_consistency(still(base), str(models[0]), sketch=other, device="cpu")
    assert same == pytest.approx(1.0, abs=1e-6) and diff < 1.0 - 1e-4


def test_clip_input_matches_open_clips_own_preprocessing(models, base):
    import open_clip

    clip = load_clip(str(models[0]), device="cpu")
    _, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{models[0]}")
    img = render_for_model(base, base.points[None], clip.image_size)
    assert img.shape == (1, clip.image_size, clip.image_size, 3)
    theirs = preprocess(Image.fromarray((img[0].numpy() * 255 + 0.5).astype(np.uint8)))[None]
    ours = normalise_images(img, clip.image_size, clip.mean, clip.std)
    assert (theirs - ours).abs().max() < 0.6 / 255 / min(clip.std)  # 8-bit rounding only


def test_non_square_canvas_is_padded_white_not_cropped():
    sketch = sketch_from_paths([torch.tensor([[2.0, 25], [30, 25], [70, 25], [98, 25]])], stroke_width=6.0,
                               canvas=(100, 50))
    img = render_for_model(sketch, sketch.points[None], 40)[0]
    assert img.shape == (40, 40, 3)
    assert bool((img[:10] == 1).all()) and bool((img[30:] == 1).all())  # white bands above and below
    dark = (img.mean(-1) < 0.5).nonzero()
    assert dark[:, 1].min() <= 2 and dark[:, 1].max() >= 37  # the stroke spans the whole width


# ------------------------------------------------------------------ alignment
def test_alignment_is_a_deterministic_cosine_that_depends_on_the_prompt(models, base):
    anim = procedural_motion(base, 24, "wiggle", 6.0, 0)
    a1, idx = text_video_alignment(anim, PROMPT, str(models[1]), device="cpu")
    a2, _ = text_video_alignment(anim, PROMPT, str(models[1]), device="cpu")
    other, _ = text_video_alignment(anim, "the fish swims in the water", str(models[1]), device="cpu")
    assert np.isfinite(a1) and -1.0 <= a1 <= 1.0
    assert a1 == a2 and other != a1
    assert idx == [0, 3, 7, 10, 13, 16, 20, 23]  # 8 evenly spaced frames of 24, first and last included
    assert text_video_alignment(still(base, 3), PROMPT, str(models[1]), device="cpu")[1] == [0, 0, 1, 1, 1, 1, 2, 2]


def test_alignment_equals_xclip_logits_through_the_official_processor(models, base):
    from transformers import XCLIPProcessor

    anim = procedural_motion(base, 24, "wiggle", 6.0, 0)
    scorer = load_xclip(str(models[1]), device="cpu")
    ours, idx = text_video_alignment(anim, PROMPT, scorer)
    frames = render_for_model(anim.sketch, anim.frames[idx], scorer.image_size)
    processor = XCLIPProcessor.from_pretrained(models[1])
    video = list((frames.numpy() * 255 + 0.5).astype(np.uint8))
    inputs = processor(text=[PROMPT], videos=[video], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = scorer.model(**inputs)
    theirs = float(out.logits_per_video[0, 0] / scorer.model.logit_scale.exp())
    assert ours == pytest.approx(theirs, abs=2e-3)  # 8-bit rounding of the frames only


def test_measure_animation_reports_both_numbers(models, base):
    anim = procedural_motion(base, T, "wiggle", 3.0, 0)
    r = measure_animation(anim, PROMPT, clip_model=str(models[0]), xclip_model=str(models[1]), device="cpu")
    assert r["frames"] == T and len(r["consistency_per_frame"]) == T
    assert r["consistency"] == pytest.approx(float(np.mean(r["consistency_per_frame"])), abs=1e-7)
    assert -1 <= r["alignment"] <= 1 and r["prompt"] == PROMPT and len(r["alignment_frames"]) == 8
    assert "text-to-video alignment" in format_report(r)
    r2 = measure_animation(anim, None, clip_model=str(models[0]), device="cpu")
    assert r2["alignment"] is None and r2["consistency"] == r["consistency"]
    json.dumps(r)  # JSON-friendly


# ------------------------------------------------------------------ finding models
def test_models_found_by_name_in_search_dirs_and_in_the_hf_cache(models, base, tmp_path, monkeypatch):
    from huggingface_hub import constants

    clip = load_clip("tiny-clip", search_dirs=[models[0].parent], device="cpu")
    assert clip.image_size == 48
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    install_in_hf_cache(models[1], tmp_path / "hf", "microsoft/xclip-base-patch32")
    scorer = load_xclip(device="cpu")  # the default id, from the (fake) cache
    assert scorer.num_frames == 8 and scorer.image_size == 32
    install_in_hf_cache(models[0], tmp_path / "hf", "someone/tiny-open-clip")
    assert load_clip("hf-hub:someone/tiny-open-clip", device="cpu").image_size == 48


def test_missing_models_give_a_clear_error(models, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty_hf"))
    with pytest.raises(SketchError, match=r"ViT-B-32-openai.*open_clip_config\.json.*allow a download"):
        load_clip("ViT-B-32:openai", search_dirs=[tmp_path / "models"])
    with pytest.raises(SketchError, match=r"models[/\\]xclip-base-patch32.*preprocessor_config\.json"):
        load_xclip("microsoft/xclip-base-patch32", search_dirs=[tmp_path / "models"])
    with pytest.raises(SketchError, match="does not exist"):
        load_clip(str(tmp_path / "nope"))
    with pytest.raises(SketchError, match="not an open_clip model folder"):
        load_clip(str(models[1]))
    with pytest.raises(SketchError, match="not an X-CLIP model folder"):
        load_xclip(str(models[0]))
    with pytest.raises(SketchError, match="no pretrained weights"):
        load_clip("ViT-B-32:no-such-tag")


def test_missing_open_clip_package_says_how_to_install_it(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import open_clip -> ImportError
    with pytest.raises(SketchError, match="pip install open_clip_torch"):
        load_clip(str(models[0]))


# ------------------------------------------------------------------ CLI
def test_cli_prints_json(models, base, tmp_path, capsys):
    from sketchmotion.core.cli import main

    anim = procedural_motion(base, T, "wiggle", 3.0, 0)
    path = tmp_path / "anim.safetensors"
    save_animation(anim, path)
    args = ["metrics", str(path), "--prompt", PROMPT, "--clip-model", str(models[0]),
            "--xclip-model", str(models[1]), "--device", "cpu"]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = measure_animation(anim, PROMPT, clip_model=str(models[0]), xclip_model=str(models[1]), device="cpu")
    assert out["consistency"] == pytest.approx(expected["consistency"], abs=1e-6)
    assert out["alignment"] == pytest.approx(expected["alignment"], abs=1e-6)
    assert main(args) == 0
    assert "sketch-to-video consistency" in capsys.readouterr().out

    svg = write(tmp_path / "line.svg", LINE_SVG)
    assert main(["metrics", str(svg), "--clip-model", str(models[0]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 1 and out["consistency"] == pytest.approx(1.0, abs=1e-6) and out["alignment"] is None

    assert main(["metrics", str(svg), "--clip-model", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: CLIP model folder")


# ------------------------------------------------------------------ node
def test_measure_animation_node(comfy, models, base):
    try:  # a real ComfyUI (COMFYUI_PATH): run it on the CPU, as `main.py --cpu` would
        import comfy.cli_args as cli_args

        cli_args.args.cpu = True  # before comfy.model_management is first imported
    except ImportError:
        pass  # the CI stand-in is CPU-only
    schema = node(comfy, "SketchMotionMeasureAnimation").define_schema()
    assert [o.get_io_type() for o in schema.outputs] == ["FLOAT", "FLOAT", "STRING"]
    comfy.folder_paths.add_model_folder_path("open_clip", str(models[0].parent))
    comfy.folder_paths.add_model_folder_path("xclip", str(models[1].parent))
    cls = node(comfy, "SketchMotionMeasureAnimation")
    options = {i.id: getattr(i, "options", None) for i in cls.define_schema().inputs}
    assert "tiny-clip" in options["clip_model"] and "tiny-xclip" in options["xclip_model"]

    anim = procedural_motion(base, T, "wiggle", 3.0, 0)
    out = run(cls, animation=anim, prompt=PROMPT, clip_model="tiny-clip", xclip_model="tiny-xclip",
              allow_download=False)
    consistency, alignment, report = out.result
    expected = measure_animation(anim, PROMPT, clip_model=str(models[0]), xclip_model=str(models[1]), device="cpu")
    assert consistency == pytest.approx(expected["consistency"], abs=1e-6)
    assert alignment == pytest.approx(expected["alignment"], abs=1e-6)
    assert "consistency" in report and "alignment" in report

    out = run(cls, animation=still(base), prompt="", clip_model="tiny-clip", xclip_model="tiny-xclip",
              allow_download=False, sketch=base)
    assert out.result[0] == pytest.approx(1.0, abs=1e-6) and np.isnan(out.result[1])
