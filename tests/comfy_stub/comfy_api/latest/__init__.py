"""Stand-in for comfy_api.latest (ComfyUI 0.3.64): ComfyExtension, io, ui."""

from abc import ABC, abstractmethod

from . import _io as io
from . import _ui as ui


class ComfyExtension(ABC):
    async def on_load(self) -> None:
        """Called when an extension is loaded."""

    @abstractmethod
    async def get_node_list(self) -> list:
        """Returns the node classes this extension provides."""


__all__ = ["ComfyExtension", "io", "ui"]
