"""The tiny random StyleGAN2-ADA configuration the run tests restore with (32×32, a few channels: fast on a CPU)."""

from __future__ import annotations

import copy
from typing import Any

TINY_CONFIG: dict[str, Any] = {
    "z_dim": 32, "c_dim": 0, "w_dim": 32, "img_resolution": 32, "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2}, "synthesis_kwargs": {"channel_base": 512, "channel_max": 32}}


def tiny_config(**synthesis: Any) -> dict[str, Any]:
    """TINY_CONFIG with `synthesis_kwargs` changed by `synthesis` (a copy)."""
    config = copy.deepcopy(TINY_CONFIG)
    config["synthesis_kwargs"].update(synthesis)
    return config


def tiny_generator(seed: int = 0, **synthesis: Any) -> dict[str, Any]:
    """The recipe's `generator:` section for the tiny random generator."""
    return {"type": "stylegan2-ada", "params": {"init": "random", "seed": seed, "config": tiny_config(**synthesis)}}
