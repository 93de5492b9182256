"""Recipes: broken ones exit 2 with one paragraph naming the field and line; no traceback."""

from __future__ import annotations

import pytest
from conftest import REPO, write_recipe
from PIL import Image

VALID = """\
generator:
  type: stylegan2-ada
  params: {init: random, seed: 0}
schedule:
  phases:
    - {space: w, steps: 2, lr: 0.08}
    - {space: w+, steps: 2, lr: 0.02}
degradation: {task: upsampling, level: M}
losses:
  - {type: l1, weight: 1.0}
inputs: {path: images}
seed: 0
device: cpu
"""

# (replacement of a line or block of VALID, text that must appear in the message, expected line)
BROKEN = [
    ("\nseed: 0\n", "\nseeed: 0\n", "seeed", 12),
    ("device: cpu", "device: tpu", "device", 13),
    ("\nseed: 0\n", "\nseed: zero\n", "seed", 12),
    ("    - {space: w, steps: 2, lr: 0.08}", "    - {space: w, steps: -1, lr: 0.08}", "schedule.phases[0].steps", 6),
    ("    - {space: w, steps: 2, lr: 0.08}", "    - {space: w, steps: 2, lr: 0}", "schedule.phases[0].lr", 6),
    ("    - {space: w+, steps: 2, lr: 0.02}", "    - {space: wplus, steps: 2, lr: 0.02}", "schedule.phases[1].space", 7),
    ("    - {space: w+, steps: 2, lr: 0.02}", "    - {space: w+, steps: 2, lr: 0.02, optimizer: ngdd}",
     "schedule.phases[1].optimizer.type", 7),
    ("    - {space: w+, steps: 2, lr: 0.02}", "    - {space: w+, steps: 2, lr: 0.02, optimizer: {type: adam, params: {eps: -1}}}",
     "schedule.phases[1].optimizer.params.eps", 7),
    ("  - {type: l1, weight: 1.0}", "  - {type: l11, weight: 1.0}", "losses[0].type", 10),
    ("  - {type: l1, weight: 1.0}", "  - {type: l1, weight: heavy}", "losses[0].weight", 10),
    ("  - {type: l1, weight: 1.0}", "  - {type: l1, wieght: 1.0}", "losses[0].wieght", 10),
    ("  - {type: l1, weight: 1.0}", "  - {type: l1, params: {bogus: 3}}", "losses[0].params.bogus", 10),
    ("degradation: {task: upsampling, level: M}", "degradation: {task: upsampling, level: XXL}", "degradation.level", 8),
    ("degradation: {task: upsampling, level: M}", "degradation: {task: upsamplign, level: M}", "degradation.task", 8),
    ("degradation: {task: upsampling, level: M}", "degradation: {task: upsampling, params: {factor: -2}}",
     "degradation.params.factor", 8),
    ("inputs: {path: images}", "inputs: {}", "inputs", 11),
    ("inputs: {path: images}", "inputs: {path: images, mode: restorre}", "inputs.mode", 11),
    ("  params: {init: random, seed: 0}", "  params: {init: random, seed: 0, checkpointt: x.pkl}",
     "generator.params.checkpointt", 3),
    ("generator:\n  type: stylegan2-ada\n  params: {init: random, seed: 0}\n", "", "generator", None),
    ("\nseed: 0\n", "\nbatch_size: 0\n", "batch_size", 12),
    ("\nseed: 0\n", "\nrequires: [restorefw-no-such-distribution]\n", "requires[0]", 12),
]


@pytest.mark.parametrize("old,new,field,line", BROKEN, ids=[b[2] + ":" + b[1].strip()[:30] for b in BROKEN])
def test_broken_recipe_names_field_and_line(tmp_path, cli, old, new, field, line):
    assert old in VALID
    path = write_recipe(tmp_path, VALID.replace(old, new, 1))
    code, out, err = cli("validate", path)
    assert code == 2, (out, err)
    assert f"{path}: {field}" in err, err
    if line is not None:
        assert f"(line {line})" in err, err
    assert "Traceback" not in err and err.count("\n") <= 2


def test_valid_recipe_passes(tmp_path, cli):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "a.png")
    code, out, err = cli("validate", write_recipe(tmp_path, VALID))
    assert code == 0 and "valid" in out, err


def test_yaml_syntax_error_names_the_line(tmp_path, cli):
    code, _, err = cli("validate", write_recipe(tmp_path, VALID.replace("losses:", "losses: [", 1)))
    assert code == 2 and "not valid YAML" in err and "line" in err


def test_not_a_mapping(tmp_path, cli):
    code, _, err = cli("validate", write_recipe(tmp_path, "- just\n- a list\n"))
    assert code == 2 and "mapping" in err


def test_missing_file(tmp_path, cli):
    code, _, err = cli("validate", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in err


def test_unknown_key_suggests_the_right_one(tmp_path, cli):
    code, _, err = cli("validate", write_recipe(tmp_path, VALID.replace("\nseed: 0", "\nseeed: 0")))
    assert "Did you mean 'seed'?" in err


def test_run_with_broken_recipe_exits_2_without_traceback(tmp_path, cli):
    code, _, err = cli("run", write_recipe(tmp_path, VALID.replace("device: cpu", "device: tpu")))
    assert code == 2 and "device" in err and "Traceback" not in err


def test_debug_flag_shows_traceback(tmp_path, cli):
    code, _, err = cli("--debug", "run", write_recipe(tmp_path, VALID.replace("device: cpu", "device: tpu")))
    assert code == 2 and "Traceback" in err


def test_cli_exit_codes(cli):
    assert cli("--version")[0] == 0
    assert cli("no-such-command")[0] == 2
    assert cli("validate")[0] == 2


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_recipe_validates(path, cli):
    code, out, err = cli("validate", "--no-files", path)
    assert code == 0, err
