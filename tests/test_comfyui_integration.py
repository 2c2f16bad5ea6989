"""A real ComfyUI, headless on CPU, with this pack loaded (skipped unless COMFYUI_PATH is set).

Set up the environment once with scripts/comfyui_env.sh, then:
    COMFYUI_PATH=/path/to/ComfyUI python -m pytest tests/test_comfyui_integration.py -q

The server runs with temporary input/output/temp/user folders and database, sees the
pack through --extra-model-paths-config (custom_nodes: a temp folder holding a symlink
to this repository), is driven over HTTP only, and is always killed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
PACK_NAME = "comfyui-sketchmotion"
COMFYUI_PATH = os.environ.get("COMFYUI_PATH", "")
START_TIMEOUT = 240  # s, server start on a slow 2-core machine
RUN_TIMEOUT = 300  # s, per workflow

pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not (COMFYUI_PATH and (Path(COMFYUI_PATH) / "main.py").is_file()),
                       reason="set COMFYUI_PATH to a ComfyUI checkout to run the real-server tests"),
]

# node id -> (required inputs: type, optional inputs: type, outputs, output node)
EXPECTED = {
    "SketchMotionLoadSketch": (
        {"svg": "COMBO"}, {"normalize": "INT", "stroke_width": "FLOAT", "stroke_color": "STRING"}, ["SKETCH"], False),
    "SketchMotionSketchFromSVGText": (
        {"svg_text": "STRING"}, {"normalize": "INT", "stroke_width": "FLOAT", "stroke_color": "STRING"}, ["SKETCH"], False),
    "SketchMotionRenderSketch": (
        {"sketch": "SKETCH,SKETCH_ANIMATION", "size": "INT", "width_scale": "FLOAT", "background": "COMBO",
         "custom_color": "STRING"}, {}, ["IMAGE", "MASK"], False),
    "SketchMotionSaveSketchSVG": ({"sketch": "SKETCH", "filename_prefix": "STRING"}, {}, [], True),
    "SketchMotionExportAnimation": (
        {"animation": "SKETCH_ANIMATION,SKETCH", "format": "COMBO", "fps": "FLOAT", "size": "INT", "loop": "BOOLEAN",
         "pingpong": "BOOLEAN", "filename_prefix": "STRING"}, {}, [], True),
    "SketchMotionAnimationFrames": (
        {"animation": "SKETCH_ANIMATION,SKETCH", "fps": "FLOAT", "size": "INT", "loop": "BOOLEAN", "pingpong": "BOOLEAN",
         "background": "COMBO", "custom_color": "STRING"}, {}, ["IMAGE", "MASK", "FLOAT"], False),
    "SketchMotionSaveAnimation": ({"animation": "SKETCH_ANIMATION,SKETCH", "filename_prefix": "STRING"}, {}, [], True),
    "SketchMotionLoadAnimation": ({"animation_file": "COMBO"}, {}, ["SKETCH_ANIMATION"], False),
    "SketchMotionSketchToAnimation": (
        {"sketch": "SKETCH", "motion": "COMBO", "num_frames": "INT", "fps": "FLOAT", "amplitude": "FLOAT", "seed": "INT"},
        {}, ["SKETCH_ANIMATION"], False),
}


def declared_node_ids() -> set[str]:
    """Every node id the pack's nodes/ declares (read from the source, independently of ComfyUI)."""
    ids = set()
    for f in (REPO / "nodes").glob("*.py"):
        ids |= set(re.findall(r'node_id="(SketchMotion\w+)"', f.read_text()))
    return ids
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


# ------------------------------------------------------------------ HTTP helpers
def http(server, path, payload=None, timeout=30):
    """GET (or POST json) -> (status, parsed json)."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(server.url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def fetch(server, path, timeout=30) -> tuple[int, bytes, str]:
    """GET -> (status, body, content type), also for 4xx answers."""
    try:
        with urllib.request.urlopen(server.url + path, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(server, n=60) -> str:
    return "\n".join(server.log.read_text(errors="replace").splitlines()[-n:])


MODEL_FOLDERS = ("checkpoints", "diffusion_models", "vae", "text_encoders", "clip", "diffusers")


@contextlib.contextmanager
def comfyui_server(base: Path, custom_nodes: Path, models: Path | None = None):
    """A headless ComfyUI on CPU: temp input/output/user folders under `base`, the packs in `custom_nodes`,
    and (optionally) `models` as an extra models folder (its diffusion_models/, vae/, diffusers/, ...)."""
    dirs = {k: base / k for k in ("input", "output", "temp", "user")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    config = base / "extra_model_paths.yaml"
    text = f"sketchmotion_test:\n  custom_nodes: {custom_nodes}\n"
    if models is not None:
        text += f"  base_path: {models}\n" + "".join(f"  {k}: {k}\n" for k in MODEL_FOLDERS)
    config.write_text(text)
    port = free_port()
    cmd = [
        sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--disable-auto-launch",
        "--input-directory", str(dirs["input"]), "--output-directory", str(dirs["output"]),
        "--temp-directory", str(dirs["temp"]), "--user-directory", str(dirs["user"]),
        "--extra-model-paths-config", str(config), "--database-url", f"sqlite:///{base / 'comfyui.db'}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    log = base / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=COMFYUI_PATH, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    srv = SimpleNamespace(url=f"http://127.0.0.1:{port}", log=log, proc=proc, custom_nodes=custom_nodes,
                          temp=dirs["temp"] / "temp", **{k: v for k, v in dirs.items() if k != "temp"})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"ComfyUI exited with {proc.returncode} during start-up:\n{log_tail(srv)}")
            try:
                if http(srv, "/system_stats", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"ComfyUI did not answer within {START_TIMEOUT} s:\n{log_tail(srv)}")
            time.sleep(1)
        yield srv
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfyui")
    custom_nodes = base / "custom_nodes"
    custom_nodes.mkdir()
    (custom_nodes / PACK_NAME).symlink_to(REPO, target_is_directory=True)
    with comfyui_server(base, custom_nodes) as srv:
        yield srv


@pytest.fixture(scope="module")
def object_info(server):
    status, info = http(server, "/object_info", timeout=60)
    assert status == 200
    return info


# ------------------------------------------------------------------ UI -> API workflow conversion
def is_widget(spec) -> bool:
    kind, opts = spec[0], (spec[1] if len(spec) > 1 else {})
    return (isinstance(kind, list) or kind in WIDGET_TYPES) and not opts.get("forceInput")


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    """Convert a UI-format workflow (nodes + links + widgets_values) to the /prompt format.

    widgets_values follow the frontend's widget order: widget inputs in input_order
    (required, then optional), each INT/COMBO with control_after_generate followed by that
    control's value; extra widgets the frontend adds (upload buttons) come last and are ignored.
    """
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for n in workflow["nodes"]:
        if n["type"] in FRONTEND_ONLY:
            continue
        assert n.get("mode", 0) == 0, f"node {n['id']} ({n['type']}) is muted or bypassed; shipped workflows run every node"
        assert n["type"] in object_info, f"node type {n['type']} is not registered in ComfyUI"
        info = object_info[n["type"]]
        linked = {i["name"]: links[i["link"]] for i in n.get("inputs", []) if i.get("link") is not None}
        values = n.get("widgets_values") or []
        by_name = values if isinstance(values, dict) else None
        queue = [] if by_name is not None else list(values)
        inputs = {}
        for section in ("required", "optional"):
            for name in info.get("input_order", {}).get(section, []):
                spec = info["input"][section][name]
                if is_widget(spec):
                    if by_name is not None:
                        value = by_name.get(name)
                    else:
                        assert queue, f"node {n['id']} ({n['type']}): widgets_values has no value for {name!r}"
                        value = queue.pop(0)
                        # the frontend adds a control widget when asked, and to every INT named seed / noise_seed
                        opts = spec[1] if len(spec) > 1 else {}
                        if opts.get("control_after_generate", spec[0] == "INT" and name in ("seed", "noise_seed")):
                            queue.pop(0)
                    if name not in linked and value is not None:
                        inputs[name] = value
                if name in linked:
                    link = linked[name]
                    inputs[name] = [str(link[1]), link[2]]
        prompt[str(n["id"])] = {"class_type": n["type"], "inputs": inputs}
    return prompt


def queue_and_wait(server, prompt: dict) -> dict:
    status, answer = http(server, "/prompt", {"prompt": prompt, "client_id": str(uuid.uuid4())})
    assert status == 200, f"/prompt refused the workflow: {json.dumps(answer, indent=1)[:3000]}"
    prompt_id = answer["prompt_id"]
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        _, history = http(server, f"/history/{prompt_id}")
        entry = (history or {}).get(prompt_id)
        if entry and entry.get("status", {}).get("completed") is not None and (
                entry["status"]["completed"] or entry["status"].get("status_str") == "error"):
            return entry
        if server.proc.poll() is not None:
            pytest.fail(f"ComfyUI died while running the workflow:\n{log_tail(server)}")
        time.sleep(0.5)
    pytest.fail(f"workflow did not finish within {RUN_TIMEOUT} s:\n{log_tail(server)}")


def missing_models(ui: dict) -> list[str]:
    """Files a workflow declares in extra.sketchmotion_requires_models ({folder: [names]}) that ComfyUI lacks."""
    required = ui.get("extra", {}).get("sketchmotion_requires_models", {})
    return [f"{folder}/{name}" for folder, names in required.items() for name in names
            if not (Path(COMFYUI_PATH) / "models" / folder / name).exists()]


def saved_file(server, item: dict) -> Path:
    root = {"output": server.output, "temp": server.temp, "input": server.input}[item["type"]]
    return root / item.get("subfolder", "") / item["filename"]


# ------------------------------------------------------------------ tests
def test_pack_loads_quickly_without_errors(server):
    text = server.log.read_text(errors="replace")
    line = re.search(rf"^\s*([\d.]+) seconds( \(IMPORT FAILED\))?: .*{re.escape(PACK_NAME)}\s*$", text, re.M)
    assert line, f"ComfyUI did not report loading {PACK_NAME}:\n{log_tail(server)}"
    assert not line.group(2), f"ComfyUI failed to import the pack:\n{log_tail(server, 120)}"
    assert float(line.group(1)) < 1.0, "loading the pack must stay cheap (heavy imports belong inside functions)"
    print(f"\nComfyUI reported the pack's load time: {line.group(1)} s")


def test_object_info_lists_every_node_with_its_types(object_info):
    ours = {k for k, v in object_info.items() if v.get("python_module") == f"custom_nodes.{PACK_NAME}"}
    assert ours == declared_node_ids()
    for node_id, (required, optional, outputs, output_node) in EXPECTED.items():
        assert node_id in object_info, f"{node_id} missing from /object_info"
        info = object_info[node_id]
        assert info["category"].startswith("SketchMotion/") and info["display_name"]
        assert info["python_module"] == f"custom_nodes.{PACK_NAME}"
        assert {k: v[0] for k, v in info["input"]["required"].items()} == required
        assert {k: v[0] for k, v in info["input"].get("optional", {}).items()} == optional
        assert info["output"] == outputs
        assert info["output_node"] is output_node
    svg = object_info["SketchMotionLoadSketch"]["input"]["required"]["svg"][1]
    assert svg.get("image_upload") is True
    assert "sketches/stick_figure.svg" in svg["options"], "bundled sketches must be offered by Load Sketch"


def test_pack_workflows_are_served_as_templates(server):
    status, templates = http(server, "/workflow_templates")
    assert status == 200
    shipped = sorted(p.stem for p in (REPO / "workflows").glob("*.json"))
    assert shipped and sorted(templates.get(PACK_NAME, [])) == shipped
    # what the template browser fetches when a user opens one, and its thumbnail
    for name in shipped:
        status, body, _ = fetch(server, f"/api/workflow_templates/{PACK_NAME}/{name}.json")
        assert status == 200, f"opening template {name} fails with {status} (another template folder shadows workflows/?)"
        assert json.loads(body) == json.loads((REPO / "workflows" / f"{name}.json").read_text())
        status, body, kind = fetch(server, f"/api/workflow_templates/{PACK_NAME}/{name}.jpg")
        assert status == 200 and body[:3] == b"\xff\xd8\xff", f"template {name} has no .jpg thumbnail ({status}, {kind})"


def test_node_docs_are_served_to_the_docs_panel(server, object_info):
    """The frontend's docs panel fetches /extensions/<pack>/docs/<node id>.md and resolves pictures next to it."""
    ours = sorted(k for k, v in object_info.items() if v.get("python_module") == f"custom_nodes.{PACK_NAME}")
    for node_id in ours:
        status, body, _ = fetch(server, f"/extensions/{PACK_NAME}/docs/{node_id}.md")
        assert status == 200, f"no docs page for {node_id}"
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", body.decode()):
            status, _, kind = fetch(server, f"/extensions/{PACK_NAME}/docs/{target}")
            assert status == 200 and kind.startswith("image/"), f"{node_id}: picture {target} -> {status} {kind}"


def test_bundled_sketches_preview_like_input_files(server, object_info):
    """Load Sketch's preview asks /view?type=input for the combo value split into subfolder + filename."""
    for name in ("stick_figure.svg", "cat.svg"):
        status, body, kind = fetch(server, f"/api/view?type=input&subfolder=sketches&filename={name}")
        assert status == 200 and kind.startswith("image/svg") and body == (REPO / "sketches" / name).read_bytes()


@pytest.mark.parametrize("workflow", sorted((REPO / "workflows").glob("*.json")), ids=lambda p: p.stem)
def test_workflow_runs(server, object_info, workflow):
    ui = json.loads(workflow.read_text())
    missing = missing_models(ui)
    if missing:
        pytest.skip(f"{workflow.name} needs model files that are not in {COMFYUI_PATH}/models: {', '.join(missing)}")
    prompt = ui_to_api(ui, object_info)
    entry = queue_and_wait(server, prompt)
    status = entry["status"]
    assert status["status_str"] == "success", f"{workflow.name} failed: {json.dumps(status['messages'])[:3000]}"
    output_nodes = {k for k, v in prompt.items() if object_info[v["class_type"]]["output_node"]}
    assert output_nodes and output_nodes <= set(entry["outputs"]), f"no output from {output_nodes - set(entry['outputs'])}"
    for node_id in output_nodes:
        files = [i for key in ("images", "svg") for i in entry["outputs"][node_id].get(key, [])]
        assert files, f"output node {node_id} reported no files"
        for item in files:
            path = saved_file(server, item)
            assert path.is_file() and path.stat().st_size > 0, f"{path} was reported but not written"


def test_render_sketch_outputs_are_right(server, object_info):
    from PIL import Image

    ui = json.loads((REPO / "workflows" / "render_sketch.json").read_text())
    prompt = ui_to_api(ui, object_info)
    prompt["4"]["inputs"]["filename_prefix"] = "integration/check"
    entry = queue_and_wait(server, prompt)
    assert entry["status"]["status_str"] == "success"
    preview = saved_file(server, entry["outputs"]["3"]["images"][0])
    with Image.open(preview) as im:
        assert max(im.size) == prompt["2"]["inputs"]["size"]
        pixels = im.convert("L").getextrema()
        assert pixels[0] < 64 and pixels[1] > 250  # dark strokes on a white background
    svg = saved_file(server, entry["outputs"]["4"]["svg"][0])
    assert svg.parent == server.output / "integration" and svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    resvg = pytest.importorskip("resvg_py")
    assert len(resvg.svg_to_bytes(svg_path=str(svg))) > 100  # another SVG reader accepts the file


def test_missing_svg_is_refused_with_a_clear_message(server):
    prompt = {
        "1": {"class_type": "SketchMotionLoadSketch", "inputs": {"svg": "no_such_sketch.svg"}},
        "2": {"class_type": "SketchMotionSaveSketchSVG", "inputs": {"sketch": ["1", 0], "filename_prefix": "x"}},
    }
    status, answer = http(server, "/prompt", {"prompt": prompt})
    assert status == 400
    details = json.dumps(answer["node_errors"]["1"])
    assert "no_such_sketch.svg" in details and "input folder" in details


FRONTEND_TO_PROMPT = """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    await window.app.loadGraphData(arguments[0]);
    const p = await window.app.graphToPrompt();
    done({output: p.output});
  } catch (e) { done({error: String(e) + "\\n" + e.stack}); }
})();
"""


@pytest.fixture(scope="module")
def frontend(server):
    """ComfyUI's own frontend in headless Chromium, started once (first-run dialogs and the minimap off)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from browser import chromium_page

    for key, value in {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False}.items():
        assert http(server, f"/settings/{key}", value)[0] == 200
    with chromium_page() as page:
        page.driver.set_script_timeout(90)
        page.open(server.url + "/", 2400, 1350)  # wide enough to show a whole workflow above the low-detail zoom
        deadline = time.monotonic() + 120
        ready = "return Object.keys(window.LiteGraph?.registered_node_types || {}).filter(k => k.startsWith('SketchMotion'))"
        while not (registered := page.js(ready)) or not page.js("return !!(window.app && window.app.graph)"):
            assert time.monotonic() < deadline, f"the frontend did not start: {page.console_errors()[:5]}"
            time.sleep(1)
        time.sleep(2)  # extensions finish loading
        page.registered = registered
        page.startup_errors = page.console_errors()
        yield page


def test_frontend_converts_workflows_like_the_test_converter(frontend, object_info):
    """ComfyUI's own frontend (headless Chromium) loads each workflow and builds the same prompt."""
    assert sorted(frontend.registered) == sorted(declared_node_ids())
    for workflow in sorted((REPO / "workflows").glob("*.json")):
        ui = json.loads(workflow.read_text())
        result = frontend.js_async(FRONTEND_TO_PROMPT, ui)
        assert "error" not in result, f"{workflow.name}: {result['error']}"
        theirs = {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in result["output"].items()}
        assert theirs == ui_to_api(ui, object_info), workflow.name


LOAD_GRAPH = """
const done = arguments[arguments.length - 1];
window.app.loadGraphData(arguments[0]).then(() => setTimeout(() => done(null), 500), e => done(String(e)));
"""
PREVIEW_ROOM = 220  # px: the frontend's image preview needs this much below the widgets, or the node grows
ANIMATED_PREVIEWS = {"SketchMotionExportAnimation", "SketchMotionExport3DSketch", "SaveVideo", "SaveAnimatedWEBP"}


def progress_preview_nodes() -> set[str]:
    """Our nodes that show live previews while running (they report progress through comfy_callbacks)."""
    import ast

    ids = set()
    for f in (REPO / "nodes").glob("*.py"):
        source = f.read_text()
        body = ast.parse(source).body
        markers = ["comfy_callbacks("] + [f"{d.name}(" for d in body if isinstance(d, ast.FunctionDef)
                                          and "comfy_callbacks(" in (ast.get_source_segment(source, d) or "")]
        for cls in body:
            text = ast.get_source_segment(source, cls) or ""
            if isinstance(cls, ast.ClassDef) and any(m in text for m in markers):
                ids |= set(re.findall(r'node_id="(SketchMotion\w+)"', text))
    return ids


def screenshot_dir(tmp_path_factory) -> Path:
    folder = os.environ.get("SKETCHMOTION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_workflows_in_the_frontend_are_tidy_and_previews_stay_visible(server, frontend, object_info, tmp_path_factory):
    """Each workflow in the real frontend: no missing nodes, no console errors, no overlapping nodes, no link
    behind a node, room for every preview; the model-free ones are run from the frontend and checked again
    with their previews showing. Screenshots go to $SKETCHMOTION_SCREENSHOTS (or a temp folder)."""
    shots = screenshot_dir(tmp_path_factory)
    layout = (Path(__file__).resolve().parent / "frontend_layout.js").read_text()
    ours = [e for e in frontend.startup_errors if "sketchmotion" in e.lower()]
    assert not ours, f"the pack's frontend files fail: {ours}"
    previews = progress_preview_nodes() | {k for k, v in object_info.items() if v.get("output_node")}
    problems = []
    for workflow in sorted((REPO / "workflows").glob("*.json")):
        ui = json.loads(workflow.read_text())
        frontend.console_errors()  # clear
        error = frontend.js_async(LOAD_GRAPH, ui)
        assert error is None, f"{workflow.name}: loadGraphData failed: {error}"
        geo = frontend.js(layout, {"fit": True})
        time.sleep(0.3)
        (shots / f"{workflow.stem}.png").write_bytes(frontend.driver.get_screenshot_as_png())
        name = workflow.name
        problems += [f"{name}: missing node type {n['type']}" for n in geo["nodes"] if n["missing"]]
        problems += [f"{name}: console error {e}" for e in frontend.console_errors()]
        problems += [f"{name}: {a} overlaps {b}" for a, b in geo["overlaps"]]
        problems += [f"{name}: link {a} -> {b} runs behind {c}" for a, b, c in geo["hidden_links"]]
        for n in geo["nodes"]:
            if n["type"] in previews:
                need = max(PREVIEW_ROOM, 0.9 * (n["rect"][2] - 20)) if n["type"] in ANIMATED_PREVIEWS else PREVIEW_ROOM
                if n["room"] < need:
                    problems.append(f"{name}: {n['title']} leaves {n['room']:.0f} px for its preview, needs {need:.0f}")
        if missing_models(ui) or any(n["type"] in progress_preview_nodes() for n in ui["nodes"]):
            continue  # needs models, or trains for minutes on a CPU (its preview room is checked above)
        # run it from the frontend and look again with the previews showing
        frontend.js("window.app.queuePrompt(0, 1)")
        deadline = time.monotonic() + RUN_TIMEOUT
        time.sleep(1)
        while (q := http(server, "/queue")[1])["queue_running"] or q["queue_pending"]:
            assert time.monotonic() < deadline, f"{name} did not finish in the frontend within {RUN_TIMEOUT} s"
            time.sleep(1)
        time.sleep(2)  # previews arrive and are drawn
        geo = frontend.js(layout, {"fit": True})
        time.sleep(0.3)
        (shots / f"{workflow.stem}_ran.png").write_bytes(frontend.driver.get_screenshot_as_png())
        problems += [f"{name} (after running): console error {e}" for e in frontend.console_errors()]
        problems += [f"{name} (after running): {a} overlaps {b}" for a, b in geo["overlaps"]]
    print(f"\nscreenshots: {shots}")
    assert not problems, "\n".join(problems)


def test_uploaded_svg_is_listed_and_loads(server):
    """The server side of the node's upload button / drag-and-drop: POST /upload/image."""
    svg = (REPO / "sketches" / "stick_figure.svg").read_bytes()
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"uploaded.svg\"\r\n"
            "Content-Type: image/svg+xml\r\n\r\n").encode() + svg + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(server.url + "/upload/image", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert json.loads(r.read())["name"] == "uploaded.svg"
    _, info = http(server, "/object_info/SketchMotionLoadSketch")
    assert "uploaded.svg" in info["SketchMotionLoadSketch"]["input"]["required"]["svg"][1]["options"]
    prompt = {
        "1": {"class_type": "SketchMotionLoadSketch", "inputs": {"svg": "uploaded.svg", "normalize": 128}},
        "2": {"class_type": "SketchMotionSaveSketchSVG", "inputs": {"sketch": ["1", 0], "filename_prefix": "up/x"}},
    }
    entry = queue_and_wait(server, prompt)
    assert entry["status"]["status_str"] == "success"
    saved = saved_file(server, entry["outputs"]["2"]["svg"][0])
    assert 'width="128"' in saved.read_text()
