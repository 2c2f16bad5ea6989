"""3D exports (core/export: strokes3d, ply, gltf, html_viewer), each READ BACK by a tool nobody here wrote.

Readers: jsonschema (stroke JSON against the shipped schema), plyfile and trimesh (PLY),
pygltflib and trimesh (glTF / GLB), the Khronos glTF-Validator from npm when installed,
headless Chromium (the HTML player). Expected stroke samples come from a Bernstein
evaluation written here, independent of the exporters' sampling code.

HTML tolerance: the page draws with Chromium's canvas 2D and we compare with
core.render3d of the same camera; they differ only in anti-aliasing at stroke edges
(measured mean absolute error ~0.0013 over RGB in 0..1). The threshold 0.006 is also
required to be under half the error of a view 8 degrees off, so a wrong camera fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
import torch

from sketchmotion.core import camera
from sketchmotion.core.errors import SketchError
from sketchmotion.core.export import FORMATS, FORMATS_3D, export, format_for_path
from sketchmotion.core.export.gltf import gltf_document, save_gltf
from sketchmotion.core.export.html_viewer import save_html_viewer, viewer_cameras
from sketchmotion.core.export.ply import save_ply
from sketchmotion.core.export.strokes3d import load_schema, load_strokes_json, save_strokes_json, strokes_json
from sketchmotion.core.render3d import render_3d
from sketchmotion.core.scenes3d import get_scene
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths

try:  # tests/browser.py: tests/ is on sys.path under pytest's default import mode
    from browser import LOTTIE_WEB, chromium_page
except ImportError:  # pragma: no cover
    from .browser import LOTTIE_WEB, chromium_page

T = 4
SAMPLES = 6
HTML_TOL = 0.006
NODE_MODULES = LOTTIE_WEB[: LOTTIE_WEB.index("lottie-web")]  # the test tools' node_modules folder
VALIDATOR = os.path.join(NODE_MODULES, "gltf-validator")


@pytest.fixture(scope="module")
def anim():
    """The stick figure (one closed head + six open strokes), 4 frames at 8 fps, with a coloured stroke."""
    a = get_scene("stick_figure").animation(T)
    colors = a.sketch.stroke_color.clone()
    colors[6] = torch.tensor([0.9, 0.2, 0.1, 1.0])
    return replace(a, sketch=replace(a.sketch, stroke_color=colors))


def bernstein_samples(frames: np.ndarray, sketch, n: int) -> np.ndarray:
    """[F, M, 3] points at parameters i/n of every segment (+ the end of open paths), in path order."""
    out = []
    for p, (k, closed) in enumerate(zip(sketch.num_segments, sketch.closed)):
        a, b = sketch.path_offsets[p], sketch.path_offsets[p + 1]
        pts = frames[:, a:b]
        for j in range(k):
            P = [pts[:, 3 * j + i] for i in range(3)] + [pts[:, (3 * j + 3) % (b - a)]]
            for i in range(n):
                t = i / n
                out.append((1 - t) ** 3 * P[0] + 3 * (1 - t) ** 2 * t * P[1] + 3 * (1 - t) * t * t * P[2] + t**3 * P[3])
        if not closed:
            out.append(pts[:, -1])
    return np.stack(out, 1)


# ------------------------------------------------------------------ stroke JSON
def test_stroke_json_validates_and_round_trips(anim, tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (requirements-dev.txt) checks the schema")
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    cams = camera.orbit(T, radius=3.0, size=(64, 48))
    path = save_strokes_json(replace(anim, cameras=cams), tmp_path / "s.json")
    with open(path) as f:
        doc = json.load(f)
    jsonschema.validate(doc, schema)
    assert doc["num_frames"] == T and doc["fps"] == 8.0 and len(doc["strokes"]) == 7
    assert doc["strokes"][0]["closed"] and len(doc["strokes"][0]["points"][0]) == 12  # 4 segments x 3
    assert doc["strokes"][1]["num_segments"] == 1 and len(doc["strokes"][1]["points"][0]) == 4
    back = load_strokes_json(path)
    torch.testing.assert_close(back.frames, anim.frames, atol=1e-6, rtol=0)
    torch.testing.assert_close(back.sketch.stroke_color, anim.sketch.stroke_color)
    assert back.sketch.closed == anim.sketch.closed and back.fps == 8.0
    torch.testing.assert_close(back.cameras.c2w, cams.c2w, atol=1e-6, rtol=0)
    assert back.cameras.size == (64, 48)
    # the schema is not vacuous: a 2D point, a missing field, a colour out of range all fail
    for broken in ({**doc, "fps": 0}, {k: v for k, v in doc.items() if k != "strokes"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    bad = json.loads(json.dumps(doc))
    bad["strokes"][1]["points"][0][0] = [0.0, 1.0]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad["strokes"][1]["points"][0][0] = [0.0, 1.0, 2.0]
    bad["strokes"][1]["color"] = [2, 0, 0, 1]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_stroke_json_timing(anim):
    doc = strokes_json(anim, fps=16)  # same duration: 8 frames, loop-resampled
    assert doc["num_frames"] == 8 and doc["times"][1] == pytest.approx(1 / 16)
    np.testing.assert_allclose(doc["strokes"][2]["points"][2], anim.frames[1, 16:20].numpy(), atol=1e-6)
    pp = strokes_json(anim, pingpong=True)
    assert pp["num_frames"] == 2 * T - 2
    np.testing.assert_allclose(pp["strokes"][6]["points"][T], anim.frames[T - 2, -4:].numpy(), atol=1e-6)


# ------------------------------------------------------------------ PLY
def test_ply_read_back_by_plyfile_and_trimesh(anim, tmp_path):
    plyfile = pytest.importorskip("plyfile")
    trimesh = pytest.importorskip("trimesh")
    expected = bernstein_samples(anim.frames.numpy(), anim.sketch, SAMPLES)  # [T, M, 3]
    M = expected.shape[1]
    for text in (False, True):
        path = save_ply(anim, tmp_path / f"s{int(text)}.ply", samples=SAMPLES, text=text)
        ply = plyfile.PlyData.read(path)
        v = ply["vertex"]
        assert len(v) == T * M and ply.text == text
        xyz = np.stack([v["x"], v["y"], v["z"]], 1).reshape(T, M, 3)
        np.testing.assert_allclose(xyz, expected, atol=1e-5)
        assert v["frame"].tolist() == np.repeat(np.arange(T), M).tolist()
        e = ply["edge"]
        # per frame: samples - 1 edges per open stroke, one more for the closed head
        assert len(e) == T * (M - anim.sketch.num_paths + 1)
        assert (v["frame"][e["vertex1"]] == v["frame"][e["vertex2"]]).all()
        assert (v["stroke"][e["vertex1"]] == v["stroke"][e["vertex2"]]).all()
        seg = np.linalg.norm(xyz.reshape(-1, 3)[e["vertex1"]] - xyz.reshape(-1, 3)[e["vertex2"]], axis=1)
        assert seg.max() < 0.2  # neighbours on the curve, never a jump across strokes
        red = v["stroke"] == 6
        assert (v["red"][red] == 230).all() and (v["red"][~red] == 0).all()
        s = ply["stroke"]
        assert s["closed"].tolist() == [1, 0, 0, 0, 0, 0, 0] and s["num_segments"].tolist() == [4, 1, 1, 1, 1, 1, 1]
        cp = ply["control_point"]
        np.testing.assert_allclose(np.stack([cp["x"], cp["y"], cp["z"]], 1), anim.frames.reshape(-1, 3).numpy(),
                                   atol=1e-6)
        path3d = trimesh.load(path)  # an independent PLY parser: vertices + edges -> polylines
        np.testing.assert_allclose(path3d.vertices, xyz.reshape(-1, 3), atol=1e-6)
        assert len(path3d.entities) == T * anim.sketch.num_paths
    assert any(c.startswith("fps 8") for c in ply.comments)


# ------------------------------------------------------------------ glTF
def _accessor(gltf, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    blob = gltf.binary_blob()
    dtype = np.uint32 if acc.componentType == 5125 else np.float32
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    return np.frombuffer(blob, dtype, acc.count * width, start).reshape(acc.count, width)


def _load(pygltflib, path):
    g = pygltflib.GLTF2().load(str(path))
    if str(path).endswith(".gltf"):
        g.convert_buffers(pygltflib.BufferFormat.BINARYBLOB)
    return g


def test_gltf_lines_morph_targets_reproduce_every_frame(anim, tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    trimesh = pytest.importorskip("trimesh")
    expected = bernstein_samples(anim.frames.numpy(), anim.sketch, SAMPLES)
    for name in ("lines.gltf", "lines.glb"):
        path = save_gltf(anim, tmp_path / name, geometry="lines", samples=SAMPLES)
        g = _load(pygltflib, path)
        assert len(g.meshes) == anim.sketch.num_paths
        (anim_,) = g.animations
        (sampler,) = anim_.samplers
        times = _accessor(g, sampler.input)[:, 0]
        np.testing.assert_allclose(times, np.arange(T + 1) / 8.0)  # T frames + the loop back to frame 0
        weights = _accessor(g, sampler.output).reshape(T + 1, T - 1)
        assert sampler.interpolation == "LINEAR" and len(anim_.channels) == anim.sketch.num_paths
        got = []
        for mesh in g.meshes:
            (prim,) = mesh.primitives
            assert prim.mode == 1 and len(prim.targets) == T - 1
            base = _accessor(g, prim.attributes.POSITION)
            deltas = np.stack([_accessor(g, t["POSITION"]) for t in prim.targets])
            got.append(base[None] + np.einsum("kt,tvc->kvc", weights, deltas))  # what a player shows at each key
        got = np.concatenate(got, 1)
        np.testing.assert_allclose(got[:T], expected, atol=1e-5)
        np.testing.assert_allclose(got[T], expected[0], atol=1e-5)
        scene = trimesh.load(path)
        lo, hi = expected[0].min(0), expected[0].max(0)
        np.testing.assert_allclose(scene.bounds, [lo, hi], atol=1e-5)  # trimesh shows frame 0
        assert len(scene.geometry) == anim.sketch.num_paths


def test_gltf_tubes_have_the_stroke_radius(anim, tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    trimesh = pytest.importorskip("trimesh")
    path = save_gltf(anim, tmp_path / "tubes.glb", samples=SAMPLES, sides=5, tube_scale=0.01, loop=False)
    g = _load(pygltflib, path)
    expected = bernstein_samples(anim.frames.numpy(), anim.sketch, SAMPLES)
    start = 0
    for p, mesh in enumerate(g.meshes):
        (prim,) = mesh.primitives
        base = _accessor(g, prim.attributes.POSITION)
        m = base.shape[0] // 5
        centre = expected[:, start : start + m]
        start += m
        for f in (0, T - 1):
            verts = base if f == 0 else base + _accessor(g, prim.targets[f - 1]["POSITION"])
            r = np.linalg.norm(verts.reshape(m, 5, 3) - centre[f][:, None], axis=-1)
            np.testing.assert_allclose(r, 0.5 * 2.0 * 0.01, rtol=1e-3)  # width 2 px x 0.01 units / px / 2
        n = _accessor(g, prim.attributes.NORMAL)
        np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    times = _accessor(g, g.animations[0].samplers[0].input)[:, 0]
    np.testing.assert_allclose(times, np.arange(T) / 8.0)  # loop=False: no key back to frame 0
    mesh = trimesh.load(path, force="mesh")
    assert len(mesh.faces) == sum(2 * 5 * (len(_accessor(g, p.primitives[0].attributes.POSITION)) // 5 - 1 + c)
                                  for p, c in zip(g.meshes, anim.sketch.closed))
    lo, hi = expected[0].min(0) - 0.01, expected[0].max(0) + 0.01
    assert (mesh.bounds[0] >= lo - 1e-6).all() and (mesh.bounds[1] <= hi + 1e-6).all()


@pytest.mark.skipif(not shutil.which("node") or not os.path.isdir(VALIDATOR),
                    reason="the Khronos glTF-Validator (npm gltf-validator) is not installed next to lottie-web")
def test_khronos_validator_finds_no_issue(anim, tmp_path):
    script = ("const v = require(process.argv[1]); const data = new Uint8Array(require('fs').readFileSync(process.argv[2]));"
              "v.validateBytes(data).then(r => console.log(JSON.stringify(r.issues)));")
    for name, geometry in (("t.glb", "tubes"), ("l.gltf", "lines")):
        path = save_gltf(anim, tmp_path / name, geometry=geometry)
        out = subprocess.run(["node", "-e", script, VALIDATOR, path], capture_output=True, text=True, timeout=60)
        issues = json.loads(out.stdout)
        assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"][:5]


def test_gltf_document_options(anim):
    with pytest.raises(SketchError, match="geometry"):
        gltf_document(anim, geometry="ribbons")
    one = SketchAnimation(anim.sketch, anim.frames[:1])
    g = gltf_document(one)
    assert not g.animations and g.meshes[0].primitives[0].targets is None


# ------------------------------------------------------------------ dispatch
def test_export_dispatch_between_2d_and_3d(anim, tmp_path):
    assert set(FORMATS_3D) <= set(FORMATS)
    assert format_for_path("a.json", 3) == "strokes_json" and format_for_path("a.json", 2) == "lottie"
    assert format_for_path("a.json") == "lottie"  # unchanged for 2D callers
    for ext, name in ((".json", "strokes_json"), (".ply", "ply"), (".glb", "glb"), (".gltf", "gltf"), (".html", "html")):
        out = export(anim, tmp_path / f"x{ext}")
        assert os.path.getsize(out) > 100 and format_for_path(out, 3) == name
    with open(tmp_path / "x.glb", "rb") as f:
        assert f.read(4) == b"glTF"
    for fmt in ("svg", "gif", "lottie"):
        with pytest.raises(SketchError, match=r"3D sketch; use a 3D format: strokes_json \(.json\), ply"):
            export(anim, tmp_path / "y.bin", format=fmt)
    flat = SketchAnimation(sketch_from_paths([torch.tensor([[0.0, 0], [1, 1], [2, 2], [3, 3]])]), torch.zeros(2, 4, 2))
    with pytest.raises(SketchError, match="is 2D; use a 2D format"):
        export(flat, tmp_path / "z.glb")
    with pytest.raises(SketchError, match="no pixel size"):
        export(anim, tmp_path / "z.ply", size=64)
    with pytest.raises(SketchError, match="has no option 'width'"):
        export(anim, tmp_path / "z.gltf", width=3)


# ------------------------------------------------------------------ HTML viewer
@pytest.fixture(scope="module")
def page():
    with chromium_page() as pg:
        yield pg


S = 160


def _shot(page, t: float | None = None) -> np.ndarray:
    if t is not None:
        page.js("window.sketchViewer.pause(); window.sketchViewer.setTime(arguments[0]);", t)
    return page.screenshot()[:S, :S].astype(np.float32) / 255.0


def _ref(anim, azimuth=30.0, elevation=20.0, times=(0.0,), subject=None, distance=None) -> np.ndarray:
    """core.render3d's image of `subject` (default anim) through the viewer's camera for `anim`."""
    cam = viewer_cameras(anim, size=S, azimuth=azimuth, elevation=elevation, distance=distance)
    return render_3d(subject or anim, cam, times=list(times))[0].numpy()


def _mae(a, b) -> float:
    return float(np.abs(a - b).mean())


def test_html_viewer_plays_and_orbits_in_chromium(anim, page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path = save_html_viewer(anim, tmp_path / "viewer.html", size=S)
    text = open(path, encoding="utf-8").read()
    assert "http" not in text.replace("http-equiv", "")  # nothing fetched from a network
    page.open(path, S, S + 40)
    assert page.js("return window.sketchViewer.frames") == T
    img = _shot(page, 0.0)
    ref = _ref(anim)
    err = _mae(img, ref)
    assert (ref < 0.5).any() and (img < 0.5).sum() > 0.7 * (ref < 0.5).sum()  # dark strokes where we draw them
    assert err < HTML_TOL and err < 0.5 * _mae(img, _ref(anim, azimuth=38.0)), err
    # in between frames: linear blend, as render_3d at the same normalised time
    mid = _shot(page, 1.5 / 8.0)
    assert _mae(mid, _ref(anim, times=(1.5 / (T - 1),))) < HTML_TOL
    # the last interval blends back into frame 0 (loop)
    end = _shot(page, (T - 0.5) / 8.0)
    blend = SketchAnimation(anim.sketch, (0.5 * (anim.frames[-1] + anim.frames[0]))[None])
    assert _mae(end, _ref(anim, subject=blend)) < HTML_TOL
    # a mouse drag 60 px to the right orbits the camera 30 degrees (0.5 deg / px) and 10 px down tilts 5 degrees
    _shot(page, 0.0)
    canvas = page.driver.find_element(By.ID, "view")
    ActionChains(page.driver).move_to_element(canvas).click_and_hold().move_by_offset(60, 10).release().perform()
    view = page.js("return window.sketchViewer.getView()")
    assert view["azimuth"] == pytest.approx(0.0) and view["elevation"] == pytest.approx(25.0)
    dragged = _shot(page)
    assert _mae(dragged, img) > 3 * HTML_TOL  # the view changed (strokes cover ~5% of the image)
    err_dragged = _mae(dragged, _ref(anim, azimuth=0.0, elevation=25.0))
    assert err_dragged < HTML_TOL
    # touch: a pinch spreading two fingers from 40 to 80 px apart halves the distance (zooms in)
    d0 = view["distance"]
    cdp = page.driver.execute_cdp_cmd
    cdp("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})
    cdp("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 60, "y": 80, "id": 0},
                                                                          {"x": 100, "y": 80, "id": 1}]})
    cdp("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": 40, "y": 80, "id": 0},
                                                                         {"x": 120, "y": 80, "id": 1}]})
    cdp("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert page.js("return window.sketchViewer.getView()")["distance"] == pytest.approx(d0 / 2, rel=1e-6)
    zoomed = _shot(page)
    assert _mae(zoomed, _ref(anim, azimuth=0.0, elevation=25.0, distance=d0 / 2)) < HTML_TOL
    assert (zoomed < 0.5).sum() > 1.2 * (dragged < 0.5).sum()  # closer: longer strokes on screen
    # the mouse wheel zooms out again
    cdp("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": 80, "y": 80, "deltaX": 0, "deltaY": 200})
    assert page.js("return window.sketchViewer.getView()")["distance"] == pytest.approx(d0 / 2 * np.exp(0.2), rel=1e-6)
    assert not page.console_errors()
    print(f"HTML viewer vs render_3d mean abs error: first view {err:.4f}, after the drag {err_dragged:.4f}")


def test_html_viewer_escapes_and_refuses(anim, tmp_path):
    tricky = replace(anim, settings={"prompt": "</script><script>alert(1)</script>"})
    path = save_html_viewer(tricky, tmp_path / "t.html", title="<b>cat</b>")
    text = open(path, encoding="utf-8").read()
    assert "</script><script>alert" not in text and "<title>&lt;b&gt;cat&lt;/b&gt;" in text
    with pytest.raises(SketchError, match="elevation"):
        save_html_viewer(anim, tmp_path / "e.html", elevation=95)


def test_cli_export_writes_3d_formats(anim, tmp_path, capsys):
    pygltflib = pytest.importorskip("pygltflib")
    from sketchmotion.core.animation_io import save_animation
    from sketchmotion.core.cli import main

    src = save_animation(anim, tmp_path / "a.safetensors")
    assert main(["export", src, "--out", str(tmp_path / "out" / "x.glb"), "--fps", "4"]) == 0
    g = pygltflib.GLTF2().load(str(tmp_path / "out" / "x.glb"))
    assert len(g.meshes[0].primitives[0].targets) == T // 2 - 1  # 4 fps: half the frames, same duration
    assert main(["export", src, "--out", str(tmp_path / "x.json")]) == 0
    assert json.loads((tmp_path / "x.json").read_text())["format"] == "sketchmotion.strokes3d"
    capsys.readouterr()
    assert main(["export", src, "--out", str(tmp_path / "x.gif")]) == 2
    assert "use a 3D format" in capsys.readouterr().err
