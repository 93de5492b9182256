"""`render_resolution`: phases that render the generator only up to a coarser block (fewer pixels)."""

from __future__ import annotations

import copy

import pytest
import torch
from test_engine_unit import CPU, FakeGenerator
from tiny_generator import tiny_generator

from restorefw.build import Generators, build
from restorefw.degradation import ImageKey
from restorefw.engine import PhasePlan, Restorer, WeightedLoss
from restorefw.errors import UserError
from restorefw.plugins import load_plugins
from restorefw.recipe import Phase, parse_recipe
from restorefw_plugins.iqa.losses import L2Loss
from restorefw_plugins.latents import WSpace
from restorefw_plugins.optimizers import NGD


def recipe(task: str, render_resolution=None, steps: int = 2) -> dict:
    phase = {"space": "w", "steps": steps, "lr": 0.1}
    if render_resolution is not None:
        phase["render_resolution"] = render_resolution
    return {"generator": tiny_generator(seed=3), "schedule": {"phases": [phase]},
            "degradation": {"task": task, "params": {"factor": 4}} if task == "upsampling" else task,
            "losses": [{"type": "l2"}], "inputs": {"path": "unused"}, "seed": 0, "device": "cpu"}


def built(data: dict):
    registry = load_plugins().registry
    return build(parse_recipe(data, registry), registry, CPU, Generators(registry))


def test_a_coarse_render_is_the_image_without_the_finer_blocks_rgb():
    G = built(recipe("denoising")).generator
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(0)), None)
    full = G.synthesis(ws)
    assert G.render_resolutions == (4, 8, 16, 32)
    assert torch.equal(G.synthesis(ws, resolution=32), full)
    coarse = G.synthesis(ws, resolution=8)
    without_detail = copy.deepcopy(G)
    with torch.no_grad():
        for block in without_detail.synthesis.blocks():
            if block.resolution > 8:
                block.torgb.weight.zero_()
                block.torgb.bias.zero_()
    assert coarse.shape == full.shape
    assert torch.equal(without_detail.synthesis(ws), coarse)
    assert (coarse - full).abs().max() > 0.1
    with pytest.raises(ValueError, match="resolution must be one of"):
        G.synthesis(ws, resolution=12)


@pytest.mark.parametrize("task, wanted, expected", [
    ("upsampling", "target", 8),  # ×4 at 32²: an 8² target
    ("upsampling", "target*2", 16),
    ("upsampling", "target*8", None),  # beyond the full image: the full image
    ("upsampling", 16, 16),
    ("upsampling", 32, None),  # the full image
    ("upsampling", 128, None),  # beyond the full image: the full image (one recipe, several sizes)
    ("denoising", "full/2", 16),  # the image's size over 2
    ("denoising", "full/8", 4),
    ("denoising", "full/1", None),
    ("denoising", "target", None),  # a full-size target sees every block
    ("denoising", None, None),
])
def test_a_phase_renders_at_the_resolution_it_asks_for(task, wanted, expected):
    restorer = built(recipe(task, wanted)).restorer
    seen: list[int | None] = []
    restorer.G.synthesis.register_forward_pre_hook(lambda _, args, kwargs: seen.append(kwargs.get("resolution")),
                                                   with_kwargs=True)
    target = torch.rand(1, 3, 8, 8) if task == "upsampling" else torch.rand(1, 3, 32, 32)
    operator = built(recipe(task)).degradation.realize((1, 3, 32, 32), [ImageKey(0, "a")], CPU)
    result = restorer.restore(target, operator, [ImageKey(0, "a")])
    assert seen[:2] == [expected, expected]  # the phase's two steps
    assert seen[-1] is None  # the restored image is always rendered in full
    assert result.restored.shape == (1, 3, 32, 32)


def test_a_resolution_the_generator_does_not_render_at_is_refused_when_the_recipe_is_built():
    with pytest.raises(UserError, match=r"schedule\.phases\[0\]\.render_resolution: 12 .*4, 8, 16, 32"):
        built(recipe("upsampling", 12))


def test_a_fraction_of_the_full_size_the_generator_does_not_render_at_is_refused_when_the_recipe_is_built():
    with pytest.raises(UserError, match=r"schedule\.phases\[0\]\.render_resolution: 10 .*4, 8, 16, 32.*full/N"):
        built(recipe("denoising", "full/3"))  # 32 // 3


def test_a_generator_without_render_resolutions_renders_target_phases_in_full():
    phase = PhasePlan("1:w", WSpace(WSpace.Params()), NGD(NGD.Params()), 2, 0.1, render_resolution="target")
    restorer = Restorer(FakeGenerator(), [phase], [WeightedLoss("l2", 1.0, L2Loss(L2Loss.Params()))], CPU)
    assert restorer.render_resolution(phase, torch.rand(2, 3, 2, 2)) is None
    phase.render_resolution = 4
    with pytest.raises(UserError, match="phase 1:w, render_resolution: 4 is not a resolution this generator renders at"):
        restorer.render_resolution(phase, torch.rand(2, 3, 2, 2))


def test_recipes_without_the_field_dump_as_before():
    assert "render_resolution" not in Phase(space="w", steps=1, lr=0.1).model_dump()
    assert Phase(space="w", steps=1, lr=0.1, render_resolution="target").model_dump()["render_resolution"] == "target"


@pytest.mark.parametrize("value", ["tgt", "target*0", "target*", 2, "full/0", "full", "full*2", "target/2"])
def test_a_render_resolution_that_is_not_a_size_or_a_multiple_of_the_target_is_refused(value):
    with pytest.raises(ValueError, match="render_resolution"):
        Phase(space="w", steps=1, lr=0.1, render_resolution=value)
