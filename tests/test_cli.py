"""The command line: real runs in a subprocess, from a folder outside the repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cat.svg"


def run(args, cwd):
    return subprocess.run([sys.executable, "-m", "sketchmotion", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_render_info_normalize_from_any_folder(tmp_path):
    r = run(["render", str(EXAMPLE), "--out", "out/cat.png", "--size", "300"], tmp_path)
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(tmp_path / "out" / "cat.png"))
    assert img.shape[1] == 300 and (img < 128).any() and (img > 250).mean() > 0.5  # ink on white

    r = run(["info", str(EXAMPLE), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["paths"] > 0 and info["segments"] >= info["paths"]

    r = run(["normalize", str(EXAMPLE), "--out", "n.svg", "--size", "128"], tmp_path)
    assert r.returncode == 0, r.stderr
    r = run(["info", "n.svg", "--json"], tmp_path)
    info = json.loads(r.stdout)
    assert info["canvas"] == [128, 128]
    lo, hi = np.array(info["bounds"])
    assert lo.min() >= 0 and hi.max() <= 128


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.svg").write_text("<svg><path d='M 0 0 L")
    for args in (["render", "missing.svg", "--out", "x.png"], ["info", "bad.svg"]):
        r = run(args, tmp_path)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:")
