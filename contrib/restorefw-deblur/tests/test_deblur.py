"""restorefw-deblur: kernels, the known operator, seeding, levels and a registered plugin."""

from __future__ import annotations

import pytest
import torch
from restorefw_deblur import GAUSSIAN_SIGMA, MOTION_LENGTH, GaussianBlur, MotionBlur
from restorefw_deblur.kernels import gaussian_kernel, motion_kernel

from restorefw.degradation import ImageKey
from restorefw.plugins import load_plugins

KEYS = [ImageKey(0, "a"), ImageKey(0, "b"), ImageKey(0, "c")]


def test_kernels_are_normalised_odd_and_centred():
    g = gaussian_kernel(2.0)
    m = motion_kernel(9.0, 30.0)
    for k in (g, m):
        assert k.shape[0] % 2 == 1 and k.shape[0] == k.shape[1]
        assert torch.isclose(k.sum(), torch.tensor(1.0), atol=1e-6)
        coords = torch.arange(k.shape[0], dtype=torch.float32) - (k.shape[0] - 1) / 2
        assert abs(float((k.sum(1) * coords).sum())) < 1e-4 and abs(float((k.sum(0) * coords).sum())) < 1e-4
    assert torch.allclose(g, g.T) and g.shape == (13, 13)


def test_a_horizontal_streak_has_its_length_and_no_height():
    k = motion_kernel(9.0, 0.0, size=15)
    assert torch.count_nonzero(k.sum(1)) == 1
    assert torch.count_nonzero(k.sum(0)) in (9, 10, 11)


def test_levels_grow_and_explicit_parameters_win():
    sizes = [GaussianBlur(level=lv).kernel().shape[0] for lv in GaussianBlur.levels]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert list(GAUSSIAN_SIGMA) == list(MOTION_LENGTH) == list(GaussianBlur.levels)
    assert torch.equal(GaussianBlur(level="XL", sigma=1.0).kernel(), gaussian_kernel(1.0))
    assert torch.equal(GaussianBlur().kernel(), GaussianBlur(level="M").kernel())


def test_true_is_the_stand_in_clamped_and_quantised():
    x = torch.rand(3, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    op = GaussianBlur(sigma=1.5).realize(x.shape, KEYS, torch.device("cpu"))
    y, fx = op.true(x), op(x)
    assert y.shape == x.shape and torch.equal(y, (fx.clamp(0, 1) * 255).round() / 255)
    assert (fx - x).abs().mean() > 0.01  # it blurs
    flat = torch.full_like(x, 0.3)
    assert torch.allclose(op(flat), flat, atol=1e-6)  # normalised kernel, replicated edges


def test_the_stand_in_is_differentiable():
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    MotionBlur(length=5.0).realize(x.shape, KEYS[:2], torch.device("cpu"))(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_motion_direction_is_seeded_per_image_and_independent_of_the_batch():
    blur = MotionBlur(length=7.0)
    together = blur.realize((3, 3, 16, 16), KEYS, torch.device("cpu")).kernels
    alone = torch.cat([blur.realize((1, 3, 16, 16), [k], torch.device("cpu")).kernels for k in KEYS])
    assert torch.equal(together, alone)
    assert not torch.equal(together[0], together[1])
    fixed = MotionBlur(length=7.0, angle=45.0).realize((3, 3, 16, 16), KEYS, torch.device("cpu")).kernels
    assert torch.equal(fixed[0], fixed[2])


def test_unknown_parameters_are_rejected():
    with pytest.raises(Exception, match="sigmaa"):
        GaussianBlur.Params(sigmaa=2.0)


def test_the_installed_plugin_registers_both_degradations():
    registry = load_plugins().registry
    assert {"gaussian-blur", "motion-blur"} <= set(registry.names("degradation"))
    blur = registry.create("degradation", "motion-blur", {"level": "S"}, "degradation")
    assert blur.realize((1, 3, 32, 32), KEYS[:1], torch.device("cpu")).kernels.shape[-1] >= 9
