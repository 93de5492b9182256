"""Every problem of a recipe or grid file is reported at once, a misspelt required key by its own name."""

from __future__ import annotations

import re

import pytest
from bench_helpers import write_grid
from conftest import write_recipe

from restorefw.bench import load_grid
from restorefw.errors import RecipeError
from restorefw.plugins import load_plugins
from restorefw.recipe import load_recipe

MISSPELT = """\
generator: {type: stylegan2-ada, params: {init: random}}
schedule:
  phases:
    - {space: w, stpes: 10, lr: 0.1}
    - {space: w+, steps: 10, lr: -1}
degradation: {task: denoising, levle: M}
losess: [l1]
inputs: {path: images}
"""


def test_every_schema_problem_is_reported_with_its_line(tmp_path, cli):
    path = write_recipe(tmp_path, MISSPELT)
    code, _, err = cli("validate", path)
    assert code == 2
    assert f"{path}: 4 problems:" in err
    lines = err.strip().splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "schedule.phases[0].stpes (line 4)", "schedule.phases[1].lr (line 5)",
        "degradation.levle (line 6)", "losess (line 7)"]
    assert "unknown key 'stpes'. Did you mean 'steps' (required, and missing)?" in lines[0]
    assert "unknown key 'losess'. Did you mean 'losses' (required, and missing)?" in lines[3]
    assert "Did you mean 'level'?" in lines[2]
    assert "required but missing" not in err and "more problem" not in err and "Traceback" not in err


def test_component_problems_are_collected_too(tmp_path):
    path = write_recipe(tmp_path, """\
        generator: {type: stylegan2-adax}
        schedule:
          phases: [{space: wq, steps: 1, lr: 0.1}]
        degradation: {task: denoising, level: M, params: {photon: 3}}
        losses: [l1, {type: ms-ssim, params: {scale: 3}}]
        inputs: {path: images}
        """)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, load_plugins().registry)
    assert info.value.paths == ["generator.type", "schedule.phases[0].space", "degradation.params.photon",
                                "losses[1].params.scale"]
    assert [p.line for p in info.value.problems] == [1, 3, 4, 5]
    assert "Did you mean 'photons'?" in str(info.value) and "Did you mean 'max_scales'?" in str(info.value)


def test_a_single_problem_keeps_its_one_line_form(tmp_path):
    path = write_recipe(tmp_path, MISSPELT.replace("stpes", "steps").replace("lr: -1", "lr: 1")
                        .replace("levle", "level").replace("losess", "losses"))
    registry = load_plugins().registry
    load_recipe(path, registry)
    broken = write_recipe(tmp_path, MISSPELT.replace("stpes", "steps").replace("lr: -1", "lr: 1")
                          .replace("levle", "level"), "broken.yaml")
    with pytest.raises(RecipeError) as info:
        load_recipe(broken, registry)
    assert info.value.paths == ["losess"] and "\n" not in str(info.value)


def test_grid_messages_say_grid_and_pair_the_misspelt_key(tmp_path):
    path = write_grid(tmp_path, "recipes: [l1]\ntasks: [denoising]\nimagse: images\nseeds: [0, one]\nlimt: 2\n")
    with pytest.raises(RecipeError) as info:
        load_grid(path, load_plugins().registry)
    text = str(info.value)
    assert info.value.paths == ["imagse", "seeds[1]", "limt"]
    assert "unknown key 'imagse'. Did you mean 'images' (required, and missing)?" in text
    assert "Did you mean 'limit'?" in text
    assert re.search(r"\brecipe\b", text) is None


def test_a_missing_grid_key_asks_to_add_it_to_the_grid(tmp_path):
    path = write_grid(tmp_path, "recipes: [l1]\ntasks: [denoising]\n")
    with pytest.raises(RecipeError, match="images: this field is required but missing. Add it to the grid."):
        load_grid(path)
