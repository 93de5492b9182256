"""The build layer: a validated recipe turned into objects (generator, degradation, phases, losses, metrics)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Sequence

import torch

from restorefw.composition import build_degradation
from restorefw.degradation import Degradation
from restorefw.device import precision_warning, resolve_precision
from restorefw.engine import PhasePlan, Restorer, WeightedLoss, require_render_resolution
from restorefw.evaluation import RANDOM_BACKBONE, RANDOM_BACKBONE_FOOTNOTE, MetricSlot, build_metrics
from restorefw.generator import GeneratorNetwork, check_network
from restorefw.recipe import ComponentSpec, LossSpec, Recipe, Schedule, of_full
from restorefw.recipe_defaults import fill_defaults
from restorefw.registry import Registry

RANDOM_BACKBONE_NOTE = ("a loss uses a RANDOM backbone (backbone: random): scores are not comparable "
                        "to pretrained-LPIPS results")


class Generators:
    """Frozen generators loaded once per (spec, device): the only place a generator is loaded."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._loaded: dict[str, GeneratorNetwork] = {}

    def get(self, spec: ComponentSpec, device: torch.device) -> GeneratorNetwork:
        key = json.dumps([spec.model_dump(mode="json"), str(device)], sort_keys=True, default=str)
        if key not in self._loaded:
            component = self.registry.create("generator", spec.type, spec.params, "generator")
            G = component.load(device)
            entry = self.registry.entry("generator", spec.type)
            check_network(G, f"generator {entry.cls.name!r} of plugin {entry.plugin!r}")
            self._loaded[key] = G
        return self._loaded[key]


def build_phases(schedule: Schedule, registry: Registry) -> list[PhasePlan]:
    """The schedule's phases with their latent spaces and optimisers built (lr scaled by `lr_scale`)."""
    plans = []
    for i, p in enumerate(schedule.phases):
        assert p.optimizer is not None, "fill_defaults names every phase's optimizer"
        plans.append(PhasePlan(
            name=f"{i + 1}:{p.space}",
            space=registry.create("latent_space", p.space, p.space_params, f"schedule.phases[{i}].space"),
            optimizer=registry.create("optimizer", p.optimizer.type, p.optimizer.params,
                                      f"schedule.phases[{i}].optimizer"),
            steps=p.steps, lr=p.lr * schedule.lr_scale, render_resolution=p.render_resolution,
            loss_resolution=p.loss_resolution))
    return plans


def check_render_resolutions(phases: Sequence[PhasePlan], G: GeneratorNetwork) -> None:
    """A phase's numeric (or `full/N`) render_resolution must be one the generator renders at (checked before any
    step)."""
    for i, plan in enumerate(phases):
        wanted = of_full(plan.render_resolution, G.img_resolution)
        if isinstance(wanted, int):
            require_render_resolution(G, wanted, f"schedule.phases[{i}].render_resolution")


def build_losses(specs: Sequence[LossSpec], registry: Registry, device: torch.device) -> list[WeightedLoss]:
    """The weighted loss terms on `device`; a type used twice is named `type#2`, `type#3`, ..."""
    terms: list[WeightedLoss] = []
    for i, spec in enumerate(specs):
        loss = registry.create("loss", spec.type, spec.params, f"losses[{i}]").to(device)
        taken = {t.name for t in terms}
        name, n = spec.type, 2
        while name in taken:
            name, n = f"{spec.type}#{n}", n + 1
        terms.append(WeightedLoss(name, spec.weight, loss))
    return terms


@dataclass
class Built:
    """Everything a recipe's restoration needs, built."""

    generator: GeneratorNetwork
    degradation: Degradation | None
    restorer: Restorer
    metrics: list[MetricSlot]
    device: torch.device
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build(recipe: Recipe, registry: Registry, device: torch.device, generators: Generators) -> Built:
    """The objects of `recipe` on `device`, in recipe order (generator, degradation, phases, losses, metrics)."""
    fill_defaults(recipe, registry)
    assert recipe.generator is not None and recipe.metrics is not None, "fill_defaults names every component"
    G = generators.get(recipe.generator, device)
    degradation = build_degradation(recipe.degradation, registry, "degradation")
    phases = build_phases(recipe.schedule, registry)
    check_render_resolutions(phases, G)
    losses = build_losses(recipe.losses, registry, device)
    restorer = Restorer(G, phases, losses, device,
                        ensemble=recipe.schedule.ensemble, precision=resolve_precision(recipe.precision, device),
                        loss_precision=resolve_precision(recipe.loss_precision, device))
    metrics = build_metrics(recipe.metrics, registry, device)
    notes = [RANDOM_BACKBONE_NOTE] if any(getattr(t.loss, "uses_random_backbone", False) for t in losses) else []
    notes += [f"metric {slot.name} is {RANDOM_BACKBONE_FOOTNOTE}; its values are marked ({RANDOM_BACKBONE})"
              for slot in metrics if slot.random_backbone]
    warnings = [w for w in (precision_warning("precision", recipe.precision, device),
                            precision_warning("loss_precision", recipe.loss_precision, device)) if w]
    return Built(G, degradation, restorer, metrics, device, notes + warnings, warnings)
