"""Option names and ranges that node schemas show at start-up (video priors, multi-object schedules).

Kept free of torch so that ComfyUI can list the pack's nodes without importing
core.guidance (whose modules import torch); core.guidance re-exports them.
"""

PAPER_T_RANGE = (50, 948)  # LiveSketch's t ~ U{50..948} of 1000 DDPM steps

# ComfyUI's sampling percent of those timesteps, 1 - t / 999 (noisy end first).
DEFAULT_PERCENT_RANGE = (round(1.0 - PAPER_T_RANGE[1] / 999, 3), round(1.0 - PAPER_T_RANGE[0] / 999, 3))
# Wan 2.2 A14B's expert switch: the high-noise expert scores sigma >= this (wan/configs/wan_t2v_A14B.py; I2V-A14B: 0.900)
DEFAULT_EXPERT_BOUNDARY = 0.875

WEIGHTINGS = ("1-alpha_bar", "sqrt(1-alpha_bar)", "uniform")

NOISE_LEVELS = {
    "paper": "the paper's signal-to-noise range: t ~ U{50..948} of the 1000-step scaled-linear DDPM schedule, "
             "given to the model at the sigma of its own sampling with the same SNR",
    "model": "the model's own schedule: a sampling percent p ~ U[start, end] through its percent_to_sigma "
             "(flow models apply their shift, e.g. Wan 8)",
}

SCHEDULES = {
    "paper": "each object alone (local + global), then all together (local only)",
    "paper+global": "each object alone (local + global), then all together (local + global)",
    "joint": "all objects together from the start (local + global), one field per object",
}

# The synthetic 3D scenes of core.scenes3d (its SCENES dict holds the builders; a test keeps both equal).
SCENE_NAMES = ("stick_figure", "walker", "bird", "rotating_box", "curve_set", "flapping_wings", "pendulum", "hopper",
               "door")
