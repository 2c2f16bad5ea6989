"""One reconstruct3d case measured against ground truth: shared by bench/reconstruct3d.py and the target tests.

    from sketchmotion.testing.reconstruct3d_cases import CAMERAS, TARGETS, run_case, misses

A synthetic scene (core.scenes3d) is written as a D-NeRF folder (y up) with a moving camera, a fixed
camera, or a fixed camera with metric depth maps ("fixed+depth"), reconstructed with `reconstruct3d`,
and its stage-1 points and final strokes (16 samples per stroke) scored by core.metrics.motion_report.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace

CAMERAS = ("moving", "fixed+depth", "fixed")
# Issue 11's targets for the strokes, per camera kind (upper bounds). Fixed camera without depth: the image-plane
# velocity ratio with points paired by nearest image path (core.metrics.motion_report); pairing by nearest
# projection at frame 0 is arbitrary where parts cross there: the bird's level wings lie over its body at t = 0
# (8 % of its samples within 1 px of another part's, parting by > 3 px later), and on that one video the frame-0
# ratio swung 0.22-0.51x over optimiser seeds and weights (six runs) while the path ratio stayed 0.13-0.16x.
# Both are reported.
TARGETS = {
    "moving": {"chamfer_pct": 1.5, "velocity_ratio": 0.4, "tracking_ratio": 0.5},
    "fixed+depth": {"chamfer_pct": 3.0, "velocity_ratio": 0.6},
    "fixed": {"image_velocity_ratio_paths": 0.5},
}


def run_case(scene: str, camera: str, seed: int, config=None, size: int = 96, frames: int = 24,
             scene_size: int = 128) -> dict:
    """{"points": report, "strokes": report, "seconds": CPU s of reconstruct3d}; config: a Reconstruct3DConfig
    (default: documented_config(seed, size=size)). Fixed cameras' reports include image_velocity_ratio,
    image_velocity_ratio_paths and image_split (core.metrics.motion_report)."""
    from ..core.metrics import motion_report
    from ..core.pipelines.reconstruct3d import documented_config, reconstruct3d, stroke_samples
    from ..core.posed_video import load_dnerf
    from ..core.scenes3d import get_scene, load_ground_truth, render_depth, render_dnerf_folder

    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    mode = "moving" if camera == "moving" else "fixed"
    with tempfile.TemporaryDirectory() as tmp:
        render_dnerf_folder(scene, tmp, num_frames=frames, size=scene_size, camera_mode=mode, seed=seed)
        video = load_dnerf(tmp, size=size)
        gt = load_ground_truth(tmp)
    if camera == "fixed+depth":
        video = replace(video, depth=render_depth(get_scene(scene, up=gt["scene"]["up"]), video.times, video.cameras),
                        depth_mode="metric")
    cfg = config or documented_config(seed=seed, device="cpu", size=size)
    t0 = time.process_time()
    anim, motion = reconstruct3d(video, cfg)
    seconds = time.process_time() - t0
    cams = video.cameras if mode == "fixed" else None
    # the segment of each ground-truth sample (render_dnerf_folder's default sample count), for image_split
    segments = get_scene(scene).sample_params()[0] if mode == "fixed" else None
    strokes = stroke_samples(anim.frames.reshape(anim.num_frames, -1, 4, 3))
    return {"points": motion_report(motion.trajectories, gt["samples"], cams, segments),
            "strokes": motion_report(strokes, gt["samples"], cams, segments), "seconds": seconds}


def misses(camera: str, report: dict, margin: float = 1.0) -> list[str]:
    """The targets of `camera` that the strokes' report misses (each bound times `margin`)."""
    return [f"{k} {report[k]:.3f} > {v * margin:.3f}" for k, v in TARGETS[camera].items() if report[k] > v * margin]
