"""NGD's optional step-length schedules: constant is RUSIR's; cosine and linear decay each row's step."""

from __future__ import annotations

import pytest
import torch

from restorefw.plugins import load_plugins


def _step_lengths(params: dict | None, steps: int = 5, lr: float = 0.1) -> list[float]:
    """How far one latent row moves at each step of a phase, driven as the engine drives it."""
    ngd = load_plugins().registry.create("optimizer", "ngd", params)
    latent = torch.zeros(1, 4, requires_grad=True)
    optimizer = ngd.build(latent, lr, steps)
    scheduler = ngd.scheduler(optimizer, steps)
    lengths = []
    for _ in range(steps):
        before = latent.detach().clone()
        optimizer.zero_grad()
        (latent * torch.tensor([1.0, -2.0, 3.0, 0.5])).sum().backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        lengths.append((latent.detach() - before).norm().item())
    return lengths


def test_constant_is_rusirs_and_the_default():
    assert _step_lengths(None) == pytest.approx([0.1] * 5)
    assert _step_lengths({"schedule": "constant", "final": 0.5}) == pytest.approx([0.1] * 5)


def test_cosine_decays_from_lr_to_final():
    assert _step_lengths({"schedule": "cosine", "final": 0.2}) == pytest.approx(
        [0.1, 0.1 * (0.2 + 0.8 * 0.5 * (1 + 2 ** -0.5)), 0.06, 0.1 * (0.2 + 0.8 * 0.5 * (1 - 2 ** -0.5)), 0.02])


def test_linear_decays_from_lr_to_final():
    assert _step_lengths({"schedule": "linear", "final": 0.0}) == pytest.approx([0.1, 0.075, 0.05, 0.025, 0.0], rel=1e-6,
                                                                               abs=1e-8)


def test_adaptive_steps_grow_while_the_gradient_keeps_its_direction_up_to_twice_lr():
    assert _step_lengths({"adaptive": True}, steps=6) == pytest.approx([0.1, 0.12, 0.144, 0.1728, 0.2, 0.2])


def _distances_to_optimum(params: dict, steps: int = 12, lr: float = 0.1) -> list[float]:
    """Each row's distance to its optimum after a phase on sum((v - optimum)²), one row per case."""
    ngd = load_plugins().registry.create("optimizer", "ngd", params)
    optimum = torch.tensor([[0.05, 0.0], [0.0, 0.73]])
    latent = torch.zeros(2, 2, requires_grad=True)
    optimizer = ngd.build(latent, lr, steps)
    for _ in range(steps):
        optimizer.zero_grad()
        ((latent - optimum) ** 2).sum().backward()
        optimizer.step()
    return (latent.detach() - optimum).norm(dim=-1).tolist()


def test_adaptive_steps_settle_where_constant_ones_oscillate_by_lr():
    constant = _distances_to_optimum({})
    adaptive = _distances_to_optimum({"adaptive": True})
    assert constant == pytest.approx([0.05, 0.07], abs=1e-6)
    assert adaptive[0] < 0.01 and adaptive[1] < 0.01


def test_adaptive_is_off_by_default_as_in_rusir():
    assert load_plugins().registry.create("optimizer", "ngd").params.adaptive is False


def test_momentum_steps_build_up_to_lr_while_the_gradient_keeps_its_direction():
    assert _step_lengths({"momentum": 0.5}, steps=4) == pytest.approx([0.05, 0.075, 0.0875, 0.09375])


def test_momentum_damps_the_swing_of_a_row_that_keeps_turning_back():
    constant = _distances_to_optimum({}, steps=40)
    damped = _distances_to_optimum({"momentum": 0.8}, steps=40)
    assert constant == pytest.approx([0.05, 0.07], abs=1e-6)
    assert damped[0] < 0.02 and damped[1] < 0.02


def test_momentum_is_off_by_default_as_in_rusir_and_below_one():
    assert load_plugins().registry.create("optimizer", "ngd").params.momentum == 0
    with pytest.raises(Exception, match="momentum"):
        load_plugins().registry.create("optimizer", "ngd", {"momentum": 1.0})


def test_a_bad_schedule_is_refused_by_name():
    with pytest.raises(Exception, match="schedule"):
        load_plugins().registry.create("optimizer", "ngd", {"schedule": "step"})
