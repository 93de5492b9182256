"""Latent-space components: the tensor a restoration phase optimises and how it becomes styles."""

from __future__ import annotations

from typing import ClassVar

import torch

from restorefw.component import Component
from restorefw.generator import GeneratorNetwork


class LatentSpace(Component):
    """A latent space (W, W+, W++, ...).

    `initial` builds the optimised tensor for `batch_size` images, from `w_avg` when
    `previous_styles` is None, otherwise from the previous phase's styles (W+ `[B, num_ws, w_dim]`
    or W++ `[B, num_ws, K, w_dim]`). `to_styles` maps the tensor to what `G.synthesis` takes.
    Rows of the last dimension are the units normalised-gradient optimisers move.
    """

    kind: ClassVar[str] = "latent_space"

    def initial(self, G: GeneratorNetwork, batch_size: int, previous_styles: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def to_styles(self, latent: torch.Tensor, G: GeneratorNetwork) -> torch.Tensor:
        raise NotImplementedError
