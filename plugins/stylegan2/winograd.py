"""Winograd F(4x4, 3x3) convolution (Lavin & Gray, 2016) for the generator's stride-1 3x3 convs.

Each 4x4 block of output comes from a 6x6 input tile with 36 multiplies per input/output channel
pair instead of 144: input tiles d and filters g move to the transform domain (V = B^T d B,
U = G g G^T), meet in 36 matrix products over channels (M = U V), and come back as Y = A^T M A.
The points are 0, ±1, ±2 and infinity. All three transforms are written as products with
constant Kronecker matrices, so the work is four matrix multiplications and two layout copies,
all differentiable by autograd. The filter transform of a frozen layer is computed once.

In float32 the result differs from a direct convolution by about 1e-5 of its magnitude (the
rounding of different sums); it is not bit-identical, which is why it is a generator option and
not the default. It pays where the channel product is large: measured on this project's CPU,
one thread, forward and input gradient, 512 channels at 64² take 0.45-0.53x the direct time and
256 channels at 128² 0.66-0.9x, while 128 channels at 256² take 2x (the transforms are passes
over memory that the matrix products no longer hide). `worth_it` encodes that rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TILE = 4  # output pixels per tile side
SPAN = TILE + 2  # input pixels per tile side (a 3x3 filter)

_BT = ((4, 0, -5, 0, 1, 0),
       (0, -4, -4, 1, 1, 0),
       (0, 4, -4, -1, 1, 0),
       (0, -2, -1, 2, 1, 0),
       (0, 2, -1, -2, 1, 0),
       (0, 4, 0, -5, 0, 1))
_G = ((1 / 4, 0, 0),
      (-1 / 6, -1 / 6, -1 / 6),
      (-1 / 6, 1 / 6, -1 / 6),
      (1 / 24, 1 / 12, 1 / 6),
      (1 / 24, -1 / 12, 1 / 6),
      (0, 0, 1))
_AT = ((1, 1, 1, 1, 1, 0),
       (0, 1, -1, 2, -2, 0),
       (0, 1, 1, 4, 4, 0),
       (0, 1, -1, 8, -8, 1))

MIN_CHANNEL_PRODUCT = 256 * 256
MIN_SIDE = 16


def worth_it(in_channels: int, out_channels: int, height: int, width: int) -> bool:
    """Whether Winograd beats a direct conv of this shape on a CPU (see the module docstring)."""
    return in_channels * out_channels >= MIN_CHANNEL_PRODUCT and min(height, width) >= MIN_SIDE


def _kron(m: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    t = torch.tensor(m, dtype=torch.float64)
    return torch.kron(t, t).to(dtype=dtype, device=device)


_constants: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _input_output_transforms(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """kron(B^T, B^T) [36, 36] and kron(A^T, A^T) [16, 36], cached per dtype and device."""
    key = (dtype, device)
    if key not in _constants:
        _constants[key] = (_kron(_BT, dtype, device), _kron(_AT, dtype, device))
    return _constants[key]


def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """The filters [O, I, 3, 3] in the transform domain, [36, O, I] (computed in float64)."""
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"Winograd F(4x4, 3x3) needs 3x3 filters, got {tuple(weight.shape[-2:])}")
    g = torch.tensor(_G, dtype=torch.float64, device=weight.device)
    u = torch.einsum("ak,oikl,bl->aboi", g, weight.double(), g)
    return u.reshape(SPAN * SPAN, weight.shape[0], weight.shape[1]).to(weight.dtype).contiguous()


def winograd_conv2d(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """3x3 convolution of x [B, I, H, W] (stride 1, zero padding 1) with transformed filters u.

    u is [36, O, I] (`winograd_weight`) for filters shared by the batch, or [B, 36, O, I] for
    one filter bank per image.
    """
    batch, in_ch, height, width = x.shape
    out_ch = u.shape[-2]
    if u.shape[-1] != in_ch:
        raise ValueError(f"filters expect {u.shape[-1]} input channels, x has {in_ch}")
    rows, cols = -(-height // TILE), -(-width // TILE)
    bt, at = _input_output_transforms(x.dtype, x.device)
    padded = F.pad(x, (1, TILE * cols + 1 - width, 1, TILE * rows + 1 - height))
    tiles = padded.unfold(2, SPAN, TILE).unfold(3, SPAN, TILE)  # [B, I, rows, cols, 6, 6]
    if u.ndim == 3:
        d = tiles.permute(4, 5, 1, 0, 2, 3).reshape(SPAN * SPAN, -1)  # [36, I·B·rows·cols]
        v = (bt @ d).view(SPAN * SPAN, in_ch, -1)
        m = torch.bmm(u, v)  # [36, O, B·rows·cols]
        y = (at @ m.view(SPAN * SPAN, -1)).view(TILE, TILE, out_ch, batch, rows, cols)
        y = y.permute(3, 2, 4, 0, 5, 1)
    else:
        d = tiles.permute(0, 4, 5, 1, 2, 3).reshape(batch, SPAN * SPAN, -1)  # [B, 36, I·rows·cols]
        v = (bt @ d).view(batch * SPAN * SPAN, in_ch, -1)
        m = torch.bmm(u.reshape(batch * SPAN * SPAN, out_ch, in_ch), v).view(batch, SPAN * SPAN, -1)
        y = (at @ m).view(batch, TILE, TILE, out_ch, rows, cols).permute(0, 3, 4, 1, 5, 2)
    y = y.reshape(batch, out_ch, TILE * rows, TILE * cols)
    return y[:, :, :height, :width] if (TILE * rows, TILE * cols) != (height, width) else y
