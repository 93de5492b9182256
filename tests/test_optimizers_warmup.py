"""Adam warms up at the start of every phase, so a fitted latent is not thrown off; NGD is RUSIR's, unchanged."""

from __future__ import annotations

import pytest
import torch

from restorefw.plugins import load_plugins


def _phase(optimizer_params: dict | None, steps: int = 100, lr: float = 0.05, run: int = 5) -> tuple[float, float]:
    """Start a phase at a fitted latent (loss 1e-8 per coordinate); the loss before and after `run` steps,
    driven as the engine drives a phase (optimizer.step, then scheduler.step)."""
    registry = load_plugins().registry
    adam = registry.create("optimizer", "adam", optimizer_params)
    target = 1e-4 * torch.randn(2, 8, 64, generator=torch.Generator().manual_seed(0))
    latent = torch.zeros_like(target).requires_grad_(True)
    optimizer = adam.build(latent, lr, steps)
    scheduler = adam.scheduler(optimizer, steps)
    loss = lambda: (latent - target).square().mean()  # noqa: E731
    before = loss().item()
    for _ in range(run):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return before, loss().item()


def test_plain_adam_jumps_away_from_a_fitted_latent():
    before, after = _phase({"warmup": 0.0})
    assert after > 1e4 * before  # every coordinate moved by about lr


def test_adam_warms_up_by_default():
    assert load_plugins().registry.create("optimizer", "adam").params.warmup == pytest.approx(0.1)
    before, after = _phase(None)
    plain = _phase({"warmup": 0.0})[1]
    assert after < plain / 10


def test_the_warm_up_restarts_with_every_phase():
    registry = load_plugins().registry
    adam = registry.create("optimizer", "adam")
    factors = []
    for steps in (60, 120):
        latent = torch.zeros(3, requires_grad=True)
        optimizer = adam.build(latent, 0.1, steps)
        adam.scheduler(optimizer, steps)
        factors.append(optimizer.param_groups[0]["lr"])
    assert factors == [0.0, 0.0]
    assert adam.factor(6, 60) == pytest.approx(1.0) and adam.factor(6, 120) == pytest.approx(0.5)


def test_ngd_has_no_warm_up():
    registry = load_plugins().registry
    ngd = registry.create("optimizer", "ngd")
    latent = torch.zeros(1, 4, requires_grad=True)
    optimizer = ngd.build(latent, 0.08, 150)
    assert ngd.scheduler(optimizer, 150) is None
    latent.sum().backward()
    optimizer.step()
    assert latent.detach().norm().item() == pytest.approx(0.08)
