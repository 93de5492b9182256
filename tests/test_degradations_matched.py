"""The PIL-matched upsampling stand-in reproduces the true operator up to 8-bit rounding."""

from __future__ import annotations

import pytest
import torch

from restorefw.degradation import ImageKey
from restorefw.plugins import load_plugins


@pytest.mark.parametrize("filter_name", ["bilinear", "bicubic", "lanczos"])
def test_matched_stand_in_equals_pil_resize_before_rounding(filter_name):
    registry = load_plugins().registry
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    keys = [ImageKey(0, "a"), ImageKey(0, "b")]
    matched = registry.create("degradation", "upsampling",
                              {"level": "M", "filter": filter_name, "stand_in": "matched"}).realize(x.shape, keys, "cpu")
    box = registry.create("degradation", "upsampling", {"level": "M", "filter": filter_name}).realize(x.shape, keys, "cpu")
    target = matched.true(x)
    assert (matched(x) - target).abs().max() < 0.5 / 255 + 1e-3
    assert (box(x) - target).abs().max() > 0.02
    x.requires_grad_(True)
    matched(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
