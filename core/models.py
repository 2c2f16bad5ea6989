"""One locator for every model the pack reads from disk: where to look, in which order, and what to say.

Search order, the same for every kind:
1. the given name as a path (a folder that is not the right kind is an error, not skipped);
2. each of `search_dirs` (e.g. ComfyUI's models/diffusers, models/open_clip, models/xclip),
   under the name as given, its last part, and ORG--NAME;
3. the Hugging Face cache (no network);
4. a download into that cache, only when allow_download=True.
A miss raises SketchError naming every place looked at, where to put the files, and the
allow-download switch.

- `find_diffusers(model, ...)`: a diffusers folder (model_index.json + components).
- `find_open_clip(spec, ...)`: an open_clip model (folder, "local-dir:PATH", "hf-hub:ORG/REPO", "ARCH:TAG").
- `find_xclip(model, ...)`: a transformers X-CLIP folder.
- `find_backbone_weights(net, ...)`: torchvision's ImageNet VGG16 / AlexNet file for LPIPS-style trunks
  (search_dirs, then torch's hub cache $TORCH_HOME/hub/checkpoints, then torchvision's URL when allowed).

Only the standard library is imported here; huggingface_hub, open_clip and torch inside functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable

from .errors import SketchError

DOWNLOAD_SWITCH = "allow_download=True / --allow-download"

# ------------------------------------------------------------------ shared pieces


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder (for messages)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except Exception:  # pragma: no cover - huggingface_hub missing or broken
        return "~/.cache/huggingface/hub"


def is_repo_id(name: str) -> bool:
    """'org/name' (a Hugging Face repository id), not a path."""
    return name.count("/") == 1 and not name.startswith((".", "/", "~"))


def expand_dirs(search_dirs: Iterable) -> list[Path]:
    return [Path(d).expanduser() for d in search_dirs]


def candidates(name: str, search_dirs: Iterable) -> list[Path]:
    """Folders `name` may sit in: each search dir / (the name as given, its last part, ORG--NAME)."""
    base = name.rstrip("/").split("/")[-1]
    return [d / sub for d in expand_dirs(search_dirs) for sub in dict.fromkeys([name, base, name.replace("/", "--")])]


def hf_snapshot(repo: str, patterns: list[str], *, download: bool) -> Path | None:
    """A snapshot folder of `repo` from the HF cache (download=False; None when not cached) or the hub.

    A failed download raises SketchError.
    """
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, allow_patterns=patterns, local_files_only=not download))
    except Exception as e:  # not cached (LocalEntryNotFoundError, ...), network errors, gated repos
        if download:
            raise SketchError(f"Downloading {repo} from Hugging Face failed: {e}") from e
        return None


def not_found(what: str, name: str, looked: list[str], contents: str, where: Path | str,
              download_name: str | None) -> SketchError:
    """The one 'model not found' message: where we looked, where to put it, how to allow a download."""
    msg = (f"{what} {name!r} was not found. Looked in: {', '.join(looked) or 'nowhere'}. "
           f"Put {contents} at {where}, or pass its path")
    if download_name:
        msg += f", or allow a download of {download_name} into the Hugging Face cache ({DOWNLOAD_SWITCH})"
    return SketchError(msg + ".")


def find_folder(model: str | os.PathLike, *, what: str, is_model: Callable[[Path], bool], not_a_model: str,
                contents: str, default_dir: str, search_dirs: Iterable = (), allow_download: bool = False,
                hf_patterns: list[str], aliases: dict | None = None) -> Path:
    """The search order of the module docstring for a model that is one folder (diffusers, X-CLIP).

    what: the kind in messages ("Video model"); is_model: the folder test; not_a_model: the message
    tail for a given folder that fails it; contents: what the folder holds (for the message);
    default_dir: where to tell the user to put it when no search dir is given.
    """
    given = str(model).strip()
    name = (aliases or {}).get(given.lower(), given)
    direct = Path(name).expanduser()
    if direct.exists():
        if is_model(direct):
            return direct
        raise SketchError(f"{direct} {not_a_model}")
    dirs = expand_dirs(search_dirs)
    looked = []
    for cand in candidates(name, dirs):
        looked.append(str(cand))
        if is_model(cand):
            return cand
    repo = is_repo_id(name)
    if repo:
        snap = hf_snapshot(name, hf_patterns, download=False)
        if snap is not None and is_model(snap):
            return snap
        looked.append(f"Hugging Face cache ({hf_cache_dir()})")
        if allow_download:
            return hf_snapshot(name, hf_patterns, download=True)
    short = name.rstrip("/").split("/")[-1]
    where = dirs[0] / short if dirs else Path(default_dir) / short
    raise not_found(what, given, looked, contents, where, name if repo else None)


# ------------------------------------------------------------------ diffusers text-to-video folders
DIFFUSERS_ALIASES = {
    "modelscope": "damo-vilab/text-to-video-ms-1.7b",
    "zeroscope": "cerspense/zeroscope_v2_576w",
}
DIFFUSERS_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


def is_diffusers_folder(p: Path) -> bool:
    return p.is_dir() and (p / "model_index.json").is_file()


def find_diffusers(model: str | os.PathLike, search_dirs: Iterable = (), allow_download: bool = False) -> Path:
    """A diffusers text-to-video folder; `model` is a path, a hub id, or an alias ("modelscope", "zeroscope")."""
    return find_folder(
        model, what="Video model", is_model=is_diffusers_folder,
        not_a_model="is not a diffusers model folder (no model_index.json). Point to the folder that holds "
                    "model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/.",
        contents="the diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)",
        default_dir="ComfyUI/models/diffusers", search_dirs=search_dirs, allow_download=allow_download,
        hf_patterns=["model_index.json", *(f"{c}/*" for c in DIFFUSERS_COMPONENTS)], aliases=DIFFUSERS_ALIASES)


# ------------------------------------------------------------------ X-CLIP (transformers) folders
def is_xclip_folder(p: Path) -> bool:
    if not (p.is_dir() and (p / "config.json").is_file()):
        return False
    try:
        return json.loads((p / "config.json").read_text()).get("model_type") == "xclip"
    except (OSError, ValueError):
        return False


def find_xclip(model: str | os.PathLike, search_dirs: Iterable = (), allow_download: bool = False) -> Path:
    """An X-CLIP folder (config.json with model_type "xclip", weights, tokenizer, preprocessor config)."""
    return find_folder(
        model, what="X-CLIP model", is_model=is_xclip_folder,
        not_a_model="is not an X-CLIP model folder (needs config.json with model_type 'xclip', the weights, "
                    "the tokenizer files and preprocessor_config.json).",
        contents="the model folder (config.json, model.safetensors, tokenizer and preprocessor_config.json)",
        default_dir="ComfyUI/models/xclip", search_dirs=search_dirs, allow_download=allow_download,
        hf_patterns=["*.json", "*.txt", "*.safetensors", "*.bin"])


# ------------------------------------------------------------------ open_clip
OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
OPEN_CLIP_EXAMPLE = "ViT-B-32:openai"


def import_open_clip():
    try:
        import open_clip
    except ImportError as e:
        raise SketchError(
            "Sketch-to-video consistency needs open_clip, which is not installed: run "
            "`pip install open_clip_torch` in the Python environment that runs SketchMotion."
        ) from e
    return open_clip


def is_open_clip_folder(p: Path) -> bool:
    return p.is_dir() and (p / "open_clip_config.json").is_file()


def open_clip_weights_in(p: Path) -> Path | None:
    for name in OPEN_CLIP_FILES:
        if (p / name).is_file():
            return p / name
    return None


def find_open_clip(spec: str, search_dirs: Iterable = (), allow_download: bool = False):
    """-> ("dir", folder, None) or ("arch", arch, (weights file, open_clip pretrained cfg)).

    spec: an open_clip folder (open_clip_config.json + weights) as a path or "local-dir:PATH";
    "hf-hub:ORG/REPO"; a folder name inside `search_dirs`; or "ARCH:TAG" (e.g. ViT-B-32:openai),
    whose weights are looked for in `search_dirs` (ARCH-TAG, ARCH_TAG, ARCH) and the HF cache.
    """
    spec = str(spec).strip()
    search_dirs = expand_dirs(search_dirs)
    local = spec[len("local-dir:"):] if spec.startswith("local-dir:") else spec
    direct = Path(local).expanduser()
    if spec.startswith("local-dir:") or direct.exists():
        if is_open_clip_folder(direct):
            return "dir", direct, None
        raise SketchError(
            f"{direct} is not an open_clip model folder: it needs open_clip_config.json and "
            "open_clip_model.safetensors (the files of an open_clip Hugging Face repository)."
        )
    if not spec.startswith("hf-hub:") and ("/" in spec or "\\" in spec or spec.startswith((".", "~"))):
        raise SketchError(f"CLIP model folder {direct} does not exist. Pass a folder holding open_clip_config.json "
                          f"and open_clip_model.safetensors, 'hf-hub:ORG/REPO', or ARCH:TAG such as {OPEN_CLIP_EXAMPLE}.")
    looked: list[str] = []
    contents = "an open_clip folder (open_clip_config.json + open_clip_model.safetensors{})"

    if spec.startswith("hf-hub:"):
        repo = spec[len("hf-hub:"):]
        for cand in candidates(repo, search_dirs):
            looked.append(str(cand))
            if is_open_clip_folder(cand):
                return "dir", cand, None
        patterns = ["open_clip_config.json", *OPEN_CLIP_FILES]
        for download in ([False, True] if allow_download else [False]):
            snap = hf_snapshot(repo, patterns, download=download)
            if snap is not None and is_open_clip_folder(snap) and open_clip_weights_in(snap):
                return "dir", snap, None
        looked.append(f"Hugging Face cache ({hf_cache_dir()})")
        where = (search_dirs[0] if search_dirs else Path("ComfyUI/models/open_clip")) / repo.split("/")[-1]
        raise not_found("CLIP model", spec, looked, contents.format(""), where, repo)

    for d in search_dirs:  # a folder named like the spec ("my-clip", "ViT-B-32-openai")
        for sub in dict.fromkeys([spec, spec.replace(":", "-")]):
            if is_open_clip_folder(d / sub):
                return "dir", d / sub, None
    open_clip = import_open_clip()
    arch, _, tag = spec.partition(":")
    if arch not in open_clip.list_models():
        inside = f" (no such folder in {', '.join(map(str, search_dirs))})" if search_dirs else ""
        raise SketchError(
            f"Unknown CLIP model {spec!r}{inside}. Use an open_clip folder (open_clip_config.json + weights), "
            f"'hf-hub:ORG/REPO', or ARCH:TAG with an open_clip architecture such as {OPEN_CLIP_EXAMPLE}."
        )
    tags = open_clip.list_pretrained_tags_by_model(arch)
    tag = tag or ("openai" if "openai" in tags else "")
    if tag not in tags:
        raise SketchError(f"CLIP model {arch} has no pretrained weights {tag!r}; pick one of: {', '.join(tags)}.")
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    for d in search_dirs:
        for sub in dict.fromkeys([f"{arch}-{tag}", f"{arch}_{tag}", arch]):
            looked.append(str(d / sub))
            if is_open_clip_folder(d / sub):
                return "dir", d / sub, None
            if (d / sub).is_dir() and open_clip_weights_in(d / sub):
                return "arch", arch, (open_clip_weights_in(d / sub), cfg)
    hub = cfg.get("hf_hub", "")
    repo = None
    if hub:
        from huggingface_hub import hf_hub_download

        repo, file = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
        files = [file] if file else list(OPEN_CLIP_FILES)
        if file.endswith((".bin", ".pth")):
            files.insert(0, file[:-4] + ".safetensors")
        for download in ([False, True] if allow_download else [False]):
            errors = []
            for f in files:
                try:
                    return "arch", arch, (Path(hf_hub_download(repo, f, local_files_only=not download)), cfg)
                except Exception as e:
                    errors.append(e)
            if download:
                raise SketchError(f"Downloading {repo} from Hugging Face failed: {errors[-1]}")
        looked.append(f"Hugging Face cache ({hf_cache_dir()}, {repo})")
    where = (search_dirs[0] if search_dirs else Path("ComfyUI/models/open_clip")) / f"{arch}-{tag}"
    raise not_found("CLIP model", spec, looked, contents.format(f", from Hugging Face {repo}" if repo else ""),
                    where, repo)


# ------------------------------------------------------------------ ImageNet trunks of perceptual losses
BACKBONE_FILES = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}
BACKBONE_URL = "https://download.pytorch.org/models/{}"  # torchvision's weights (the file names above)


def torch_hub_checkpoints() -> Path:
    """torch's hub cache ($TORCH_HOME/hub/checkpoints), where torchvision keeps downloaded weights."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def find_backbone_weights(net: str, search_dirs: Iterable = (), allow_download: bool = False,
                          required: bool = False) -> Path | None:
    """torchvision's ImageNet weights of `net` ('vgg' = VGG16, 'alex' = AlexNet) for LPIPS-style losses.

    Looks for the torchvision file name (BACKBONE_FILES) in each of `search_dirs` (e.g. a ComfyUI
    models folder), then in torch's hub cache; when allow_download, torchvision's URL is fetched into
    that cache. Not found: None, or (required=True) a SketchError saying where to put the file.
    """
    if net not in BACKBONE_FILES:
        raise SketchError(f"Perceptual-loss trunk must be one of {', '.join(BACKBONE_FILES)}, got {net!r}.")
    fname = BACKBONE_FILES[net]
    places = [d / fname for d in expand_dirs(search_dirs)] + [torch_hub_checkpoints() / fname]
    for p in places:
        if p.is_file():
            return p
    if allow_download:
        import torch

        target = places[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(BACKBONE_URL.format(fname), str(target), progress=False)
        except Exception as e:  # network errors
            raise SketchError(f"Downloading {BACKBONE_URL.format(fname)} failed: {e}") from e
        return target
    if required:
        raise SketchError(
            f"The ImageNet {net} weights {fname} were not found. Looked in: {', '.join(map(str, places))}. "
            f"Put torchvision's file there (from {BACKBONE_URL.format(fname)}), or allow a download "
            f"({DOWNLOAD_SWITCH}).")
    return None


__all__ = ["BACKBONE_FILES", "DIFFUSERS_ALIASES", "DIFFUSERS_COMPONENTS", "OPEN_CLIP_FILES", "candidates",
           "find_backbone_weights", "find_diffusers", "find_folder", "find_open_clip", "find_xclip", "hf_cache_dir",
           "hf_snapshot", "import_open_clip", "is_diffusers_folder", "is_open_clip_folder", "is_repo_id",
           "is_xclip_folder", "not_found", "open_clip_weights_in", "torch_hub_checkpoints"]
