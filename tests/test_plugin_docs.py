"""docs/plugins.md: the generated reference matches the code, and the tutorial's files work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from restorefw.plugin_docs import generated_part, reference
from restorefw.testing import RULES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```", re.S | re.M)


def tutorial_files() -> dict[str, str]:
    return {name: text for name, text in FILE_BLOCK.findall(DOCS.read_text())}


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_reference_is_generated_from_the_hookspecs_and_base_classes():
    current = generated_part(DOCS.read_text())
    assert current is not None, "docs/plugins.md has no generated reference block"
    assert current == reference(), ("docs/plugins.md's reference drifted from the hookspecs/base-class docstrings "
                                    "or the kit's rules; run `python -m restorefw.plugin_docs docs/plugins.md`")


def test_every_rule_points_at_a_heading_of_the_docs():
    anchors = {slug(line.lstrip("#")) for line in DOCS.read_text().splitlines() if line.startswith("#")}
    missing = {rule.id: rule.section for rule in RULES.values() if rule.section not in anchors}
    assert not missing


def test_the_documented_failure_quotes_the_rule():
    text = DOCS.read_text()
    assert f"The rule: {RULES['loss.shape'].text}" in text and "breaks rule 'loss.shape'" in text


def test_the_tutorial_loss_passes_the_kit_and_its_recipe_validates(install_dist, cli, tmp_path):
    files = tutorial_files()
    assert set(files) == {"pyproject.toml", "src/restorefw_charbonnier/__init__.py", "tests/test_charbonnier.py",
                          "charbonnier.yaml", "grid.yaml"}
    install_dist("restorefw-charbonnier", {"charbonnier": "restorefw_charbonnier"},
                 {"restorefw_charbonnier": files["src/restorefw_charbonnier/__init__.py"]})
    namespace: dict = {}
    exec(compile(files["tests/test_charbonnier.py"], "test_charbonnier.py", "exec"), namespace)
    namespace["test_charbonnier_follows_the_loss_contract"]()
    namespace["test_charbonnier_is_about_l1_for_large_differences"]()
    (tmp_path / "charbonnier.yaml").write_text(files["charbonnier.yaml"])
    assert cli("validate", tmp_path / "charbonnier.yaml")[0] == 0
    (tmp_path / "bad.yaml").write_text(files["charbonnier.yaml"].replace("epsilon: 0.01", "epsilon: -1"))
    code, _, err = cli("validate", tmp_path / "bad.yaml")
    assert code == 2 and "losses[0].params.epsilon" in err


@pytest.mark.slow
def test_the_tutorial_package_installs_passes_its_tests_and_works_in_run_and_bench(tmp_path, monkeypatch, cli):
    import importlib
    import json

    root, site = tmp_path / "restorefw-charbonnier", tmp_path / "site"
    for name, text in tutorial_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(root)], check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                            capture_output=True, text=True, env={"PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-2000:]
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    recipe = yaml.safe_load((root / "charbonnier.yaml").read_text())
    for phase in recipe["schedule"]["phases"]:
        phase["steps"] = 2  # the tutorial's schedule, shortened for the test
    recipe.update(batch_size=2, device="cpu")
    recipe["inputs"]["limit"] = 2
    (root / "charbonnier.yaml").write_text(yaml.safe_dump(recipe))
    code, _, err = cli("run", root / "charbonnier.yaml", "--output", tmp_path / "run")
    assert code == 0, err
    mean = json.loads((tmp_path / "run" / "results.json").read_text())["mean"]["restored"]
    assert 0 < mean["psnr"] < 100
    grid = yaml.safe_load((root / "grid.yaml").read_text())
    grid["limit"] = 2
    (root / "grid.yaml").write_text(yaml.safe_dump(grid))
    code, _, err = cli("bench", root / "grid.yaml", "--output", tmp_path / "bench", "--quiet")
    assert code == 0, err
    assert "charbonnier" in (tmp_path / "bench" / "tables.csv").read_text()
