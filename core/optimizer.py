"""Optimiser components: how a phase moves the latent tensor."""

from __future__ import annotations

from typing import ClassVar

import torch

from restorefw.component import Component


class Optimizer(Component):
    """Builds a `torch.optim.Optimizer` for one phase's latent tensor."""

    kind: ClassVar[str] = "optimizer"

    def build(self, latent: torch.Tensor, lr: float, steps: int) -> torch.optim.Optimizer:
        raise NotImplementedError

    def scheduler(self, optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
        """An optional per-step learning-rate schedule."""
        return None
