"""The optimisation engine: invert a frozen generator through a degradation, phase by phase."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from restorefw.degradation import DegradationOperator, ImageKey
from restorefw.errors import UserError
from restorefw.generator import GeneratorNetwork
from restorefw.latent import LatentSpace
from restorefw.loss import Loss
from restorefw.optimizer import Optimizer
from restorefw.recipe import Recipe
from restorefw.registry import Registry


class Identity(DegradationOperator):
    """No degradation: restoration from a clean or already-degraded photo at full size."""

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass
class PhasePlan:
    """A phase with its components built."""

    name: str
    space: LatentSpace
    optimizer: Optimizer
    steps: int
    lr: float


@dataclass
class WeightedLoss:
    name: str
    weight: float
    loss: Loss


@dataclass
class Restoration:
    """What restoring one batch produced."""

    restored: torch.Tensor  # [B,C,H,W] in [0,1], clamped
    styles: torch.Tensor  # final styles, as G.synthesis takes them
    phase_images: dict[str, torch.Tensor] = field(default_factory=dict)
    log: list[dict[str, list[float]]] = field(default_factory=list)  # per image: term → values per step
    failures: dict[int, str] = field(default_factory=dict)  # batch index → message


StepCallback = Callable[[str, int, int, float], None]


def render(G: GeneratorNetwork, styles: torch.Tensor, precision: str = "float32") -> torch.Tensor:
    """G's image for `styles`, mapped from [-1,1] to [0,1], unclamped (as RUSIR optimises it).

    `precision="bfloat16"` runs the synthesis under autocast; the image comes back as float32."""
    if precision == "float32":
        return (G.synthesis(styles, noise_mode="const") + 1) / 2
    with torch.autocast(device_type=styles.device.type, dtype=torch.bfloat16):
        image = G.synthesis(styles, noise_mode="const")
    return (image.float() + 1) / 2


class Restorer:
    """Builds a recipe's generator-independent parts (phases, losses) and restores batches."""

    def __init__(self, recipe: Recipe, registry: Registry, G: GeneratorNetwork, device: torch.device) -> None:
        self.recipe, self.registry, self.G, self.device = recipe, registry, G, device
        scale = recipe.schedule.lr_scale
        self.phases = [
            PhasePlan(
                name=f"{i + 1}:{p.space}",
                space=registry.create("latent_space", p.space, p.space_params, f"schedule.phases[{i}].space"),
                optimizer=registry.create("optimizer", p.optimizer.type, p.optimizer.params,
                                          f"schedule.phases[{i}].optimizer"),
                steps=p.steps, lr=p.lr * scale)
            for i, p in enumerate(recipe.schedule.phases)
        ]
        self.losses = []
        for i, spec in enumerate(recipe.losses):
            loss = registry.create("loss", spec.type, spec.params, f"losses[{i}]").to(device)
            self.losses.append(WeightedLoss(self._term_name(spec.type), spec.weight, loss))

    def _term_name(self, base: str) -> str:
        taken = {t.name for t in getattr(self, "losses", [])}
        name, n = base, 2
        while name in taken:
            name, n = f"{base}#{n}", n + 1
        return name

    @property
    def uses_random_backbone(self) -> bool:
        return any(getattr(t.loss, "uses_random_backbone", False) for t in self.losses)

    def objective(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted sum of loss terms, per image `[B]`, and each weighted term."""
        terms = {t.name: t.weight * t.loss(x) for t in self.losses if t.weight != 0}
        total = torch.stack(list(terms.values())).sum(dim=0)
        return total, terms

    def restore(self, target: torch.Tensor, operator: DegradationOperator, keys: Sequence[ImageKey],
                keep_phases: bool = False, on_step: StepCallback | None = None) -> Restoration:
        """Restore a batch: `target` is the degraded batch `[B,C,h,w]`; one latent per image."""
        G, batch = self.G, target.shape[0]
        operator = operator.to(self.device)
        target = target.to(self.device)
        mask = operator.mask.to(self.device) if operator.mask is not None else None
        for term in self.losses:
            term.loss.prepare(target, mask, keys)
        log: list[dict[str, list[float]]] = [{} for _ in range(batch)]
        failures: dict[int, str] = {}
        alive = torch.ones(batch, dtype=torch.bool, device=self.device)
        styles: torch.Tensor | None = None
        phase_images: dict[str, torch.Tensor] = {}
        for plan in self.phases:
            latent = plan.space.initial(G, batch, styles).to(self.device).detach().requires_grad_(True)
            optimizer = plan.optimizer.build(latent, plan.lr, plan.steps)
            scheduler = plan.optimizer.scheduler(optimizer, plan.steps)
            history: list[torch.Tensor] = []
            for step in range(plan.steps):
                x = operator(render(G, plan.space.to_styles(latent, G), self.recipe.precision))
                if x.shape[-2:] != target.shape[-2:]:
                    raise UserError(
                        f"the degraded render is {tuple(x.shape[-2:])} but the target is "
                        f"{tuple(target.shape[-2:])}; the degradation's size does not match the input "
                        "images. Check `degradation` (e.g. the upsampling factor) against the image sizes.")
                total, terms = self.objective(x)
                finite = torch.isfinite(total)
                newly_bad = alive & ~finite
                for i in newly_bad.nonzero().flatten().tolist():
                    failures[i] = (f"the loss became {total[i].item()} at phase {plan.name}, step {step}; "
                                   "this image's optimisation was stopped (try a lower lr_scale)")
                alive = alive & finite
                optimizer.zero_grad(set_to_none=True)
                torch.where(alive, total, torch.zeros_like(total)).sum().backward()
                if latent.grad is not None:
                    latent.grad[~alive] = 0
                    latent.grad.nan_to_num_(0.0, 0.0, 0.0)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                history.append(torch.stack([total, *terms.values()]).detach())
                if on_step is not None:
                    shown = total[alive].mean().item() if alive.any() else math.nan
                    on_step(plan.name, step, plan.steps, shown)
            if history:
                self._record(log, plan.name, ["total", *terms], torch.stack(history))
            styles = plan.space.to_styles(latent, G).detach()
            if keep_phases:
                with torch.no_grad():
                    phase_images[plan.name] = render(G, styles).clamp(0, 1).cpu()
        if styles is None:
            styles = self.phases[0].space.to_styles(self.phases[0].space.initial(G, batch, None).to(self.device), G)
        with torch.no_grad():
            restored = render(G, styles).clamp(0, 1)
        return Restoration(restored.cpu(), styles.cpu(), phase_images, log, failures)

    @staticmethod
    def _record(log, phase: str, names: list[str], history: torch.Tensor) -> None:
        """Move a phase's loss history `[steps, terms, B]` to the per-image logs in one transfer."""
        values = history.cpu().permute(2, 1, 0).tolist()
        for i, per_term in enumerate(values):
            for name, series in zip(names, per_term):
                log[i][f"{phase}/{name}"] = series
