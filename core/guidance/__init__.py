"""Score distillation: the shared math (sds), the VideoPrior protocol (prior),
the known-answer prior (target_prior) and the diffusers text-to-video prior
(diffusers_prior: diffusers / transformers are imported only when a model loads).
"""

from .diffusers_prior import DiffusersVideoPrior, find_model, load_diffusers_prior
from .prior import VideoPrior, validate_frames
from .sds import (
    WEIGHTINGS,
    DiscreteSchedule,
    NoiseLevel,
    ScoreDistillation,
    cfg_combine,
    eps_from_x0,
    eps_residual_from_x0,
    finish_sds,
    inject_gradient,
    sds_weight,
    x0_from_eps,
)
from .target_prior import TargetVideoPrior

__all__ = [
    "WEIGHTINGS",
    "DiffusersVideoPrior",
    "DiscreteSchedule",
    "NoiseLevel",
    "ScoreDistillation",
    "TargetVideoPrior",
    "VideoPrior",
    "cfg_combine",
    "eps_from_x0",
    "eps_residual_from_x0",
    "find_model",
    "finish_sds",
    "inject_gradient",
    "load_diffusers_prior",
    "sds_weight",
    "validate_frames",
    "x0_from_eps",
]
