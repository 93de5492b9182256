"""Optimiser components: how a phase moves the latent tensor."""

from __future__ import annotations

from typing import ClassVar

import torch

from restorefw.component import Component


class Optimizer(Component):
    """How a phase moves its latent tensor.

    `build(latent, lr, steps)` returns a `torch.optim.Optimizer` over `[latent]` (a leaf tensor with
    `requires_grad`; lr already includes the recipe's `lr_scale`). Each step the engine zeroes the
    gradients, back-propagates the sum of the per-image losses (so each image's rows get only their
    own gradient; rows of failed images get zero) and calls `step()`. `scheduler(optimizer, steps)`
    may return a per-step learning-rate schedule. The optimiser in group "default" serves phases
    that name none.
    """

    kind: ClassVar[str] = "optimizer"

    def build(self, latent: torch.Tensor, lr: float, steps: int) -> torch.optim.Optimizer:
        raise NotImplementedError

    def scheduler(self, optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
        """An optional per-step learning-rate schedule."""
        return None
