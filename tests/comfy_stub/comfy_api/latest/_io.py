"""Stand-in for comfy_api.latest._io (ComfyUI 0.3.64): only the classes SketchMotion uses.

Constructor signatures match the real ones; `get_io_type()` and `as_dict()` give the same
strings/keys ComfyUI sends in /object_info for these inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class FolderType(str, Enum):
    input = "input"
    output = "output"
    temp = "temp"


class UploadType(str, Enum):
    image = "image_upload"
    audio = "audio_upload"
    video = "video_upload"
    model = "file_upload"


def _prune(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


class Input:
    io_type: str = None

    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None, extra_dict=None):
        self.id, self.display_name, self.optional, self.tooltip, self.lazy = id, display_name, optional, tooltip, lazy
        self.extra_dict = extra_dict or {}

    def get_io_type(self) -> str:
        return self.io_type

    def as_dict(self) -> dict:
        return _prune({"display_name": self.display_name, "optional": self.optional,
                       "tooltip": self.tooltip, "lazy": self.lazy}) | _prune(self.extra_dict)


class WidgetInput(Input):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: Any = None, socketless: bool = None, widget_type: str = None, force_input: bool = None, extra_dict=None):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
        self.default, self.socketless, self.widget_type, self.force_input = default, socketless, widget_type, force_input

    def as_dict(self) -> dict:
        return super().as_dict() | _prune({"default": self.default, "socketless": self.socketless, "forceInput": self.force_input})


class Output:
    io_type: str = None

    def __init__(self, id: str = None, display_name: str = None, tooltip: str = None, is_output_list=False):
        self.id, self.display_name, self.tooltip, self.is_output_list = id, display_name, tooltip, is_output_list

    def get_io_type(self) -> str:
        return self.io_type


class ComfyTypeIO:
    io_type: str = None
    Input = Input
    Output = Output


def _comfytype(io_type: str, input_cls=Input, name="Custom"):
    """A ComfyType class whose Input/Output report io_type (what @comfytype does)."""
    inp = type("Input", (input_cls,), {"io_type": io_type})
    out = type("Output", (Output,), {"io_type": io_type})
    return type(name, (ComfyTypeIO,), {"io_type": io_type, "Input": inp, "Output": out})


def Custom(io_type: str) -> type[ComfyTypeIO]:
    return _comfytype(io_type)


class _Int(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: int = None, min: int = None, max: int = None, step: int = None, control_after_generate: bool = None,
                 display_mode=None, socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.min, self.max, self.step, self.control_after_generate = min, max, step, control_after_generate

    def as_dict(self):
        return super().as_dict() | _prune({"min": self.min, "max": self.max, "step": self.step,
                                           "control_after_generate": self.control_after_generate})


class _Float(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: float = None, min: float = None, max: float = None, step: float = None, round: float = None,
                 display_mode=None, socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.min, self.max, self.step, self.round = min, max, step, round

    def as_dict(self):
        return super().as_dict() | _prune({"min": self.min, "max": self.max, "step": self.step, "round": self.round})


class _String(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 multiline=False, placeholder: str = None, default: str = None, dynamic_prompts: bool = None,
                 socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.multiline, self.placeholder = multiline, placeholder

    def as_dict(self):
        return super().as_dict() | _prune({"multiline": self.multiline, "placeholder": self.placeholder})


class _Boolean(WidgetInput):
    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: bool = None, label_on: str = None, label_off: str = None,
                 socketless: bool = None, force_input: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
        self.label_on, self.label_off = label_on, label_off


class _Combo(WidgetInput):
    def __init__(self, id: str, options=None, display_name: str = None, optional=False, tooltip: str = None,
                 lazy: bool = None, default=None, control_after_generate: bool = None, upload: UploadType = None,
                 image_folder: FolderType = None, remote=None, socketless: bool = None):
        if isinstance(options, type) and issubclass(options, Enum):
            options = [v.value for v in options]
        if isinstance(default, Enum):
            default = default.value
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless)
        self.options, self.control_after_generate, self.upload, self.image_folder = options, control_after_generate, upload, image_folder

    def as_dict(self):
        return super().as_dict() | _prune({"multiselect": False, "options": self.options}) | (
            {self.upload.value: True} if self.upload is not None else {})


Int = _comfytype("INT", _Int, "Int")
Float = _comfytype("FLOAT", _Float, "Float")
String = _comfytype("STRING", _String, "String")
Boolean = _comfytype("BOOLEAN", _Boolean, "Boolean")
Combo = _comfytype("COMBO", _Combo, "Combo")
Image = _comfytype("IMAGE", name="Image")
Mask = _comfytype("MASK", name="Mask")


class MultiType:
    class Input(Input):
        def __init__(self, id, types: list, display_name: str = None, optional=False, tooltip: str = None,
                     lazy: bool = None, extra_dict=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self._io_types = types

        def get_io_type(self):
            return ",".join(dict.fromkeys(t.io_type for t in self._io_types))


class Hidden(str, Enum):
    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"


@dataclass
class Schema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    hidden: list = None
    description: str = ""
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False


class ComfyNode:
    """Base class: nodes override define_schema / execute (and optionally validate/fingerprint)."""

    hidden = None  # ComfyUI sets a HiddenHolder on a per-run class clone

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs):
        raise NotImplementedError


class _UIOutput:
    def as_dict(self) -> dict:
        raise NotImplementedError


class NodeOutput:
    def __init__(self, *args: Any, ui: _UIOutput | dict = None, expand: dict = None, block_execution: str = None):
        self.args, self.ui, self.expand, self.block_execution = args, ui, expand, block_execution

    @property
    def result(self):
        return self.args if len(self.args) > 0 else None

    def __getitem__(self, index) -> Any:
        return self.args[index]
