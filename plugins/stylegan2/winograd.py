"""Winograd F(4x4, 3x3) convolution (Lavin & Gray, 2016) for the generator's stride-1 3x3 convs.

Each 4x4 block of output comes from a 6x6 input tile with 36 multiplies per input/output channel
pair instead of 144: input tiles d and filters g move to the transform domain (V = B^T d B,
U = G g G^T), meet in 36 matrix products over channels (M = U V), and come back as Y = A^T M A.
The points are 0, ±1, ±2 and infinity. Each transform runs as two skinny matrix products, one
per tile axis; the overlapping input tiles are gathered, and their gradient scattered, by
`_InputTiles`. The filter transform of a frozen layer is computed once.

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
MIN_SIDE_PER_IMAGE = 32


def worth_it(in_channels: int, out_channels: int, height: int, width: int, per_image_filters: bool = False) -> bool:
    """Whether Winograd beats a direct conv of this shape on a CPU (see the module docstring).

    Per-image filters (W++, or any fused modulation) are modulated in the transform domain, 36
    values per channel pair instead of 9, so they need more pixels to pay: at 512 channels and
    16² Winograd took 1.5-2x the direct time (forward and both gradients), at 32² 0.5-0.8x."""
    side = MIN_SIDE_PER_IMAGE if per_image_filters else MIN_SIDE
    return in_channels * out_channels >= MIN_CHANNEL_PRODUCT and min(height, width) >= side


_constants: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _input_output_transforms(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """B^T [6, 6] and A^T [4, 6], cached per dtype and device."""
    key = (dtype, device)
    if key not in _constants:
        _constants[key] = (torch.tensor(_BT, dtype=dtype, device=device), torch.tensor(_AT, dtype=dtype, device=device))
    return _constants[key]


def _both_axes(m: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """m [p, q] applied to both tile axes of t [..., q, q, N]: [..., p, p, N], as two skinny matrix
    products (a third of the multiplies of one product with kron(m, m))."""
    *lead, q, _, n = t.shape
    p = m.shape[0]
    rows = torch.matmul(m, t.reshape(*lead, q, q * n))  # [..., p, q·N]
    return torch.matmul(m, rows.reshape(*lead, p, q, n))  # m broadcast over the p rows: [..., p, p, N]


class _InputTiles(torch.autograd.Function):
    """The overlapping 6x6 tiles (stride 4) of a padded input [B, I, Hp, Wp], moved to the transform
    domain (B^T d B): [36, I, B·rows·cols], or [B, 36, I, rows·cols] with `per_image`.

    Written out because autograd's backward of `unfold` (a generic scatter-add) cost more than the
    rest of the transform: here the gradient of the overlaps is four strided adds."""

    @staticmethod
    def forward(ctx, padded: torch.Tensor, bt: torch.Tensor, per_image: bool) -> torch.Tensor:
        batch, in_ch, hp, wp = padded.shape
        rows, cols = (hp - SPAN) // TILE + 1, (wp - SPAN) // TILE + 1
        ctx.save_for_backward(bt)
        ctx.shape, ctx.per_image = padded.shape, per_image
        tiles = padded.unfold(2, SPAN, TILE).unfold(3, SPAN, TILE)  # [B, I, rows, cols, 6, 6], a view
        if per_image:
            d = tiles.permute(0, 4, 5, 1, 2, 3).reshape(batch, SPAN, SPAN, -1)
            return _both_axes(bt, d).view(batch, SPAN * SPAN, in_ch, rows * cols)
        d = tiles.permute(4, 5, 1, 0, 2, 3).reshape(SPAN, SPAN, -1)
        return _both_axes(bt, d).view(SPAN * SPAN, in_ch, -1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (bt,) = ctx.saved_tensors
        batch, in_ch, hp, wp = ctx.shape
        rows, cols = (hp - SPAN) // TILE + 1, (wp - SPAN) // TILE + 1
        if ctx.per_image:
            g = _both_axes(bt.t(), grad.reshape(batch, SPAN, SPAN, -1))
            g = g.view(batch, SPAN, SPAN, in_ch, rows, cols).permute(0, 3, 4, 1, 5, 2)
        else:
            g = _both_axes(bt.t(), grad.reshape(SPAN, SPAN, -1))
            g = g.view(SPAN, SPAN, in_ch, batch, rows, cols).permute(3, 2, 4, 0, 5, 1)  # [B, I, rows, 6, cols, 6]
        out = g.new_zeros(ctx.shape)
        strides = (in_ch * hp * wp, hp * wp, TILE * wp, wp, TILE, 1)

        def block(top: int, left: int, height: int, width: int) -> torch.Tensor:
            return out.as_strided((batch, in_ch, rows, height, cols, width), strides, top * wp + left)

        overlap = SPAN - TILE
        block(0, 0, TILE, TILE).copy_(g[:, :, :, :TILE, :, :TILE])
        block(TILE, 0, overlap, TILE).add_(g[:, :, :, TILE:, :, :TILE])
        block(0, TILE, TILE, overlap).add_(g[:, :, :, :TILE, :, TILE:])
        block(TILE, TILE, overlap, overlap).add_(g[:, :, :, TILE:, :, TILE:])
        return out, None, None


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
    if u.ndim == 3:
        v = _InputTiles.apply(padded, bt, False)  # [36, I, B·rows·cols]
        m = torch.bmm(u, v)  # [36, O, B·rows·cols]
        y = _both_axes(at, m.view(SPAN, SPAN, -1)).view(TILE, TILE, out_ch, batch, rows, cols)
        y = y.permute(3, 2, 4, 0, 5, 1)
    else:
        v = _InputTiles.apply(padded, bt, True).reshape(batch * SPAN * SPAN, in_ch, -1)
        m = torch.bmm(u.reshape(batch * SPAN * SPAN, out_ch, in_ch), v).view(batch, SPAN, SPAN, -1)
        y = _both_axes(at, m).view(batch, TILE, TILE, out_ch, rows, cols).permute(0, 3, 4, 1, 5, 2)
    y = y.reshape(batch, out_ch, TILE * rows, TILE * cols)
    return y[:, :, :height, :width] if (TILE * rows, TILE * cols) != (height, width) else y
