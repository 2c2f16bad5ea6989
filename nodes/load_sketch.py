"""Load Sketch (an .svg file) and Sketch from SVG Text -> SKETCH."""

from __future__ import annotations

from comfy_api.latest import io

from . import _files
from ._types import CATEGORY_SKETCH, Sketch


def _style_inputs():
    return [
        io.Int.Input(
            "normalize", default=0, min=0, max=4096, optional=True,
            tooltip="0 keeps the drawing's own canvas. N fits the drawing (with a small margin) into an N x N canvas, "
            "the way LiveSketch prepares its 256 x 256 inputs.",
        ),
        io.Float.Input(
            "stroke_width", default=0.0, min=0.0, max=100.0, step=0.1, optional=True,
            tooltip="0 keeps each path's own width (SVG units). Any other value sets every stroke to that width.",
        ),
        io.String.Input(
            "stroke_color", default="", optional=True,
            tooltip="Empty keeps each path's own colour. A CSS colour (e.g. 'black', '#ff0000') recolours every stroke.",
        ),
    ]


def _options(normalize: int, stroke_width: float, stroke_color: str) -> dict:
    return {
        "normalize": int(normalize) or None,
        "stroke_width": float(stroke_width) or None,
        "stroke_color": stroke_color.strip() or None,
    }


class LoadSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionLoadSketch",
            display_name="Load Sketch (SVG)",
            category=CATEGORY_SKETCH,
            description="Reads an SVG drawing into a vector sketch (cubic Bezier strokes).",
            inputs=[
                io.Combo.Input(
                    "svg", options=_files.list_svgs(), upload=io.UploadType.image,
                    tooltip="An .svg from ComfyUI's input folder or its sketches/ subfolder; the pack's bundled sketches "
                    "are listed as sketches/<name>.svg. "
                    "Drop an .svg file on the node to upload one.",
                ),
                *_style_inputs(),
            ],
            outputs=[Sketch.Output(display_name="sketch", tooltip="The drawing's strokes as cubic Beziers (widths, "
                                   "colours and object groups kept).")],
        )

    @classmethod
    def execute(cls, svg: str, normalize: int = 0, stroke_width: float = 0.0,
                stroke_color: str = "") -> io.NodeOutput:
        from ..core import svg as core_svg
        from ..core.errors import SketchError

        path = _files.resolve_svg(svg)
        if path is None:
            raise SketchError(_files.missing_svg_message(svg))
        sketch = core_svg.load(path, **_options(normalize, stroke_width, stroke_color))
        return io.NodeOutput(sketch, ui={"text": [core_svg.summary(sketch)]})  # names what was not drawn

    @classmethod
    def validate_inputs(cls, svg: str):
        if not svg.strip().lower().split(" [")[0].endswith(".svg"):
            return f"'{svg}' is not an .svg file; Load Sketch reads SVG drawings only."
        return True if _files.resolve_svg(svg) else _files.missing_svg_message(svg)

    @classmethod
    def fingerprint_inputs(cls, svg: str, **kwargs):
        path = _files.resolve_svg(svg)
        return _files.file_digest(path) if path else svg


class SketchFromSVGText(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SketchMotionSketchFromSVGText",
            display_name="Sketch from SVG Text",
            category=CATEGORY_SKETCH,
            description="Parses SVG markup typed or pasted into the node (or wired from a text node) into a sketch.",
            inputs=[
                io.String.Input(
                    "svg_text", multiline=True,
                    default='<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">\n'
                    '  <path d="M 48 200 C 96 40, 160 40, 208 200" fill="none" stroke="black" stroke-width="3"/>\n</svg>',
                    tooltip="A complete SVG document (<svg ...> ... </svg>).",
                ),
                *_style_inputs(),
            ],
            outputs=[Sketch.Output(display_name="sketch", tooltip="The markup's strokes as cubic Beziers.")],
        )

    @classmethod
    def execute(cls, svg_text: str, normalize: int = 0, stroke_width: float = 0.0,
                stroke_color: str = "") -> io.NodeOutput:
        from ..core import svg as core_svg

        sketch = core_svg.loads(svg_text, **_options(normalize, stroke_width, stroke_color))
        return io.NodeOutput(sketch, ui={"text": [core_svg.summary(sketch)]})  # names what was not drawn
