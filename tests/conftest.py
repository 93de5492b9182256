"""Shared fixtures: CLI runner, installed-metadata plugin distributions, tiny recipes."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CONTRIB_FOCAL = REPO / "contrib" / "restorefw-focal-frequency"
CONTRIB_DEBLUR = REPO / "contrib" / "restorefw-deblur"
CONTRIB_PULSE = REPO / "contrib" / "restorefw-pulse"


@pytest.fixture(autouse=True)
def _seed_and_env(monkeypatch):
    torch.manual_seed(0)
    for var in ("RESTOREFW_PLUGINS", "RESTOREFW_DISABLE_PLUGIN_AUTOLOAD", "RESTOREFW_STRICT_PLUGINS", "RESTOREFW_DEBUG"):
        monkeypatch.delenv(var, raising=False)


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run `restorefw ARGS` in-process; returns (exit code, stdout, stderr)."""
    from restorefw.cli import main

    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), captured.out, captured.err


@pytest.fixture
def cli(capsys):
    return lambda *args: run_cli(list(args), capsys)


@pytest.fixture
def install_dist(tmp_path, monkeypatch):
    """Install a plugin distribution as metadata on sys.path: `install_dist(name, entry_points, modules)`.

    `entry_points` maps entry-point names to module paths; `modules` maps module names to source.
    Discovery goes through importlib.metadata exactly as for a pip-installed distribution."""
    def install(name: str, entry_points: dict[str, str], modules: dict[str, str] | None = None,
                version: str = "1.0", source_dir: Path | None = None) -> Path:
        site = tmp_path / f"site-{name}"
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[restorefw]\n{lines}\n")
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(site))
        if source_dir is not None:
            monkeypatch.syspath_prepend(str(source_dir))
        importlib.invalidate_caches()
        return site

    yield install
    for module in [m for m in sys.modules if m.startswith(("evil_", "broken_", "dup_", "misspelt_", "specname_", "restorefw_thirdparty"))]:
        del sys.modules[module]


@pytest.fixture
def focal_frequency(install_dist):
    """The contrib plugin restorefw-focal-frequency, installed as a distribution."""
    return install_dist("restorefw-focal-frequency", {"focal-frequency": "restorefw_focal_frequency"},
                        version="0.1.0", source_dir=CONTRIB_FOCAL / "src")


@pytest.fixture
def deblur(install_dist):
    """The contrib plugin restorefw-deblur, installed as a distribution."""
    return install_dist("restorefw-deblur", {"deblur": "restorefw_deblur"}, version="0.1.0",
                        source_dir=CONTRIB_DEBLUR / "src")


@pytest.fixture
def pulse(install_dist):
    """The contrib plugin restorefw-pulse, installed as a distribution."""
    return install_dist("restorefw-pulse", {"pulse": "restorefw_pulse"}, version="0.1.0",
                        source_dir=CONTRIB_PULSE / "src")


TINY_GENERATOR = {"type": "stylegan2-ada", "params": {"init": "random", "seed": 0}}


def write_recipe(directory: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path
