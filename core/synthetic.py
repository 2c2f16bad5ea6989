"""Random sketches with known structure, for tests, benchmarks and demos."""

from __future__ import annotations

import torch

from .sketch import Sketch, sketch_from_paths


def random_strokes(n: int, size: int = 256, seed: int = 0, width: float | tuple[float, float] = 3.0,
                   length: float = 40.0) -> Sketch:
    """n open single-cubic black strokes about `length` px long (LiveSketch-like input).

    width: one value, or a (min, max) range drawn uniformly per stroke.
    """
    g = torch.Generator().manual_seed(seed)
    paths = []
    for _ in range(n):
        c = torch.rand(2, generator=g) * (size - 2 * length) + length
        d = torch.nn.functional.normalize(torch.randn(2, generator=g), dim=0) * length
        wiggle = torch.randn(2, 2, generator=g) * (length * 0.3)
        paths.append(torch.stack([c - d / 2, c - d / 6 + wiggle[0], c + d / 6 + wiggle[1], c + d / 2]))
    if isinstance(width, tuple):
        w = torch.rand(n, generator=g) * (width[1] - width[0]) + width[0]
    else:
        w = torch.full((n,), float(width))
    return sketch_from_paths(paths, stroke_width=w, canvas=(size, size))


def random_sketch(n: int, size: int = 256, seed: int = 0, width=(1.0, 6.0), fills: bool = True) -> Sketch:
    """n random coloured paths: open strokes, and (with fills=True) every third one a
    closed, filled, stroked 2-segment shape; fill rules alternate nonzero / evenodd."""
    g = torch.Generator().manual_seed(seed)
    paths, closed = [], []
    for i in range(n):
        c = torch.rand(2, generator=g) * (size * 0.75) + size * 0.125
        if fills and i % 3 == 0:
            paths.append(c + (torch.rand(6, 2, generator=g) - 0.5) * size * 0.4)
            closed.append(True)
        else:
            paths.append(c + (torch.rand(4, 2, generator=g) - 0.5) * size * 0.3)
            closed.append(False)
    w = torch.rand(n, generator=g) * (width[1] - width[0]) + width[0]
    stroke = torch.cat([torch.rand(n, 3, generator=g) * 0.6, torch.ones(n, 1)], 1)
    fill = torch.cat([torch.rand(n, 3, generator=g), torch.full((n, 1), 0.8)], 1)
    rules = ["evenodd" if i % 2 else "nonzero" for i in range(n)]
    return sketch_from_paths(paths, closed=closed, stroke_width=w, stroke_color=stroke, fill_color=fill,
                             fill_rule=rules, canvas=(size, size))
