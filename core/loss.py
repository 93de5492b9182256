"""Loss components: compare f̂(G(w)) with the degraded target y, in degraded space, per image."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch

from restorefw.component import Component
from restorefw.degradation import ImageKey


class Loss(Component, torch.nn.Module):
    """A loss term between f̂(G(w)) and the degraded target, in degraded space; a torch module that
    the engine moves to the run's device with `.to(device)`.

    - `prepare(target, mask, keys)`: called once per batch, before the first phase, with the targets
      float32 `[B, C', h, w]` in [0, 1] (C', h, w: the degradation's output), the known-pixel mask
      float `[B, 1, h, w]` in [0, 1] (1 = known) or None, and one `restorefw.degradation.ImageKey`
      per image; called again, with target and mask area-averaged to a smaller h, w, before a phase
      with `loss_resolution`, and at full size after it. Cache what depends only on the target here;
      call `super().prepare(target, mask, keys)`, which stores them as `self.target`, `self.mask`,
      `self.keys`.
    - `forward(x)`: x = f̂(G(w)), float32 `[B, C', h, w]`, roughly in [0, 1] (not clamped), with
      gradients; returns float `[B]`, one value per image, differentiable, lower is better. The engine
      minimises Σ weight × value; an image's value must not depend on the other images of the batch.
    - Optional: `uses_random_backbone = True` marks a loss whose network is untrained, so runs note it.
    """

    kind: ClassVar[str] = "loss"

    def __init__(self, params=None, **kwargs) -> None:
        torch.nn.Module.__init__(self)
        Component.__init__(self, params, **kwargs)
        self.target: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None

    def prepare(self, target: torch.Tensor, mask: torch.Tensor | None,
                keys: Sequence[ImageKey] | None = None) -> None:
        """Store the target `[B,C,h,w]` in [0,1] and its mask `[B,1,h,w]` (1 = known) or None.

        Subclasses keep this signature (the engine passes all three positionally).

        `keys` identify the images (seed, image id): a loss that draws random fields draws them per
        image from `restorefw.seeding`, so that a batch equals its images restored one by one."""
        self.target, self.mask, self.keys = target, mask, keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
