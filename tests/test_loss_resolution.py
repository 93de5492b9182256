"""`loss_resolution`: phases whose losses compare the degraded render and the target at fewer pixels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_engine_unit import CPU
from test_render_resolution import built, recipe

from restorefw.degradation import ImageKey
from restorefw.engine import WeightedLoss
from restorefw.loss import Loss
from restorefw.recipe import Phase


class Recording(Loss):
    """An L2 loss that records the targets it is prepared with and the images it compares."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__(None)
        self.prepared: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        self.compared: list[tuple[int, ...]] = []

    def prepare(self, target, mask, keys=None) -> None:
        super().prepare(target, mask, keys)
        self.prepared.append((target.clone(), None if mask is None else mask.clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.compared.append(tuple(x.shape))
        return (x - self.target).pow(2).mean((1, 2, 3))


def restorer_with(phases: list[dict], task: str = "inpainting"):
    data = recipe(task)
    data["schedule"] = {"phases": phases}
    restorer = built(data).restorer
    loss = Recording()
    restorer.losses = [WeightedLoss("recording", 1.0, loss)]
    operator = built(recipe(task)).degradation.realize((1, 3, 32, 32), [ImageKey(0, "a")], CPU)
    return restorer, loss, operator


def test_a_phase_compares_at_its_loss_resolution_and_the_next_one_at_full_size_again():
    restorer, loss, operator = restorer_with([{"space": "w", "steps": 2, "lr": 0.1, "loss_resolution": 8},
                                              {"space": "w+", "steps": 1, "lr": 0.1}])
    clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    target = operator.true(clean)
    restorer.restore(target, operator, [ImageKey(0, "a")])
    assert loss.compared == [(1, 3, 8, 8), (1, 3, 8, 8), (1, 3, 32, 32)]
    sizes = [tuple(t.shape[-2:]) for t, _ in loss.prepared]
    assert sizes == [(8, 8), (32, 32)]  # the coarse phase, then the full one again
    coarse_target, coarse_mask = loss.prepared[0]
    assert torch.allclose(coarse_target, F.avg_pool2d(target, 4), atol=1e-6)
    assert coarse_mask is not None and torch.allclose(coarse_mask, F.avg_pool2d(operator.mask.float(), 4), atol=1e-6)


def test_a_fraction_of_the_full_size_compares_at_the_image_size_over_n():
    restorer, loss, operator = restorer_with([{"space": "w", "steps": 1, "lr": 0.1, "loss_resolution": "full/4"},
                                              {"space": "w+", "steps": 1, "lr": 0.1, "loss_resolution": "full/1"}])
    clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    restorer.restore(operator.true(clean), operator, [ImageKey(0, "a")])
    assert loss.compared == [(1, 3, 8, 8), (1, 3, 32, 32)]  # 32 // 4, then 32: the target's own size


def test_a_loss_resolution_at_or_above_the_targets_size_changes_nothing():
    restorer, loss, operator = restorer_with([{"space": "w", "steps": 2, "lr": 0.1, "loss_resolution": 32}])
    clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    restorer.restore(operator.true(clean), operator, [ImageKey(0, "a")])
    assert loss.compared == [(1, 3, 32, 32)] * 2 and len(loss.prepared) == 1


def test_a_small_target_is_not_resized():
    restorer, loss, operator = restorer_with([{"space": "w", "steps": 1, "lr": 0.1, "loss_resolution": 16}],
                                             task="upsampling")
    clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    restorer.restore(operator.true(clean), operator, [ImageKey(0, "a")])
    assert loss.compared == [(1, 3, 8, 8)]  # ×4: an 8² target, under 16


def test_a_coarse_loss_phase_moves_the_latent_as_the_coarse_objective_says():
    """Not a no-op: a phase at 8² ends elsewhere than the same phase at full size, from the same start."""
    ends = []
    for phase in ({"space": "w", "steps": 3, "lr": 0.1, "loss_resolution": 8}, {"space": "w", "steps": 3, "lr": 0.1}):
        restorer, _, operator = restorer_with([phase])
        clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
        ends.append(restorer.restore(operator.true(clean), operator, [ImageKey(0, "a")]).styles)
    assert not torch.allclose(ends[0], ends[1])


def test_recipes_without_the_field_dump_as_before_and_tiny_sizes_are_refused():
    assert "loss_resolution" not in Phase(space="w", steps=1, lr=0.1).model_dump()
    assert Phase(space="w", steps=1, lr=0.1, loss_resolution=128).model_dump()["loss_resolution"] == 128
    assert Phase(space="w", steps=1, lr=0.1, loss_resolution="full/2").model_dump()["loss_resolution"] == "full/2"
    for refused in (2, "target", "full/0", "half", True):
        with pytest.raises(ValueError, match="loss_resolution"):
            Phase(space="w", steps=1, lr=0.1, loss_resolution=refused)
