"""Exact forward operations with surrogate gradients: JPEG rounding and the soft-gradient clamp."""

from __future__ import annotations

import torch


class _SurrogateRound(torch.autograd.Function):
    """Forward: exact round. Backward: d/dx of 0.2·x + 0.8·(round x + (x − round x)³)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        rounded = torch.round(x)
        ctx.save_for_backward(x - rounded)
        return rounded

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (frac,) = ctx.saved_tensors
        return grad * (0.2 + 2.4 * frac * frac)


class _SurrogateClamp(torch.autograd.Function):
    """Forward: exact clamp to [0, 1]. Backward: derivative of sigmoid(2(x − 0.5))."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(2.0 * (x - 0.5))
        return grad * 2.0 * s * (1.0 - s)


def surrogate_round(x: torch.Tensor) -> torch.Tensor:
    return _SurrogateRound.apply(x)


def surrogate_clamp(x: torch.Tensor) -> torch.Tensor:
    return _SurrogateClamp.apply(x)
