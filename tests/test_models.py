"""core.models: one search order and one 'not found' message for every model kind."""

from __future__ import annotations

import pytest

from sketchmotion.core.errors import SketchError
from sketchmotion.core.models import BACKBONE_FILES, find_backbone_weights, find_diffusers, find_xclip


def test_backbone_weights_search_dirs_then_torch_cache(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    comfy = tmp_path / "models" / "lpips"
    comfy.mkdir(parents=True)
    assert find_backbone_weights("vgg", [comfy]) is None
    with pytest.raises(SketchError) as e:
        find_backbone_weights("alex", [comfy], required=True)
    msg = str(e.value)
    assert str(comfy / BACKBONE_FILES["alex"]) in msg and str(tmp_path / "hub" / "checkpoints") in msg
    assert "allow_download" in msg and "download.pytorch.org" in msg
    cache = tmp_path / "hub" / "checkpoints" / BACKBONE_FILES["vgg"]
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"x")
    assert find_backbone_weights("vgg", [comfy]) == cache
    (comfy / BACKBONE_FILES["vgg"]).write_bytes(b"x")  # a models folder wins over the cache
    assert find_backbone_weights("vgg", [comfy]) == comfy / BACKBONE_FILES["vgg"]
    with pytest.raises(SketchError, match="vgg, alex"):
        find_backbone_weights("resnet")


def test_folder_kinds_share_the_message(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    models = tmp_path / "models"
    models.mkdir()
    for find, name, marker in [(find_diffusers, "org/video", "model_index.json"),
                               (find_xclip, "org/xclip", "preprocessor_config.json")]:
        with pytest.raises(SketchError) as e:
            find(name, [models])
        msg = str(e.value)
        assert f"{name!r} was not found" in msg and str(models / name.split("/")[1]) in msg
        assert marker in msg and "allow_download=True / --allow-download" in msg
    # a local name (not a hub id) offers no download
    with pytest.raises(SketchError) as e:
        find_xclip("my-xclip", [models])
    assert "allow a download" not in str(e.value)
