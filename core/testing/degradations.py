"""Conformance of degradation components: the realised operator's shapes, range, mask, gradients, seeding."""

from __future__ import annotations

from typing import Any

import torch

from restorefw.degradation import Degradation, DegradationOperator
from restorefw.testing import samples as S
from restorefw.testing.common import check_common
from restorefw.testing.rules import Checker, Report, run_check

CPU = torch.device("cpu")


def check_degradation(cls: type[Degradation], image_size: int = 64, **params: Any) -> Report:
    """Run a degradation class through every rule of the degradation contract; raises ConformanceError."""
    return run_check("degradation", cls, lambda checker: _check(checker, cls, image_size, params))


def _realize(checker: Checker, degradation: Degradation, shape, keys, device=CPU) -> DegradationOperator:
    with checker.rule("degradation.realize"):
        op = degradation.realize(shape, keys, device)
    checker.require(isinstance(op, DegradationOperator), "degradation.realize",
                    f"realize returned a {type(op).__name__}")
    return op


def _check_restart(checker: Checker, degradation: Degradation, x: torch.Tensor, keys: list) -> None:
    op = _realize(checker, degradation, tuple(x.shape), keys)
    with checker.rule("degradation.restart"), torch.no_grad():
        first = op(x)
        op(x)
        op.restart()
        repeated = op(x)
    checker.require(torch.equal(first, repeated), "degradation.restart",
                    "after restart(), forward(x) differs from its first call: an f̂ that draws randomness as it "
                    "runs must re-seed it in restart()")


def _check(checker: Checker, cls: type[Degradation], size: int, params: dict[str, Any]) -> None:
    degradation = check_common(checker, "degradation", cls, Degradation, params)
    x, keys = S.images(3, size), S.keys(3)
    original = x.clone()
    op = _realize(checker, degradation, tuple(x.shape), keys)
    with checker.rule("degradation.shape"):
        out_size = tuple(op.output_size(size, size))
        expected = (3, op.output_channels(3), *out_size)
        y, fx = op.true(x), op(x)
    for label, value in (("true(x)", y), ("forward(x)", fx)):
        checker.require(isinstance(value, torch.Tensor) and tuple(value.shape) == expected
                        and value.is_floating_point(), "degradation.shape",
                        f"{label} has shape {list(getattr(value, 'shape', []))} "
                        f"({getattr(value, 'dtype', type(value).__name__)}), expected {list(expected)} floats")
    checker.require(bool(((y >= 0) & (y <= 1)).all()), "degradation.range",
                    f"true(x) has values in [{y.min().item():.3g}, {y.max().item():.3g}]")
    checker.report.passed.append("degradation.range")
    mask = op.mask
    mask_ok = mask is None or (tuple(mask.shape) == (3, 1, *out_size) and bool(((mask >= 0) & (mask <= 1)).all()))
    checker.require(mask_ok,
                    "degradation.mask", f"mask has shape {list(getattr(mask, 'shape', []))}, expected "
                                        f"{[3, 1, *out_size]} with values in [0, 1]")
    checker.report.passed.append("degradation.mask")
    checker.require(torch.equal(x, original), "inputs.unchanged", "true(x) or forward(x) modified x in place")
    checker.report.passed.append("inputs.unchanged")
    xg = x.clone().requires_grad_(True)
    with checker.rule("degradation.gradient"):
        op(xg).square().sum().backward()
    checker.require(xg.grad is not None and bool(torch.isfinite(xg.grad).all()), "degradation.gradient",
                    "no finite gradient reached x through forward(x)")
    alone = [_realize(checker, degradation, (1, *x.shape[1:]), keys[i:i + 1]) for i in range(3)]
    with checker.rule("degradation.batch-independence"):
        y_alone = torch.cat([a.true(x[i:i + 1]) for i, a in enumerate(alone)])
    checker.require(S.close(y, y_alone, atol=1.5 / 255), "degradation.batch-independence",
                    "true(x) realised for 3 keys differs from realised for each key alone "
                    f"(max difference {(y - y_alone).abs().max().item():.4g})")
    if mask is not None:
        masks_alone = torch.cat([a.mask for a in alone if a.mask is not None])
        checker.require(S.close(mask, masks_alone), "degradation.batch-independence",
                        "the mask realised for 3 keys differs from the masks realised one by one")
    again = _realize(checker, cls(cls.Params.model_validate(params)), tuple(x.shape), keys)
    with checker.rule("degradation.determinism"):
        y_again = again.true(x)
    checker.require(torch.equal(y, y_again), "degradation.determinism", "two realisations for the same keys "
                                                                        "made different targets")
    _check_restart(checker, degradation, x, keys)
    _check_levels(checker, cls, size, params)
    for device in S.devices()[1:]:
        with checker.rule("device.move"):
            moved = op.to(device)(x.to(device))
        checker.require(moved.device.type == device.type, "device.move", f"forward on {device} returned "
                                                                         f"a tensor on {moved.device}")
    checker.report.passed.append("device.move")


def _check_levels(checker: Checker, cls: type[Degradation], size: int, params: dict[str, Any]) -> None:
    for level in cls.levels:
        with checker.rule("degradation.levels"):
            component = cls(cls.Params.model_validate({**params, "level": level}))
            op = component.realize((1, 3, size, size), S.keys(1), CPU)
            op.true(S.images(1, size))
    checker.report.passed.append("degradation.levels")
