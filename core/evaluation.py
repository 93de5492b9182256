"""Metrics on restored images: paired per image, set metrics over a run; missing weights are reported, not fatal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from restorefw.errors import MissingWeightsError
from restorefw.metric import Metric
from restorefw.recipe import ComponentSpec
from restorefw.registry import Registry


@dataclass
class MetricSlot:
    """A metric built from the recipe, or the reason it cannot run here."""

    name: str
    metric: Metric | None
    unavailable: str | None = None

    @property
    def lower_is_better(self) -> bool | None:
        return None if self.metric is None else type(self.metric).lower_is_better


def build_metrics(specs: Sequence[ComponentSpec], registry: Registry, device: torch.device) -> list[MetricSlot]:
    slots = []
    for i, spec in enumerate(specs):
        try:
            metric = registry.create("metric", spec.type, spec.params, f"metrics[{i}]")
            if hasattr(metric, "to"):
                metric = metric.to(device)
            slots.append(MetricSlot(spec.type, metric))
        except MissingWeightsError as exc:
            slots.append(MetricSlot(spec.type, None, str(exc)))
    return slots


def paired_scores(slots: Sequence[MetricSlot], pred: torch.Tensor, ref: torch.Tensor) -> dict[str, list[float] | None]:
    """Per-image scores of every available paired metric; a metric whose weights are missing
    becomes unavailable (its slot records why) and the others go on."""
    scores: dict[str, list[float] | None] = {}
    for slot in slots:
        if slot.metric is None or slot.metric.is_set_metric:
            continue
        try:
            device = next(iter(getattr(slot.metric, "parameters", lambda: iter(()))()), pred).device
            with torch.no_grad():
                values = slot.metric.paired(pred.to(device), ref.to(device))
            scores[slot.name] = [float(v) for v in values.flatten().cpu()]
        except MissingWeightsError as exc:
            slot.metric, slot.unavailable = None, str(exc)
    return scores


def set_scores(slots: Sequence[MetricSlot], preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor]) -> dict[str, float]:
    """Scores of every available set metric (FID, PFID, KID) over whole runs."""
    scores = {}
    for slot in slots:
        if slot.metric is None or not slot.metric.is_set_metric:
            continue
        try:
            scores[slot.name] = float(slot.metric.over_sets(preds, refs))
        except MissingWeightsError as exc:
            slot.metric, slot.unavailable = None, str(exc)
    return scores


def direction_arrow(lower_is_better: bool | None, down: str = " ↓", up: str = " ↑") -> str:
    """The mark shown after a metric's name: `down` when lower is better, `up` when higher is, else nothing."""
    if lower_is_better is None:
        return ""
    return down if lower_is_better else up
