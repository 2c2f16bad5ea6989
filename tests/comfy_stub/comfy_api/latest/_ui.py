"""Stand-in for comfy_api.latest._ui (ComfyUI 0.3.64): SavedResult, SavedImages, PreviewImage."""

from __future__ import annotations

import os
import random

import numpy as np
from PIL import Image as PILImage

import folder_paths

from ._io import FolderType, _UIOutput


class SavedResult(dict):
    def __init__(self, filename: str, subfolder: str, type: FolderType):
        super().__init__(filename=filename, subfolder=subfolder, type=type.value)


class SavedImages(_UIOutput):
    def __init__(self, results: list, is_animated: bool = False):
        self.results, self.is_animated = results, is_animated

    def as_dict(self) -> dict:
        return {"images": self.results} | ({"animated": (True,)} if self.is_animated else {})


class PreviewImage(_UIOutput):
    """Saves IMAGE [N,H,W,C] as PNGs in the temp folder, like ComfyUI (no metadata here)."""

    def __init__(self, image, animated: bool = False, cls=None, **kwargs):
        prefix = "ComfyUI_temp_" + "".join(random.choice("abcdefghijklmnopqrstupvxyz") for _ in range(5))
        temp = folder_paths.get_temp_directory()
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, temp, image[0].shape[1], image[0].shape[0])
        self.values = []
        for frame in image:
            file = f"{name}_{counter:05}_.png"
            PILImage.fromarray(np.clip(255.0 * frame.cpu().numpy(), 0, 255).astype(np.uint8)).save(os.path.join(folder, file))
            self.values.append(SavedResult(file, subfolder, FolderType.temp))
            counter += 1
        self.animated = animated

    def as_dict(self):
        return {"images": self.values, "animated": (self.animated,)}
