"""The conformance kit names the rule each deliberately broken component breaks, and passes correct ones."""

from __future__ import annotations

import pytest
import torch
from pydantic import BaseModel

from restorefw.component import Params
from restorefw.degradation import Degradation, DegradationOperator
from restorefw.generator import Generator
from restorefw.imageio import quantize_8bit
from restorefw.latent import LatentSpace
from restorefw.loss import Loss
from restorefw.metric import Metric
from restorefw.testing import (
    RULES,
    ConformanceError,
    ToyGenerator,
    check_degradation,
    check_generator,
    check_latent_space,
    check_loss,
    check_metric,
)


class GoodLoss(Loss):
    name = "kit-good-l1"
    description = "Mean absolute difference per image."

    def forward(self, x):
        return (x - self.target).abs().flatten(1).mean(1)


class ScalarLoss(GoodLoss):
    def forward(self, x):
        return (x - self.target).abs().mean()


class BatchNormalisedLoss(GoodLoss):
    def forward(self, x):
        d = (x - self.target).abs().flatten(1).mean(1)
        return d / d.mean()


class DetachedLoss(GoodLoss):
    def forward(self, x):
        return (x.detach() - self.target).abs().flatten(1).mean(1)


class InfiniteLoss(GoodLoss):
    def forward(self, x):
        return (x - self.target).abs().flatten(1).mean(1) / 0.0


class RandomlyWeightedLoss(GoodLoss):
    def __init__(self, params=None, **kwargs):
        super().__init__(params, **kwargs)
        self.scale = torch.rand(1).item() + 0.5

    def forward(self, x):
        return self.scale * super().forward(x)


class SimilarityLoss(GoodLoss):
    def forward(self, x):
        return 1 - super().forward(x)


class ClampingLoss(GoodLoss):
    def prepare(self, target, mask, keys=None):
        super().prepare(target.clamp_(0.1, 0.9), mask, keys)


class LaxParams(BaseModel):
    alpha: float = 1.0


class LaxParamsLoss(GoodLoss):
    Params = LaxParams


class NamelessLoss(GoodLoss):
    name = ""


class OldPrepareLoss(GoodLoss):
    def prepare(self, target):
        self.target = target


class SizeFrozenLoss(GoodLoss):
    """Fixes its pooling from the first target it is prepared with, so a smaller one later is mishandled."""

    pools: int | None = None

    def prepare(self, target, mask, keys=None):
        super().prepare(target, mask, keys)
        if self.pools is None:
            self.pools = target.shape[-1] // 16

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x - self.target, self.pools).abs().flatten(1).mean(1)


class GoodBlurOperator(DegradationOperator):
    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

    def true(self, x):
        return quantize_8bit(self.forward(x))


class GoodDegradation(Degradation):
    name = "kit-good-blur"
    description = "A 3×3 box blur."

    def realize(self, shape, keys, device):
        return GoodBlurOperator()


class UnclampedOperator(GoodBlurOperator):
    def true(self, x):
        return self.forward(x) * 1.5


class GreyOperator(GoodBlurOperator):
    def forward(self, x):
        return super().forward(x).mean(1, keepdim=True)


class WrongMaskOperator(GoodBlurOperator):
    mask = torch.ones(1, 1, 8, 8)


class RoundingOperator(GoodBlurOperator):
    def forward(self, x):
        return quantize_8bit(x).detach()


class GlobalNoiseOperator(GoodBlurOperator):
    def __init__(self, batch):
        super().__init__()
        self.noise = torch.rand(batch, 3, 1, 1) * 0.2

    def true(self, x):
        return quantize_8bit(x + self.noise)


class DrawingOperator(GoodBlurOperator):
    """An f̂ that draws fresh noise at every call from a generator it never re-seeds."""

    def __init__(self):
        super().__init__()
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, x):
        return super().forward(x) + 0.01 * torch.randn(x.shape, generator=self.generator)

    def true(self, x):
        return quantize_8bit(super().forward(x))


def degradation(operator):
    def realize(self, shape, keys, device):
        return operator(shape[0]) if operator is GlobalNoiseOperator else operator()
    return type(operator.__name__.replace("Operator", "Degradation"), (GoodDegradation,), {"realize": realize})


class LevelsWithoutFieldDegradation(GoodDegradation):
    levels = ("low", "high")


class ToyPrior(Generator):
    name = "kit-toy"
    description = "The kit's toy generator."

    def load(self, device):
        return ToyGenerator().to(device)


class TrainablePrior(ToyPrior):
    def load(self, device):
        return ToyGenerator().requires_grad_(True)


class NoFilterCountPrior(ToyPrior):
    def load(self, device):
        G = ToyGenerator()
        del G.max_filters
        return G


class UnrenderedResolutionPrior(ToyPrior):
    """Lists a coarse resolution its synthesis does not take."""

    def load(self, device):
        G = ToyGenerator()
        G.render_resolutions = (4, G.img_resolution)
        return G


class FlatMappingPrior(ToyPrior):
    def load(self, device):
        G = ToyGenerator()
        mapping = G.mapping
        G.mapping = type("Flat", (torch.nn.Module,), {"forward": lambda self, z, c=None: mapping(z, c)[:, 0]})()
        G.mapping.w_avg = mapping.w_avg
        return G


class GoodSpace(LatentSpace):
    name = "kit-w-plus"
    description = "W+."

    def initial(self, G, batch_size, previous_styles):
        if previous_styles is None:
            return G.mapping.w_avg.reshape(1, 1, -1).repeat(batch_size, G.num_ws, 1)
        return (previous_styles.mean(2) if previous_styles.dim() == 4 else previous_styles).clone()

    def to_styles(self, latent, G):
        return latent


class FlatStylesSpace(GoodSpace):
    def to_styles(self, latent, G):
        return latent.mean(1)


class BatchCentredSpace(GoodSpace):
    def initial(self, G, batch_size, previous_styles):
        start = super().initial(G, batch_size, previous_styles)
        return start - start.mean(0, keepdim=True) + G.mapping.w_avg


class StartOverSpace(GoodSpace):
    def initial(self, G, batch_size, previous_styles):
        return super().initial(G, batch_size, None)


class GoodMetric(Metric):
    name = "kit-mae"
    description = "Mean absolute error."

    def paired(self, pred, ref):
        return (pred - ref).abs().flatten(1).mean(1)


class MeanMetric(GoodMetric):
    def paired(self, pred, ref):
        return (pred - ref).abs().mean()


class VagueMetric(GoodMetric):
    lower_is_better = "yes"


class UpsideDownMetric(GoodMetric):
    lower_is_better = False


class FractionalDecimalsMetric(GoodMetric):
    decimals = 2.5


BROKEN = [
    (check_loss, ScalarLoss, "loss.shape"),
    (check_loss, BatchNormalisedLoss, "loss.batch-independence"),
    (check_loss, DetachedLoss, "loss.gradient"),
    (check_loss, InfiniteLoss, "loss.finite"),
    (check_loss, RandomlyWeightedLoss, "loss.determinism"),
    (check_loss, LaxParamsLoss, "params.unknown-keys"),
    (check_loss, SimilarityLoss, "loss.target-is-best"),
    (check_loss, ClampingLoss, "inputs.unchanged"),
    (check_loss, NamelessLoss, "component.name"),
    (check_loss, OldPrepareLoss, "loss.prepare"),
    (check_loss, SizeFrozenLoss, "loss.prepare-again"),
    (check_degradation, degradation(UnclampedOperator), "degradation.range"),
    (check_degradation, degradation(GreyOperator), "degradation.shape"),
    (check_degradation, degradation(WrongMaskOperator), "degradation.mask"),
    (check_degradation, degradation(RoundingOperator), "degradation.gradient"),
    (check_degradation, degradation(GlobalNoiseOperator), "degradation.batch-independence"),
    (check_degradation, degradation(DrawingOperator), "degradation.restart"),
    (check_degradation, LevelsWithoutFieldDegradation, "component.registers"),
    (check_generator, NoFilterCountPrior, "generator.load"),
    (check_generator, TrainablePrior, "generator.frozen"),
    (check_generator, FlatMappingPrior, "generator.load"),
    (check_generator, UnrenderedResolutionPrior, "generator.render-resolutions"),
    (check_latent_space, FlatStylesSpace, "latent.styles"),
    (check_latent_space, BatchCentredSpace, "latent.batch-independence"),
    (check_latent_space, StartOverSpace, "latent.continues"),
    (check_metric, MeanMetric, "metric.paired"),
    (check_metric, VagueMetric, "metric.kind"),
    (check_metric, UpsideDownMetric, "metric.direction"),
    (check_metric, FractionalDecimalsMetric, "metric.kind"),
]


@pytest.mark.parametrize("check,cls", [(check_loss, GoodLoss), (check_degradation, GoodDegradation),
                                       (check_generator, ToyPrior), (check_latent_space, GoodSpace),
                                       (check_metric, GoodMetric)], ids=lambda v: getattr(v, "__name__", ""))
def test_correct_components_pass(check, cls):
    report = check(cls)
    assert report.skipped is None and len(report.passed) >= 10


@pytest.mark.parametrize("check,cls,rule", BROKEN, ids=[f"{c.__name__}-{r}" for _, c, r in BROKEN])
def test_each_breakage_is_named_with_its_rule_and_docs(check, cls, rule):
    with pytest.raises(ConformanceError) as info:
        check(cls)
    assert info.value.rule.id == rule, str(info.value)
    message = str(info.value)
    assert f"breaks rule {rule!r}" in message and f"docs/plugins.md#{RULES[rule].section}" in message
    assert cls.__qualname__ in message


def test_params_are_passed_to_the_component_and_validated():
    class Scaled(GoodLoss):
        class Params(Params):
            alpha: float = 1.0

    assert check_loss(Scaled, alpha=2.0).skipped is None
    with pytest.raises(ConformanceError, match="component.builds"):
        check_loss(Scaled, alpha="not a number")
