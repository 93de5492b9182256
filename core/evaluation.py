"""Metrics on restored images: paired per image, set metrics over a run; missing weights and inputs a metric
cannot measure are reported (n/a with the reason), never fatal."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Sequence

import torch

from restorefw.errors import CannotMeasure, MissingWeightsError
from restorefw.metric import Metric
from restorefw.provenance import PluginFailure, describe, guarded
from restorefw.recipe import ComponentSpec
from restorefw.registry import Registry


@dataclass
class MetricSlot:
    """A metric built from the recipe, or the reason it cannot run here; `not_measured` maps what it was
    asked to score (e.g. "fidelity") to why it could not measure those images."""

    name: str
    metric: Metric | None
    unavailable: str | None = None
    not_measured: dict[str, str] = field(default_factory=dict)
    display_name: str | None = None
    decimals: int = 3

    @property
    def lower_is_better(self) -> bool | None:
        return None if self.metric is None else type(self.metric).lower_is_better

    @property
    def random_backbone(self) -> bool:
        """Scores of a seeded random network (`backbone: random`): not comparable with published values."""
        return bool(getattr(self.metric, "uses_random_backbone", False))


RANDOM_BACKBONE = "random backbone"
RANDOM_BACKBONE_FOOTNOTE = ("computed with a seeded RANDOM backbone (`backbone: random`), not the pretrained "
                            "network: not comparable with published values")


def metric_caption(name: str, info: dict[str, Any]) -> str:
    """`name`, marked "(random backbone)" when its results entry says so."""
    return f"{name} ({RANDOM_BACKBONE})" if info.get("random_backbone") else name


def metric_entry(slot: MetricSlot, lower_is_better: bool | None,
                 not_measured: dict[str, str] | None = None) -> dict[str, Any]:
    """A metric's entry in results.json: direction, why unavailable, whether its backbone is random,
    per group (restored/baseline/fidelity) why it could not measure those images (n/a), and how
    reports show it (the class's `display_name` and `decimals`)."""
    return {"lower_is_better": lower_is_better, "unavailable": slot.unavailable,
            "random_backbone": slot.random_backbone, "not_measured": dict(not_measured or {}),
            "display_name": slot.display_name or slot.name, "decimals": slot.decimals}


def build_metrics(specs: Sequence[ComponentSpec], registry: Registry, device: torch.device) -> list[MetricSlot]:
    slots = []
    for i, spec in enumerate(specs):
        cls = registry.get("metric", spec.type, f"metrics[{i}].type")
        shown = {"display_name": cls.display_name, "decimals": cls.decimals}
        try:
            metric = registry.create("metric", spec.type, spec.params, f"metrics[{i}]")
            if hasattr(metric, "to"):
                metric = metric.to(device)
            slots.append(MetricSlot(spec.type, metric, **shown))
        except MissingWeightsError as exc:
            slots.append(MetricSlot(spec.type, None, str(exc), **shown))
    return slots


def paired_scores(slots: Sequence[MetricSlot], pred: torch.Tensor, ref: torch.Tensor,
                  what: str = "images") -> dict[str, list[float] | None]:
    """Per-image scores of every available paired metric. A metric whose weights are missing becomes
    unavailable (its slot records why); one that cannot measure these images (too small for its network,
    or failing on them) scores None (n/a) and its slot records why under `what`. The others go on."""
    scores: dict[str, list[float] | None] = {}
    for slot in slots:
        if slot.metric is None or slot.metric.is_set_metric:
            continue
        try:
            device = next(iter(getattr(slot.metric, "parameters", lambda: iter(()))()), pred).device
            with torch.no_grad():
                values = guarded("metric", slot.metric, partial(slot.metric.paired, pred.to(device), ref.to(device)))
            if not isinstance(values, torch.Tensor) or values.numel() != pred.shape[0]:
                shown = list(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
                raise PluginFailure(f"{describe('metric', slot.metric)} returned {shown}, not one value per image "
                                    f"([{pred.shape[0]}]); fix the plugin or remove it from the metrics.")
            scores[slot.name] = [float(v) for v in values.flatten().cpu()]
        except MissingWeightsError as exc:
            slot.metric, slot.unavailable = None, str(exc)
        except (CannotMeasure, PluginFailure) as exc:
            scores[slot.name] = None
            if not isinstance(exc, CannotMeasure):
                h, w = pred.shape[-2:]
                exc = CannotMeasure(f"failed on {h}×{w} images: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
            slot.not_measured.setdefault(what, str(exc))
    return scores


def set_scores(slots: Sequence[MetricSlot], preds: Sequence[torch.Tensor],
               refs: Sequence[torch.Tensor]) -> dict[str, float]:
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
