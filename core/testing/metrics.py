"""Conformance of metric components: paired values per image or one value over sets, finite and repeatable."""

from __future__ import annotations

import math
from typing import Any

import torch

from restorefw.metric import Metric
from restorefw.testing import samples as S
from restorefw.testing.common import check_common
from restorefw.testing.rules import Checker, Report, run_check


def check_metric(cls: type[Metric], image_size: int = 64, **params: Any) -> Report:
    """Run a metric class through every rule of the metric contract; raises ConformanceError naming the rule."""
    return run_check("metric", cls, lambda checker: _check(checker, cls, image_size, params))


def _check(checker: Checker, cls: type[Metric], size: int, params: dict[str, Any]) -> None:
    metric = check_common(checker, "metric", cls, Metric, params)
    flags = (getattr(cls, "lower_is_better", None), getattr(cls, "is_set_metric", None))
    checker.require(all(isinstance(f, bool) for f in flags), "metric.kind",
                    f"lower_is_better={flags[0]!r}, is_set_metric={flags[1]!r}")
    shown, decimals = getattr(cls, "display_name", None), getattr(cls, "decimals", 3)
    checker.require((shown is None or (isinstance(shown, str) and bool(shown.strip())))
                    and isinstance(decimals, int) and not isinstance(decimals, bool) and decimals >= 0,
                    "metric.kind", f"display_name={shown!r}, decimals={decimals!r}")
    checker.report.passed.append("metric.kind")
    pred, ref = S.images(4, size, seed=3), S.images(4, size, seed=4)
    if cls.is_set_metric:
        preds, refs = [pred[:2], pred[2:]], [ref[:2], ref[2:]]
        with checker.rule("metric.over-sets"):
            value = metric.over_sets(preds, refs)
        checker.require(isinstance(value, (float, int)) and math.isfinite(value), "metric.over-sets",
                        f"over_sets returned {value!r}")
        with checker.rule("metric.determinism"):
            again = cls(cls.Params.model_validate(params)).over_sets(preds, refs)
        checker.require(math.isclose(value, again, rel_tol=1e-4, abs_tol=1e-5), "metric.determinism",
                        f"{value!r} then {again!r}")
        return
    with checker.rule("metric.paired"):
        values = metric.paired(pred, ref)
    checker.require(isinstance(values, torch.Tensor) and tuple(values.shape) == (4,) and values.is_floating_point()
                    and bool(torch.isfinite(values).all()), "metric.paired",
                    f"paired returned {getattr(values, 'shape', values)!r} for 4 images "
                    f"({values.tolist() if isinstance(values, torch.Tensor) else ''})")
    checker.require(torch.equal(pred, S.images(4, size, seed=3)) and torch.equal(ref, S.images(4, size, seed=4)),
                    "inputs.unchanged", "paired(pred, ref) modified its inputs in place")
    checker.report.passed.append("inputs.unchanged")
    with checker.rule("metric.direction"):
        near = metric.paired((0.97 * ref + 0.03 * pred), ref)
    better = near < values if cls.lower_is_better else near > values
    checker.require(bool(better.all()), "metric.direction",
                    f"lower_is_better={cls.lower_is_better}, but a prediction close to the reference scored "
                    f"{near.tolist()} and a distant one {values.tolist()}")
    with checker.rule("metric.batch-independence"):
        alone = torch.cat([metric.paired(pred[i:i + 1], ref[i:i + 1]).reshape(-1) for i in range(4)])
    checker.require(S.close(values, alone), "metric.batch-independence",
                    f"a batch of 4 gave {values.tolist()}, one by one {alone.tolist()}")
    with checker.rule("metric.determinism"):
        repeated = cls(cls.Params.model_validate(params)).paired(pred, ref)
    checker.require(S.close(values, repeated, rtol=1e-4, atol=1e-5), "metric.determinism",
                    f"{values.tolist()} then {repeated.tolist()}")
    for device in S.devices()[1:]:
        with checker.rule("device.move"):
            moved = metric.paired(pred.to(device), ref.to(device))
        checker.require(S.close(moved, values, rtol=1e-3, atol=1e-4), "device.move",
                        f"on {device}: {moved.tolist()} (CPU: {values.tolist()})")
    checker.report.passed.append("device.move")
