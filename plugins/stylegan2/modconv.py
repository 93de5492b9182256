"""Modulated convolution for W+ styles [B, C_in] and filter-wise W++ styles [B, C_out, C_in].

Each image's weight tensor is modulated (and demodulated) once, and the whole batch runs as one
grouped convolution (groups = batch size), so W++ costs the same convolutions as W+.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restorefw_plugins.stylegan2.ops import fir_filter


def _modulate(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool) -> torch.Tensor:
    """Per-image weights [B, O, I, k, k]: weight * styles, optionally demodulated per filter."""
    out_ch, in_ch = weight.shape[:2]
    if styles.ndim == 2:
        s = styles.reshape(styles.shape[0], 1, in_ch, 1, 1)
    else:
        s = styles.reshape(styles.shape[0], out_ch, in_ch, 1, 1)
    w = weight.unsqueeze(0) * s
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    return w


def _conv(x: torch.Tensor, w: torch.Tensor, groups: int, up: int, padding: int,
          f: torch.Tensor | None) -> torch.Tensor:
    """Cross-correlate (up=1) or transposed-convolve then FIR-filter (up=2), grouped."""
    if up == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    o_per_group, i_per_group, k = w.shape[0] // groups, w.shape[1], w.shape[-1]
    wt = w.reshape(groups, o_per_group, i_per_group, k, k).transpose(1, 2)
    wt = wt.reshape(groups * i_per_group, o_per_group, k, k)
    x = F.conv_transpose2d(x, wt, stride=up, groups=groups)
    fw = f.shape[-1]
    p0 = padding + (fw + up - 1) // 2 - (k - 1)
    p1 = padding + (fw - up) // 2 - (k - up)
    return fir_filter(x, f, (p0, p1, p0, p1), gain=up * up)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     noise: torch.Tensor | None = None, fused: bool = True) -> torch.Tensor:
    """StyleGAN2 modulated conv of x [B, I, H, W] with weight [O, I, k, k].

    styles is [B, I] (one style per image) or [B, O, I] (one style per output filter, W++).
    Noise, if given, is added after demodulation. `fused=False` (only for [B, I] styles) scales
    the activations instead of the weights, so no per-image weights are built.
    """
    batch, in_ch = x.shape[:2]
    out_ch = weight.shape[0]
    if not fused and styles.ndim == 2:
        y = _conv(x * styles.reshape(batch, in_ch, 1, 1), weight, 1, up, padding, resample_filter)
        if demodulate:
            d = styles.square() @ weight.square().sum(dim=[2, 3]).t()
            y = y * (d + 1e-8).rsqrt().reshape(batch, out_ch, 1, 1)
        return y + noise if noise is not None else y
    w = _modulate(weight, styles, demodulate)
    y = _conv(x.reshape(1, batch * in_ch, *x.shape[2:]), w.reshape(batch * out_ch, *w.shape[2:]),
              batch, up, padding, resample_filter)
    y = y.reshape(batch, out_ch, *y.shape[2:])
    return y + noise if noise is not None else y
