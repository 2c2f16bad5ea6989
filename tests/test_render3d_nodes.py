"""Camera, Render 3D Sketch and Export 3D Sketch (nodes/render3d.py) through the V3 contract.

Real ComfyUI API with COMFYUI_PATH, else the stand-in in tests/comfy_stub. Images are
compared with core.render3d of the same cameras; saved files are read back with
pygltflib, plyfile, json and Pillow.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from node_testing import node, run

from sketchmotion.core import camera
from sketchmotion.core.errors import SketchError
from sketchmotion.core.render3d import camera_path, render_3d
from sketchmotion.core.scenes3d import get_scene

FRAMES = 4


@pytest.fixture(scope="module", autouse=True)
def _fresh_nodes_package():
    """Forget sketchmotion.nodes before and after (see tests/test_export_nodes.py)."""
    import sketchmotion

    sketchmotion.__dict__.pop("nodes", None)
    yield
    sketchmotion.__dict__.pop("nodes", None)


@pytest.fixture(scope="module")
def anim():
    return get_scene("curve_set").animation(FRAMES)


def cameras_node(comfy, mode="turntable", frames=FRAMES, size=64, **kw):
    args = dict(mode=mode, projection="perspective", fov=40.0, distance=4.0, elevation=20.0, azimuth=0.0,
                orbit_degrees=90.0, size=size, frames=frames)
    return run(node(comfy, "SketchMotionCamera"), **{**args, **kw}).result[0]


def render_node(comfy, animation, **kw):
    args = dict(animation=animation, size=0, frames=0, freeze_time=-1.0, width_scale=1.0, background="white",
                custom_color="#ffffff")
    return run(node(comfy, "SketchMotionRender3DSketch"), **{**args, **kw}).result


def export_node(comfy, animation, fmt, **kw):
    args = dict(animation=animation, format=fmt, fps=0.0, loop=True, pingpong=False, filename_prefix="sm3d/x")
    out = run(node(comfy, "SketchMotionExport3DSketch"), **{**args, **kw})
    assert out.result is None
    return out.ui if isinstance(out.ui, dict) else out.ui.as_dict()


def test_schemas_and_format_labels(comfy):
    from sketchmotion.core.export import FORMATS_3D
    from sketchmotion.nodes.render3d import EXPORT_3D_FORMATS

    def types(node_id):
        s = node(comfy, node_id).define_schema()
        return [i.get_io_type() for i in s.inputs], [o.get_io_type() for o in s.outputs], s.is_output_node

    assert types("SketchMotionCamera") == (["COMBO", "COMBO"] + ["FLOAT"] * 5 + ["INT", "INT", "COMBO"],
                                           ["SKETCHMOTION_CAMERAS"], False)
    assert types("SketchMotionRender3DSketch") == (
        ["SKETCH_ANIMATION", "SKETCHMOTION_CAMERAS", "BOOLEAN", "INT", "INT", "FLOAT", "FLOAT", "COMBO", "STRING",
         "COMBO"], ["IMAGE", "MASK"], False)
    assert types("SketchMotionExport3DSketch") == (
        ["SKETCH_ANIMATION", "COMBO", "FLOAT", "BOOLEAN", "BOOLEAN", "STRING"], [], True)
    assert node(comfy, "SketchMotionRender3DSketch").define_schema().inputs[1].optional
    assert set(EXPORT_3D_FORMATS.values()) == set(FORMATS_3D)


def test_camera_node_paths(comfy):
    turn = cameras_node(comfy)
    assert isinstance(turn, camera.Cameras) and len(turn) == FRAMES and turn.size == (64, 64)
    torch.testing.assert_close(turn.c2w, camera.turntable(FRAMES, radius=4.0, size=64).c2w)
    torch.testing.assert_close(turn.centers.norm(dim=-1), torch.full((FRAMES,), 4.0))
    fixed = cameras_node(comfy, "fixed", frames=3, azimuth=90.0)
    assert len(fixed) == 3 and bool((fixed.c2w == fixed.c2w[0]).all())
    el = np.radians(20)  # azimuth 90: on the +x side
    torch.testing.assert_close(fixed.centers[0], torch.tensor([4 * np.cos(el), 0.0, 4 * np.sin(el)], dtype=torch.float32),
                               atol=1e-5, rtol=0)
    arc = cameras_node(comfy, "orbit", frames=3, orbit_degrees=60.0)
    az = torch.rad2deg(torch.atan2(arc.centers[:, 0], -arc.centers[:, 1]))
    torch.testing.assert_close(az, torch.tensor([0.0, 30.0, 60.0]), atol=1e-4, rtol=0)
    ortho = cameras_node(comfy, projection="orthographic")
    assert ortho.projection == "orthographic"


def test_render_node_default_turntable_and_connected_cameras(comfy, anim):
    images, mask = render_node(comfy, anim, size=48)
    assert images.shape == (FRAMES, 48, 48, 3) and mask.shape == (FRAMES, 48, 48)
    ref = render_3d(anim, camera_path("turntable", FRAMES, size=48, anim=anim))
    torch.testing.assert_close(images, ref, atol=1e-5, rtol=0)
    assert float(mask.max()) > 0.9 and torch.allclose(1 - mask, images.mean(-1), atol=1e-3)  # black ink on white
    cams = cameras_node(comfy, "fixed", frames=1, size=40)
    images, _ = render_node(comfy, anim, cameras=cams, frames=3, freeze_time=0.5, background="black")
    assert images.shape == (3, 40, 40, 3) and bool((images[0] == images[2]).all())
    assert float(images[0, 0, 0].max()) == 0.0  # black background
    torch.testing.assert_close(images[0], render_3d(anim, cams, times=[0.5], background=(0, 0, 0))[0], atol=1e-5,
                               rtol=0)
    with pytest.raises(SketchError, match="4 cameras but 3 frames"):
        render_node(comfy, anim, cameras=cameras_node(comfy), frames=3)


def test_render_node_uses_the_animation_cameras(comfy, anim):
    own = camera.fixed(FRAMES, radius=3.0, elevation=60.0, size=(48, 32))
    images, _ = render_node(comfy, replace(anim, cameras=own), use_animation_cameras=True)
    assert images.shape == (FRAMES, 32, 48, 3)
    torch.testing.assert_close(images, render_3d(anim, own), atol=1e-5, rtol=0)
    with pytest.raises(SketchError, match="carries no cameras"):
        render_node(comfy, anim, use_animation_cameras=True)


def test_export_node_writes_files_other_tools_read(comfy, anim):
    pygltflib = pytest.importorskip("pygltflib")
    plyfile = pytest.importorskip("plyfile")
    ui = export_node(comfy, anim, "glTF binary (GLB)")
    saved = ui["files"][0]
    path = comfy.output / saved["subfolder"] / saved["filename"]
    assert saved["type"] == "output" and path.suffix == ".glb" and path.parent == comfy.output / "sm3d"
    g = pygltflib.GLTF2().load(str(path))
    assert len(g.meshes) == anim.sketch.num_paths and len(g.meshes[0].primitives[0].targets) == FRAMES - 1
    preview = ui["images"][0]
    assert preview["type"] == "temp" and ui["animated"] == (True,)
    with Image.open(comfy.temp / preview["subfolder"] / preview["filename"]) as im:
        assert im.format == "WEBP" and im.n_frames == FRAMES and im.size == (256, 256)
    again = export_node(comfy, anim, "glTF binary (GLB)")
    assert again["files"][0]["filename"] != saved["filename"]  # never overwrites

    ply = export_node(comfy, anim, "PLY polylines", fps=16.0)["files"][0]
    data = plyfile.PlyData.read(str(comfy.output / ply["subfolder"] / ply["filename"]))
    assert int(data["vertex"]["frame"].max()) == 2 * FRAMES - 1  # 16 fps: twice the frames, same duration
    js = export_node(comfy, anim, "stroke JSON", pingpong=True)["files"][0]
    doc = json.loads((comfy.output / js["subfolder"] / js["filename"]).read_text())
    assert doc["format"] == "sketchmotion.strokes3d" and doc["num_frames"] == 2 * FRAMES - 2
    html = export_node(comfy, anim, "HTML viewer")["files"][0]
    assert (comfy.output / html["subfolder"] / html["filename"]).read_text().startswith("<!DOCTYPE html>")


def test_export_node_refusals(comfy, anim):
    flat = get_scene("curve_set").animation(2)
    flat = replace(flat, frames=flat.frames[..., :2], sketch=flat.sketch.with_points(flat.sketch.points[:, :2]))
    with pytest.raises(SketchError, match="is 2D"):
        export_node(comfy, flat, "PLY polylines")
    with pytest.raises(SketchError, match="format"):
        export_node(comfy, anim, "OBJ")
    with pytest.raises(Exception, match="outside the output folder"):
        export_node(comfy, anim, "stroke JSON", filename_prefix="../escape/x")
