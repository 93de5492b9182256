"""Property tests of the recipe and grid readers: any YAML document is valid or a RecipeError naming a path
of the document (exit 2); never another exception, never a hang. Seeded (derandomised) for reproducibility."""

from __future__ import annotations

import copy
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench_helpers import write_grid
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core_recipes import VALID

from restorefw.bench import load_grid
from restorefw.errors import RecipeError
from restorefw.plugins import load_plugins
from restorefw.recipe import load_recipe

FUZZ = settings(derandomize=True, database=None, deadline=3000, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NAMES = ["type", "params", "task", "level", "space", "steps", "lr", "weight", "path", "inputs", "losses",
         "schedule", "phases", "generator", "seed", "device", "tasks", "degradation", "metrics", "recipes",
         "levels", "images", "seeds", "tables", "layout", "batch_size", "mode", "masks", "limit", "ensemble"]
KEYS = st.one_of(st.sampled_from(NAMES), st.text(max_size=12), st.integers(-3, 3), st.booleans())
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_subnormal=False),
                    st.text(max_size=20), st.sampled_from(["M", "XL", "l1", "w+", "upsampling", "cpu", "auto",
                                                          "images", "0", "-1", "1e9", "inf", "NaN", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


@lru_cache(maxsize=1)
def registry():
    return load_plugins().registry


@lru_cache(maxsize=1)
def workdir() -> Path:
    """A folder with the grid fixture (its recipes and images), shared by every example."""
    root = Path(tempfile.mkdtemp(prefix="restorefw-fuzz-"))
    write_grid(root)
    (root / "images").mkdir(exist_ok=True)
    return root


def paths_of(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a document, as tuples of keys and indices."""
    found = [prefix]
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        found += paths_of(value, prefix + (key,))
    return found


def resolves(data: Any, path: str) -> bool:
    """Whether the dotted path of an error (`losses[0].params.x`) names a location in `data`."""
    if path == "":
        return True
    index = re.match(r"\[(\d+)\]", path)
    if index:
        i, rest = int(index.group(1)), path[index.end():].lstrip(".")
        return isinstance(data, list) and i < len(data) and resolves(data[i], rest)
    if not isinstance(data, dict):
        return False
    for key, value in data.items():
        name = str(key)
        if path == name or (path.startswith(name) and path[len(name)] in ".[" and
                            resolves(value, path[len(name):].lstrip("."))):
            return True
    return False


def parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def mutate(document: Any, choices: st.DataObject) -> Any:
    """The document with one location replaced, deleted, or given an extra key."""
    document = copy.deepcopy(document)
    where = choices.draw(st.sampled_from(paths_of(document)))
    action = choices.draw(st.sampled_from(["replace", "delete", "add"]))
    if not where:
        return choices.draw(VALUES) if action == "replace" else document
    holder = document
    for part in where[:-1]:
        holder = holder[part]
    last = where[-1]
    if action == "replace":
        holder[last] = choices.draw(VALUES)
    elif action == "delete":
        del holder[last]
    elif isinstance(holder[last], dict):
        holder[last][choices.draw(KEYS)] = choices.draw(VALUES)
    else:
        holder[last] = [holder[last], choices.draw(VALUES)]
    return document


def check(load, file: Path, data: Any) -> None:
    """`load(file)` succeeds or raises a RecipeError each of whose paths (or its parent, for a missing key)
    is a location of `data`."""
    try:
        load(file)
    except RecipeError as exc:
        assert "Traceback" not in str(exc)
        for problem in exc.problems:
            if problem.path and problem.file in (None, str(file)):
                assert resolves(data, problem.path) or resolves(data, parent(problem.path)), (problem.path, str(exc))


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


RECIPE = yaml.safe_load(VALID)


@settings(FUZZ, max_examples=150)
@given(st.data())
def test_mutated_recipes_validate_or_name_a_path_of_the_document(data):
    document = RECIPE
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    file = workdir() / "fuzz-recipe.yaml"
    file.write_text(dump(document))
    check(lambda f: load_recipe(f, registry()), file, document)


@settings(FUZZ, max_examples=80)
@given(st.data())
def test_mutated_grids_validate_or_name_a_path_of_the_document(data):
    document = yaml.safe_load((workdir() / "grid.yaml").read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    file = workdir() / "fuzz-grid.yaml"
    file.write_text(dump(document))
    check(lambda f: load_grid(f, registry()), file, document)


@settings(FUZZ, max_examples=100)
@given(VALUES)
def test_arbitrary_documents_as_recipes_and_grids(document):
    file = workdir() / "fuzz-any.yaml"
    file.write_text(dump(document))
    check(lambda f: load_recipe(f, registry()), file, document)
    check(lambda f: load_grid(f, registry()), file, document)


YAMLISH = st.text(alphabet=st.sampled_from(list("ab: -[]{}&*!|>'\"#%@`,?\n\t0.9<") + ["\x00", "\ufeff", "é"]),
                  max_size=80)


@settings(FUZZ, max_examples=150)
@given(st.one_of(YAMLISH, st.binary(max_size=80)))
def test_arbitrary_text_and_bytes_never_escape_as_other_errors(content):
    file = workdir() / "fuzz-text.yaml"
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    for load in (lambda f: load_recipe(f, registry()), lambda f: load_grid(f, registry())):
        try:
            load(file)
        except RecipeError as exc:
            assert str(file) in str(exc)


@settings(FUZZ, max_examples=15)
@given(st.data())
def test_cli_exits_0_or_2_without_a_traceback(capsys, data):
    document = mutate(RECIPE, data)
    file = workdir() / "fuzz-cli.yaml"
    file.write_text(dump(document))
    code, _, err = run_cli(["validate", "--no-files", file], capsys)
    assert code in (0, 2) and "Traceback" not in err, err


def test_resolves_matches_error_paths():
    document = {"losses": [{"type": "l1", "params": {"a.b": 1}}], "x": {"y": None}}
    assert resolves(document, "losses[0].params.a.b") and resolves(document, "x.y") and resolves(document, "")
    assert not resolves(document, "losses[1]") and not resolves(document, "x.z")
    with pytest.raises(AssertionError):
        check(lambda f: (_ for _ in ()).throw(RecipeError("bad", path="nowhere.at.all")), Path("f"), document)
