"""`degradation: auto`: read each input file's damage and restore through the stages that model it.

`auto` is for restore mode: for every file, `for_input` inspects it (inspection.py) and returns the
composition of what was found in the study's order U → N → A → P. A recipe can override any part:
per task, a mapping of that task's parameters (applied over what was found, when it is found),
`off` (never use that stage), and `always` (add a stage even when nothing was found, with its
overrides or its defaults).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import torch
from pydantic import Field, field_validator

from restorefw.component import Params
from restorefw.composition import Composition
from restorefw.degradation import Degradation, DegradationOperator, ImageKey
from restorefw.errors import UserError
from restorefw.imageio import quantize_8bit
from restorefw_plugins.degradations.components import SINGLE_TASKS
from restorefw_plugins.degradations.inspection import ORDER, Inspection, inspect_file

Task = Literal["upsampling", "denoising", "deartifacting", "inpainting"]
Override = dict[str, Any] | Literal["off"]
SUPERSEDES = {"factor": ("size",), "quality": ("tables", "sampling")}  # an override of the key drops these found ones


class NoDamage(DegradationOperator):
    """Nothing found: f̂ is the identity, the target is the file as it is."""

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_8bit(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Found(Composition):
    """The stages `auto` found in one file, composed in U → N → A → P order (none: the identity)."""

    name = "auto"
    description = "What `auto` found in one input file."

    def __init__(self, steps: list[dict[str, Any]], inspection: Inspection | None = None) -> None:
        super().__init__([SINGLE_TASKS[s["task"]](SINGLE_TASKS[s["task"]].Params.model_validate(s["params"]))
                          for s in steps])
        self.steps = steps
        self.inspection = inspection

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        return super().realize(shape, keys, device) if self.stages else NoDamage()

    def describe(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": self.name, "stages": [{"type": s["task"], "params": s["params"]}
                                                               for s in self.steps]}
        if self.inspection is not None:
            record["found"] = self.inspection.found
            record["summary"] = self.summary()
        return record

    def summary(self) -> str:
        return self.inspection.summary() if self.inspection is not None else str(self.steps)


class Auto(Degradation):
    """Restore mode: the damage of each input file, read from the file itself."""

    name = "auto"
    description = ("Restore mode: reads each file's damage (size vs the generator, JPEG tables and sampling, noise, "
                   "alpha holes) and composes the stages found, U → N → A → P; `restorefw inspect` shows it.")

    class Params(Params):
        """Per task: parameters applied over what was found (e.g. `{stand_in: matched}` or `{photons: 20}`;
        `factor` replaces a found `size`, `quality` the file's tables), or `off`; `always` adds stages even
        when not found."""

        upsampling: Override = Field(default_factory=dict)
        denoising: Override = Field(default_factory=dict)
        deartifacting: Override = Field(default_factory=dict)
        inpainting: Override = Field(default_factory=dict)
        always: list[Task] = Field(default_factory=list)

        @field_validator("upsampling", "denoising", "deartifacting", "inpainting")
        @classmethod
        def _task_params(cls, value: Override, info: Any) -> Override:
            if isinstance(value, dict):
                SINGLE_TASKS[info.field_name].Params.model_validate(value)
            return value

    def override(self, task: str) -> Override:
        return getattr(self.params, task)

    def steps_for(self, inspection: Inspection) -> list[dict[str, Any]]:
        """The found stages with the recipe's overrides applied, in U → N → A → P order."""
        found = dict(inspection.stages)
        steps = []
        for task in ORDER:
            override = self.override(task)
            if override == "off" or (task not in found and task not in self.params.always):
                continue
            given = override if isinstance(override, dict) else {}
            measured = dict(found.get(task, {}))
            for explicit, replaced in SUPERSEDES.items():
                if explicit in given:
                    for key in replaced:
                        measured.pop(key, None)
            params = {**measured, **given}
            SINGLE_TASKS[task].Params.model_validate(params)
            steps.append({"task": task, "params": params})
        return steps

    def for_input(self, path: Path, resolution: tuple[int, int], channels: int = 3,
                  mask: Path | None = None, fit: str = "crop") -> Degradation:
        inspection = inspect_file(path, resolution, channels, mask, fit)
        return Found(self.steps_for(inspection), inspection)

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        """Without a file (benchmark mode) `auto` is exactly its `always` stages; with none it refuses."""
        if not self.params.always:
            raise UserError("degradation `auto` reads the damage from each input file, so it works in restore mode "
                            "only (inputs: {mode: restore, path: ...}); for benchmarks name the task and level.")
        return Found(self.steps_for(Inspection("", (shape[2], shape[3])))).realize(shape, keys, device)
