"""Image to Sketch: IMAGE (+ MASK batch, + CLIP_VISION) -> SKETCH + preview IMAGE (core.pipelines.sketchify).

The pack's bundled pictures (sketches/pictures/*.png, made by sketches/pictures/make_pictures.py)
are copied into ComfyUI's input/sketches/ folder when the node list is built (never over a user's
file), so the image workflows' Load Image finds "sketches/fish.png" out of the box.
"""

from __future__ import annotations

import os

from comfy_api.latest import io, ui

from ._types import CATEGORY_SKETCH, Sketch

ClipVision = io.Custom("CLIP_VISION")  # the output type of ComfyUI's Load CLIP Vision
LOSSES = ["auto", "lines", "clip", "clip+lines"]
COLORS = ["black", "image"]
LPIPS = ["auto", "on", "off"]


PICTURES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sketches", "pictures")


def copy_bundled_pictures() -> None:
    """Copy the bundled pictures into input/sketches/ (missing files only; a read-only input folder is fine)."""
    import shutil

    import folder_paths

    try:
        names = [f for f in os.listdir(PICTURES_DIR) if f.lower().endswith(".png")]
        target = os.path.join(folder_paths.get_input_directory(), "sketches")
        for name in names:
            dest = os.path.join(target, name)
            if not os.path.exists(dest):
                os.makedirs(target, exist_ok=True)
                shutil.copyfile(os.path.join(PICTURES_DIR, name), dest)
    except OSError:
        pass


def _clip_features(clip_vision):
    """A gradient-capable copy of a ComfyUI CLIP vision model, wrapped for the sketch losses.
    Loader weights are inference tensors (autograd refuses them): deepcopy outside inference mode."""
    import copy

    import torch

    from ..core.pipelines.sketchify_losses import HiddenStatesFeatures

    device = getattr(clip_vision, "load_device", None) or torch.device("cpu")
    with torch.inference_mode(False):
        module = copy.deepcopy(clip_vision.model).to(device=device, dtype=torch.float32).eval().requires_grad_(False)
    name = f"ComfyUI CLIP_VISION {type(clip_vision.model).__name__}"
    return HiddenStatesFeatures(module, clip_vision.image_size, clip_vision.image_mean, clip_vision.image_std, name=name)


class ImageToSketch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        copy_bundled_pictures()
        return io.Schema(
            node_id="SketchMotionImageToSketch",
            display_name="Image to Sketch",
            category=CATEGORY_SKETCH,
            description="Turns a picture into a sketch of N cubic strokes (CLIPasso-style), ready to animate: strokes "
            "start on the picture's lines and are optimised through the differentiable renderer. With a CLIP vision "
            "model the loss is CLIPasso's (geometric + semantic); without one a model-free line-map loss draws the "
            "outlines. Masks give one object group per mask (for Animate Objects).",
            inputs=[
                io.Image.Input("image", tooltip="The picture (the first image of a batch is used)."),
                io.Int.Input("strokes", default=16, min=1, max=256,
                             tooltip="Number of strokes (LiveSketch sketches have about 16)."),
                io.Float.Input("width", default=3.0, min=0.25, max=20.0, step=0.25,
                               tooltip="Stroke width in px on the 256 px canvas (LiveSketch's inputs use 3)."),
                io.Combo.Input("color", options=COLORS, default="black",
                               tooltip="black, or each stroke's colour sampled from the picture under it."),
                io.Int.Input("iterations", default=300, min=0, max=5000,
                             tooltip="Optimisation steps (0 = the traced initial strokes only)."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, control_after_generate=True,
                             tooltip="Seeds the stroke placement and the augmentations; same seed, same sketch."),
                io.Combo.Input("loss", options=LOSSES, default="auto",
                               tooltip="auto: CLIP when a CLIP vision model is connected, else lines (model-free); "
                               "clip+lines: both."),
                io.Combo.Input("lpips", options=LPIPS, default="auto",
                               tooltip="Add LPIPS (VGG) against the line drawing: auto = when its weights are on disk."),
                io.Int.Input("canvas", default=256, min=0, max=4096,
                             tooltip="Longer side of the sketch's canvas in px (aspect kept); 0 = the image's size."),
                io.Mask.Input("masks", optional=True,
                              tooltip="One mask per object [K, H, W] (e.g. from a segmentation node): strokes are "
                              "shared out by mask area, stay inside their mask, and each mask is one object group."),
                ClipVision.Input("clip_vision", optional=True,
                                 tooltip="A CLIP vision model (Load CLIP Vision) for CLIPasso's losses and saliency."),
            ],
            outputs=[
                Sketch.Output(display_name="sketch", tooltip="The strokes, grouped by mask when masks are given."),
                io.Image.Output(display_name="preview", tooltip="The sketch rendered at the picture's size."),
                io.String.Output(display_name="report", tooltip="Which loss ran, the steps run and the final loss."),
            ],
        )

    @classmethod
    def execute(cls, image, strokes: int, width: float, color: str, iterations: int, seed: int, loss: str = "auto",
                lpips: str = "auto", canvas: int = 256, masks=None, clip_vision=None) -> io.NodeOutput:
        import comfy.model_management

        from ..core.pipelines.sketchify import SketchifyConfig, sketchify
        from ..core.raster import render
        from ._progress import comfy_callbacks

        config = SketchifyConfig(strokes=strokes, width=width, color=color, iterations=iterations, seed=seed,
                                 loss=loss, lpips=lpips, canvas=canvas)
        device = comfy.model_management.get_torch_device()
        feats = _clip_features(clip_vision) if clip_vision is not None else None
        result = sketchify(image[:1], masks=masks, config=config, clip=feats, device=device,
                           callbacks=comfy_callbacks(max(1, iterations)))
        sk = result.sketch
        H, W = image.shape[1:3]
        preview = render(sk, size=(W, H)).detach().float().cpu().clamp(0, 1)[None].contiguous()
        final = f"{result.history[-1]:.4f}" if result.history else "n/a"
        report = (f"loss: {result.loss}; {result.iterations} steps{' (stopped)' if result.stopped else ''}; "
                  f"final loss {final}; {sk.num_paths} strokes in {sk.num_groups} group(s)")
        return io.NodeOutput(sk, preview, report, ui={**ui.PreviewImage(preview, cls=cls).as_dict(), "text": [report]})
