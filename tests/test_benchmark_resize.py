"""Benchmark mode makes clean images the generator's size as RUSIR does: centre crop, then area averaging."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restorefw.imageio import read_image, write_png
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe
from restorefw.run import run_recipe

TINY = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 1}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


def test_a_non_square_clean_image_is_centre_cropped_and_area_resized(tmp_path):
    image = torch.rand(3, 40, 64, generator=torch.Generator().manual_seed(1))  # H 40, W 64
    image[:, :, :12] = 0.0  # the columns a centre crop removes
    image[:, :, 52:] = 1.0
    write_png(tmp_path / "images" / "wide.png", image)
    image = read_image(tmp_path / "images" / "wide.png")
    recipe = {"generator": {"type": "stylegan2-ada", "params": {"init": "random", "config": TINY}},
              "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]}, "losses": ["l1"],
              "inputs": {"path": str(tmp_path / "images")}, "outputs": {"dir": str(tmp_path / "out")},
              "device": "cpu"}
    plugins = load_plugins()
    run_recipe(parse_recipe(recipe, plugins.registry), plugins, quiet=True)
    truth = read_image(tmp_path / "out" / "images" / "wide" / "ground_truth.png")
    rusir = F.adaptive_avg_pool2d(image[None, :, :, 12:52], 16)[0]  # centre 40×40, area-averaged to 16×16
    assert (truth - rusir).abs().max().item() <= 1 / 255 + 1e-6
    bicubic = F.interpolate(image[None, :, :, 12:52], size=16, mode="bicubic", antialias=True)[0].clamp(0, 1)
    assert (truth - bicubic).abs().max().item() > 4 / 255  # the old resize is told apart
