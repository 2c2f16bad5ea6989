"""load_dnerf on folders written with other writers' conventions (issue 11's held-out scenes): clocks other than
[0, 1] and JPEG frames named without an extension (~2 s)."""

from __future__ import annotations

import pytest
import torch

from sketchmotion.core.posed_video import load_dnerf
from sketchmotion.core.scenes3d import render_dnerf_folder

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _folder(tmp_path, name, **kw):
    folder = str(tmp_path / name)
    render_dnerf_folder("walker", folder, num_frames=5, size=32, num_eval_frames=2, **kw)
    return folder


@pytest.mark.parametrize("clock", [(0.0, 4.0), (10.0, 13.0)])
def test_times_outside_0_1_are_rescaled_over_every_split(tmp_path, clock):
    """Frame numbers or seconds as times were refused ('Frame times must be ... within [0, 1]'); they are rescaled
    onto [0, 1] over the range of every split, so train, val and test keep their relative times."""
    a = _folder(tmp_path, "a")
    b = _folder(tmp_path, "b", time_range=clock, shuffle_frames=True)
    for split in ("train", "val"):
        va, vb = load_dnerf(a, split), load_dnerf(b, split)
        assert torch.allclose(va.times, vb.times, atol=1e-6)
        assert torch.equal(va.frames, vb.frames)  # the same frames in the same (time) order


def test_jpeg_frames_named_without_extension(tmp_path):
    """A D-NeRF json names frames without an extension; JPEG frames were looked for as .png only."""
    png = load_dnerf(_folder(tmp_path, "png", image_style="black_on_white"))
    jpg = load_dnerf(_folder(tmp_path, "jpg", image_style="black_on_white", image_format="jpg"))
    assert (png.frames - jpg.frames).abs().mean() < 0.02
