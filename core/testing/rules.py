"""The conformance rules the kit checks, the error that names a broken one, and the report of a check."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, NoReturn

from restorefw.errors import MissingWeightsError

DOCS = "docs/plugins.md"


@dataclass(frozen=True)
class Rule:
    """One requirement of the plugin contract and the section of docs/plugins.md that states it."""

    id: str
    text: str
    section: str

    @property
    def where(self) -> str:
        return f"{DOCS}#{self.section}"


_RULES = [
    Rule("component.name", "The class sets `name`, a non-empty string without spaces: what recipes write.",
         "rules-every-component-follows"),
    Rule("component.description", "The class sets `description`, one non-empty line shown by `restorefw plugins`.",
         "rules-every-component-follows"),
    Rule("component.base-class", "The class subclasses the base class of its kind (`restorefw.<kind>`).",
         "rules-every-component-follows"),
    Rule("component.registers", "The registry accepts the class: a name without spaces or ':', a pydantic Params "
         "and, for a degradation, well-formed levels, letter and groups (a tuple of level names needs a "
         "`level` field in Params).", "rules-every-component-follows"),
    Rule("params.model", "`Params` is a pydantic model deriving from `restorefw.component.Params`.",
         "rules-every-component-follows"),
    Rule("params.unknown-keys", "`Params` rejects unknown keys (a misspelt recipe key is an error, never ignored).",
         "rules-every-component-follows"),
    Rule("component.builds", "The component builds from its validated `Params`, as the registry builds it.",
         "rules-every-component-follows"),
    Rule("component.pickles", "A built component whose class is defined at module level can be pickled (to hand it to "
         "a worker process).",
         "rules-every-component-follows"),
    Rule("loss.prepare", "`prepare(target, mask, keys)` accepts a target `[B,C,h,w]`, a mask `[B,1,h,w]` or None and "
         "the images' keys.", "restorefw_losses"),
    Rule("loss.prepare-again", "`prepare` called again with a smaller target and mask (a phase with "
         "`loss_resolution`) makes the loss what a new instance prepared with them gives.", "restorefw_losses"),
    Rule("loss.shape", "`forward(x)` returns one floating-point value per image: shape `[B]`.", "restorefw_losses"),
    Rule("loss.finite", "Loss values are finite for images in [0, 1].", "restorefw_losses"),
    Rule("loss.gradient", "Gradients flow from the loss to x and are finite.", "restorefw_losses"),
    Rule("loss.batch-independence", "A batch of 3 gives the values (and gradients) of three batches of 1: each "
         "image's value depends only on that image, its target, mask and key.", "restorefw_losses"),
    Rule("loss.determinism", "Two components built from the same params give the same values.", "restorefw_losses"),
    Rule("loss.target-is-best", "The loss is lower at x = target than at a different image (it is a distance, "
         "not a similarity).", "restorefw_losses"),
    Rule("loss.mask", "A mask `[B,1,h,w]` (1 = known) is accepted: one finite value per image, and the gradient and "
         "batch rules hold with it.", "restorefw_losses"),
    Rule("degradation.realize", "`realize(shape, keys, device)` returns a `DegradationOperator`.",
         "restorefw_degradations"),
    Rule("degradation.shape", "`true(x)` and `forward(x)` return floating `[B,C',h,w]` with (h, w) = "
         "`output_size(H, W)` and C' = `output_channels(C)`.", "restorefw_degradations"),
    Rule("degradation.range", "`true(x)` returns finite values in [0, 1].", "restorefw_degradations"),
    Rule("degradation.mask", "`mask` is None or `[B,1,h,w]` in [0, 1] at the output size.", "restorefw_degradations"),
    Rule("degradation.gradient", "`forward` (f̂) is differentiable: gradients reach x and are finite.",
         "restorefw_degradations"),
    Rule("degradation.batch-independence", "Realised for 3 keys, an operator degrades each image as it does "
         "realised for that key alone (random draws come from (seed, image id, stage)).", "restorefw_degradations"),
    Rule("degradation.determinism", "Realising twice for the same keys gives the same targets.",
         "restorefw_degradations"),
    Rule("degradation.restart", "After `restart()`, `forward(x)` gives what it gave at its first call: an f̂ that "
         "draws randomness as it runs re-seeds it there (the engine restarts an operator before each restoration).",
         "restorefw_degradations"),
    Rule("degradation.levels", "Every declared level is accepted as `level` and realises.", "restorefw_degradations"),
    Rule("generator.load", "`load(device)` returns a network with the `GeneratorNetwork` protocol: int sizes z_dim, "
         "c_dim, w_dim, num_ws, img_resolution, img_channels, max_filters, `mapping` holding `w_avg` `[w_dim]` "
         "and `synthesis` (restorefw.generator.check_network passes).", "restorefw_generators"),
    Rule("generator.frozen", "The loaded network's parameters do not require gradients.", "restorefw_generators"),
    Rule("generator.mapping", "`mapping(z, c)` returns `[B, num_ws, w_dim]`.", "restorefw_generators"),
    Rule("generator.synthesis", "`synthesis(ws, noise_mode='const')` maps W+ `[B,num_ws,w_dim]` to "
         "`[B,img_channels,img_resolution,img_resolution]` floats, finite, gradients reaching ws; W++ styles "
         "`[B,num_ws,max_filters,w_dim]` render the same shape.",
         "restorefw_generators"),
    Rule("generator.batch-independence", "With constant noise, a batch of 3 renders the three images rendered one "
         "by one.", "restorefw_generators"),
    Rule("generator.determinism", "Loading twice with the same params gives the same network.", "restorefw_generators"),
    Rule("generator.render-resolutions", "Optional `render_resolutions` (coarse renders): ints in 4…img_resolution, "
         "and `synthesis(ws, noise_mode='const', resolution=r)` renders the full-size shape, finite, for each r "
         "(the full image at r = img_resolution).", "restorefw_generators"),
    Rule("latent.initial", "`initial(G, B, previous_styles)` returns a float tensor with B rows from w_avg "
         "(None), from W+ styles `[B,num_ws,w_dim]` and from W++ styles `[B,num_ws,K,w_dim]`.",
         "restorefw_latent_spaces"),
    Rule("latent.styles", "`to_styles(latent, G)` returns W+ `[B,num_ws,w_dim]` or W++ `[B,num_ws,K,w_dim]` styles "
         "that `G.synthesis` renders.", "restorefw_latent_spaces"),
    Rule("latent.gradient", "Gradients flow from the render back to the latent and are finite.",
         "restorefw_latent_spaces"),
    Rule("latent.batch-independence", "Row i of `initial` and `to_styles` depends only on row i of its input.",
         "restorefw_latent_spaces"),
    Rule("latent.continues", "A phase continues from the previous one: different previous styles give different "
         "starting latents.", "restorefw_latent_spaces"),
    Rule("latent.determinism", "Two components built from the same params start from the same latent.",
         "restorefw_latent_spaces"),
    Rule("latent.penalty", "`penalty(latent)` returns None or one finite float per image `[B]`, differentiable in "
         "the latent.", "restorefw_latent_spaces"),
    Rule("metric.kind", "`lower_is_better` and `is_set_metric` are booleans, `display_name` None or a non-empty "
         "string, `decimals` an int ≥ 0.", "restorefw_metrics"),
    Rule("metric.paired", "A paired metric's `paired(pred, ref)` returns one finite float per image: `[B]`.",
         "restorefw_metrics"),
    Rule("metric.over-sets", "A set metric's `over_sets(preds, refs)` returns one finite float.", "restorefw_metrics"),
    Rule("metric.direction", "A prediction closer to the reference scores better in the declared direction "
         "(`lower_is_better`).", "restorefw_metrics"),
    Rule("metric.batch-independence", "A paired metric gives each image the value it gets alone.",
         "restorefw_metrics"),
    Rule("metric.determinism", "The same inputs give the same values.", "restorefw_metrics"),
    Rule("inputs.unchanged", "Components never modify the tensors they are given (images, targets, masks, styles).",
         "rules-every-component-follows"),
    Rule("device.move", "The component works on every available device (CPU; CUDA when present) and gives the "
         "CPU's values there.", "rules-every-component-follows"),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


class ConformanceError(AssertionError):
    """A component broke a rule of the plugin contract; the message names the rule and where it is stated."""

    def __init__(self, component: str, rule_id: str, detail: str) -> None:
        rule = RULES[rule_id]
        self.component, self.rule, self.detail = component, rule, detail
        super().__init__(f"{component} breaks rule {rule.id!r}: {detail}\n  The rule: {rule.text}\n"
                         f"  Stated in {rule.where}")


@dataclass
class Report:
    """What a check established: the rules passed, or why the component could not be exercised."""

    component: str
    passed: list[str] = field(default_factory=list)
    skipped: str | None = None

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.component}: skipped ({self.skipped})"
        return f"{self.component}: ok ({len(self.passed)} rules)"


class Skipped(Exception):
    """The component needs something absent here (pretrained weights): it cannot be exercised."""


def run_check(kind: str, cls: type, body: Callable[[Checker], None]) -> Report:
    """Run `body`'s rules for `cls`; a ConformanceError propagates, a missing requirement is a skip."""
    checker = Checker(kind, cls)
    try:
        body(checker)
    except Skipped as exc:
        checker.report.skipped = str(exc)
    return checker.report


class Checker:
    """Runs one component's rules, turning any exception inside a rule into a ConformanceError."""

    def __init__(self, kind: str, cls: type) -> None:
        self.label = f"{kind} {getattr(cls, 'name', '') or '?'!r} ({cls.__module__}.{cls.__qualname__})"
        self.report = Report(self.label)

    def fail(self, rule_id: str, detail: str) -> NoReturn:
        raise ConformanceError(self.label, rule_id, detail)

    def require(self, condition: bool, rule_id: str, detail: str) -> None:
        if not condition:
            self.fail(rule_id, detail)

    @contextmanager
    def rule(self, rule_id: str) -> Iterator[None]:
        try:
            yield
        except (ConformanceError, Skipped):
            raise
        except MissingWeightsError as exc:
            raise Skipped(f"missing weights: {str(exc).splitlines()[0][:160]}") from exc
        except Exception as exc:
            self.fail(rule_id, f"raised {type(exc).__name__}: {exc}")
        if rule_id not in self.report.passed:
            self.report.passed.append(rule_id)
