"""The shipped prior and the quickstart recipe work offline, from the package alone."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import REPO

from restorefw.plugins import load_plugins
from restorefw.recipe import load_recipe
from restorefw.run import run_recipe


def test_builtin_prior_loads_and_renders():
    registry = load_plugins().registry
    G = registry.create("generator", "stylegan2-ada", {"checkpoint": "builtin:aerial32"}).load(torch.device("cpu"))
    assert (G.img_resolution, G.num_ws, G.w_dim) == (32, 8, 128)
    with torch.no_grad():
        images = G(torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (4, 3, 32, 32) and torch.isfinite(images).all()
    assert 0.05 < images.std().item() < 1.5
    assert not any(p.requires_grad for p in G.parameters())


@pytest.mark.slow
def test_quickstart_runs_end_to_end(tmp_path):
    plugins = load_plugins()
    recipe = load_recipe(REPO / "examples" / "quickstart.yaml", plugins.registry)
    results = run_recipe(recipe, plugins, recipe_path=REPO / "examples" / "quickstart.yaml",
                         output=tmp_path, limit=2, quiet=True)
    assert sorted(results["tasks"]) == ["deartifacting-M", "denoising-M", "inpainting-M", "upsampling-M"]
    for task, task_results in results["tasks"].items():
        assert task_results["images"] == 2
        assert (tmp_path / task / "images" / "aerial_test_000000" / "grid.png").is_file()
    assert json.loads((tmp_path / "results.json").read_text())["tasks"].keys() == results["tasks"].keys()
    draws = {task: json.loads((tmp_path / task / "manifest.json").read_text())["recipe"]["schedule"]["ensemble"]
             ["noise_draws"] for task in results["tasks"]}
    assert draws == {"upsampling-M": 16, "denoising-M": 0, "deartifacting-M": 0, "inpainting-M": 0}
