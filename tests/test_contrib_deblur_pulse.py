"""The contrib packages restorefw-deblur and restorefw-pulse, installed as distributions, in real runs."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_generator import TINY_CONFIG, tiny_generator

from restorefw.engine import render
from restorefw.imageio import read_image, write_png
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe
from restorefw.run import run_recipe
from restorefw.testing import check_degradation, check_latent_space

GENERATOR = tiny_generator(seed=3)


def recipe(images, out, **overrides) -> dict:
    base = {"generator": GENERATOR,
            "schedule": {"phases": [{"space": "w", "steps": 4, "lr": 0.1}, {"space": "w+", "steps": 4, "lr": 0.05}]},
            "degradation": {"task": "gaussian-blur", "params": {"sigma": 1.5}},
            "losses": [{"type": "l1"}], "inputs": {"path": str(images)}, "outputs": {"dir": str(out)},
            "metrics": ["psnr"], "seed": 0, "device": "cpu", "batch_size": 2}
    base.update(overrides)
    return base


@pytest.fixture
def images(tmp_path):
    """Two ground truths the tiny generator renders exactly."""
    registry = load_plugins().registry
    G = registry.create("generator", GENERATOR["type"], GENERATOR["params"]).load(torch.device("cpu"))
    z = torch.randn(2, TINY_CONFIG["z_dim"], generator=torch.Generator().manual_seed(11))
    folder = tmp_path / "images"
    folder.mkdir()
    with torch.no_grad():
        for i, image in enumerate(render(G, G.mapping(z, None, truncation_psi=0.7)).clamp(0, 1)):
            write_png(folder / f"img{i}.png", image)
    return folder


def run(spec: dict) -> dict:
    plugins = load_plugins()
    return run_recipe(parse_recipe(spec, plugins.registry), plugins, quiet=True)


def test_both_packages_pass_the_kit(deblur, pulse):
    registry = load_plugins().registry
    for name in ("gaussian-blur", "motion-blur"):
        assert check_degradation(registry.get("degradation", name), image_size=32).skipped is None
    assert check_latent_space(registry.get("latent_space", "pulse"), fit_samples=200).skipped is None


@pytest.mark.parametrize("task", [{"task": "gaussian-blur", "level": "XS"},
                                  {"task": "motion-blur", "params": {"length": 5, "angle": 30}}])
def test_a_blur_is_restored_through_its_known_kernel(deblur, images, tmp_path, task):
    run(recipe(images, tmp_path / "out", degradation=task))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["images"] == 2
    assert all(0 < results["mean"][side]["psnr"] < 100 for side in ("restored", "baseline", "fidelity"))
    log = json.loads(next((tmp_path / "out").rglob("log.json")).read_text())
    assert log["2:w+/total"][-1] < log["1:w/total"][0]  # fitting through the known blur lowers the loss


def test_pulse_composes_with_builtin_phases_and_lowers_the_loss(pulse, images, tmp_path):
    phases = [{"space": "w", "steps": 3, "lr": 0.1},
              {"space": "pulse", "steps": 8, "lr": 0.3, "space_params": {"fit_samples": 500}},
              {"space": "w++", "steps": 3, "lr": 0.01}]
    spec = recipe(images, tmp_path / "out", degradation={"task": "denoising", "level": "XS"},
                  schedule={"phases": phases})
    run(spec)
    log = json.loads(next((tmp_path / "out").rglob("log.json")).read_text())
    series = next(values for key, values in log.items() if key.startswith("2:pulse") and key.endswith("total"))
    assert len(series) == 8 and series[-1] < series[0]
    assert any(key.startswith("3:w++") for key in log)


@pytest.mark.parametrize("stages", [
    [{"task": "gaussian-blur", "level": "XS"}, {"task": "denoising", "level": "XS"}],
    [{"task": "upsampling", "level": "XS"}, {"task": "motion-blur", "params": {"length": 3, "angle": 90}}],
], ids=["blur-then-builtin", "builtin-then-blur"])
def test_blurs_compose_with_builtin_degradations_in_either_order(deblur, images, tmp_path, cli, stages):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe(images, tmp_path / "out", degradation=stages)))
    assert [cli(command, path)[0] for command in ("validate", "run")] == [0, 0]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [s["type"] for s in manifest["resolved"]["degradation"]["stages"]] == [s["task"] for s in stages]
    target = read_image(tmp_path / "out" / "images" / "img0" / "target.png")
    assert target.shape[-1] == (16 if stages[0]["task"] == "upsampling" else 32)


def test_a_blur_is_a_task_of_a_bench_grid(deblur, images, tmp_path, cli):
    (tmp_path / "l1.json").write_text(json.dumps({k: v for k, v in recipe(images, tmp_path).items()
                                                  if k not in ("degradation", "inputs", "outputs")} |
                                                 {"name": "l1", "inputs": {"path": "unused"}}))
    grid = {"name": "blur", "recipes": ["l1.json"], "tasks": ["gaussian-blur", "K", "NB"], "levels": ["XS", "S"],
            "combination_level": "XS", "images": str(images), "metrics": ["psnr"]}
    (tmp_path / "grid.yaml").write_text(json.dumps(grid))
    code, _, err = cli("bench", tmp_path / "grid.yaml", "--output", tmp_path / "bench", "--quiet")
    assert code == 0, err
    cells = {p.name for p in (tmp_path / "bench" / "cells" / "l1").iterdir()}
    assert cells == {"gaussian-blur-XS", "gaussian-blur-S", "motion-blur-XS", "motion-blur-S", "BN-XS"}, cells
    table = (tmp_path / "bench" / "tables.csv").read_text()
    assert "gaussian-blur" in table and "motion-blur" in table and "BN" in table
