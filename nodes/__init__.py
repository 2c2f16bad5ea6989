"""SketchMotion's ComfyUI nodes (V3 schema). Thin: read inputs, call core, convert the result.

Imported only when ComfyUI asks the pack for its node list; core modules (and anything
heavy) are imported inside `execute`.
"""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .animate import AnimateObjects, AnimateSketch
from .animation_file import LoadAnimation, SaveAnimation
from .diffusers_prior import DiffusersVideoPrior
from .export import AnimationFrames, ExportAnimation
from .group_strokes import GroupStrokes
from .load_sketch import LoadSketch, SketchFromSVGText
from .measure import MeasureAnimation
from .procedural import SketchToAnimation
from .render import RenderSketch
from .reconstruct3d import NODES as RECONSTRUCT3D_NODES
from .render3d import NODES as RENDER3D_NODES
from .sample_animation import SampleAnimation
from .save_sketch import SaveSketchSVG
from .sketchify import ImageToSketch
from .video_prior_nodes import ComfyVideoPrior

NODES: list[type[io.ComfyNode]] = [
    LoadSketch, SketchFromSVGText, RenderSketch, SaveSketchSVG, DiffusersVideoPrior, AnimateSketch, AnimateObjects,
    ExportAnimation, AnimationFrames, SaveAnimation, LoadAnimation, SketchToAnimation, GroupStrokes, ImageToSketch,
    ComfyVideoPrior,
    *RENDER3D_NODES,
    MeasureAnimation, SampleAnimation,
    *RECONSTRUCT3D_NODES,
]


class SketchMotionExtension(ComfyExtension):
    """The extension object `comfy_entrypoint` hands to ComfyUI."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


__all__ = ["SketchMotionExtension", "NODES"]
