"""Group Strokes: SKETCH -> SKETCH with object group ids + a preview IMAGE (core.grouping)."""

from __future__ import annotations

from comfy_api.latest import io

from ._types import CATEGORY_SKETCH, Sketch

MODES = ["auto", "masks", "manual"]
UNLISTED = ["error", "own", "nearest"]
PREVIEW_LABELS = ["objects", "strokes", "none"]


class GroupStrokes(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionGroupStrokes",
            display_name="Group Strokes",
            category=CATEGORY_SKETCH,
            description="Splits the strokes of a sketch into objects (for multi-object animation): automatically from "
            "which strokes touch, from one mask per object (e.g. SAM), or from a typed list of stroke indices.",
            inputs=[
                Sketch.Input("sketch", tooltip="The sketch whose strokes are split into objects (for Animate Objects)."),
                io.Combo.Input("mode", options=MODES, default="auto",
                               tooltip="auto: strokes that touch form one object; masks: each stroke goes to the mask "
                               "covering most of it; manual: the spec below."),
                io.Int.Input("objects", default=0, min=0, max=64,
                             tooltip="auto: number of objects wanted (merges or splits); 0 = automatic."),
                io.Float.Input("tolerance", default=0.02, min=0.0, max=0.5, step=0.005,
                               tooltip="auto: largest gap that still joins strokes, as a fraction of the canvas diagonal."),
                io.String.Input("spec", multiline=True, default="",
                                placeholder="manual: stroke indices per object, e.g.\n0-5, 9\n6-8, 10-15",
                                tooltip="manual: one object per line (or separated by ';'); indices and inclusive ranges."),
                io.Combo.Input("unlisted", options=UNLISTED, default="error",
                               tooltip="manual: strokes the spec does not list are an error, form one extra object, "
                               "or join the nearest object."),
                io.Combo.Input("preview_labels", options=PREVIEW_LABELS, default="objects",
                               tooltip="Numbers on the preview: object indices, or stroke indices (to write a spec)."),
                io.Mask.Input("masks", optional=True,
                              tooltip="masks: one mask per object [K, H, W], any resolution (stretched over the canvas)."),
            ],
            outputs=[
                Sketch.Output(display_name="grouped", tooltip="The same strokes with object ids 0..K-1 in paint order."),
                io.Image.Output(display_name="preview", tooltip="Each object in its own colour, its index at its centre."),
            ],
        )

    @classmethod
    def execute(cls, sketch, mode: str, objects: int, tolerance: float, spec: str = "", unlisted: str = "error",
                preview_labels: str = "objects", masks=None) -> io.NodeOutput:
        from ..core.grouping import group_preview, group_strokes

        grouped = group_strokes(sketch, mode, objects=objects, tolerance=tolerance, masks=masks, spec=spec,
                                unlisted=unlisted)
        return io.NodeOutput(grouped, group_preview(grouped, labels=preview_labels)[None].contiguous())
