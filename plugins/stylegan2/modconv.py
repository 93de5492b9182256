"""Modulated convolution for W+ styles [B, C_in] and filter-wise W++ styles [B, C_out, C_in].

Each image's weight tensor is modulated and demodulated once, as a single multiply by a per-image
coefficient matrix [B, C_out, C_in], and the whole batch runs as one grouped convolution
(groups = batch size). W++ therefore runs exactly the convolutions of W+; its only extra work is
the affine of C_out style vectors instead of one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restorefw_plugins.stylegan2.ops import fir_filter

EPS = 1e-8


def demodulation(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """d[b, o] = 1 / sqrt(sum_{i,kh,kw} (weight[o, i] * s[b, (o,) i])^2 + 1e-8)."""
    wsq = weight.square().sum(dim=[2, 3])
    if styles.ndim == 2:
        return (styles.square() @ wsq.t() + EPS).rsqrt()
    return ((styles.square() * wsq).sum(dim=-1) + EPS).rsqrt()


def coefficients(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool) -> torch.Tensor:
    """Per-image multipliers of weight[o, i]: [B, O, I] (or [B, 1, I] for W+ without demodulation)."""
    s = styles.unsqueeze(1) if styles.ndim == 2 else styles
    if not demodulate:
        return s
    return s * demodulation(weight, styles).unsqueeze(-1)


def _fir_after_transpose(x: torch.Tensor, f: torch.Tensor, k: int, up: int, padding: int) -> torch.Tensor:
    fw = f.shape[-1]
    p0 = padding + (fw + up - 1) // 2 - (k - 1)
    p1 = padding + (fw - up) // 2 - (k - up)
    return fir_filter(x, f, (p0, p1, p0, p1), gain=up * up)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     noise: torch.Tensor | None = None, fused: bool = True) -> torch.Tensor:
    """StyleGAN2 modulated conv of x [B, I, H, W] with weight [O, I, k, k]; up=2 adds FIR upsampling.

    styles is [B, I] (one style per image) or [B, O, I] (one style per output filter, W++).
    Noise (any tensor broadcastable to the output, e.g. noise + bias) is added after demodulation. `fused=False` (only for [B, I] styles) scales
    the activations instead of the weights, so no per-image weights are built.
    """
    batch, in_ch = x.shape[:2]
    out_ch, _, k, _ = weight.shape
    if not fused and styles.ndim == 2:
        x = x * styles.reshape(batch, in_ch, 1, 1)
        if up == 1:
            y = F.conv2d(x, weight, padding=padding)
        else:
            y = F.conv_transpose2d(x, weight.transpose(0, 1), stride=up)
            y = _fir_after_transpose(y, resample_filter, k, up, padding)
        if demodulate:
            y = y * demodulation(weight, styles).reshape(batch, out_ch, 1, 1)
    else:
        coef = coefficients(weight, styles, demodulate)
        x = x.reshape(1, batch * in_ch, *x.shape[2:])
        if up == 1:
            w = weight.unsqueeze(0) * coef.unsqueeze(-1).unsqueeze(-1)
            y = F.conv2d(x, w.reshape(batch * out_ch, in_ch, k, k), padding=padding, groups=batch)
        else:
            wt = weight.transpose(0, 1).unsqueeze(0) * coef.transpose(1, 2).unsqueeze(-1).unsqueeze(-1)
            y = F.conv_transpose2d(x, wt.reshape(batch * in_ch, out_ch, k, k), stride=up, groups=batch)
            y = _fir_after_transpose(y, resample_filter, k, up, padding)
        y = y.reshape(batch, out_ch, *y.shape[2:])
    return y + noise if noise is not None else y
