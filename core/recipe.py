"""The recipe: a YAML file validated by pydantic, and every component's parameters by its own model."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_serializer, model_validator

from restorefw.component import Strict
from restorefw.composition import build_degradation
from restorefw.errors import RecipeError
from restorefw.recipe_paths import resolve_recipe_paths
from restorefw.registry import Registry
from restorefw.threads import THREADS_HELP, Threads
from restorefw.validation import combine, describe_validation_error, join_path
from restorefw.yamlread import parse_text, read_text


def _shorthand(value: Any, key: str = "type") -> Any:
    """Accept `name` for `{type: name}`."""
    return {key: value} if isinstance(value, str) else value


class ComponentSpec(Strict):
    """A component by name, with the parameters its own model validates."""

    type: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return _shorthand(value)


class LossSpec(ComponentSpec):
    weight: float = 1.0


class DegradationSpec(Strict):
    """A degradation task at a named level, with explicit parameters overriding the level's."""

    task: str
    level: str | None = Field(None, description="a named preset; only for degradations that declare levels")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return _shorthand(value, "task")


RELATIVE_RESOLUTION = re.compile(r"target(\*[1-9][0-9]*)?")
FULL_FRACTION = re.compile(r"full/([1-9][0-9]*)")


def of_full(resolution: int | str | None, full: int) -> int | str | None:
    """A phase's render or loss resolution with `full/N` replaced by the image's size `full` divided by N (at
    least 1); other values as they are."""
    fraction = FULL_FRACTION.fullmatch(resolution) if isinstance(resolution, str) else None
    return max(1, full // int(fraction.group(1))) if fraction else resolution


def _sized(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 4


class Phase(Strict):
    """One optimisation phase: a latent space, an optimiser, steps and a learning rate."""

    space: str
    steps: int = Field(ge=0)
    lr: float = Field(gt=0)
    optimizer: ComponentSpec | None = Field(None, description="default: the optimiser in group \"default\"")
    space_params: dict[str, Any] = Field(default_factory=dict)
    render_resolution: int | str | None = Field(
        None, description="render G only up to this resolution and upsample its RGB to full size (generators "
                          "that list render_resolutions, e.g. StyleGAN2's skip architecture): fewer pixels "
                          "while a small target cannot see them; `target`: the smallest that covers the "
                          "degraded target, `target*2`: twice its size; `full/2`: half the image's size; "
                          "default: the full image")
    loss_resolution: int | str | None = Field(
        None, description="compare the degraded render and the target area-downsampled so that their longer side "
                          "is at most this many pixels (the losses are prepared again at that size); targets "
                          "already that small are unchanged; `full/2`: half the image's size; default: at the "
                          "target's size")

    @field_validator("render_resolution", mode="before")
    @classmethod
    def _size_or_relative(cls, value: Any) -> Any:
        if value is None or _sized(value) or (isinstance(value, str) and (
                RELATIVE_RESOLUTION.fullmatch(value) or FULL_FRACTION.fullmatch(value))):
            return value
        raise ValueError(f"{value!r} is not a render resolution: give a block size (e.g. 64), `target` (the "
                         "smallest block covering the degraded target), `target*N` (N times its size) or "
                         "`full/N` (the image's size divided by N)")

    @field_validator("loss_resolution", mode="before")
    @classmethod
    def _size_or_fraction(cls, value: Any) -> Any:
        if value is None or _sized(value) or (isinstance(value, str) and FULL_FRACTION.fullmatch(value)):
            return value
        raise ValueError(f"{value!r} is not a loss resolution: give a size of at least 4 (e.g. 128) or `full/N` "
                         "(the image's size divided by N)")

    @model_serializer(mode="wrap")
    def _without_default_render(self, handler: Any) -> dict[str, Any]:
        """Leave render_resolution and loss_resolution out when unset (dumps, and fingerprints of them, stay as
        before the fields)."""
        data = handler(self)
        for name in ("render_resolution", "loss_resolution"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


class Ensemble(Strict):
    """Restore each image from several starting latents; the restoration is their mean."""

    samples: int = Field(1, ge=1, description="restorations per image (1: RUSIR's single run from w_avg)")
    truncation: float = Field(0.7, ge=0, le=2, description="ψ of the random starts w_avg + ψ(mapping(z) − w_avg); "
                                                            "sample 0 always starts at w_avg")
    transforms: Literal["none", "flips", "dihedral"] = Field(
        "none", description="sample k's image is T_k(G(w_k)), T_k cycling over the identity and the flips (4) or "
                            "the 8 flips/rotations: a prior symmetrised for orientation-free domains "
                            "(overhead imagery)")
    noise_draws: int = Field(
        0, ge=0, description="render each sample as the mean of this many seeded draws of G's noise inputs instead of "
                             "the constant noise it was fitted with (averages out the stochastic detail the target "
                             "cannot determine); 0: the constant noise")


class Schedule(Strict):
    lr_scale: float = Field(1.0, gt=0)
    phases: list[Phase] = Field(min_length=1)
    ensemble: Ensemble = Field(default_factory=Ensemble)


class ScheduleOverride(Strict):
    """A task's changes to `schedule`: the keys given replace the recipe's, `ensemble` key by key."""

    lr_scale: float | None = Field(None, gt=0)
    phases: list[Phase] | None = Field(None, min_length=1)
    ensemble: Ensemble | None = None

    @model_serializer(mode="wrap")
    def _only_given(self, handler: Any) -> dict[str, Any]:
        """Dump only the keys written (so a dumped recipe, e.g. a manifest's, parses to the same schedules)."""
        data = handler(self)
        given = {name: data[name] for name in self.model_fields_set if data[name] is not None}
        if "ensemble" in given and self.ensemble is not None:
            given["ensemble"] = {name: given["ensemble"][name] for name in self.ensemble.model_fields_set}
        return given

    def applied_to(self, schedule: Schedule) -> Schedule:
        merged, given = schedule.model_dump(), self.model_dump()
        merged["ensemble"].update(given.pop("ensemble", {}))
        return Schedule.model_validate({**merged, **given})


class TaskSpec(DegradationSpec):
    """An entry of `tasks:`: a degradation, optionally with its own schedule changes."""

    schedule: ScheduleOverride | None = None

    @property
    def degradation(self) -> DegradationSpec:
        return DegradationSpec(task=self.task, level=self.level, params=self.params)


class Inputs(Strict):
    """`benchmark`: clean images degraded by the true operator; `restore`: degraded photos."""

    mode: Literal["benchmark", "restore"] = "benchmark"
    path: str | None = None
    dataset: ComponentSpec | None = None
    split: str = "test"
    masks: str | None = None
    limit: int | None = Field(None, ge=1)
    fit: Literal["crop", "pad", "stretch", "refuse"] = Field(
        "crop", description="how a non-square image meets the square generator: centre-crop to the short side "
                            "(RUSIR's choice), pad to the long side by repeating the edges, stretch, or refuse it")

    @model_validator(mode="after")
    def _one_source(self) -> "Inputs":
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of `path` (a folder or image) and `dataset` (a registered dataset)")
        return self


class Outputs(Strict):
    dir: str = "runs/restore"
    save_phases: bool = False
    grid: bool = True


class Recipe(Strict):
    """A restoration recipe."""

    name: str | None = None
    description: str | None = None
    requires: list[str] = Field(default_factory=list)
    generator: ComponentSpec
    schedule: Schedule
    degradation: DegradationSpec | list[DegradationSpec] | None = None
    tasks: list[TaskSpec | list[DegradationSpec]] | None = Field(
        None, min_length=1, description="Run the recipe once per degradation (instead of `degradation`); "
                                        "a single-stage entry may change the schedule for itself.")
    losses: list[LossSpec] = Field(min_length=1)
    inputs: Inputs
    outputs: Outputs = Field(default_factory=Outputs)
    metrics: list[ComponentSpec] | None = Field(None, description="default: the metrics in group \"default\"")
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["float32", "bfloat16", "auto"] = Field(
        "float32", description="bfloat16 runs the generator's convolutions under autocast (faster on CPUs "
                               "with AVX512-BF16 or AMX and on GPUs since Ampere; emulated and far slower on "
                               "other CPUs); auto: bfloat16 where the device has it in hardware, else float32; "
                               "losses stay float32")
    loss_precision: Literal["float32", "bfloat16", "auto"] = Field(
        "float32", description="bfloat16 runs the loss terms (e.g. LPIPS's VGG) under autocast; the degradation, "
                               "the target's features and the summed objective stay float32; auto as for "
                               "`precision`")
    batch_size: int = Field(1, ge=1)
    threads: Threads = Field("auto", description=THREADS_HELP)

    @model_validator(mode="after")
    def _one_degradation_field(self) -> "Recipe":
        if self.tasks is not None and self.degradation is not None:
            raise ValueError("give either `degradation` (one task) or `tasks` (several), not both")
        return self

    def for_task(self, index: int) -> "Recipe":
        """This recipe with `degradation` set to `tasks[index]` and that task's schedule changes applied."""
        spec = (self.tasks or [])[index]
        if isinstance(spec, list):
            return self.model_copy(update={"degradation": spec, "tasks": None})
        schedule = spec.schedule.applied_to(self.schedule) if spec.schedule is not None else self.schedule
        return self.model_copy(update={"degradation": spec.degradation, "tasks": None, "schedule": schedule})

    @property
    def task_names(self) -> list[str]:
        """A folder-safe name per entry of `tasks`: `<task>-<level>`, stages joined by `+`."""
        names = []
        for spec in self.tasks or []:
            stages = spec if isinstance(spec, list) else [spec]
            names.append("+".join(s.task + (f"-{s.level}" if s.level else "") for s in stages))
        return names

    @property
    def degradation_stages(self) -> list[DegradationSpec]:
        if self.degradation is None:
            return []
        return self.degradation if isinstance(self.degradation, list) else [self.degradation]


class LineMap:
    """YAML path → line number, from the composed node tree."""

    def __init__(self, text: str) -> None:
        self.lines: dict[str, int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: yaml.Node, path: str) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = join_path(path, str(key.value))
                self.lines[child] = key.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                self._walk(value, f"{path}[{index}]")

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def parse_recipe(data: Any, registry: Registry | None = None) -> Recipe:
    """Validate recipe data (a dict) and, with a registry, every component name and parameter set."""
    if not isinstance(data, dict):
        raise RecipeError(f"a recipe is a YAML mapping of sections, got {type(data).__name__}.",
                          suggestion="Start from one of the files in examples/.")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(exc, model=Recipe) from None
    if registry is not None:
        from restorefw.recipe_defaults import fill_defaults

        fill_defaults(recipe, registry)
        check_components(recipe, registry)
    return recipe


def check_components(recipe: Recipe, registry: Registry) -> None:
    """Every named component exists and its parameters pass its own model; all problems in one error."""
    problems: list[RecipeError] = []

    def check(method: Any, *args: Any) -> bool:
        try:
            method(*args)
        except RecipeError as exc:
            problems.append(exc)
            return False
        return True

    check(registry.validate_params, "generator", recipe.generator.type, recipe.generator.params, "generator")
    schedules = [("schedule", recipe.schedule)] + [
        (f"tasks[{i}].schedule", spec.schedule) for i, spec in enumerate(recipe.tasks or [])
        if isinstance(spec, TaskSpec) and spec.schedule is not None and spec.schedule.phases is not None]
    for where, schedule in schedules:
        for i, phase in enumerate(schedule.phases or []):
            base = f"{where}.phases[{i}]"
            if check(registry.get, "latent_space", phase.space, f"{base}.space"):
                check(registry.validate_params, "latent_space", phase.space, phase.space_params, f"{base}.space")
            if phase.optimizer is not None:
                check(registry.validate_params, "optimizer", phase.optimizer.type, phase.optimizer.params,
                      f"{base}.optimizer")
    variants = [("degradation", recipe.degradation)] if recipe.tasks is None else [
        (f"tasks[{i}]", spec) for i, spec in enumerate(recipe.tasks)]
    for base, spec in variants:
        check(build_degradation, spec, registry, base)
    for i, loss in enumerate(recipe.losses):
        check(registry.validate_params, "loss", loss.type, loss.params, f"losses[{i}]")
    for i, metric in enumerate(recipe.metrics or []):
        check(registry.validate_params, "metric", metric.type, metric.params, f"metrics[{i}]")
    if recipe.inputs.dataset is not None:
        check(registry.validate_params, "dataset", recipe.inputs.dataset.type, recipe.inputs.dataset.params,
              "inputs.dataset")
    if problems:
        raise combine(problems)


def check_requirements(recipe: Recipe) -> None:
    """Every distribution in `requires:` is installed, before any work starts."""
    for i, requirement in enumerate(recipe.requires):
        name = requirement.split(";")[0].split("[")[0]
        for sep in ("==", ">=", "<=", "~=", ">", "<", "!="):
            name = name.split(sep)[0]
        name = name.strip()
        try:
            md.version(name)
        except md.PackageNotFoundError:
            raise RecipeError(f"this recipe requires the distribution {name!r}, which is not installed.",
                              path=f"requires[{i}]",
                              suggestion=f"Install it (pip install {requirement}) or remove it from "
                                         "`requires`.") from None


def read_yaml(path: Path, what: str = "recipe") -> tuple[Any, LineMap]:
    """A YAML file's data and its line map; every problem reading it is a RecipeError (see restorefw.yamlread)."""
    text = read_text(path, what)
    return parse_text(text, path, what), LineMap(text)


def load_recipe(path: str | Path, registry: Registry | None = None) -> Recipe:
    """Read, parse and validate a recipe file; errors name the file, the YAML path and its line. With a
    registry, relative file paths in component parameters are made absolute under the recipe's folder."""
    path = Path(path)
    data, lines = read_yaml(path)
    try:
        recipe = parse_recipe(data, registry)
        check_requirements(recipe)
    except RecipeError as exc:
        raise exc.located(str(path), lines.line_of) from None
    if registry is not None:
        resolve_recipe_paths(recipe, registry, path.resolve().parent)
    return recipe
