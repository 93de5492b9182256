"""Modulated convolution for W+ styles [B, C_in] and filter-wise W++ styles [B, C_out, C_in].

Each image's weight tensor is modulated and demodulated once, as a single multiply by a per-image
coefficient matrix [B, C_out, C_in], and each image runs its own convolution with it. W++
therefore runs exactly the convolutions of W+; its only extra work is the affine of C_out style
vectors instead of one. The non-fused path (W+ only) scales the activations instead. Stride-1
3x3 convolutions can run as Winograd F(4x4, 3x3) (`winograd.py`): the coefficients then multiply
the transformed filters, which is the same linear map.

A positive output `gain` is folded into the demodulation (or the coefficients), and `noise` is
added in the same pass: the caller passes the noise already multiplied by the gain and applies a
positively homogeneous activation (leaky ReLU, ReLU, linear) afterwards, so that
act(gain·(y·d + n)) is computed as act(y·(gain·d) + gain·n) with two passes over the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from restorefw_plugins.stylegan2.ops import fir_filter
from restorefw_plugins.winograd import winograd_conv2d, winograd_weight

EPS = 1e-8


@dataclass
class WeightTerms:
    """What a modulated conv derives from its weight [O, I, k, k]: the weight itself, its squares
    summed over the kernel [O, I], (for up=2) its [I, O, k, k] transpose, contiguous, and (when
    asked for) its Winograd transform [36, O, I]."""

    weight: torch.Tensor
    squares: torch.Tensor
    transposed: torch.Tensor | None
    winograd: torch.Tensor | None = None


def weight_terms(weight: torch.Tensor, up: int = 1, winograd: bool = False) -> WeightTerms:
    transposed = weight.transpose(0, 1).contiguous() if up > 1 else None
    transformed = winograd_weight(weight) if winograd else None
    return WeightTerms(weight, weight.square().sum(dim=[2, 3]), transposed, transformed)


class FrozenTerms:
    """`weight_terms` computed once per weight value while the weight is frozen (inversion), and
    every call while it trains (so gradients reach it). A changed weight (in-place copy, another
    device or dtype) is detected by its storage pointer, version counter, dtype and device."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.terms: WeightTerms | None = None

    def __call__(self, weight: torch.Tensor, up: int = 1, winograd: bool = False) -> WeightTerms:
        if weight.requires_grad:
            return weight_terms(weight, up, winograd)
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device, up, winograd)
        if key != self.key or self.terms is None:
            with torch.no_grad():
                self.terms = weight_terms(weight, up, winograd)
            self.key = key
        return self.terms


def demodulation(weight: torch.Tensor, styles: torch.Tensor, squares: torch.Tensor | None = None) -> torch.Tensor:
    """d[b, o] = 1 / sqrt(sum_{i,kh,kw} (weight[o, i] * s[b, (o,) i])^2 + 1e-8)."""
    wsq = squares if squares is not None else weight.square().sum(dim=[2, 3])
    if styles.ndim == 2:
        return (styles.square() @ wsq.t() + EPS).rsqrt()
    return ((styles.square() * wsq).sum(dim=-1) + EPS).rsqrt()


def coefficients(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool,
                 squares: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image multipliers of weight[o, i]: [B, O, I] (or [B, 1, I] for W+ without demodulation)."""
    s = styles.unsqueeze(1) if styles.ndim == 2 else styles
    if not demodulate:
        return s
    return s * demodulation(weight, styles, squares).unsqueeze(-1)


def _fir_after_transpose(x: torch.Tensor, f: torch.Tensor, k: int, up: int, padding: int) -> torch.Tensor:
    fw = f.shape[-1]
    p0 = padding + (fw + up - 1) // 2 - (k - 1)
    p1 = padding + (fw - up) // 2 - (k - up)
    return fir_filter(x, f, (p0, p1, p0, p1), gain=up * up)


def _conv_unfiltered(x: torch.Tensor, weight: torch.Tensor, transposed: torch.Tensor | None, up: int,
                     padding: int) -> torch.Tensor:
    """Plain conv of x with weight [O, I, k, k]; for up=2, the stride-2 transposed conv with `transposed`
    [I, O, k, k], before its FIR filter."""
    if up == 1:
        return F.conv2d(x, weight, padding=padding)
    return F.conv_transpose2d(x, transposed, stride=up)


def _conv(x: torch.Tensor, weight: torch.Tensor, transposed: torch.Tensor | None, up: int, padding: int,
          resample_filter: torch.Tensor | None) -> torch.Tensor:
    """Plain conv of x with weight [O, I, k, k]; for up=2, transposed conv with `transposed` [I, O, k, k]
    followed by the FIR filter (the official upsampling convolution)."""
    y = _conv_unfiltered(x, weight, transposed, up, padding)
    return y if up == 1 else _fir_after_transpose(y, resample_filter, weight.shape[-1], up, padding)


def _scale_add(y: torch.Tensor, scale: torch.Tensor | float, noise: torch.Tensor | None) -> torch.Tensor:
    """y * scale + noise in one pass (scale broadcastable to y)."""
    if noise is None:
        return y * scale if not (isinstance(scale, float) and scale == 1.0) else y
    if isinstance(scale, float):
        return torch.add(noise, y, alpha=scale) if scale != 1.0 else y + noise
    return torch.addcmul(noise, y, scale)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     noise: torch.Tensor | None = None, fused: bool = True, gain: float = 1.0,
                     terms: WeightTerms | None = None) -> torch.Tensor:
    """StyleGAN2 modulated conv of x [B, I, H, W] with weight [O, I, k, k]; up=2 adds FIR upsampling.

    styles is [B, I] (one style per image) or [B, O, I] (one style per output filter, W++).
    Returns gain * (demodulated conv) + noise, where noise is any tensor broadcastable to the
    output (e.g. gain * (noise + bias)). `fused=False` (only for [B, I] styles) scales the
    activations instead of the weights, so no per-image weights are built. `terms` are the
    weight's derived constants (see `FrozenTerms`); computed here when not given. When they hold
    a Winograd transform (3x3 filters, up=1, padding=1 only), the convolution runs as Winograd.
    """
    terms = terms if terms is not None else weight_terms(weight, up)
    batch, in_ch = x.shape[:2]
    out_ch = weight.shape[0]
    if terms.winograd is not None and (up != 1 or padding != 1):
        raise ValueError("the Winograd convolution is for stride-1 3x3 filters with padding 1 only")
    if not fused and styles.ndim == 2:
        x = x * styles.reshape(batch, in_ch, 1, 1)
        y = winograd_conv2d(x, terms.winograd) if terms.winograd is not None else \
            _conv(x, weight, terms.transposed, up, padding, resample_filter)
        if demodulate:
            scale = demodulation(weight, styles, terms.squares) * gain
            return _scale_add(y, scale.reshape(batch, out_ch, 1, 1), noise)
        return _scale_add(y, float(gain), noise)
    coef = coefficients(weight, styles, demodulate, terms.squares)
    if gain != 1.0:
        coef = coef * gain
    if terms.winograd is not None:
        y = winograd_conv2d(x, terms.winograd, coef)
        return y + noise if noise is not None else y
    rows = []
    # split/unbind, not x[b:b + 1]: their backward is one concatenation, where each slice's backward
    # would write a zero-filled gradient the size of the whole batch (quadratic in the batch size)
    for image, c in zip(x.split(1), coef.unsqueeze(-1).unsqueeze(-1).unbind(0)):
        transposed = terms.transposed * c.transpose(0, 1) if up > 1 else None
        rows.append(_conv_unfiltered(image, weight * c if up == 1 else weight, transposed, up, padding))
    y = rows[0] if batch == 1 else torch.cat(rows)
    if up > 1:  # the FIR filter once over the batch, not once per image
        y = _fir_after_transpose(y, resample_filter, weight.shape[-1], up, padding)
    return y + noise if noise is not None else y
