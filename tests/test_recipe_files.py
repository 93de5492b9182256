"""`restorefw validate` reports a missing input folder, mask folder or checkpoint as `run` would; --no-files skips."""

from __future__ import annotations

import pytest
from conftest import write_recipe
from PIL import Image
from test_core_recipes import VALID

MISSING = {
    "inputs": (VALID.replace("inputs: {path: images}", "inputs: {path: no-such-folder}"), "inputs.path", 11,
               "no-such-folder"),
    "masks": (VALID.replace("inputs: {path: images}", "inputs: {path: images, mode: restore, masks: no-masks}"),
              "inputs.masks", 11, "no-masks"),
    "checkpoint": (VALID.replace("params: {init: random, seed: 0}", "params: {checkpoint: weights/ffhq.pkl}"),
                   "generator.params.checkpoint", 3, "weights/ffhq.pkl"),
}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8), "grey").save(tmp_path / "images" / "a.png")
    return tmp_path


@pytest.mark.parametrize("name", sorted(MISSING))
def test_validate_reports_a_missing_file_as_run_does(folder, cli, name):
    text, field, line, missing = MISSING[name]
    path = write_recipe(folder, text)
    code, _, err = cli("validate", path)
    assert code == 2 and "Traceback" not in err
    assert f"{path}: {field} (line {line}): {folder / missing} " in err
    code, _, run_err = cli("run", path)
    assert code == 2 and str(folder / missing) in run_err and "Traceback" not in run_err
    code, out, err = cli("validate", "--no-files", path)
    assert code == 0 and "valid" in out, err


def test_empty_input_folder_is_reported(folder, cli):
    (folder / "images" / "a.png").unlink()
    code, _, err = cli("validate", write_recipe(folder, VALID))
    assert code == 2 and "inputs.path (line 11): no images found" in err


def test_urls_and_builtin_checkpoints_are_left_to_the_generator(folder, cli):
    text = VALID.replace("params: {init: random, seed: 0}", "params: {checkpoint: 'builtin:aerial32'}")
    code, _, err = cli("validate", write_recipe(folder, text))
    assert code == 0, err
