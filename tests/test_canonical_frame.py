"""Stage 1's canonical frame and static warm-up frames (core.pipelines.reconstruct3d); no fitting, < 1 s."""

import torch

from sketchmotion.core.camera import fixed
from sketchmotion.core.pipelines.reconstruct3d import CANONICAL_FRAME_GAIN, canonical_frame, warmup_frames
from sketchmotion.core.posed_video import PosedVideo


def _video(ink_pixels):
    frames = torch.ones(len(ink_pixels), 10, 10, 3)
    for i, n in enumerate(ink_pixels):
        frames[i].view(-1, 3)[:n] = 0.0
    T = len(ink_pixels)
    return PosedVideo(frames=frames, cameras=fixed(T, size=10), times=torch.linspace(0, 1, T))


def test_canonical_frame_moves_off_frame_0_only_for_a_frame_that_shows_clearly_more():
    v = _video([40, 45, 60, 41])
    assert canonical_frame(v, None, parallax=False) == 2  # the first frame hides a third of the object
    assert canonical_frame(v, None, parallax=True) == 0  # a moving camera: the first frame
    assert canonical_frame(v, 0.9, parallax=False) == 3  # an explicit time wins
    near = _video([40, 40 + int(40 * CANONICAL_FRAME_GAIN) - 1, 39])
    assert canonical_frame(near, None, parallax=False) == 0  # a few % more is line crossings, not hidden parts


def test_warmup_frames_span_the_same_time_wherever_the_canonical_frame_is():
    t = torch.linspace(0, 1, 24)
    assert warmup_frames(t, 0, 0.1).tolist() == [0, 1, 2]  # frames within 0.1 of the start
    assert warmup_frames(t, 6, 0.1).tolist() == [5, 6, 7]  # inside: both sides, the same span in all
    assert warmup_frames(t, 23, 0.1).tolist() == [21, 22, 23]
    assert warmup_frames(t, 4, 0.0).tolist() == [4]
