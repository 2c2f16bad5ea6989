"""Fixtures shared by several test files (helpers for node tests: node_testing.py (not node_helpers: that name is a ComfyUI module))."""

import sys
from types import SimpleNamespace

import pytest
import torch
from node_testing import API_ROOT, REAL


@pytest.fixture
def one_thread():
    """Tiny networks run fastest single-threaded (and the CI machine's cores are shared)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def comfy(tmp_path_factory):
    """The nodes package imported against the real or stand-in ComfyUI API, with temp folders."""
    saved_path = list(sys.path)
    sys.path.insert(0, str(API_ROOT))
    before = set(sys.modules)
    try:
        if REAL and not torch.cuda.is_available():  # as `main.py --cpu`, before comfy.model_management loads
            import comfy.cli_args

            comfy.cli_args.args.cpu = True
        import folder_paths
        from comfy_api.latest import io, ui

        from sketchmotion import nodes

        base = tmp_path_factory.mktemp("comfy")
        dirs = {}
        for kind in ("input", "output", "temp"):
            dirs[kind] = base / kind
            dirs[kind].mkdir()
            getattr(folder_paths, f"set_{kind}_directory")(str(dirs[kind]))
        yield SimpleNamespace(io=io, ui=ui, nodes=nodes, folder_paths=folder_paths, **dirs)
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if name.startswith("sketchmotion.nodes") or file.startswith(str(API_ROOT)):
                del sys.modules[name]
        import sketchmotion

        sketchmotion.__dict__.pop("nodes", None)  # the next module's fixture re-imports against its own API
