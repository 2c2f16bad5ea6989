"""One displacement field per object of a sketch, moving the whole sketch together.

Each object (the strokes sharing a group id) gets its own LiveSketch displacement
field over its own control points, pivoting on its own centre of mass, so objects
move independently. `forward(times)` returns the points of the whole sketch.
"""

from __future__ import annotations

import torch
from torch import nn

from ..sketch import Sketch
from .displacement_field import DisplacementField, FieldConfig


class ObjectFields(nn.Module):
    """Displacement fields of the sketch's objects (one for all strokes if per_object=False)."""

    def __init__(self, sketch: Sketch, config: FieldConfig | None = None, *, per_object: bool = True,
                 seed: int = 0, **overrides):
        super().__init__()
        point_group = sketch.group[sketch.point_path] if per_object else torch.zeros(sketch.num_points, dtype=torch.long)
        self.object_ids = sorted(set(point_group.tolist()))
        index = [torch.nonzero(point_group == k, as_tuple=True)[0] for k in self.object_ids]
        self.fields = nn.ModuleList(
            DisplacementField(sketch.points[i], config, canvas=sketch.canvas, seed=seed + n, **overrides)
            for n, i in enumerate(index)
        )
        order = torch.cat(index)
        self.register_buffer("order", order)
        self.register_buffer("inverse", torch.argsort(order))
        self.register_buffer("base_points", sketch.points.detach().clone())
        self.per_object = per_object

    @property
    def num_objects(self) -> int:
        return len(self.fields)

    def frame_times(self, num_frames: int) -> torch.Tensor:
        return self.fields[0].frame_times(num_frames)

    def _select(self, objects):
        if objects is None:
            return list(self.fields)
        return [self.fields[self.object_ids.index(k)] for k in objects]

    def local_parameters(self, objects=None) -> list[nn.Parameter]:
        """Local-path parameters of the given object ids (all objects by default)."""
        return [p for f in self._select(objects) for p in f.local_parameters()]

    def global_parameters(self, objects=None) -> list[nn.Parameter]:
        """Global-path parameters of the given object ids (all objects by default)."""
        return [p for f in self._select(objects) for p in f.global_parameters()]

    def forward(self, times, base: torch.Tensor | None = None) -> torch.Tensor:
        """Points of the whole sketch in every frame: [T, N, 2] canvas px.

        base: optional canonical points [N, 2] (may require grad: canonical refinement)
        that the fields displace instead of the input sketch.
        """
        if base is None:
            parts = [f(times) for f in self.fields]
        else:
            ordered = base[self.order]
            sizes = [f.num_points for f in self.fields]
            parts = [f(times, base=b) for f, b in zip(self.fields, torch.split(ordered, sizes))]
        return torch.cat(parts, dim=1)[:, self.inverse]  # objects' points back in sketch order


def sample_object_fields(anim, num_frames: int, motion):
    """The animation at another frame count (same duration), from its stored ObjectFields
    (core.motion.registry kind "object_fields", as stored by `animate`).

    The continuous-time displacement field is sampled at the new times, which is exact. The
    paper's field is tied to its K training frames, so its frames are interpolated linearly.
    """
    from dataclasses import replace

    from ..errors import SketchError

    field_cfg = FieldConfig.from_dict(motion.config["field"])
    if field_cfg.architecture != "continuous":
        return anim.resample(num_frames)  # the paper's field is tied to its K frames
    model = ObjectFields(anim.sketch, field_cfg, per_object=motion.config.get("per_object", False),
                         seed=int(motion.config.get("seed", 0)))
    try:
        model.load_state_dict(motion.state)
    except RuntimeError as e:
        raise SketchError(f"The stored motion model does not fit this sketch ({e}).") from None
    with torch.no_grad():  # the animation's sketch holds the (possibly refined) canonical points
        frames = model(model.frame_times(num_frames), base=anim.sketch.points)
    return replace(anim, frames=frames, fps=anim.fps * num_frames / anim.num_frames)
