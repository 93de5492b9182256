"""`restorefw new-plugin`: write a complete, installable plugin package for one component kind."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from restorefw.errors import UserError


@dataclass(frozen=True)
class Template:
    """What differs between kinds: the base class, the hook, the kit check and the component's body."""

    base: str  # module.Class
    hook: str
    check: str
    body: str
    recipe: str


LOSS = Template("restorefw.loss.Loss", "restorefw_losses", "check_loss", '''
class {cls}Params(Params):
    scale: float = Field(1.0, gt=0, description="Multiplies the loss.")


class {cls}(Loss):
    """Mean absolute difference between f̂(G(w)) and the target over known pixels, one value per image."""

    name = "{name}"
    description = "Mean absolute difference over known pixels (a starting point: replace forward)."
    Params = {cls}Params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = (x - self.target).abs()
        if self.mask is not None:
            diff = diff * self.mask
        return self.params.scale * diff.flatten(1).mean(dim=1)
''', "losses:\n  - {{type: {name}, weight: 1.0, params: {{scale: 1.0}}}}")

DEGRADATION = Template("restorefw.degradation.Degradation", "restorefw_degradations", "check_degradation", '''
LEVELS = ("low", "medium", "high")
RADIUS = {{"low": 1, "medium": 2, "high": 4}}


class {cls}Params(Params):
    level: Literal["low", "medium", "high"] | None = None
    radius: int | None = Field(None, ge=1, description="Box radius in pixels; overrides the level preset.")


class {cls}Operator(DegradationOperator):
    """A (2r+1)² box blur: f̂ is the blur, the true operator adds the clamp and the 8-bit round trip."""

    def __init__(self, radius: int) -> None:
        super().__init__()
        self.radius = radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2 * self.radius + 1, 1, self.radius, count_include_pad=False)

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_8bit(self.forward(x))


class {cls}(Degradation):
    """A box blur with three levels (a starting point: replace the operator)."""

    name = "{name}"
    description = "Box blur, radius 1, 2 or 4 px by level (a starting point: replace the operator)."
    levels = LEVELS
    Params = {cls}Params

    def realize(self, shape, keys, device) -> DegradationOperator:
        radius = self.params.radius or RADIUS[self.params.level or "medium"]
        return {cls}Operator(radius).to(device)
''', "degradation: {{task: {name}, level: medium}}")

LATENT = Template("restorefw.latent.LatentSpace", "restorefw_latent_spaces", "check_latent_space", '''
class {cls}(LatentSpace):
    """One w per image shared by every style input, started from w_avg or the previous phase's mean style."""

    name = "{name}"
    description = "One shared w per image (a starting point: replace initial and to_styles)."

    def initial(self, G, batch_size: int, previous_styles: torch.Tensor | None) -> torch.Tensor:
        if previous_styles is None:
            return G.mapping.w_avg.detach().float().reshape(1, -1).repeat(batch_size, 1)
        styles = previous_styles.mean(dim=2) if previous_styles.dim() == 4 else previous_styles
        return styles.mean(dim=1).detach().clone()

    def to_styles(self, latent: torch.Tensor, G) -> torch.Tensor:
        return latent.unsqueeze(1).expand(-1, G.num_ws, -1)
''', "schedule:\n  phases:\n    - {{space: {name}, steps: 100, lr: 0.05}}")

METRIC = Template("restorefw.metric.Metric", "restorefw_metrics", "check_metric", '''
class {cls}(Metric):
    """Mean absolute error per image (lower is better)."""

    name = "{name}"
    description = "Mean absolute error per image (a starting point: replace paired)."
    lower_is_better = True

    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return (pred - ref).abs().flatten(1).mean(dim=1)
''', "metrics: [{name}]")

GENERATOR = Template("restorefw.generator.Generator", "restorefw_generators", "check_generator", '''
class {cls}Params(Params):
    seed: int = Field(0, description="Seed of the toy network's weights.")


class {cls}(Generator):
    """A frozen image prior. The kit's toy network stands in: build and load your own network in `load`."""

    name = "{name}"
    description = "A toy 16×16 prior (a starting point: load your own network in `load`)."
    Params = {cls}Params

    def load(self, device: torch.device):
        return ToyGenerator(seed=self.params.seed).to(device).requires_grad_(False)
''', "generator: {{type: {name}, params: {{seed: 0}}}}")

TEMPLATES = {"loss": LOSS, "degradation": DEGRADATION, "latent-space": LATENT, "metric": METRIC,
             "generator": GENERATOR}
IMPORTS = {
    "loss": ["from restorefw.loss import Loss"],
    "degradation": ["from restorefw.degradation import Degradation, DegradationOperator",
                    "from restorefw.imageio import quantize_8bit"],
    "latent-space": ["from restorefw.latent import LatentSpace"],
    "metric": ["from restorefw.metric import Metric"],
    "generator": ["from restorefw.generator import Generator", "from restorefw.testing import ToyGenerator"],
}
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def names(name: str) -> tuple[str, str, str]:
    """(distribution, module, class) names for the component `name`."""
    if not NAME.match(name):
        raise UserError(f"plugin name {name!r}: use lower-case letters, digits and single hyphens "
                        "(e.g. my-loss); it becomes the component's name in recipes.")
    module = "restorefw_" + name.replace("-", "_")
    return f"restorefw-{name}", module, "".join(part.title() for part in name.split("-"))


def render(kind: str, name: str) -> dict[str, str]:
    """The package's files, relative path → text."""
    template = TEMPLATES[kind]
    dist, module, cls = names(name)
    base_class = template.base.rsplit(".", 1)[1]
    component = textwrap.dedent(template.body.format(cls=cls, name=name)).strip("\n")
    third_party = ["import torch", *(["import torch.nn.functional as F"] if "F." in component else []),
                   *(["from pydantic import Field"] if "Field(" in component else [])]
    own = sorted(["from restorefw import hookimpl", *IMPORTS[kind],
                  *(["from restorefw.component import Params"] if "(Params)" in component else [])])
    source = "\n".join([
        f'"""{dist}: the {kind} `{name}` for restorefw."""', "", "from __future__ import annotations", "",
        *(["from typing import Literal", ""] if "Literal[" in component else []),
        *third_party, "", *own, "", "", component, "", "",
        "@hookimpl", f"def {template.hook}() -> list[type[{base_class}]]:", f"    return [{cls}]", ""])
    files = {f"src/{module}/__init__.py": source}
    files["pyproject.toml"] = textwrap.dedent(f'''\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.1.0"
        description = "restorefw plugin: the {kind} {name}."
        requires-python = ">=3.10"
        dependencies = ["restorefw>=0.1", "torch"]

        [project.entry-points.restorefw]
        {name} = "{module}"

        [tool.setuptools.packages.find]
        where = ["src"]
        ''')
    files[f"tests/test_{module}.py"] = textwrap.dedent(f'''\
        """{dist} follows restorefw's plugin contract and is discovered once installed."""

        from restorefw.plugins import load_plugins
        from restorefw.testing import {template.check}
        from {module} import {cls}


        def test_{module}_conforms():
            {template.check}({cls})


        def test_{module}_is_registered():
            registry = load_plugins().registry
            assert registry.get("{kind.replace("-", "_")}", "{name}") is {cls}
        ''')
    snippet = textwrap.indent(template.recipe.format(name=name), "    ")
    files["README.md"] = (f"# {dist}\n\nA restorefw plugin providing the {kind} `{name}`.\n\n"
                          f"    pip install .            # then `restorefw plugins` lists {name}\n"
                          f"    pytest tests             # restorefw.testing checks the plugin contract\n"
                          f"    restorefw check {name}\n\nIn a recipe:\n\n{snippet}\n")
    return files


def write_plugin(kind: str, name: str, directory: Path) -> Path:
    """Write the package for `kind` `name` into `directory/restorefw-<name>`; refuses to overwrite."""
    if kind not in TEMPLATES:
        raise UserError(f"unknown plugin kind {kind!r}; choose one of {', '.join(TEMPLATES)}.")
    root = Path(directory) / names(name)[0]
    if root.exists():
        raise UserError(f"{root} already exists; choose another name or --dir, or remove it.")
    for relative, text in render(kind, name).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
