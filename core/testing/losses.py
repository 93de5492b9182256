"""Conformance of loss components: shapes, finiteness, gradients, batch independence, masks, devices."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from restorefw.errors import UserError
from restorefw.loss import Loss
from restorefw.testing import samples as S
from restorefw.testing.common import check_common
from restorefw.testing.rules import Checker, Report, run_check


def _values(loss: Loss, x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, keys) -> torch.Tensor:
    loss.prepare(target, mask, keys)
    return loss(x)


def check_loss(cls: type[Loss], image_size: int = 64, **params: Any) -> Report:
    """Run a loss class through every rule of the loss contract; raises ConformanceError naming the broken rule."""
    return run_check("loss", cls, lambda checker: _check(checker, cls, image_size, params))


def _check(checker: Checker, cls: type[Loss], size: int, params: dict[str, Any]) -> None:
    loss = check_common(checker, "loss", cls, Loss, params)
    x, target, mask, keys = S.images(3, size, seed=1), S.images(3, size, seed=2), S.masks(3, size), S.keys(3)
    originals = (x.clone(), target.clone(), mask.clone())
    with checker.rule("loss.prepare"):
        loss.prepare(target, None, keys)
        loss.prepare(target, mask, keys)
    with checker.rule("loss.shape"):
        values = _values(loss, x, target, None, keys)
    checker.require(isinstance(values, torch.Tensor) and values.shape == (3,) and values.is_floating_point(),
                    "loss.shape", f"for a batch of 3 it returned {_describe(values)}")
    checker.require(bool(torch.isfinite(values).all()), "loss.finite", f"values {values.tolist()}")
    checker.report.passed.append("loss.finite")
    with checker.rule("loss.mask"):
        masked = _values(loss, x, target, mask, keys)
    checker.require(isinstance(masked, torch.Tensor) and masked.shape == (3,) and bool(torch.isfinite(masked).all()),
                    "loss.mask", f"with a mask, a batch of 3 gave {_describe(masked)} "
                                 f"({masked.tolist() if isinstance(masked, torch.Tensor) else ''})")
    for name, m in (("without a mask", None), ("with a mask", mask)):
        xg = x.clone().requires_grad_(True)
        with checker.rule("loss.gradient"):
            _values(loss, xg, target, m, keys).sum().backward()
        grad = xg.grad
        checker.require(grad is not None and bool(torch.isfinite(grad).all()) and bool(grad.abs().sum() > 0),
                        "loss.gradient", f"{name}, the gradient with respect to x is "
                        f"{'missing' if grad is None else 'non-finite or zero everywhere'}")
        with checker.rule("loss.batch-independence"):
            alone = torch.cat([_values(loss, x[i:i + 1], target[i:i + 1], None if m is None else m[i:i + 1],
                                       keys[i:i + 1]) for i in range(3)])
            together = _values(loss, x, target, m, keys)
        checker.require(S.close(together, alone), "loss.batch-independence",
                        f"{name}, batch of 3 gave {together.tolist()} but one by one {alone.tolist()}")
    with checker.rule("loss.target-is-best"):
        at_target = _values(loss, target, target, None, keys)
    checker.require(bool((at_target < values).all()), "loss.target-is-best",
                    f"at x = target it gave {at_target.tolist()}, at another image {values.tolist()}")
    checker.require(all(torch.equal(a, b) for a, b in zip(originals, (x, target, mask))), "inputs.unchanged",
                    "x, the target or the mask was modified in place")
    checker.report.passed.append("inputs.unchanged")
    twin = cls(cls.Params.model_validate(params))
    with checker.rule("loss.determinism"):
        again = _values(twin, x, target, mask, keys)
    first = _values(loss, x, target, mask, keys)
    checker.require(S.close(first, again), "loss.determinism",
                    f"a second instance gave {again.tolist()}, the first {first.tolist()}")
    half = (size // 2, size // 2)
    small_x, small_target, small_mask = (F.interpolate(t, size=half, mode="area") for t in (x, target, mask))
    try:
        fresh = _values(cls(cls.Params.model_validate(params)), small_x, small_target, small_mask, keys)
    except UserError:  # a loss with a minimum image size may refuse the smaller target outright
        fresh = None
    if fresh is not None:
        with checker.rule("loss.prepare-again"):
            smaller = _values(loss, small_x, small_target, small_mask, keys)
        checker.require(S.close(smaller, fresh), "loss.prepare-again",
                        f"prepared at {size}² and then again at {half[0]}², it gave {smaller.tolist()}; a new "
                        f"instance prepared at {half[0]}² gave {fresh.tolist()}")
    else:
        checker.report.passed.append("loss.prepare-again")
    for device in S.devices()[1:]:
        with checker.rule("device.move"):
            moved = _values(loss.to(device), x.to(device), target.to(device), mask.to(device), keys)
        checker.require(moved.device.type == device.type and S.close(moved, first, rtol=1e-3, atol=1e-4),
                        "device.move", f"on {device} it gave {moved.tolist()} (CPU: {first.tolist()})")
    checker.report.passed.append("device.move")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {list(value.shape)}"
    return f"a {type(value).__name__}"
