"""Stand-in for ComfyUI's folder_paths (0.3.64): the directory functions the nodes use."""

from __future__ import annotations

import os
import tempfile

_base = tempfile.gettempdir()
input_directory = os.path.join(_base, "comfy_stub_input")
output_directory = os.path.join(_base, "comfy_stub_output")
temp_directory = os.path.join(_base, "comfy_stub_temp")


def set_input_directory(input_dir: str) -> None:
    global input_directory
    input_directory = input_dir


def set_output_directory(output_dir: str) -> None:
    global output_directory
    output_directory = output_dir


def set_temp_directory(temp_dir: str) -> None:
    global temp_directory
    temp_directory = temp_dir


def get_input_directory() -> str:
    return input_directory


def get_output_directory() -> str:
    return output_directory


def get_temp_directory() -> str:
    return temp_directory


def annotated_filepath(name: str) -> tuple[str, str | None]:
    """'x.png [output]' -> ('x.png', output dir); no annotation -> (name, None)."""
    for tag, getter in (("[output]", get_output_directory), ("[input]", get_input_directory), ("[temp]", get_temp_directory)):
        if name.endswith(tag):
            return name[: -len(tag) - 1], getter()
    return name, None


def get_annotated_filepath(name: str, default_dir: str | None = None) -> str:
    name, base = annotated_filepath(name)
    return os.path.join(base or default_dir or get_input_directory(), name)


def exists_annotated_filepath(name) -> bool:
    return os.path.exists(get_annotated_filepath(name))


def get_save_image_path(filename_prefix: str, output_dir: str, image_width=0, image_height=0) -> tuple[str, str, int, str, str]:
    """(folder, file name stem, next counter, subfolder, prefix); refuses folders outside output_dir.

    Date placeholders (%year% ...) are not expanded here; %width%/%height% are.
    """
    filename_prefix = filename_prefix.replace("%width%", str(image_width)).replace("%height%", str(image_height))
    subfolder = os.path.dirname(os.path.normpath(filename_prefix))
    filename = os.path.basename(os.path.normpath(filename_prefix))
    full_output_folder = os.path.join(output_dir, subfolder)
    if os.path.commonpath((output_dir, os.path.abspath(full_output_folder))) != output_dir:
        raise Exception("**** ERROR: Saving image outside the output folder is not allowed.")
    os.makedirs(full_output_folder, exist_ok=True)
    counters = []
    for f in os.listdir(full_output_folder):
        head, sep, rest = f.partition(filename + "_")
        if sep and not head and rest.split("_")[0].isdigit() and os.path.normcase(f[: len(filename)]) == os.path.normcase(filename):
            counters.append(int(rest.split("_")[0]))
    return full_output_folder, filename, max(counters, default=0) + 1, subfolder, filename_prefix


folder_names_and_paths: dict[str, tuple[list[str], set[str]]] = {
    "diffusers": ([os.path.join(_base, "comfy_stub_models", "diffusers")], {"folder"}),
}


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    paths = folder_names_and_paths.setdefault(folder_name, ([], set()))[0]
    if full_folder_path in paths:
        paths.remove(full_folder_path)
    paths.insert(0, full_folder_path) if is_default else paths.append(full_folder_path)


def get_folder_paths(folder_name: str) -> list[str]:
    return list(folder_names_and_paths.get(folder_name, ([], set()))[0])
