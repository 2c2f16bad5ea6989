"""Frame-count rules of video VAEs and the noise-level bookkeeping of the ComfyUI prior (no ComfyUI needed)."""

import math

import numpy as np
import pytest
import torch

from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance.frame_rules import (
    DEFAULT_PERCENT_RANGE,
    LATENT_FORMAT_VAE,
    PAPER_T_RANGE,
    VAE_FAMILIES,
    NoiseLevels,
    ddpm_alpha_bar,
    describe_frames,
    equivalent_timestep,
    frame_index_map,
    frames_to_encode,
    is_valid_count,
    latent_frames,
    noise_coefficients,
    percent_to_timestep,
    resample_frames,
    sample_percent,
    sigma_for_alpha_bar,
    temporal_factor,
    timestep_to_percent,
)
from sketchmotion.core.guidance.sds import DiscreteSchedule, NoiseLevel, eps_residual_from_x0, sds_weight


# ------------------------------------------------------------------ frame counts
@pytest.mark.parametrize("f, frames, encoded, latents", [
    (4, 24, 25, 7), (4, 25, 25, 7), (4, 16, 17, 5), (4, 81, 81, 21), (4, 2, 5, 2), (4, 1, 1, 1),
    (8, 24, 25, 4), (8, 97, 97, 13), (8, 10, 17, 3),  # LTX-Video
    (6, 24, 25, 5), (6, 8, 13, 3),  # Mochi
    (1, 24, 24, 24), (1, 16, 16, 16),  # image VAE / AnimateDiff: any count
])
def test_counts_known_answers(f, frames, encoded, latents):
    assert frames_to_encode(frames, f) == encoded
    assert is_valid_count(encoded, f) and latent_frames(encoded, f) == latents
    assert is_valid_count(frames, f) == (frames == encoded)


def test_latent_frames_refuses_invalid_counts():
    with pytest.raises(SketchError, match="25"):
        latent_frames(24, 4)
    with pytest.raises(SketchError):
        frames_to_encode(0, 4)


@pytest.mark.parametrize("ratio, f", [
    (lambda a: max(0, math.floor((a + 3) / 4)), 4),  # Wan 2.1 / 2.2, HunyuanVideo
    (lambda a: max(0, math.floor((a + 7) / 8)), 8),  # LTX-Video, Cosmos-1
    (lambda a: max(0, math.floor((a + 5) / 6)), 6),  # Mochi
    (8, 1), (8.0, 1),  # image VAEs give a number
])
def test_temporal_factor_read_off_a_downscale_ratio(ratio, f):
    assert temporal_factor(ratio) == f


def test_temporal_factor_refuses_other_rules():
    with pytest.raises(SketchError):
        temporal_factor(lambda a: a // 2)  # 1 frame -> 0 latents
    with pytest.raises(SketchError):
        temporal_factor(lambda a: 1 + int(math.log2(a)))  # not f k + 1


def test_families_table():
    assert (VAE_FAMILIES["wan2.1"].temporal, VAE_FAMILIES["ltxv"].temporal, VAE_FAMILIES["mochi"].temporal) == (4, 8, 6)
    assert VAE_FAMILIES["ltxv"].spatial == 32 and VAE_FAMILIES["wan2.2"].latent_channels == 48
    assert not VAE_FAMILIES["image"].video and VAE_FAMILIES["hunyuan"].video


def test_every_latent_format_names_a_video_vae_family():
    assert set(LATENT_FORMAT_VAE.values()) <= set(VAE_FAMILIES) and all(
        VAE_FAMILIES[f].video for f in LATENT_FORMAT_VAE.values())
    # the three 16-channel video latent spaces are told apart (a channel check alone would accept any of them)
    sixteen = {f for f in LATENT_FORMAT_VAE.values() if VAE_FAMILIES[f].latent_channels == 16}
    assert sixteen == {"wan2.1", "hunyuan", "cosmos"}
    assert LATENT_FORMAT_VAE["Wan22"] == "wan2.2" and VAE_FAMILIES["wan2.2"].spatial == 16


# ------------------------------------------------------------------ index map and resampling
def test_index_map_known_answers():
    assert frame_index_map(4, 5) == [0, 1, 2, 2, 3]  # round(j * 3/4): 0, .75, 1.5, 2.25, 3
    assert frame_index_map(2, 5) == [0, 0, 1, 1, 1]
    assert frame_index_map(5, 5) == [0, 1, 2, 3, 4]
    assert frame_index_map(1, 1) == [0] and frame_index_map(1, 5) == [0] * 5
    assert frame_index_map(3, 13) == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2]  # slots of 13/3 = 4.33
    m = frame_index_map(24, 25)
    assert m == list(range(13)) + list(range(12, 24))  # the middle frame is shown twice
    with pytest.raises(SketchError):
        frame_index_map(5, 4)


@pytest.mark.parametrize("T, E", [(24, 25), (10, 17), (2, 5), (3, 13), (97, 97)])
def test_index_map_uses_every_frame_in_order_evenly(T, E):
    m = frame_index_map(T, E)
    assert len(m) == E and set(m) == set(range(T)) and all(b - a in (0, 1) for a, b in zip(m, m[1:]))
    counts = np.bincount(m, minlength=T)
    assert counts.max() - counts.min() <= 1  # repeats spread evenly, no pause at the end


def test_resample_gathers_and_averages_gradients_of_copies():
    frames = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 2, 2, 3).clone().requires_grad_(True)
    idx = frame_index_map(4, 5)  # [0, 1, 2, 2, 3]
    out = resample_frames(frames, idx)
    assert out[:, 0, 0, 0].tolist() == [0.0, 1.0, 2.0, 2.0, 3.0]
    weights = torch.tensor([1.0, 2.0, 3.0, 5.0, 7.0]).view(5, 1, 1, 1)
    (out * weights).sum().backward()
    # frame 2 appears twice: mean of 3 and 5 = 4 (a plain gather would give 8)
    assert frames.grad[:, 0, 0, 0].tolist() == [1.0, 2.0, 4.0, 7.0]


def test_resample_refuses_bad_maps():
    with pytest.raises(SketchError):
        resample_frames(torch.rand(3, 2, 2, 3), [0, 3])


def test_describe_frames_says_what_is_rendered_and_encoded():
    wan = VAE_FAMILIES["wan2.1"]
    assert describe_frames(24, wan) == ("24 frames asked: the motion field is rendered at 25 evenly spaced times (4k+1) "
                                        "-> 7 latent frames; the animation is sampled back at 24")
    assert describe_frames(10, VAE_FAMILIES["ltxv"]).startswith("10 frames asked: the motion field is rendered at 17 ")
    assert describe_frames(25, wan) == "25 frames rendered and encoded as they are (4k+1) -> 7 latent frames"
    assert describe_frames(16, VAE_FAMILIES["image"]) == "16 frames rendered and encoded as they are -> 16 latent frames"


# ------------------------------------------------------------------ noise levels
def test_percent_range_is_the_papers_t_range():
    assert DEFAULT_PERCENT_RANGE == (0.051, 0.95)
    assert timestep_to_percent(948) == pytest.approx(1 - 948 / 999)
    assert percent_to_timestep(DEFAULT_PERCENT_RANGE[0]) == pytest.approx(948.05, abs=0.01)
    assert percent_to_timestep(DEFAULT_PERCENT_RANGE[1]) == pytest.approx(49.95, abs=0.01)
    assert percent_to_timestep(timestep_to_percent(500)) == pytest.approx(500)
    with pytest.raises(SketchError):
        timestep_to_percent(1000)


def test_sample_percent_is_uniform_in_range_and_seeded():
    g = torch.Generator().manual_seed(0)
    ps = np.array([sample_percent(0.051, 0.95, g) for _ in range(4000)])
    assert ps.min() >= 0.051 and ps.max() <= 0.95
    assert ps.mean() == pytest.approx((0.051 + 0.95) / 2, abs=0.015)
    assert np.histogram(ps, bins=4)[0].min() > 900  # flat
    seeded = [sample_percent(0.2, 0.4, torch.Generator().manual_seed(3)) for _ in range(2)]
    assert seeded[0] == seeded[1]
    for bad in [(0.5, 0.2), (0.0, 0.5), (0.5, 1.0), (-0.1, 0.5)]:
        with pytest.raises(SketchError):
            sample_percent(*bad)


def flow_noise_scaling(sigma, noise, latent):  # rectified flow (ComfyUI's CONST)
    return sigma * noise + (1.0 - sigma) * latent


def ve_noise_scaling(sigma, noise, latent):  # eps / v models and Cosmos' rectified flow in ComfyUI
    return latent + sigma * noise


def test_noise_coefficients_of_flow_and_eps_models():
    assert noise_coefficients(flow_noise_scaling, 0.3) == pytest.approx((0.7, 0.3))
    assert noise_coefficients(ve_noise_scaling, 14.6) == pytest.approx((1.0, 14.6))
    with pytest.raises(SketchError):
        noise_coefficients(lambda s, n, z: z * z + s * n, 0.5)  # not affine in z


def test_weight_of_an_eps_model_equals_the_diffusers_prior_at_the_same_t():
    """ComfyUI keeps eps models in VE coordinates (sigma = sqrt((1-ab)/ab)); the weight must still be 1 - alpha_bar_t."""
    sched = DiscreteSchedule.scaled_linear()
    for t in (50, 300, 500, 948):
        ddpm = sched.level(t)
        sigma_ve = math.sqrt((1 - ddpm.alpha_bar) / ddpm.alpha_bar)
        a, s = noise_coefficients(ve_noise_scaling, sigma_ve)
        for w in ("1-alpha_bar", "sqrt(1-alpha_bar)", "uniform"):
            assert sds_weight(NoiseLevel(a, s, t), w) == pytest.approx(sds_weight(ddpm, w), rel=1e-9)


def test_x0_residual_is_the_eps_residual_in_any_coordinates():
    """w (a/s)(z - x0_hat) == w (eps_hat - eps) for flow and VE coordinates of the same noisy latent."""
    g = torch.Generator().manual_seed(1)
    z, eps, eps_hat = (torch.randn(1, 16, 2, 4, 4, generator=g, dtype=torch.float64) for _ in range(3))
    for fn, sigma in ((flow_noise_scaling, 0.8), (ve_noise_scaling, 3.0)):
        a, s = noise_coefficients(fn, sigma)
        lvl = NoiseLevel(a, s, 0.0)
        z_t = fn(sigma, eps, z)
        x0_hat = (z_t - s * eps_hat) / a  # what a model predicting eps_hat returns as denoised x0
        assert torch.allclose(eps_residual_from_x0(z, x0_hat, lvl), eps_hat - eps, atol=1e-10)
    # the same signal-to-noise ratio in both coordinates gives the same weight
    s_flow = 0.8
    sigma_ve = s_flow / (1 - s_flow)
    assert sds_weight(NoiseLevel(*noise_coefficients(flow_noise_scaling, s_flow), 0.0)) == pytest.approx(
        sds_weight(NoiseLevel(*noise_coefficients(ve_noise_scaling, sigma_ve), 0.0)))


# ------------------------------------------------------------------ equal-SNR noise levels (pure math, no ComfyUI)
def test_ddpm_alpha_bar_is_the_scaled_linear_schedule():
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    ac = np.cumprod(1 - betas)
    for t in (0, 50, 499, 948, 999):
        assert ddpm_alpha_bar(t) == pytest.approx(ac[t], rel=1e-12)
    assert equivalent_timestep(ac[321]) == 321
    with pytest.raises(SketchError):
        ddpm_alpha_bar(1000)


@pytest.mark.parametrize("t", [50, 200, 499, 800, 948])
def test_equal_snr_sigma_of_flow_and_ve_models(t):
    """Flow: (1-s)^2/((1-s)^2+s^2) = alpha_bar_t; VE (eps models, Cosmos): 1/(1+sigma^2) = alpha_bar_t."""
    ab = ddpm_alpha_bar(t)
    s = sigma_for_alpha_bar(flow_noise_scaling, ab)
    assert (1 - s) ** 2 / ((1 - s) ** 2 + s**2) == pytest.approx(ab, rel=1e-10)
    sigma = sigma_for_alpha_bar(ve_noise_scaling, ab)
    assert sigma == pytest.approx(math.sqrt((1 - ab) / ab), rel=1e-12)  # = the eps model's own sigma_t
    assert 1 / (1 + sigma**2) == pytest.approx(ab, rel=1e-10)

    def vp(sig, noise, latent):  # neither family: z_t = (z + sig eps) / sqrt(1 + sig^2) - found by bisection too
        return (latent + sig * noise) / (1 + sig * sig) ** 0.5

    def scaled(sig, noise, latent):  # z_t = (1 - sig/2) z + sig eps, 0 < sig < 2: bisection only
        return (1 - sig / 2) * latent + sig * noise

    assert sigma_for_alpha_bar(vp, ab) == pytest.approx(sigma, rel=1e-9)
    s2 = sigma_for_alpha_bar(scaled, ab)
    assert (1 - s2 / 2) ** 2 / ((1 - s2 / 2) ** 2 + s2**2) == pytest.approx(ab, rel=1e-8)


def test_paper_noise_levels_give_wan_the_papers_snr_distribution():
    """Wan's own schedule (shift 8) sits at DDPM-equivalent t ~ 892 in the median; the default sits at the paper's 499."""
    shift = 8.0

    def wan_percent_to_sigma(p):
        u = 1.0 - p
        return shift * u / (1 + (shift - 1) * u)

    paper = NoiseLevels(wan_percent_to_sigma, flow_noise_scaling, "paper", *DEFAULT_PERCENT_RANGE)
    own = NoiseLevels(wan_percent_to_sigma, flow_noise_scaling, "model", *DEFAULT_PERCENT_RANGE)
    assert (paper.t_lo, paper.t_hi) == PAPER_T_RANGE
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    draws = [paper.sample(g1) for _ in range(3000)]
    ts = np.array([t for _, t in draws])
    assert ts.min() >= 50 and ts.max() <= 948 and abs(np.median(ts) - 499) < 45  # 5 sd of a median of 3000
    for sigma, t in draws[:50]:  # every sigma has exactly the SNR of its t
        a, s = noise_coefficients(flow_noise_scaling, sigma)
        assert a * a / (a * a + s * s) == pytest.approx(ddpm_alpha_bar(t), rel=1e-9)
    own_t = np.array([t for _, t in (own.sample(g2) for _ in range(3000))])
    assert np.median(own_t) > 850 and (own_t > 800).mean() > 0.55  # REFERENCE 7: median ~892, 62% above 800


def test_paper_noise_levels_on_an_eps_model_are_its_own_schedule():
    """For a DDPM eps model on the scaled-linear schedule the equal-SNR sigma IS sigma_t (both options agree)."""
    sched = DiscreteSchedule.scaled_linear()
    lv = NoiseLevels(lambda p: None, ve_noise_scaling, "paper")
    for t in (50, 499, 948):
        ab = float(sched.alphas_cumprod[t])
        assert lv.sigma_at(t) == pytest.approx(math.sqrt((1 - ab) / ab), rel=1e-12)
    with pytest.raises(SketchError):
        NoiseLevels(lambda p: None, ve_noise_scaling, "shifted")
    with pytest.raises(SketchError):
        NoiseLevels(lambda p: None, ve_noise_scaling, "paper", 0.5, 0.5005)  # no whole t inside
