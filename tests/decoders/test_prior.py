"""Diffusion prior: cosine schedule, x0 training beats the noised input, seeded deterministic sampling."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from brainalign.decoders.diffusion_prior import DiffusionPrior, cosine_alphas_cumprod  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def planted(n: int = 128, d: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    cond = torch.randn(n, d, generator=g)
    M = torch.randn(d, d, generator=g) / d**0.5
    return cond, cond @ M


def trained_prior(cond, x0, steps: int = 400, **kw) -> DiffusionPrior:
    torch.manual_seed(0)
    prior = DiffusionPrior(x0.shape[-1], n_tokens=1 if x0.ndim == 2 else x0.shape[1], cond_dim=cond.shape[-1],
                           width=32, depth=1, heads=2, timesteps=50, cond_drop=0.1, **kw)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for _ in range(steps):
        b = torch.randint(0, len(x0), (64,))
        loss = prior.loss(x0[b], cond[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prior.eval()


def test_cosine_schedule():
    ab = cosine_alphas_cumprod(100)
    assert ab.shape == (100,)
    assert torch.all(ab[1:] < ab[:-1])
    assert 0.99 < ab[0] < 1 and 0 < ab[-1] < 1e-3


def test_training_beats_the_noised_input_and_sampling_is_seeded():
    cond, x0 = planted()
    prior = trained_prior(cond, x0)
    torch.manual_seed(1)
    t = torch.full((len(x0),), 25)
    noise = torch.randn_like(x0)
    x_t = prior.q_sample(x0, t, noise)
    with torch.no_grad():
        pred = prior(x_t, t, cond)
    mse_pred = torch.mean((pred - x0) ** 2)
    ab = prior.alphas_cumprod[25]
    mse_noised = torch.mean((x_t / ab.sqrt() - x0) ** 2)  # the noised input, rescaled to x0's scale
    assert mse_pred < 0.5 * torch.mean((x_t - x0) ** 2)
    assert mse_pred < 0.5 * mse_noised
    assert mse_pred < 0.5 * torch.mean(x0**2)  # better than predicting zero

    a = prior.sample(cond[:16], steps=10, seed=3)
    b = prior.sample(cond[:16], steps=10, seed=3, batch_size=5)
    c = prior.sample(cond[:16], steps=10, seed=4)
    assert a.shape == (16, 8)
    assert torch.equal(a, prior.sample(cond[:16], steps=10, seed=3))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # same noise whatever the batch size
    assert not torch.equal(a, c)
    assert torch.mean((a - x0[:16]) ** 2) < 0.5 * torch.mean(x0[:16] ** 2)
    s1 = prior.sample(cond[:16], steps=10, seed=3, eta=1.0, guidance=2.0)
    s2 = prior.sample(cond[:16], steps=10, seed=3, eta=1.0, guidance=2.0)
    assert torch.equal(s1, s2) and not torch.equal(s1, a)


def test_token_grid_shapes():
    cond, x0 = planted(n=32, d=6)
    prior = DiffusionPrior(6, n_tokens=3, cond_dim=6, width=16, depth=1, heads=2, timesteps=20)
    grid = torch.stack([x0, -x0, 2 * x0], 1)  # (n, 3, 6)
    loss = prior.loss(grid, torch.stack([cond] * 3, 1))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert prior.sample(cond, steps=4, seed=0).shape == (32, 3, 6)  # a vector condition is broadcast
    assert prior.sample(torch.stack([cond] * 3, 1), steps=4).shape == (32, 3, 6)
