"""Optional diffvg backend (the renderer LiveSketch used), behind the same API.

diffvg is not on PyPI; this module is only imported when `backend="diffvg"` is
asked for. It renders one frame per call (diffvg has no batching) with 2x2
stratified samples per pixel, as the reference code does.
"""

from __future__ import annotations

import torch

from ..errors import SketchError
from ..sketch import Sketch


def render_diffvg(sketch: Sketch, pts, size, stroke_width, stroke_color, fill_color, background, samples: int = 2):
    """Render frames [T, N, 2] with pydiffvg -> [T, H, W, 3|4] (same contract as render_torch)."""
    try:
        import pydiffvg
    except Exception as e:  # pragma: no cover - depends on an optional install
        raise SketchError(
            "The diffvg backend needs `pydiffvg` (build it from github.com/BachiLi/diffvg); "
            "or use the built-in renderer: backend='torch'."
        ) from e
    W, H = size
    pydiffvg.set_use_gpu(pts.is_cuda)
    pydiffvg.set_device(pts.device)
    out = []
    for frame in pts:
        shapes, groups = [], []
        for p in range(sketch.num_paths):
            a, b = sketch.path_offsets[p], sketch.path_offsets[p + 1]
            k = sketch.num_segments[p]
            shape = pydiffvg.Path(
                num_control_points=torch.full((k,), 2, dtype=torch.int32),
                points=frame[a:b].contiguous(),
                is_closed=sketch.closed[p],
                stroke_width=(stroke_width[p] / 2).reshape(()),  # diffvg takes the half-width
            )
            shapes.append(shape)
            filled = sketch.closed[p] and bool(fill_color[p, 3] > 0)
            groups.append(
                pydiffvg.ShapeGroup(
                    shape_ids=torch.tensor([p]),
                    fill_color=fill_color[p] if filled else None,
                    stroke_color=stroke_color[p] if bool(stroke_width[p] > 0) else None,
                    use_even_odd_rule=sketch.fill_rule[p] == "evenodd",
                )
            )
        args = pydiffvg.RenderFunction.serialize_scene(W, H, shapes, groups)
        rgba = pydiffvg.RenderFunction.apply(W, H, samples, samples, 0, None, *args)  # [H, W, 4]
        alpha = rgba[..., 3:4]
        premult = rgba[..., :3] * alpha
        if background is None:
            out.append(torch.cat([premult, alpha], -1))
        else:
            bg = torch.as_tensor(background, dtype=rgba.dtype, device=rgba.device)
            out.append(premult + bg * (1 - alpha))
    return torch.stack(out)
