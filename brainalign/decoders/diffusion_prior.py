"""A small DALL-E 2 style diffusion prior: brain embedding -> target embedding (MindEye's generation path).

A transformer denoiser reads the sequence ``[condition tokens, timestep token, noised target tokens, learned
queries]`` (t tokens each; a vector target is one token) and the outputs at the query positions predict the
clean embedding ``x0``. Noise follows the cosine schedule (Nichol & Dhariwal 2021); training minimises MSE on
``x0``; conditions are dropped with probability ``cond_drop`` (a learned null condition) so sampling can use
classifier-free guidance. Sampling is DDIM over ``steps`` strided timesteps (``eta=0`` deterministic,
``eta=1`` DDPM-like), with all noise drawn from a generator seeded by ``seed``.
Shapes: ``b`` batch, ``t`` tokens, ``d`` embedding dim, ``c`` condition dim; ``(b, d)`` is treated as ``t=1``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def cosine_alphas_cumprod(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """``alpha_bar`` (timesteps,) of the cosine schedule; betas are clipped at 0.999."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos((steps / timesteps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0).float()


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps ``t`` (b,) -> ``(b, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / max(half, 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], -1)
    return nn.functional.pad(emb, (0, dim - emb.shape[-1]))


class DiffusionPrior(nn.Module):
    """Transformer denoiser predicting ``x0`` from ``(x_t, t, condition)``.

    Args:
        dim: target embedding dim ``d``.
        n_tokens: target tokens ``t`` (1 for a vector target).
        cond_dim: condition dim ``c`` (default ``dim``); the condition has ``n_tokens`` tokens or is a vector.
        width: transformer width; depth, heads: transformer layers and attention heads.
        timesteps: diffusion steps of the training schedule.
        cond_drop: probability of replacing a training condition by the learned null condition.
        dropout: dropout inside the transformer.
    """

    def __init__(
        self,
        dim: int,
        n_tokens: int = 1,
        cond_dim: int | None = None,
        width: int = 256,
        depth: int = 2,
        heads: int = 4,
        timesteps: int = 100,
        cond_drop: float = 0.2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.dim, self.n_tokens, self.width = dim, n_tokens, width
        self.timesteps, self.cond_drop = timesteps, cond_drop
        self.cond_in = nn.Linear(cond_dim or dim, width)
        self.x_in = nn.Linear(dim, width)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
        self.query = nn.Parameter(torch.randn(n_tokens, width) * 0.02)
        self.null_cond = nn.Parameter(torch.zeros(n_tokens, width))
        self.pos = nn.Parameter(torch.randn(3 * n_tokens + 1, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(timesteps))

    def _tokens(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, None] if z.ndim == 2 else z

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, drop: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Predict ``x0`` (shape of ``x_t``: (b, d) or (b, t, d)) at integer timesteps ``t`` (b,) given ``cond``
        ((b, c) or (b, t, c)); ``drop`` (b,) bool replaces those conditions by the null condition."""
        xt = self._tokens(x_t)
        c = self.cond_in(self._tokens(cond))
        if c.shape[1] == 1 and self.n_tokens > 1:
            c = c.expand(-1, self.n_tokens, -1)
        if drop is not None:
            c = torch.where(drop[:, None, None], self.null_cond.to(c.dtype)[None], c)
        temb = self.time_mlp(timestep_embedding(t, self.width).to(c.dtype))[:, None]
        q = self.query.to(c.dtype)[None].expand(xt.shape[0], -1, -1)
        seq = torch.cat([c, temb, self.x_in(xt), q], 1) + self.pos.to(c.dtype)
        out = self.out(self.transformer(seq)[:, -self.n_tokens :])
        return out.reshape(x_t.shape)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Noised ``x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise``."""
        ab = self.alphas_cumprod[t].reshape(-1, *([1] * (x0.ndim - 1))).to(x0.dtype)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def loss(self, x0: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Training loss: MSE between predicted and true ``x0`` at uniform random timesteps (global torch RNG)."""
        b, dev = x0.shape[0], x0.device
        t = torch.randint(0, self.timesteps, (b,), device=dev)
        x_t = self.q_sample(x0, t, torch.randn_like(x0))
        drop = torch.rand(b, device=dev) < self.cond_drop if self.training and self.cond_drop > 0 else None
        return torch.mean((self(x_t, t, cond, drop).float() - x0.float()) ** 2)

    @torch.no_grad()
    def sample(
        self,
        cond: torch.Tensor,
        steps: int = 20,
        seed: int = 0,
        eta: float = 0.0,
        guidance: float = 1.0,
        batch_size: int = 256,
    ) -> torch.Tensor:
        """Sample ``x0`` for conditions ``cond`` (b, c) or (b, t, c) -> ``(b, d)`` or ``(b, t, d)``.

        DDIM over ``steps`` evenly spaced timesteps; ``guidance`` > 1 extrapolates from the null-condition
        prediction (classifier-free guidance). All noise comes from a CPU generator seeded by ``seed`` and is
        drawn for the whole input at once, so results do not depend on ``batch_size``.
        """
        was_training = self.training
        self.eval()
        b, dev = cond.shape[0], cond.device
        shape = (b, self.dim) if cond.ndim == 2 and self.n_tokens == 1 else (b, self.n_tokens, self.dim)
        gen = torch.Generator().manual_seed(int(seed))
        steps = max(1, min(int(steps), self.timesteps))
        ts = torch.linspace(self.timesteps - 1, 0, steps).round().long().unique_consecutive().tolist()
        x = torch.randn(shape, generator=gen)
        extra = [torch.randn(shape, generator=gen) for _ in ts] if eta > 0 else None
        out = []
        for a in range(0, b, batch_size):
            sl = slice(a, a + batch_size)
            noises = None if extra is None else [e[sl].to(dev) for e in extra]
            out.append(self._ddim(x[sl].to(dev), cond[sl], ts, eta, guidance, noises))
        self.train(was_training)
        return torch.cat(out, 0)

    def _ddim(self, x: torch.Tensor, cond: torch.Tensor, ts: list[int], eta: float, guidance: float,
              noises: list[torch.Tensor] | None) -> torch.Tensor:
        """The DDIM loop for one batch of start noise ``x``."""
        ab_all = self.alphas_cumprod.float()
        null = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        for i, t in enumerate(ts):
            tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
            x0 = self(x, tt, cond).float()
            if guidance != 1.0:
                x0_null = self(x, tt, cond, null).float()
                x0 = x0_null + guidance * (x0 - x0_null)
            ab = ab_all[t]
            ab_prev = ab_all[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt().clamp_min(1e-8)
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp_min(0).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp_min(0).sqrt() * eps
            if noises is not None and i + 1 < len(ts):
                x = x + sigma * noises[i]
        return x
