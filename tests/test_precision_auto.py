"""`precision: auto`: bfloat16 only where the device computes it in hardware, and a warning for emulated bfloat16."""

from __future__ import annotations

import json

import pytest
import torch
from test_engine import in_range_images, recipe_dict

from restorefw import device as devices
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe
from restorefw.run import run_recipe

CPU = torch.device("cpu")


@pytest.fixture
def bfloat16_cpu(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) AVX512-BF16 and AMX."""
    def pretend(present: bool) -> None:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: present)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return pretend


@pytest.mark.parametrize("present, expected", [(True, "bfloat16"), (False, "float32")])
def test_auto_is_bfloat16_only_on_a_cpu_with_bfloat16_units(bfloat16_cpu, present, expected):
    bfloat16_cpu(present)
    assert devices.resolve_precision("auto", CPU) == expected
    assert devices.resolve_precision("float32", CPU) == "float32"
    assert devices.resolve_precision("bfloat16", CPU) == "bfloat16"


def test_amx_alone_counts_as_bfloat16_units(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert devices.runs_bfloat16_fast(CPU)


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_cuda_asks_for_native_bfloat16_not_emulation(monkeypatch, native):
    asked = {}

    def supported(including_emulation: bool = True) -> bool:
        asked["emulation"] = including_emulation
        return native or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert devices.resolve_precision("auto", torch.device("cuda")) == ("bfloat16" if native else "float32")
    assert asked == {"emulation": False}


def test_bfloat16_by_name_on_an_emulating_cpu_warns_and_names_the_field(bfloat16_cpu):
    bfloat16_cpu(False)
    message = devices.precision_warning("loss_precision", "bfloat16", CPU)
    assert message is not None and "`loss_precision: bfloat16`" in message and "`loss_precision: auto`" in message
    assert devices.precision_warning("loss_precision", "auto", CPU) is None
    bfloat16_cpu(True)
    assert devices.precision_warning("loss_precision", "bfloat16", CPU) is None


@pytest.mark.parametrize("present", [True, False])
def test_a_run_records_what_auto_resolved_to_and_runs_in_it(tmp_path, bfloat16_cpu, present):
    bfloat16_cpu(present)
    in_range_images(tmp_path / "images", 1)
    recipe = recipe_dict(tmp_path / "images", tmp_path / "out", precision="auto", loss_precision="auto")
    recipe["schedule"]["phases"] = recipe["schedule"]["phases"][:1]
    plugins = load_plugins()
    run_recipe(parse_recipe(recipe, plugins.registry), plugins, quiet=True)
    resolved = json.loads((tmp_path / "out" / "manifest.json").read_text())["resolved"]
    expected = "bfloat16" if present else "float32"
    assert (resolved["precision"], resolved["loss_precision"]) == (expected, expected)


def test_a_run_asking_for_emulated_bfloat16_warns_before_restoring(tmp_path, bfloat16_cpu, capsys):
    bfloat16_cpu(False)
    in_range_images(tmp_path / "images", 1)
    recipe = recipe_dict(tmp_path / "images", tmp_path / "out", precision="bfloat16")
    recipe["schedule"]["phases"] = recipe["schedule"]["phases"][:1]
    plugins = load_plugins()
    results = run_recipe(parse_recipe(recipe, plugins.registry), plugins, quiet=False)
    err = capsys.readouterr().err
    assert "warning: `precision: bfloat16` will be very slow" in err
    assert "loss_precision" not in err
    assert any("`precision: bfloat16`" in note for note in results["notes"])
