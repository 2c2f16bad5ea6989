"""Score distillation: the shared math (sds), the VideoPrior protocol (prior),
the known-answer prior (target_prior) and the diffusers text-to-video prior
(diffusers_prior, imported on use: it pulls diffusers/transformers lazily anyway).
"""

from .prior import VideoPrior, validate_frames
from .sds import (
    WEIGHTINGS,
    DiscreteSchedule,
    FlowSchedule,
    NoiseLevel,
    ScoreDistillation,
    cfg_combine,
    eps_from_x0,
    eps_residual_from_x0,
    inject_gradient,
    sds_weight,
    x0_from_eps,
)
from .target_prior import TargetVideoPrior, gaussian_blur

__all__ = [
    "WEIGHTINGS",
    "DiscreteSchedule",
    "FlowSchedule",
    "NoiseLevel",
    "ScoreDistillation",
    "TargetVideoPrior",
    "VideoPrior",
    "cfg_combine",
    "eps_from_x0",
    "eps_residual_from_x0",
    "gaussian_blur",
    "inject_gradient",
    "sds_weight",
    "validate_frames",
    "x0_from_eps",
]
