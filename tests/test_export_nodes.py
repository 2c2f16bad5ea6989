"""Export Animation, Animation to Frames, Save / Load Animation File, Sketch to Animation (nodes/export.py,
nodes/animation_file.py, nodes/procedural.py).

Through the same V3 contract as tests/test_nodes.py (real ComfyUI API with COMFYUI_PATH, else the stand-in).
Every written file is read back with a tool nobody here wrote (Pillow, PyAV, safetensors, zipfile, json).
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from node_testing import DIAGONAL_SVG, LINE_SVG, node, run, write

FRAMES = 6


@pytest.fixture(scope="module", autouse=True)
def _fresh_nodes_package():
    """Runs around the imported `comfy` fixture: its teardown drops sketchmotion.nodes from sys.modules but the
    package keeps the attribute, so the next `from sketchmotion import nodes` would get a module bound to the
    previous (deleted) folder_paths. Forget it before and after this module."""
    import sketchmotion

    sketchmotion.__dict__.pop("nodes", None)
    yield
    sketchmotion.__dict__.pop("nodes", None)


def ui_dict(out):
    return out.ui if isinstance(out.ui, dict) else out.ui.as_dict()


def total_ms(im) -> int:
    """Playing time of an animated image, summed over its frames."""
    total = 0
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        im.load()  # WebP reports a frame's duration once it is decoded
        total += im.info["duration"]
    return total


def path_of(comfy, item):
    return getattr(comfy, item["type"]) / item["subfolder"] / item["filename"]


@pytest.fixture
def anim(comfy):
    sketch = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=LINE_SVG).result[0]
    return run(node(comfy, "SketchMotionSketchToAnimation"), sketch=sketch, motion="sway", num_frames=FRAMES,
               fps=6.0, amplitude=20.0, seed=0).result[0]


def export(comfy, animation, fmt, prefix="sm_export/a", fps=0.0, size=0, loop=True, pingpong=False):
    out = run(node(comfy, "SketchMotionExportAnimation"), animation=animation, format=fmt, fps=fps, size=size,
              loop=loop, pingpong=pingpong, filename_prefix=prefix)
    assert out.result is None
    return ui_dict(out)


# ------------------------------------------------------------------ schemas
def test_schemas_and_socket_types(comfy):
    def types(node_id):
        s = node(comfy, node_id).define_schema()
        return [i.get_io_type() for i in s.inputs], [o.get_io_type() for o in s.outputs], s.is_output_node

    anim_in = "SKETCH_ANIMATION,SKETCH"
    timing = ["FLOAT", "INT", "BOOLEAN", "BOOLEAN"]
    assert types("SketchMotionExportAnimation") == ([anim_in, "COMBO", *timing, "STRING"], [], True)
    assert types("SketchMotionAnimationFrames") == ([anim_in, *timing, "COMBO", "STRING"], ["IMAGE", "MASK", "FLOAT"], False)
    assert types("SketchMotionSaveAnimation") == ([anim_in, "STRING"], [], True)
    assert types("SketchMotionLoadAnimation") == (["COMBO"], ["SKETCH_ANIMATION"], False)
    assert types("SketchMotionSketchToAnimation") == (
        ["SKETCH", "COMBO", "INT", "FLOAT", "FLOAT", "INT"], ["SKETCH_ANIMATION"], False)


def test_every_format_label_maps_to_a_core_export_format():
    from sketchmotion.core.export import FORMATS, FORMATS_3D
    from sketchmotion.nodes.export import EXPORT_FORMATS

    assert set(EXPORT_FORMATS.values()) == set(FORMATS) - {"frames_folder"} - set(FORMATS_3D)


# ------------------------------------------------------------------ Sketch to Animation
def test_sketch_to_animation_is_the_core_procedural_motion(comfy, anim):
    from sketchmotion.core.procedural import procedural_motion

    assert anim.num_frames == FRAMES and anim.fps == 6.0
    assert torch.equal(anim.frames, procedural_motion(anim.sketch, FRAMES, "sway", 20.0, 0, fps=6.0).frames)
    centre = anim.sketch.points.mean(0)
    ends = anim.frames[:, 3] - centre  # the line's end turns about the centre: frame 1 of 6 is at 20 sin(60 deg)
    angle = torch.rad2deg(torch.atan2(ends[:, 1], ends[:, 0]))
    assert angle.tolist() == pytest.approx([20 * np.sin(2 * np.pi * i / FRAMES) for i in range(FRAMES)], abs=1e-3)


# ------------------------------------------------------------------ Export Animation
def test_export_animated_svg_saves_in_output_and_previews(comfy, anim):
    from sketchmotion.core import svg as core_svg

    ui = export(comfy, anim, "animated SVG", prefix="sm_export/line")
    saved = ui["files"][0]
    path = path_of(comfy, saved)
    assert saved["type"] == "output" and path.parent == comfy.output / "sm_export" and path.suffix == ".svg"
    text = path.read_text()
    assert "<animate" in text and 'repeatCount="indefinite"' in text
    first = core_svg.loads(text)  # the static attributes are frame 0
    assert torch.allclose(first.points, anim.frames[0], atol=0.02)
    assert ui["text"] == [f"sm_export/{path.name}"]

    preview = ui["images"][0]
    assert preview["type"] == "temp" and ui["animated"] == (True,)
    with Image.open(path_of(comfy, preview)) as im:
        assert im.format == "WEBP" and im.size == (100, 50)
        assert total_ms(im) == pytest.approx(FRAMES * 1000 / 6, abs=FRAMES)  # Pillow merges identical frames
    again = export(comfy, anim, "animated SVG", prefix="sm_export/line")
    assert again["files"][0]["filename"] != saved["filename"]  # never overwrites


def test_export_gif_is_its_own_preview_with_fps_size_and_pingpong(comfy, anim):
    ui = export(comfy, anim, "GIF", fps=12.0, size=200, pingpong=True)
    assert ui["animated"] == (True,) and "files" not in ui
    item = ui["images"][0]
    assert item["type"] == "output" and item["filename"].endswith(".gif")
    with Image.open(path_of(comfy, item)) as im:
        # 6 frames at 6 fps re-sampled to 12 fps = 12 frames, ping-pong 12 + 10
        assert im.size == (200, 100) and im.info["duration"] in (80, 90) and total_ms(im) in (22 * 80, 22 * 90)
        assert im.info.get("loop") == 0


def test_export_mp4_plays_in_pyav(comfy, anim):
    av = pytest.importorskip("av")
    ui = export(comfy, anim, "MP4 (H.264)", size=128)
    item = ui["images"][0]
    assert item["type"] == "output" and item["filename"].endswith(".mp4")
    with av.open(str(path_of(comfy, item))) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264" and float(stream.average_rate) == pytest.approx(6.0)
    assert len(frames) == FRAMES and frames[0].shape == (64, 128, 3)
    assert frames[0][32, 64].max() < 60 and frames[0][4, 4].min() > 200  # black stroke through the middle, white corner


def test_export_lottie_and_frames_zip(comfy, anim):
    lot = path_of(comfy, export(comfy, anim, "Lottie JSON")["files"][0])
    data = json.loads(lot.read_text())
    assert data["fr"] == 6.0 and data["op"] - data["ip"] == FRAMES and (data["w"], data["h"]) == (100, 50)

    z = path_of(comfy, export(comfy, anim, "PNG+SVG frames (zip)", size=50)["files"][0])
    with zipfile.ZipFile(z) as archive:
        names = sorted(archive.namelist())
        assert len(names) == 2 * FRAMES and names[0] == "frame_00000.png"
        with archive.open("frame_00003.png") as f, Image.open(f) as im:
            assert im.size == (50, 25)


def test_export_static_sketch_and_refusals(comfy):
    from sketchmotion.core.errors import SketchError

    sketch = run(node(comfy, "SketchMotionSketchFromSVGText"), svg_text=DIAGONAL_SVG).result[0]
    item = export(comfy, sketch, "animated WebP")["images"][0]
    with Image.open(path_of(comfy, item)) as im:
        assert im.size == (64, 64) and getattr(im, "n_frames", 1) == 1
    with pytest.raises(Exception, match="outside the output folder"):
        export(comfy, sketch, "GIF", prefix="../escape/x")
    with pytest.raises(SketchError, match="format"):
        export(comfy, sketch, "BMP")


# ------------------------------------------------------------------ Animation to Frames
def test_frames_match_render_sketch_and_feed_video_nodes(comfy, anim):
    images, mask, fps = run(node(comfy, "SketchMotionAnimationFrames"), animation=anim, fps=0.0, size=0, loop=True,
                            pingpong=False, background="white").result
    assert images.shape == (FRAMES, 50, 100, 3) and images.dtype == torch.float32 and images.device.type == "cpu"
    assert mask.shape == (FRAMES, 50, 100) and isinstance(fps, float) and fps == 6.0
    rendered, rmask = run(node(comfy, "SketchMotionRenderSketch"), sketch=anim, size=0, width_scale=1.0,
                          background="white", custom_color="#ffffff").result
    assert torch.allclose(images, rendered, atol=1e-5) and torch.allclose(mask, rmask, atol=1e-5)

    fast, _, fast_fps = run(node(comfy, "SketchMotionAnimationFrames"), animation=anim, fps=12.0, size=64, loop=True,
                            pingpong=True, background="transparent").result
    assert fast.shape == (22, 32, 64, 3) and fast_fps == 12.0
    assert float(fast.max()) < 1e-3  # straight colour of black ink; the mask carries the coverage


def test_frames_work_in_comfyui_video_type(comfy, anim):
    """With a real ComfyUI: the IMAGE + fps outputs make a VIDEO that ComfyUI's own writer saves."""
    try:
        from comfy_api.latest import InputImpl, Types
    except ImportError:
        pytest.skip("needs a real ComfyUI (COMFYUI_PATH) for its VideoFromComponents")
    av = pytest.importorskip("av")
    images, _, fps = run(node(comfy, "SketchMotionAnimationFrames"), animation=anim, fps=0.0, size=64, loop=True,
                         pingpong=False, background="white").result
    video = InputImpl.VideoFromComponents(Types.VideoComponents(images=images, audio=None, frame_rate=fps))
    out = comfy.output / "core_video.mp4"
    video.save_to(str(out), format="mp4", codec="h264")
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == FRAMES and float(c.streams.video[0].average_rate) == fps


# ------------------------------------------------------------------ Save / Load Animation File
def test_save_then_load_animation_file(comfy, anim):
    from safetensors import safe_open

    out = ui_dict(run(node(comfy, "SketchMotionSaveAnimation"), animation=anim, filename_prefix="sm_anim/cat"))
    item = out["files"][0]
    path = path_of(comfy, item)
    assert item["type"] == "output" and path.name == "cat_00001_.safetensors"
    with safe_open(str(path), "pt") as f:
        assert f.metadata()["format"] == "sketchmotion.animation" and f.get_tensor("frames").shape == (FRAMES, 4, 2)

    name = out["text"][0]
    assert name == "sm_anim/cat_00001_.safetensors [output]"
    load = node(comfy, "SketchMotionLoadAnimation")
    assert name in load.define_schema().inputs[0].options
    assert load.validate_inputs(animation_file=name) is True
    back = run(load, animation_file=name).result[0]
    assert torch.equal(back.frames, anim.frames) and back.fps == anim.fps and back.settings == anim.settings


def test_load_animation_lists_input_files_and_refuses_others(comfy, anim):
    from sketchmotion.core.animation_io import save_animation
    from sketchmotion.core.errors import SketchError

    (comfy.input / "animations" / "walks").mkdir(parents=True)
    save_animation(anim, comfy.input / "mine.safetensors")
    save_animation(anim, comfy.input / "animations" / "walks" / "w.safetensors")
    write(comfy.input / "notes.txt", "not listed")
    load = node(comfy, "SketchMotionLoadAnimation")
    options = load.define_schema().inputs[0].options
    assert options[:2] == ["mine.safetensors", "animations/walks/w.safetensors"]
    assert all(o.endswith(" [output]") for o in options[2:])
    assert run(load, animation_file="animations/walks/w.safetensors").result[0].num_frames == FRAMES

    first = load.fingerprint_inputs(animation_file="mine.safetensors")
    save_animation(anim.resample(3), comfy.input / "mine.safetensors")
    assert load.fingerprint_inputs(animation_file="mine.safetensors") != first

    save_animation(anim, comfy.input.parent / "secret.safetensors")
    for bad in ("../secret.safetensors", "nowhere.safetensors", "notes.txt"):
        msg = load.validate_inputs(animation_file=bad)
        assert isinstance(msg, str) and "input folder" in msg
    with pytest.raises(SketchError, match="nowhere"):
        run(load, animation_file="nowhere.safetensors")
