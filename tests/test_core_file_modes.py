"""Atomically written outputs get the mode a plain open() would give under the user's umask (not 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from restorefw.imageio import atomic_write_json, write_png
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe
from restorefw.run import run_recipe
from restorefw_plugins.stylegan2.checkpoint import build_generator, save_safetensors
from restorefw_plugins.training.state import atomic_save_tensors

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

TINY = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 1}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_follow_the_umask(tmp_path, umask):
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    write_png(tmp_path / "b.png", torch.rand(3, 4, 4))
    atomic_save_tensors(tmp_path / "c.safetensors", {"t": torch.zeros(2)}, {})
    save_safetensors(build_generator(TINY), tmp_path / "d.safetensors")
    plain = tmp_path / "plain"
    plain.write_text("")
    for name in ("a.json", "b.png", "c.safetensors", "d.safetensors"):
        assert mode(tmp_path / name) == mode(plain) == 0o666 & ~umask, name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_every_file_of_a_run_is_group_readable(tmp_path):
    old = os.umask(0o022)
    try:
        torch.manual_seed(0)
        (tmp_path / "in").mkdir()
        write_png(tmp_path / "in" / "a.png", torch.rand(3, 16, 16))
        recipe = {"generator": {"type": "stylegan2-ada", "params": {"init": "random", "config": TINY}},
                  "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]},
                  "degradation": {"task": "denoising", "level": "M"}, "losses": ["l1"],
                  "inputs": {"path": str(tmp_path / "in")}, "outputs": {"dir": str(tmp_path / "out")},
                  "device": "cpu"}
        plugins = load_plugins()
        run_recipe(parse_recipe(recipe, plugins.registry), plugins, quiet=True)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(files) > 4
    assert {p.relative_to(tmp_path).as_posix(): mode(p) for p in files if mode(p) != 0o644} == {}
