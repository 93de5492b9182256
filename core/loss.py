"""Loss components: compare f̂(G(w)) with the degraded target y, in degraded space, per image."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch

from restorefw.component import Component
from restorefw.degradation import ImageKey


class Loss(Component, torch.nn.Module):
    """A loss term. `prepare` caches what depends only on the target (features, pyramids, masks),
    once per phase; `forward(x)` returns one value per image, shape `[B]`, so that a batch is a sum
    of independent problems."""

    kind: ClassVar[str] = "loss"

    def __init__(self, params=None, **kwargs) -> None:
        torch.nn.Module.__init__(self)
        Component.__init__(self, params, **kwargs)
        self.target: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None

    def prepare(self, target: torch.Tensor, mask: torch.Tensor | None,
                keys: Sequence[ImageKey] | None = None) -> None:
        """Store the target `[B,C,h,w]` in [0,1] and its mask `[B,1,h,w]` (1 = known) or None.

        `keys` identify the images (seed, image id): a loss that draws random fields draws them per
        image from `restorefw.seeding`, so that a batch equals its images restored one by one."""
        self.target, self.mask, self.keys = target, mask, keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
