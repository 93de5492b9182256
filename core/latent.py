"""Latent-space components: the tensor a restoration phase optimises and how it becomes styles."""

from __future__ import annotations

from typing import ClassVar

import torch

from restorefw.component import Component
from restorefw.generator import GeneratorNetwork


class LatentSpace(Component):
    """A latent space (W, W+, W++, ...): the tensor one phase optimises, one row block per image.

    - `initial(G, batch_size, previous_styles)` → a float32 tensor whose first dimension is
      `batch_size`; the engine moves it to the device, detaches it and sets `requires_grad`.
      `previous_styles` is None in the first phase (start from `G.mapping.w_avg`, or wherever the
      space starts) and otherwise the previous phase's final `to_styles` output, detached: W+
      `[B, num_ws, w_dim]` or W++ `[B, num_ws, K, w_dim]` for the built-in spaces.
    - `to_styles(latent, G)` → what `G.synthesis` accepts (W+, or W++ with K ≥ `G.max_filters`),
      differentiable in `latent`; called once per step.
    - `penalty(latent)` (optional) → a prior on the latent itself, one value per image `[B]`, added to
      the objective at every step and logged as `prior` (PULSE's cross-layer term, a Gaussian prior on
      W); the default, None, adds nothing.
    - Rows of the last dimension are the units normalised-gradient optimisers move (NGD normalises
      each row's gradient), so put one vector per row.
    """

    kind: ClassVar[str] = "latent_space"

    def initial(self, G: GeneratorNetwork, batch_size: int, previous_styles: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def to_styles(self, latent: torch.Tensor, G: GeneratorNetwork) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, latent: torch.Tensor) -> torch.Tensor | None:
        return None
