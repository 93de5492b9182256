"""`restorefw check` names broken rules from the shell; `restorefw new-plugin` writes a package that works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from restorefw.scaffold import TEMPLATES, render

BROKEN_LOSS = '''
from restorefw import hookimpl
from restorefw.loss import Loss


class BatchMeanLoss(Loss):
    name = "broken-batch-mean"
    description = "Returns the batch mean: one value, not one per image."

    def forward(self, x):
        return (x - self.target).abs().mean()


@hookimpl
def restorefw_losses():
    return [BatchMeanLoss]
'''


def test_check_passes_a_contrib_plugin_by_plugin_name(deblur, pulse, focal_frequency, cli):
    code, out, _ = cli("check", "deblur")
    assert code == 0
    assert "ok       degradation 'gaussian-blur' (deblur)" in out and "'motion-blur'" in out
    code, out, _ = cli("check", "restorefw-pulse")
    assert code == 0 and "ok       latent_space 'pulse' (pulse)" in out
    code, out, _ = cli("check", "focal-frequency")
    assert code == 0 and "ok       loss 'focal-frequency' (focal-frequency)" in out


def test_check_names_the_broken_rule_and_exits_1(install_dist, cli):
    install_dist("broken-plugin", {"broken": "broken_loss"}, {"broken_loss": BROKEN_LOSS})
    code, out, _ = cli("check", "broken")
    assert code == 1
    assert "FAILED   loss 'broken-batch-mean' (broken)" in out
    assert "breaks rule 'loss.shape'" in out and "docs/plugins.md#restorefw_losses" in out


def test_check_a_single_component_with_params(cli):
    code, out, _ = cli("check", "gradient", "--params", json.dumps({"operator": "sobel"}), "--image-size", "32")
    assert code == 0 and "ok       loss 'gradient' (iqa)" in out
    code, out, _ = cli("check", "iqa:ssim", "--image-size", "32")
    assert code == 0 and out.count("ok ") == 2 and "loss 'ssim'" in out and "metric 'ssim'" in out
    code, out, _ = cli("check", "stylegan2-ada")
    assert code == 0 and "skipped  generator 'stylegan2-ada'" in out and "--params" in out


def test_check_unknown_target_is_a_user_error(cli):
    code, _, err = cli("check", "no-such-thing")
    assert code == 2 and "no-such-thing" in err and "restorefw plugins" in err


def test_new_plugin_writes_a_package_and_refuses_to_overwrite(tmp_path, cli):
    code, out, _ = cli("new-plugin", "loss", "edge-aware", "--dir", tmp_path)
    root = tmp_path / "restorefw-edge-aware"
    assert code == 0 and str(root) in out
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", "src/restorefw_edge_aware/__init__.py",
                     "tests/test_restorefw_edge_aware.py"}
    assert 'edge-aware = "restorefw_edge_aware"' in (root / "pyproject.toml").read_text()
    assert "type: edge-aware" in (root / "README.md").read_text()
    code, _, err = cli("new-plugin", "loss", "edge-aware", "--dir", tmp_path)
    assert code == 2 and "already exists" in err
    code, _, err = cli("new-plugin", "loss", "Bad_Name", "--dir", tmp_path)
    assert code == 2 and "Bad_Name" in err


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_every_template_compiles(kind):
    for path, text in render(kind, f"my-{kind}").items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def _pip_install(root: Path, site: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(root)], check=True, capture_output=True)


@pytest.mark.slow
def test_generated_plugins_install_pass_their_tests_and_run_in_a_recipe(tmp_path, monkeypatch, cli):
    """One package per kind: pip-installed (no network), its generated tests run, all five used in one run."""
    import importlib

    import torch

    from restorefw.imageio import write_png

    site = tmp_path / "site"
    for kind in TEMPLATES:
        assert cli("new-plugin", kind, f"my-{kind}", "--dir", tmp_path)[0] == 0
        _pip_install(tmp_path / f"restorefw-my-{kind}", site)
    env = {"PYTHONPATH": str(site), "PATH": "", "OMP_NUM_THREADS": "1"}
    tests = [str(tmp_path / f"restorefw-my-{kind}" / "tests") for kind in TEMPLATES]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "10 passed" in result.stdout
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        write_png(images / f"img{i}.png", torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(i)))
    recipe = {
        "generator": {"type": "my-generator"},
        "schedule": {"phases": [{"space": "my-latent-space", "steps": 3, "lr": 0.05},
                                {"space": "w+", "steps": 2, "lr": 0.02}]},
        "degradation": {"task": "my-degradation", "level": "high"},
        "losses": [{"type": "my-loss", "params": {"scale": 2.0}}],
        "metrics": ["my-metric", "psnr"],
        "inputs": {"path": str(images)}, "outputs": {"dir": str(tmp_path / "out")},
        "seed": 0, "device": "cpu", "batch_size": 2,
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe))
    assert cli("validate", path)[0] == 0
    code, out, err = cli("run", path)
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    mae = results["mean"]["restored"]["my-metric"]
    assert 0 < mae < 1 and results["mean"]["fidelity"]["my-metric"] < mae


def test_check_reports_a_plugin_that_does_not_register(install_dist, cli):
    install_dist("broken-nameless", {"nameless": "broken_nameless"}, {"broken_nameless": BROKEN_LOSS.replace(
        'name = "broken-batch-mean"', 'name = ""')})
    code, out, _ = cli("check", "nameless")
    assert code == 1 and "FAILED   plugin 'nameless'" in out and "`name`" in out
