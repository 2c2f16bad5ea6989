"""Stage 1's canonical frame and static warm-up frames (core.pipelines.reconstruct3d); no fitting, ~1 s."""

import math
from dataclasses import replace

import torch

from sketchmotion.core.camera import Cameras, fixed, look_at, orbit_eyes
from sketchmotion.core.pipelines.reconstruct3d import (CANONICAL_COVERAGE_SLACK, CANONICAL_FRAME_GAIN,
                                                       MOVING_CANONICAL_GAIN, canonical_frame, neighbourhood_hulls,
                                                       warmup_frames)
from sketchmotion.core.posed_video import PosedVideo


def _video(ink_pixels):
    frames = torch.ones(len(ink_pixels), 10, 10, 3)
    for i, n in enumerate(ink_pixels):
        frames[i].view(-1, 3)[:n] = 0.0
    T = len(ink_pixels)
    return PosedVideo(frames=frames, cameras=fixed(T, size=10), times=torch.linspace(0, 1, T))


def test_fixed_camera_canonical_frame_is_the_middle_one_unless_a_pose_hides_parts():
    v = _video([40, 45, 60, 41])
    assert canonical_frame(v, None, parallax=False) == 2  # the first frame hides a third of the object: the best one
    assert canonical_frame(v, 0.9, parallax=False) == 3  # an explicit time wins
    near = _video([40, 40 + int(40 * CANONICAL_FRAME_GAIN) - 1, 41, 42, 39])
    assert canonical_frame(near, None, parallax=False) == 2  # a few % apart is line crossings: the middle frame
    assert canonical_frame(_video([40, 41, 30, 42, 40]), None, parallax=False) == 1  # not a middle pose that hides a part
    with_depth = replace(near, depth=torch.ones(5, 10, 10), depth_mode="metric")
    assert canonical_frame(with_depth, None, parallax=False) == 0  # depth maps observe the motion: frame 0


def test_warmup_frames_span_the_same_time_wherever_the_canonical_frame_is():
    t = torch.linspace(0, 1, 24)
    assert warmup_frames(t, 0, 0.1).tolist() == [0, 1, 2]  # frames within 0.1 of the start
    assert warmup_frames(t, 6, 0.1).tolist() == [5, 6, 7]  # inside: both sides, the same span in all
    assert warmup_frames(t, 23, 0.1).tolist() == [21, 22, 23]
    assert warmup_frames(t, 4, 0.0).tolist() == [4]


# A moving camera (`canonical_frame` with parallax): tiny synthetic wire objects drawn as 1-px dots at 48 px. The
# cameras cycle through five poses, so every frame's neighbourhood (5 frames of 25) is seen from the same five views
# and the hulls differ only by what the object does: no view-to-view noise, the rule's decision is deterministic.
def _segment(a, b, n=120):
    a, b = torch.tensor(a), torch.tensor(b)
    return a + (b - a) * torch.linspace(0, 1, n)[:, None]


def _moving_camera_video(points_at, T=25, size=48):
    azimuth = torch.tensor([20.0, 160.0, 300.0, 80.0, 220.0])
    poses = look_at(orbit_eyes(azimuth, torch.tensor([10.0, 35.0, 20.0, 40.0, 5.0]), 4.0))
    cams = Cameras.perspective(poses[torch.arange(T) % 5], size, fov_x_deg=40.0)
    times = torch.linspace(0, 1, T)
    masks = torch.zeros(T, size, size)
    for i in range(T):
        pix, _ = cams[i : i + 1].project(points_at(float(times[i])))
        u, v = pix[0, :, 0].floor().long().clamp(0, size - 1), pix[0, :, 1].floor().long().clamp(0, size - 1)
        masks[i, v, u] = 1.0
    frames = (1.0 - masks)[..., None].expand(-1, -1, -1, 3).clone()
    return PosedVideo(frames=frames, cameras=cams, times=times, masks=masks)


_STAND = torch.cat([_segment((-0.6, -0.3, -0.6), (-0.6, -0.3, 0.6)), _segment((-0.6, -0.3, 0.6), (0.3, 0.3, 0.6)),
                    _segment((-0.6, -0.3, -0.6), (0.4, 0.2, -0.6))])


def _hanging_bar(angle):  # a bar hanging from the stand's arm, swung about x
    p = _segment((0.3, 0.3, 0.6), (0.3, 0.3, -0.3))
    y, z = p[:, 1] - 0.3, p[:, 2] - 0.6
    c, s = math.cos(angle), math.sin(angle)
    return torch.stack([p[:, 0], 0.3 + y * c - z * s, 0.6 + y * s + z * c], -1)


def _door(t):  # a panel 1 px inside its frame at t = 0, turning 70 degrees about its hinge, slow at both ends
    a = -1.2 * (1.0 - math.cos(math.pi * t)) / 2
    frame = torch.cat([_segment((-0.6, 0.0, -0.6), (-0.6, 0.0, 0.6)), _segment((-0.6, 0.0, 0.6), (0.6, 0.0, 0.6)),
                       _segment((0.6, 0.0, 0.6), (0.6, 0.0, -0.6))])
    panel = frame * torch.tensor([0.95, 1.0, 0.95])
    x, y = panel[:, 0] + 0.57, panel[:, 1]
    panel = torch.stack([x * math.cos(a) - y * math.sin(a) - 0.57, x * math.sin(a) + y * math.cos(a), panel[:, 2]], -1)
    return torch.cat([frame, panel])


def test_moving_camera_keeps_frame_0_when_no_pose_is_better_observed():
    still = _moving_camera_video(lambda t: torch.cat([_STAND, _hanging_bar(0.0)]))
    coverage, volume = neighbourhood_hulls(still)
    assert float(coverage.min()) > 0.97 and float(volume.max() / volume.min()) < 1.01  # the same hull everywhere
    assert canonical_frame(still, None, parallax=True) == 0
    assert canonical_frame(still, 0.5, parallax=True) == 12  # an explicit time wins


def test_moving_camera_leaves_a_fast_start_for_a_still_pose():
    # the bar swings 90 degrees over the first third (~3 px a frame at its end), then hangs still
    video = _moving_camera_video(lambda t: torch.cat([_STAND, _hanging_bar(1.6 * min(1.0, t / 0.35))]))
    coverage, _ = neighbourhood_hulls(video)
    assert float(coverage[0]) < float(coverage.max()) - 2 * CANONICAL_COVERAGE_SLACK  # its pixels are carved away
    picked = canonical_frame(video, None, parallax=True)
    assert float(video.times[picked]) > 0.35 + 2.0 / 24  # the whole neighbourhood is past the swing


def test_moving_camera_leaves_parts_that_touch_for_parts_apart():
    video = _moving_camera_video(_door)  # slow at t = 0, but the panel lies in its frame
    coverage, volume = neighbourhood_hulls(video)
    assert float(coverage[0]) >= float(coverage.max()) - CANONICAL_COVERAGE_SLACK  # frame 0 is observed well ...
    picked = canonical_frame(video, None, parallax=True)
    assert float(video.times[picked]) >= 0.5  # ... but the panel and its frame share a hull there
    assert float(volume[picked]) >= (1.0 + MOVING_CANONICAL_GAIN) * float(volume[0])
