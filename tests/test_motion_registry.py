"""core.motion.registry: a stored motion model is sampled by its kind; an unknown kind raises."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

import pytest
import torch

from sketchmotion.core.animation_io import load_animation, save_animation
from sketchmotion.core.errors import SketchError
from sketchmotion.core.motion.displacement_field import FieldConfig
from sketchmotion.core.motion.object_fields import ObjectFields
from sketchmotion.core.motion.registry import StoredMotion, register_motion_model
from sketchmotion.core.sketch import SketchAnimation, sketch_from_paths


def _sketch():
    a = torch.tensor([[10.0, 10], [20, 12], [30, 14], [40, 10]])
    return sketch_from_paths([a, a + 30], group=[0, 1], canvas=(64, 64))


def _trained(num_frames=4):
    sk = _sketch()
    cfg = FieldConfig(architecture="continuous")
    fields = ObjectFields(sk, cfg, per_object=True, seed=3)
    with torch.no_grad():
        for p in fields.parameters():
            p.add_(0.05 * torch.randn_like(p))
        frames = fields(fields.frame_times(num_frames))
    motion = StoredMotion({k: v.clone() for k, v in fields.state_dict().items()},
                          {"kind": "object_fields", "per_object": True, "field": asdict(cfg), "seed": 3})
    return SketchAnimation(sk, frames, fps=8.0, motion=motion), fields


def test_object_fields_sample_exactly_and_survive_the_file(tmp_path):
    anim, fields = _trained()
    with torch.no_grad():
        want = fields(fields.frame_times(9))
    assert torch.allclose(anim.sample(9).frames, want, atol=1e-5)
    back = load_animation(save_animation(anim, tmp_path / "a.safetensors"))
    assert isinstance(back.motion, StoredMotion) and back.motion.kind == "object_fields"
    assert torch.allclose(back.sample(9).frames, want, atol=1e-5)
    assert anim.sample(9).duration == pytest.approx(anim.duration)


def test_unknown_kind_raises_instead_of_interpolating(tmp_path):
    anim, _ = _trained()
    odd = SketchAnimation(anim.sketch, anim.frames, motion=StoredMotion(anim.motion.state, {"kind": "spline9"}))
    with pytest.raises(SketchError, match="spline9.*object_fields.*resample"):
        odd.sample(7)
    assert odd.resample(7).num_frames == 7  # linear interpolation stays available on request
    nokind = load_animation(save_animation(anim, tmp_path / "b.safetensors", motion_state=anim.motion.state,
                                           motion_config={"hidden": 3}))
    with pytest.raises(SketchError, match="None"):
        nokind.sample(7)
    with pytest.raises(SketchError, match="StoredMotion"):
        SketchAnimation(anim.sketch, anim.frames, motion=(anim.motion.state, anim.motion.config))


def test_registered_kind_is_used(monkeypatch):
    from sketchmotion.core.motion import registry

    monkeypatch.setattr(registry, "_SAMPLERS", dict(registry._SAMPLERS))
    anim, _ = _trained()
    register_motion_model("still", lambda a, n, m: a.resample(n))
    still = SketchAnimation(anim.sketch, anim.frames, motion=StoredMotion({}, {"kind": "still"}))
    assert still.sample(5).num_frames == 5


def test_data_model_imports_no_motion_model_code():
    code = ("import sys, sketchmotion.core.sketch; "
            "print(any(m.endswith(('object_fields', 'displacement_field')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
