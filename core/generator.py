"""Generator components: the frozen image prior G that restoration inverts."""

from __future__ import annotations

from typing import ClassVar, Protocol

import torch

from restorefw.component import Component


class GeneratorNetwork(Protocol):
    """What the engine needs of a loaded generator (StyleGAN2-ADA's G_ema interface).

    `synthesis(ws, noise_mode)` accepts W+ styles `[B, num_ws, w_dim]` and filter-wise W++
    styles `[B, num_ws, K, w_dim]` and returns images in [-1, 1] (unclamped), NCHW. `noise_mode` is
    "const" (fixed noise inputs), "random" (drawn from torch's global generator; `ensemble.noise_draws`
    seeds it per image) or "none".
    """

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    img_channels: int
    mapping: torch.nn.Module  # holds the `w_avg` buffer

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor: ...


class Generator(Component):
    """A generator component builds a frozen `GeneratorNetwork` on a device."""

    kind: ClassVar[str] = "generator"

    def load(self, device: torch.device) -> GeneratorNetwork:
        raise NotImplementedError
