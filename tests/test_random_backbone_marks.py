"""Values of a metric with a random backbone are marked in results.json, the printed summary and every table."""

from __future__ import annotations

import csv
import io
import json

import torch
import yaml
from bench_helpers import write_grid

from restorefw.bench import run_bench
from restorefw.imageio import write_png
from restorefw.plugins import load_plugins

TINY = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 32, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 1}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


def test_a_run_marks_a_random_backbone_metric(tmp_path, cli):
    torch.manual_seed(0)
    write_png(tmp_path / "images" / "a.png", torch.rand(3, 32, 32))
    recipe = {"generator": {"type": "stylegan2-ada", "params": {"init": "random", "config": TINY}},
              "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]},
              "degradation": {"task": "denoising", "level": "M"}, "losses": ["l1"],
              "metrics": ["psnr", {"type": "lpips", "params": {"backbone": "random"}}],
              "inputs": {"path": str(tmp_path / "images")}, "outputs": {"dir": str(tmp_path / "out")}, "device": "cpu"}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    code, out, err = cli("run", tmp_path / "recipe.yaml", "--no-report")
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["metrics"]["lpips"]["random_backbone"] is True
    assert results["metrics"]["psnr"]["random_backbone"] is False
    assert any("lpips" in note and "RANDOM backbone" in note for note in results["notes"])
    assert "lpips (random backbone)" in out and "psnr (random" not in out


def test_bench_tables_mark_a_random_backbone_metric(tmp_path):
    grid = write_grid(tmp_path, "recipes: [l1]\ntasks: [denoising]\nlevels: [M]\nimages: images\nlimit: 1\n"
                                "metrics: [psnr, {type: lpips, params: {backbone: random}}]\n")
    run_bench(grid, load_plugins(), tmp_path / "out", quiet=True)
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    assert results["metrics"]["lpips"]["random_backbone"] and not results["metrics"]["psnr"]["random_backbone"]
    md = (out / "tables.md").read_text()
    assert "LPIPS (random backbone) ↓" in md and "**LPIPS (random backbone)**: computed with a seeded RANDOM" in md
    assert "PSNR (random" not in md
    notes = {(r["metric"], r["note"]) for r in csv.DictReader(io.StringIO((out / "tables.csv").read_text()))}
    assert notes == {("psnr", ""), ("lpips", "random backbone")}
    tex = (out / "tables.tex").read_text()
    assert "LPIPS (random backbone) $\\downarrow$" in tex and "not comparable with published values" in tex
