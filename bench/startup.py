"""Start-up cost of two revisions, paired A/B: `import sketchmotion` and what ComfyUI does at start-up
(import the pack, comfy_entrypoint, list the nodes, build every schema; as tests/test_nodes.py's
start-up test, against the CI stand-in of ComfyUI's API in tests/comfy_stub).

    python bench/startup.py --base REV [--head REV] [--repeat 15]

Each revision is exported with `git archive` into a temporary folder; every repeat runs base then head
in fresh interpreters (1 thread), so machine load hits both alike. Prints medians, minima and the median
of the per-repeat head/base ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def export(rev: str, into: Path) -> Path:
    """The revision's tree as <into>/sketchmotion (the folder name the package imports as)."""
    tree = into / "sketchmotion"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def import_us(parent: Path) -> int:
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import sketchmotion"], cwd=parent,
                         capture_output=True, text=True).stderr.strip().splitlines()[-1]
    return int(re.split(r"\|", err)[1])


def pack_load_s(tree: Path) -> float:
    code = textwrap.dedent(f"""
        import asyncio, importlib.util, sys, time
        sys.path.insert(0, {str(tree / "tests" / "comfy_stub")!r})
        import comfy_api.latest
        t = time.perf_counter()
        spec = importlib.util.spec_from_file_location("pack_under_test", {str(tree / "__init__.py")!r},
                                                      submodule_search_locations=[{str(tree)!r}])
        mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
        for n in asyncio.run(asyncio.run(mod.comfy_entrypoint()).get_node_list()):
            n.define_schema()
        print(time.perf_counter() - t)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the revision to compare against")
    ap.add_argument("--head", default="HEAD")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {k: export(rev, Path(tmp) / k) for k, rev in (("base", args.base), ("head", args.head))}
        runs = {(k, m): [] for k in trees for m in ("import", "pack")}
        for _ in range(args.repeat):
            for k, tree in trees.items():
                runs[(k, "import")].append(import_us(tree.parent) / 1e6)
                runs[(k, "pack")].append(pack_load_s(tree))
    for m, label in (("import", "import sketchmotion"), ("pack", "pack load + all node schemas")):
        for k, rev in (("base", args.base), ("head", args.head)):
            v = runs[(k, m)]
            print(f"{label:30s} {k} {rev:>10s}: median {statistics.median(v) * 1e3:7.2f} ms, min {min(v) * 1e3:7.2f} ms")
        ratio = statistics.median(h / b for b, h in zip(runs[("base", m)], runs[("head", m)]))
        print(f"{label:30s} head/base median ratio {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
