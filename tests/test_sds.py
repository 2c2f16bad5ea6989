import math

import numpy as np
import pytest
import torch

from sketchmotion.core.errors import SketchError
from sketchmotion.core.guidance import (
    DiscreteSchedule,
    NoiseLevel,
    ScoreDistillation,
    TargetVideoPrior,
    VideoPrior,
    cfg_combine,
    eps_residual_from_x0,
    inject_gradient,
    sds_weight,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def hand_alphas_cumprod():
    """ModelScope's betas by hand in numpy: scaled_linear 0.00085..0.012, 1000 steps."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000) ** 2
    return np.cumprod(1 - betas)


def test_schedule_matches_hand_computed_ddpm():
    sched = DiscreteSchedule.scaled_linear()
    ac = hand_alphas_cumprod()
    lvl = sched.level(500)
    assert lvl.alpha == pytest.approx(math.sqrt(ac[500]), rel=1e-9)
    assert lvl.sigma == pytest.approx(math.sqrt(1 - ac[500]), rel=1e-9)
    assert lvl.alpha_bar == pytest.approx(ac[500], rel=1e-9)
    assert sds_weight(lvl) == pytest.approx(1 - ac[500], rel=1e-9)
    assert sds_weight(lvl, "uniform") == 1.0
    assert sds_weight(lvl, "sqrt(1-alpha_bar)") == pytest.approx(math.sqrt(1 - ac[500]))
    with pytest.raises(SketchError):
        sds_weight(lvl, "snr")


def test_timestep_sampling_stays_in_range():
    g = torch.Generator().manual_seed(0)
    sched = DiscreteSchedule.scaled_linear(t_min=10, t_max=12)
    seen = {sched.sample(g).index for _ in range(200)}
    assert seen == {10, 11, 12}
    default = DiscreteSchedule.scaled_linear()
    assert (default.t_min, default.t_max) == (50, 948)
    ts = [default.sample(g).index for _ in range(500)]
    assert min(ts) >= 50 and max(ts) <= 948 and max(ts) - min(ts) > 700
    with pytest.raises(SketchError):
        DiscreteSchedule.scaled_linear(t_min=50, t_max=1000)


def test_injected_gradient_is_exact():
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float16):
        z = (100 * torch.randn(2, 4, 3, 5, 5, generator=g)).to(dtype).requires_grad_(True)
        grad = 1e-3 * torch.randn(z.shape, generator=g)  # tiny next to z: z - (z - grad) would lose it in fp16
        loss = inject_gradient(z, grad)
        loss.backward()
        assert torch.equal(z.grad, grad.to(dtype))
        # the value is 0.5 * ||z - stopgrad(z - grad)||^2 (computed in float64 here)
        z64 = z.detach().double()
        ref = 0.5 * (z64 - (z64 - grad.double())).pow(2).sum()
        assert float(loss.detach()) == pytest.approx(float(ref), rel=1e-4)


def test_eps_form_against_hand_computation():
    """grad on z = w(t) (eps_uncond + s (eps_cond - eps_uncond) - eps) with the sampled noise."""
    sds = ScoreDistillation(DiscreteSchedule.scaled_linear())
    g = torch.Generator().manual_seed(1)
    z = torch.randn(1, 4, 3, 4, 4, generator=g).requires_grad_(True)
    eu = torch.randn(z.shape, generator=g)
    ec = torch.randn(z.shape, generator=g)
    seen = {}

    def predict(z_t, level):
        seen["z_t"], seen["level"] = z_t, level
        return eu, ec

    gen = torch.Generator().manual_seed(123)
    ref_gen = torch.Generator().manual_seed(123)
    loss, stats = sds.step_eps(z, predict, guidance_scale=7.5, generator=gen)
    loss.backward()
    # replay the generator: timestep first, then the noise
    t = int(torch.randint(50, 949, (1,), generator=ref_gen))
    eps = torch.randn(z.shape, generator=ref_gen)
    ab = hand_alphas_cumprod()[t]
    assert seen["level"].index == t and stats["timestep"] == t
    assert torch.allclose(seen["z_t"], math.sqrt(ab) * z.detach() + math.sqrt(1 - ab) * eps, atol=1e-6)
    expected = (1 - ab) * (eu + 7.5 * (ec - eu) - eps)
    assert torch.allclose(z.grad, expected.float(), atol=1e-5)
    assert stats["finite"] and stats["weight"] == pytest.approx(1 - ab)
    assert stats["grad_norm"] == pytest.approx(float(expected.norm()), rel=1e-5)


def test_x0_form_equals_eps_form_for_an_eps_model():
    """For an eps model, x0_hat = (z_t - sigma eps_hat)/alpha; the x0 form must give the same gradient."""
    sched = DiscreteSchedule.scaled_linear()
    sds = ScoreDistillation(sched)
    g = torch.Generator().manual_seed(2)
    W = torch.randn(4, 4, generator=g) * 0.3
    b = torch.randn(4, 1, 1, 1, generator=g)

    def eps_model(z_t, cond_shift):
        return torch.einsum("ij,bjthw->bithw", W, z_t) + b + cond_shift

    def predict_eps(z_t, level):
        return eps_model(z_t, 0.0), eps_model(z_t, 0.5)

    def predict_x0(z_t, level):
        u, c = predict_eps(z_t, level)
        return (z_t - level.sigma * u) / level.alpha, (z_t - level.sigma * c) / level.alpha

    for t in (60, 400, 900):
        lvl = sched.level(t)
        z1 = torch.randn(1, 4, 2, 3, 3, generator=g).requires_grad_(True)
        z2 = z1.detach().clone().requires_grad_(True)
        sds.step_eps(z1, predict_eps, guidance_scale=30, generator=torch.Generator().manual_seed(t), level=lvl)[0].backward()
        sds.step_x0(z2, predict_x0, guidance_scale=30, generator=torch.Generator().manual_seed(t), level=lvl)[0].backward()
        assert torch.allclose(z1.grad, z2.grad, rtol=1e-4, atol=1e-4), t


def test_x0_residual_identities_for_flow_and_ve():
    g = torch.Generator().manual_seed(3)
    z, eps, v = (torch.randn(2, 3, 4, generator=g) for _ in range(3))
    s = 0.3
    # flow: z_t = (1-s) z + s eps, model velocity v -> x0 = z_t - s v, eps_hat = z_t + (1-s) v
    lvl = NoiseLevel(alpha=1 - s, sigma=s, timestep=300.0)
    z_t = (1 - s) * z + s * eps
    x0_hat, eps_hat = z_t - s * v, z_t + (1 - s) * v
    assert torch.allclose(eps_residual_from_x0(z, x0_hat, lvl), eps_hat - eps, atol=1e-5)
    assert torch.allclose(eps_residual_from_x0(z, x0_hat, lvl), ((1 - s) / s) * (z - x0_hat), atol=1e-6)
    # variance-exploding eps model (ComfyUI): z_t = z + sigma eps, x0 = z_t - sigma eps_hat
    sig = 2.5
    lvl = NoiseLevel(alpha=1.0, sigma=sig, timestep=0.0)
    z_t = z + sig * eps
    x0_hat = z_t - sig * v  # v plays eps_hat
    assert torch.allclose(eps_residual_from_x0(z, x0_hat, lvl), v - eps, atol=1e-5)
    assert torch.allclose(cfg_combine(torch.zeros(3), torch.ones(3), 7.0), torch.full((3,), 7.0))


def test_non_finite_prediction_is_flagged_and_harmless():
    sds = ScoreDistillation(DiscreteSchedule.scaled_linear())
    z = torch.randn(1, 4, 2, 3, 3).requires_grad_(True)
    loss, stats = sds.step_eps(z, lambda z_t, lvl: torch.full_like(z_t, float("nan")), generator=torch.Generator().manual_seed(0))
    assert stats["finite"] is False
    loss.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))


def test_target_prior_gradient_descent_reaches_the_target():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 16, 16, 3, generator=g)
    prior = TargetVideoPrior(target)
    assert isinstance(prior, VideoPrior)
    prior.prepare("anything")
    frames = torch.rand(4, 16, 16, 3, generator=g).requires_grad_(True)
    err0 = (frames - target).abs().mean().item()
    opt = torch.optim.SGD([frames], lr=0.5)
    gen = torch.Generator().manual_seed(1)
    for _ in range(60):
        opt.zero_grad()
        loss, stats = prior.sds_loss(frames, guidance_scale=30.0, generator=gen)
        assert stats["finite"]
        loss.backward()
        opt.step()
    assert (frames - target).abs().mean().item() < 1e-3 * err0
    assert prior.calls == 60


def test_target_prior_with_blur_and_downsampling_matches_latents():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 16, 16, 3, generator=g)
    prior = TargetVideoPrior(target, blur=1.5, downsample=4)
    assert prior.target_latent.shape == (1, 3, 2, 4, 4)
    frames = torch.rand(2, 16, 16, 3, generator=g).requires_grad_(True)
    opt = torch.optim.Adam([frames], lr=0.02)
    gen = torch.Generator().manual_seed(1)

    def latent_err():
        return (prior.encode(frames) - prior.target_latent).abs().mean().item()

    e0 = latent_err()
    for _ in range(150):
        opt.zero_grad()
        prior.sds_loss(frames, generator=gen)[0].backward()
        opt.step()
    assert latent_err() < 0.05 * e0
    with pytest.raises(SketchError):
        prior.sds_loss(torch.rand(3, 16, 16, 3))
    with pytest.raises(SketchError):
        prior.sds_loss(torch.rand(2, 16, 16))
    with pytest.raises(SketchError):
        TargetVideoPrior(target, downsample=5)


def test_finish_sds_is_the_shared_tail():
    """finish_sds: exact gradient injection, loss 0.5 ||grad||^2, stats; a non-finite gradient becomes zeros."""
    from sketchmotion.core.guidance.sds import finish_sds

    g = torch.Generator().manual_seed(0)
    z = torch.randn(1, 4, 2, 3, 3, generator=g).requires_grad_(True)
    grad = torch.randn(z.shape, generator=g)
    lvl = NoiseLevel(0.6, 0.8, 500.0)
    loss, stats = finish_sds(z, grad, lvl, weight=0.25, guidance_scale=30.0)
    loss.backward()
    assert torch.equal(z.grad, grad) and stats["loss"] == pytest.approx(0.5 * float(grad.pow(2).sum()), rel=1e-6)
    assert stats["finite"] and stats["weight"] == 0.25 and stats["timestep"] == 500.0 and stats["alpha"] == 0.6
    assert stats["grad_norm"] == pytest.approx(float(grad.norm()), rel=1e-6)
    bad = grad.clone()
    bad[0, 0, 0, 0, 0] = float("nan")
    z.grad = None
    loss, stats = finish_sds(z, bad, lvl, weight=0.25, guidance_scale=30.0)
    loss.backward()
    assert not stats["finite"] and torch.count_nonzero(z.grad) == 0 and stats["loss"] == 0.0
