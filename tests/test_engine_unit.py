"""The engine alone: `Restorer` driven with built objects and a tiny fake generator, no recipe, no registry."""

from __future__ import annotations

import pytest
import torch

from restorefw.degradation import DegradationOperator, ImageKey
from restorefw.engine import Identity, PhasePlan, Restorer, WeightedLoss, expand_keys
from restorefw.errors import UserError
from restorefw.loss import Loss
from restorefw.recipe import Ensemble
from restorefw_plugins.latents import WPlusSpace, WSpace
from restorefw_plugins.optimizers import NGD, Adam

CPU = torch.device("cpu")


class Mapping(torch.nn.Module):
    def __init__(self, z_dim: int, w_dim: int) -> None:
        super().__init__()
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.linear = torch.nn.Linear(z_dim, w_dim)

    def forward(self, z, c, truncation_psi=1.0):
        return self.linear(z).unsqueeze(1).repeat(1, 4, 1)


class FakeGenerator(torch.nn.Module):
    """A linear 'generator': the mean style times a fixed matrix, as a 3×8×8 image; rows are independent."""

    z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels, max_filters = 6, 0, 6, 4, 8, 3, 2

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.mapping = Mapping(self.z_dim, self.w_dim)
        self.register_buffer("matrix", torch.randn(self.w_dim, 3 * 8 * 8, generator=generator) * 0.3)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        styles = ws.mean(dim=2) if ws.dim() == 4 else ws
        image = torch.tanh(styles.mean(dim=1) @ self.matrix).reshape(-1, 3, 8, 8)
        if noise_mode == "random":
            image = image + 0.01 * torch.randn_like(image)
        return image


class L2(Loss):
    name = "l2-test"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.target) ** 2).flatten(1).mean(1)


class NaNForFirst(L2):
    """The squared error, but not a number for image 0 (a diverging optimisation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = super().forward(x)
        return torch.where(torch.arange(len(values)) == 0, torch.full_like(values, float("nan")), values)


class Halve(DegradationOperator):
    """A degradation whose output is half the size: the engine must refuse a target of another size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., ::2, ::2]


def restorer(loss: Loss | None = None, steps: int = 30, **kwargs) -> Restorer:
    phases = [PhasePlan("1:w", WSpace(), Adam(), steps, 0.1), PhasePlan("2:w+", WPlusSpace(), NGD(), 5, 0.01)]
    return Restorer(FakeGenerator(), phases, [WeightedLoss("l2", 1.0, loss or L2())], CPU, **kwargs)


def targets(count: int = 2) -> torch.Tensor:
    G = FakeGenerator()
    w = torch.randn(count, 1, G.w_dim, generator=torch.Generator().manual_seed(5)).repeat(1, G.num_ws, 1)
    return ((G.synthesis(w) + 1) / 2).detach()


def keys(count: int = 2) -> list[ImageKey]:
    return [ImageKey(0, f"img{i}") for i in range(count)]


def test_restoring_without_a_recipe_fits_the_target_and_logs_each_phase():
    target = targets()
    start = ((FakeGenerator().synthesis(torch.zeros(2, 4, 6)) + 1) / 2 - target).abs().mean()
    result = restorer().restore(target, Identity(), keys())
    assert result.restored.shape == target.shape and 0 <= result.restored.min() and result.restored.max() <= 1
    assert (result.restored - target).abs().mean() < 0.5 * start
    assert set(result.log[0]) == {"1:w/total", "1:w/l2", "2:w+/total", "2:w+/l2"}
    assert len(result.log[0]["1:w/total"]) == 30 and result.log[0]["1:w/total"][-1] < result.log[0]["1:w/total"][0]
    assert result.styles.shape == (2, 4, 6) and not result.failures


def test_a_batch_equals_its_images_restored_one_by_one():
    target = targets(3)
    batch = restorer(steps=5).restore(target, Identity(), keys(3))
    for i in range(3):
        alone = restorer(steps=5).restore(target[i:i + 1], Identity(), keys(3)[i:i + 1])
        torch.testing.assert_close(alone.restored[0], batch.restored[i], rtol=0, atol=1e-6)


def test_a_diverging_image_is_stopped_and_the_others_go_on():
    result = restorer(NaNForFirst(), steps=5).restore(targets(), Identity(), keys())
    assert list(result.failures) == [0] and "phase 1:w, step 0" in result.failures[0]
    assert torch.isfinite(result.restored).all()
    assert result.log[1]["1:w/total"][-1] < result.log[1]["1:w/total"][0]


def test_an_ensemble_restores_each_image_k_times_and_returns_their_mean():
    engine = restorer(steps=5, ensemble=Ensemble(samples=3, truncation=0.5))
    target = targets()
    result = engine.restore(target, Identity(), keys())
    assert result.restored.shape == target.shape and result.spread is not None
    assert result.styles.shape == (2, 3, 4, 6)
    assert len(expand_keys(keys(), 3)) == 6 and len(result.log) == 2


def test_an_operator_whose_output_does_not_match_the_target_is_refused():
    with pytest.raises(UserError, match="does not match"):
        restorer(steps=1).restore(targets(), Halve(), keys())


class MatmulL2(L2):
    """The squared error through a matrix product (an op autocast runs in bfloat16), recording its dtype."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[torch.dtype] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        difference = (x - self.target).flatten(1)
        product = difference @ torch.eye(difference.shape[1])
        self.dtypes.append(product.dtype)
        return (product ** 2).mean(1)


@pytest.mark.parametrize("precision, expected", [("float32", torch.float32), ("bfloat16", torch.bfloat16)])
def test_loss_precision_runs_the_loss_terms_under_autocast_and_keeps_the_objective_float32(precision, expected):
    loss = MatmulL2()
    engine = restorer(loss, steps=20, loss_precision=precision)
    target = targets()
    result = engine.restore(target, Identity(), keys())
    assert set(loss.dtypes) == {expected}
    total, terms = engine.objective(target + 0.1)
    assert total.dtype == torch.float32 and terms["l2"].dtype == torch.float32
    assert result.log[0]["1:w/total"][-1] < 0.5 * result.log[0]["1:w/total"][0]


class DrawsAsItRuns(DegradationOperator):
    """An f̂ that adds fresh seeded noise at every call, like denoising's."""

    def __init__(self) -> None:
        super().__init__()
        self.restart()

    def restart(self) -> None:
        self.generator = torch.Generator().manual_seed(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.05 * torch.randn(x.shape, generator=self.generator)


def test_restoring_twice_with_one_operator_gives_one_result():
    """The engine restarts the operator before each restoration, so its draws begin again."""
    operator, target = DrawsAsItRuns(), targets()
    first = restorer(steps=5).restore(target, operator, keys())
    assert torch.equal(restorer(steps=5).restore(target, operator, keys()).restored, first.restored)
