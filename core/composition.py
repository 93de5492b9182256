"""A recipe's degradation: one registered degradation, or several applied in order (a composition).

Composition is a core concept over the degradation protocol: any registered degradation, built-in or
not, can be a stage. `validate` and `run` build the degradation with the same function, so a recipe
validates exactly when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel

from restorefw.component import Params
from restorefw.degradation import Degradation, DegradationOperator, ImageKey
from restorefw.errors import RecipeError
from restorefw.registry import Registry


class ComposedOperator(DegradationOperator):
    """Operators applied in order. The mask is the last masking stage's, box-averaged to the output
    size when a later stage resizes; `set_mask` hands a user mask to that stage at its own size."""

    def __init__(self, stages: Sequence[DegradationOperator], height: int, width: int) -> None:
        super().__init__()
        self.stages = torch.nn.ModuleList(stages)
        self.operators: list[DegradationOperator] = list(stages)  # the same modules, typed
        self._masked = max((i for i, s in enumerate(stages) if s.mask is not None), default=None)
        self.mask = None if self._masked is None else self.operators[self._masked].mask
        size = self.output_size(height, width)
        if self.mask is not None and tuple(self.mask.shape[-2:]) != size:
            self.mask = F.adaptive_avg_pool2d(self.mask, size)

    def set_mask(self, mask: torch.Tensor) -> None:
        self.mask = mask
        if self._masked is not None:
            stage = self.operators[self._masked]
            assert stage.mask is not None, "the stage was chosen for its mask"
            size = tuple(stage.mask.shape[-2:])
            stage.set_mask(mask if tuple(mask.shape[-2:]) == size else F.interpolate(mask, size=size, mode="nearest"))

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        for stage in self.operators:
            height, width = stage.output_size(height, width)
        return height, width

    def output_channels(self, channels: int) -> int:
        for stage in self.operators:
            channels = stage.output_channels(channels)
        return channels

    def true(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.operators:
            x = stage.true(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.operators:
            x = stage(x)
        return x

    def restart(self) -> None:
        for stage in self.operators:
            stage.restart()


class CompositionParams(Params):
    """What a composition is made of, for manifests: each stage's name and validated parameters."""

    stages: list[dict[str, Any]]


class Composition(Degradation):
    """Degradations applied in order, each realised at the previous one's output size and channels.

    A stage draws the same randomness as it would alone; a degradation that appears again draws
    fresh randomness (its keys' image ids get a `#<stage index>` suffix)."""

    Params = CompositionParams

    def __init__(self, stages: Sequence[Degradation]) -> None:
        super().__init__(CompositionParams(stages=[
            {"type": s.name, "params": s.params.model_dump(mode="json")} for s in stages]))
        self.stages = list(stages)

    @property
    def label(self) -> str:
        return " → ".join(s.label for s in self.stages)

    def for_input(self, path: Path, resolution: tuple[int, int], channels: int = 3,
                  mask: Path | None = None, fit: str = "crop") -> Degradation:
        stages = [s.for_input(path, resolution, channels, mask, fit) for s in self.stages]
        return self if all(a is b for a, b in zip(stages, self.stages)) else Composition(stages)

    def describe(self) -> dict[str, Any]:
        return {"type": "composition", "stages": [s.describe() for s in self.stages]}

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        b, c, h, w = shape
        operators, seen = [], set()
        for index, stage in enumerate(self.stages):
            stage_keys = list(keys) if stage.name not in seen else [
                ImageKey(k.seed, f"{k.image_id}#{index}") for k in keys]
            seen.add(stage.name)
            op = stage.realize((b, c, h, w), stage_keys, device)
            operators.append(op)
            h, w = op.output_size(h, w)
            c = op.output_channels(c)
        return ComposedOperator(operators, shape[2], shape[3])


def stage_params(cls: type[Degradation], params: dict[str, Any], level: str | None, path: str) -> dict[str, Any]:
    """A stage's parameters: `level` goes in only for a degradation that declares levels."""
    if level is None:
        return dict(params)
    if not cls.levels:
        raise RecipeError(f"the degradation {cls.name!r} has no named levels.", path=f"{path}.level",
                          suggestion="Remove `level` and give its parameters explicitly.")
    if level not in cls.levels:
        raise RecipeError(f"{level!r} is not a level of the degradation {cls.name!r}; its levels are "
                          f"{', '.join(cls.levels)}.", path=f"{path}.level")
    if params.get("level", level) != level:
        raise RecipeError(f"the level is given twice ({level!r} and params.level {params['level']!r}).",
                          path=f"{path}.params.level", suggestion="Keep one of them.")
    return {**params, "level": level}


def build_stage(registry: Registry, task: str, level: str | None, params: dict[str, Any] | BaseModel,
                path: str) -> Degradation:
    """One registered degradation with its level and parameters; errors name `path`."""
    cls = registry.get("degradation", task, f"{path}.task")
    raw = params.model_dump(exclude_unset=True) if isinstance(params, BaseModel) else params
    merged = stage_params(cls, raw, level, path)
    return cls(registry.validate_params("degradation", task, merged, path))


def build_degradation(spec: Any, registry: Registry, path: str = "degradation") -> Degradation | None:
    """The degradation of a recipe's `degradation:` value: None, one stage (an object with `task`,
    `level`, `params`), or a list of stages, which becomes a `Composition` (a list of one stage is
    that stage)."""
    if spec is None:
        return None
    if not isinstance(spec, (list, tuple)):
        return build_stage(registry, spec.task, spec.level, spec.params, path)
    stages = [build_stage(registry, s.task, s.level, s.params, f"{path}[{i}]") for i, s in enumerate(spec)]
    return stages[0] if len(stages) == 1 else Composition(stages)
