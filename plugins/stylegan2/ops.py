"""Resampling primitives of the StyleGAN2 generator: FIR filtering and 2x upsampling.

The FIR filter is applied as a true 2-D convolution (the stored filter is flipped before the
cross-correlation that torch performs), so asymmetric filters behave as in the official networks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def make_filter(taps: list[float] | None = None) -> torch.Tensor:
    """The normalised 2-D separable filter outer(taps, taps) / sum (default [1, 3, 3, 1])."""
    t = torch.tensor(taps if taps is not None else [1.0, 3.0, 3.0, 1.0], dtype=torch.float32)
    f = t[:, None] * t[None, :] if t.ndim == 1 else t
    return f / f.sum()


def fir_filter(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], gain: float = 1.0) -> torch.Tensor:
    """Zero-pad x by (left, right, top, bottom) and convolve every channel with gain * f."""
    channels = x.shape[1]
    kernel = (f.to(x.dtype) * gain).flip([0, 1])[None, None].expand(channels, 1, *f.shape)
    x = F.pad(x, list(pad))
    return F.conv2d(x, kernel, groups=channels)


def zero_insert(x: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Follow every sample along H and W by up-1 zeros: [N,C,H,W] -> [N,C,up*H,up*W]."""
    n, c, h, w = x.shape
    y = x.new_zeros(n, c, h, up, w, up)
    y[:, :, :, 0, :, 0] = x
    return y.reshape(n, c, h * up, w * up)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """2x FIR upsampling of an image (zero insertion, pad, convolve with up^2 * f)."""
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return fir_filter(zero_insert(x, up), f, (p0, p1, p0, p1), gain=up * up)


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, lrelu: bool, gain: float,
             clamp: float | None) -> torch.Tensor:
    """Add a per-channel bias, apply leaky-ReLU(0.2) if asked, scale by gain, clamp to +-clamp."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))
    if lrelu:
        x = F.leaky_relu(x, 0.2)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x
