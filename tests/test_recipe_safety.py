"""Hostile and accidental YAML: refused quickly with exit 2, the file and the line; never a traceback or a hang."""

from __future__ import annotations

import time

import pytest
from conftest import write_recipe
from test_core_recipes import VALID


def alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return VALID + "\n".join(lines) + "\n"


HOSTILE = {
    "alias-bomb": (alias_bomb(), "expands to more than 100,000 values through its aliases", 19),
    "deep-flow": (VALID + "x: " + "[" * 200_000 + "]" * 200_000 + "\n", "nests deeper than 64 levels", 14),
    "deep-block": (VALID + "x:\n" + "".join(" " * (2 * i + 2) + "- \n" for i in range(500)),
                   "nests deeper than 64 levels", 78),
    "duplicate-top-key": (VALID + "seed: 1\n", "the key 'seed' is given twice in one mapping (first on line 12)", 14),
    "duplicate-nested-key": (VALID.replace("degradation: {task: upsampling, level: M}",
                                           "degradation: {task: upsampling, level: M, task: denoising}"),
                             "the key 'task' is given twice", 8),
    "impossible-date": (VALID + "description: 2023-02-30\n", "cannot read '2023-02-30' as timestamp", 14),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_yaml_is_refused_quickly_with_its_line(tmp_path, cli, name):
    text, fragment, line = HOSTILE[name]
    path = write_recipe(tmp_path, text)
    started = time.perf_counter()
    code, _, err = cli("validate", path)
    assert time.perf_counter() - started < 5
    assert code == 2 and "Traceback" not in err
    assert f"{path} (line {line}):" in err and fragment in err


def test_alias_bomb_is_refused_before_it_is_expanded(tmp_path, cli):
    path = write_recipe(tmp_path, alias_bomb(levels=30))  # 9**30 values if expanded
    started = time.perf_counter()
    code, _, err = cli("validate", path)
    assert code == 2 and "aliases" in err and time.perf_counter() - started < 2


def test_small_aliases_and_merge_keys_still_work(tmp_path, cli):
    code, _, err = cli("validate", "--no-files", write_recipe(tmp_path, VALID.replace(
        "losses:\n  - {type: l1, weight: 1.0}\n",
        "losses:\n  - &loss {type: l1, weight: 1.0}\n  - {<<: *loss, weight: 2.0}\n")))
    assert code == 0, err


def test_non_utf8_file_names_the_byte_and_line(tmp_path, cli):
    path = tmp_path / "latin1.yaml"
    path.write_bytes((VALID + "description: café au lait\n").encode("latin-1"))
    code, _, err = cli("validate", path)
    assert code == 2 and "Traceback" not in err
    assert f"{path} (line 14): the recipe is not UTF-8 text (byte 0xe9" in err and "Save the file as UTF-8" in err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_utf8_with_bom_and_utf16_are_read(tmp_path, cli, encoding):
    path = tmp_path / "recipe.yaml"
    path.write_bytes((VALID + "description: café\n").encode(encoding))
    code, _, err = cli("validate", "--no-files", path)
    assert code == 0, err


def test_oversized_file_is_refused_without_reading_it_all(tmp_path, cli):
    path = tmp_path / "huge.yaml"
    path.write_text(VALID + "# " + "x" * (2 << 20) + "\n")
    code, _, err = cli("validate", path)
    assert code == 2 and "larger than 1 MiB" in err


def test_binary_garbage_is_a_recipe_error(tmp_path, cli):
    path = tmp_path / "garbage.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    code, _, err = cli("validate", path)
    assert code == 2 and str(path) in err and "Traceback" not in err
