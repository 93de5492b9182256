"""A third-party package written only from docs/plugins.md (tests/thirdparty), installed as a distribution,
works wherever a built-in works: validate, run, compositions with built-ins in both orders, generate
(issue 12, defects 1, 3, 4, 5, 7, 8)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, write_recipe
from PIL import Image

RECIPE = """
    generator: tp-prior
    schedule:
      phases:
        - {space: tp-w, steps: 3, lr: 0.05}
        - {space: w+, steps: 2, lr: 0.02}
        - {space: w++, steps: 2, lr: 0.01}
    degradation: DEGRADATION
    losses: [{type: tp-l1}, {type: consistency, weight: 0.5}]
    metrics: [tp-mae, psnr]
    inputs: {path: images}
    outputs: {dir: out}
    device: cpu
"""


@pytest.fixture
def thirdparty(install_dist):
    return install_dist("restorefw-thirdparty", {"thirdparty": "restorefw_thirdparty"}, version="0.3.0",
                        source_dir=REPO / "tests" / "thirdparty" / "src")


def write_images(folder: Path, count: int = 2, size: int = 16) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


def recipe_with(tmp_path: Path, degradation: str, name: str = "recipe.yaml") -> Path:
    write_images(tmp_path / "images")
    return write_recipe(tmp_path, RECIPE.replace("DEGRADATION", degradation), name)


def test_the_package_is_discovered_as_a_distribution(thirdparty, cli):
    code, out, _ = cli("plugins", "--json")
    row = {r["name"]: r for r in json.loads(out)["plugins"]}["thirdparty"]
    assert code == 0 and row["distribution"] == "restorefw-thirdparty" and row["error"] is None
    assert row["components"] == {"generator": ["tp-prior"], "latent_space": ["tp-w"],
                                 "degradation": ["tp-fade", "tp-grey"], "loss": ["tp-l1"], "metric": ["tp-mae"]}


def test_validate_and_run_alone_with_its_own_levels_and_wpp_count(thirdparty, cli, tmp_path):
    recipe = recipe_with(tmp_path, "{task: tp-fade, level: strong}")
    code, _, err = cli("validate", recipe)
    assert code == 0, err
    code, _, err = cli("run", recipe)
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["images"] == 2 and {"tp-mae", "psnr"} <= set(results["mean"]["restored"])
    assert {k: results["metrics"]["tp-mae"][k] for k in ("lower_is_better", "display_name", "decimals")} == {
        "lower_is_better": True, "display_name": "tp-mae", "decimals": 3}
    assert results["metrics"]["psnr"]["display_name"] == "PSNR"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["resolved"]["degradation"] == {"level": "strong", "amount": None}


def test_wpp_uses_the_priors_own_vector_count(thirdparty, cli, tmp_path):
    code, _, err = cli("run", recipe_with(tmp_path, "{task: tp-fade, params: {amount: 0.5}}"))
    assert code == 0, err
    styles = torch.load(tmp_path / "out" / "images" / "img0" / "styles.pt")
    assert tuple(styles.shape) == (1, 3, 5, 8), "w++ must use the prior's own max_filters (5), not 512"


@pytest.mark.parametrize("degradation, size", [
    ("[{task: tp-fade, level: faint}, {task: upsampling, params: {factor: 2}}]", 8),
    ("[{task: upsampling, level: XS}, {task: inpainting, params: {strokes: 2}}, tp-fade]", 8),
    ("[{task: denoising, level: XS}, {task: tp-fade, params: {amount: 0.3}}]", 16),
])
def test_compositions_with_builtins_validate_and_run(thirdparty, cli, tmp_path, degradation, size):
    recipe = recipe_with(tmp_path, degradation)
    code, _, err = cli("validate", recipe)
    assert code == 0, err
    code, _, err = cli("run", recipe)
    assert code == 0, err
    with Image.open(tmp_path / "out" / "images" / "img1" / "target.png") as target:
        assert target.size == (size, size)


def test_levels_reach_only_degradations_that_declare_them(thirdparty, cli, tmp_path):
    code, _, err = cli("validate", recipe_with(tmp_path, "{task: tp-grey, level: M}"))
    assert code == 2 and "degradation.level" in err and "'tp-grey' has no named levels" in err
    assert "params.level" not in err
    code, _, err = cli("validate", recipe_with(tmp_path, "[tp-grey, {task: tp-fade, level: XL}]", "b.yaml"))
    assert code == 2 and "degradation[1].level" in err and "faint, strong" in err


def test_a_degradation_that_changes_channels_is_measured_like_with_like(thirdparty, cli, tmp_path):
    recipe = recipe_with(tmp_path, "tp-grey").read_text().replace("[tp-mae, psnr]", "[tp-mae, psnr, ssim]")
    code, _, err = cli("run", write_recipe(tmp_path, recipe))
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {"restored", "baseline", "fidelity"} <= set(results["mean"])
    assert set(results["mean"]["baseline"]) == {"tp-mae", "psnr", "ssim"}
    assert all(np.isfinite(v) for group in results["mean"].values() for v in group.values())


LIAR = """
import torch
from restorefw import hookimpl
from restorefw.degradation import Degradation, DegradationOperator

class Op(DegradationOperator):
    def true(self, x):
        return x.mean(dim=1, keepdim=True)   # one channel, but output_channels says C
    def forward(self, x):
        return x.mean(dim=1, keepdim=True)

class Liar(Degradation):
    name = "liar"
    description = "returns another shape than it announces"
    def realize(self, shape, keys, device):
        return Op()

@hookimpl
def restorefw_degradations():
    return [Liar]
"""


def test_a_degradation_breaking_its_contract_is_stopped_before_the_first_step(thirdparty, install_dist, cli,
                                                                              tmp_path):
    install_dist("broken-liar", {"liar": "broken_liar"}, {"broken_liar": LIAR})
    code, _, err = cli("run", recipe_with(tmp_path, "liar"))
    assert code == 2 and "degradation 'liar'" in err and "[1, 1, 16, 16]" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "images" / "img0" / "done.json").exists()


NO_FILTERS = """
from restorefw import hookimpl
from restorefw.generator import Generator
from restorefw_thirdparty import TinyNetwork

class Net(TinyNetwork):
    max_filters = None

class Forgetful(Generator):
    name = "forgetful"
    description = "a network without max_filters"
    def load(self, device):
        return Net(0)

@hookimpl
def restorefw_generators():
    return [Forgetful]
"""


def test_a_generator_breaking_the_protocol_is_named_with_its_attribute(thirdparty, install_dist, cli, tmp_path):
    install_dist("broken-forgetful", {"forgetful": "broken_forgetful"}, {"broken_forgetful": NO_FILTERS})
    recipe = recipe_with(tmp_path, "tp-fade").read_text().replace("generator: tp-prior", "generator: forgetful")
    code, _, err = cli("run", write_recipe(tmp_path, recipe, "forgetful.yaml"))
    assert code == 2 and "'forgetful' of plugin 'forgetful'" in err and "max_filters" in err


def test_component_paths_are_relative_to_the_recipe(thirdparty, cli, tmp_path, monkeypatch):
    folder = tmp_path / "project"
    recipe = recipe_with(folder, "{task: inpainting, params: {mask: masks/hole.png}}")
    (folder / "masks").mkdir()
    hole = np.full((16, 16), 255, np.uint8)
    hole[:6] = 0
    Image.fromarray(hole).save(folder / "masks" / "hole.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = cli("validate", recipe)
    assert code == 0, err
    code, _, err = cli("run", recipe)
    assert code == 0, err
    with Image.open(folder / "out" / "images" / "img0" / "mask.png") as mask:
        assert np.asarray(mask)[:5].max() == 0 and np.asarray(mask)[8:].min() == 255


def test_generate_samples_a_plugin_prior(thirdparty, cli, tmp_path):
    code, out, err = cli("generate", "--generator", "tp-prior", "--params", '{"seed": 1}', "--seeds", "0-2",
                         "--truncation-psi", "0.5", "--out", tmp_path / "samples")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["seed0000.png", "seed0001.png", "seed0002.png"]
    recipe = recipe_with(tmp_path, "tp-fade")
    code, _, err = cli("generate", "--recipe", recipe, "--seeds", "4", "--out", tmp_path / "from-recipe")
    assert code == 0 and (tmp_path / "from-recipe" / "seed0004.png").is_file(), err
    code, _, err = cli("generate", "--seeds", "4", "--out", tmp_path / "none")
    assert code == 2 and "--generator" in err and "tp-prior" in err


GRID = """
    recipes: [tp]
    tasks: [tp-fade, N, FU, tp-grey]
    levels: [strong, XS]
    images: images
    metrics: [tp-mae, psnr]
"""


def test_a_small_bench_grid_by_name_letter_combination_and_levels(thirdparty, cli, tmp_path):
    recipe = recipe_with(tmp_path, "tp-fade", "tp.yaml").read_text().replace("name: tp\n", "")
    write_recipe(tmp_path, "name: tp\n" + textwrap.dedent(recipe), "tp.yaml")
    grid = write_recipe(tmp_path, GRID, "grid.yaml")
    code, _, err = cli("bench", grid, "--output", tmp_path / "bench", "--no-report")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "bench" / "tables.csv").read_text())))
    cells = {(r["layout"], r["task"], r["level"]) for r in rows}
    assert cells == {("levels", "tp-fade", "strong"), ("levels", "denoising", "XS"), ("levels", "tp-grey", ""),
                     ("combinations", "UF", "")}, cells
    assert {r["metric"] for r in rows} == {"tp-mae", "psnr"} and all(r["value"] for r in rows)
    assert (tmp_path / "bench" / "cells" / "tp" / "UF" / "seed0" / "images" / "img0" / "done.json").is_file()
    manifest = json.loads((tmp_path / "bench" / "cells" / "tp" / "UF" / "seed0" / "manifest.json").read_text())
    assert [s["task"] for s in manifest["recipe"]["degradation"]] == ["upsampling", "tp-fade"]
    tables = (tmp_path / "bench" / "tables.md").read_text()
    assert "tp-mae ↓ (tp)" in tables and "PSNR ↑ (tp)" in tables  # headings from each metric's display_name
