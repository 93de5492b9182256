"""Winograd F(4x4, 3x3) convolution (Lavin & Gray, 2016) for stride-1 3x3 convs: the generator's
(StyleGAN2's modulated convolutions) and frozen networks' (`WinogradConv2d`, LPIPS's VGG).

Each 4x4 block of output comes from a 6x6 input tile with 36 multiplies per input/output channel
pair instead of 144: input tiles d and filters g move to the transform domain (V = B^T d B,
U = G g G^T), meet in 36 matrix products over channels (M = U V), and come back as Y = A^T M A.
The points are 0, ±1, ±2 and infinity. Each transform runs as two skinny matrix products, one
per tile axis; the overlapping input tiles are gathered, and their gradient scattered, by
`_InputTiles`. The filter transform of a frozen layer is computed once; per-image filters (W++)
multiply it by each image's coefficients one point at a time (`_ModulatedProduct`).

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
from torch import nn

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
        ctx.shape, ctx.grid, ctx.per_image = padded.shape, (rows, cols), per_image
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
        rows, cols = ctx.grid
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


class _ModulatedProduct(torch.autograd.Function):
    """M[b, t] = (U[t] * C[b]) @ V[b, t]: shared transformed filters U [36, O, I], per-image
    coefficients C [B, O, I] (or [B, 1, I]) and input tiles V [B, 36, I, N]; M is [B, 36, O, N].

    One point at a time, so neither the modulated filters [B, 36, O, I] nor their gradient is ever
    materialised: at 512 channels each is 38 MB per image, and building, faulting in and reducing
    them cost W++ about a sixth of its step."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, coef: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        batch, points, _, n = v.shape
        m = v.new_empty(batch, points, u.shape[1], n)
        for b in range(batch):
            for t in range(points):
                torch.mm(u[t] * coef[b], v[b, t], out=m[b, t])
        ctx.save_for_backward(u, coef, v)
        return m

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        u, coef, v = ctx.saved_tensors
        need_u, need_coef, need_v = ctx.needs_input_grad
        grad_u = torch.zeros_like(u) if need_u else None
        grad_coef = torch.zeros(coef.shape[0], *u.shape[1:], dtype=u.dtype, device=u.device) if need_coef else None
        grad_v = torch.empty_like(v) if need_v else None
        for b in range(v.shape[0]):
            for t in range(v.shape[1]):
                if need_v:
                    torch.mm((u[t] * coef[b]).t(), grad[b, t], out=grad_v[b, t])
                if need_u or need_coef:
                    outer = grad[b, t] @ v[b, t].t()  # the gradient of the modulated filters, [O, I]
                    if need_coef:
                        grad_coef[b].addcmul_(outer, u[t])
                    if need_u:
                        grad_u[t].addcmul_(outer, coef[b].expand_as(outer))
        if need_coef and coef.shape[1] != u.shape[1]:
            grad_coef = grad_coef.sum(dim=1, keepdim=True)
        return grad_u, grad_coef, grad_v


def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """The filters [O, I, 3, 3] in the transform domain, [36, O, I] (computed in float64)."""
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"Winograd F(4x4, 3x3) needs 3x3 filters, got {tuple(weight.shape[-2:])}")
    g = torch.tensor(_G, dtype=torch.float64, device=weight.device)
    u = torch.einsum("ak,oikl,bl->aboi", g, weight.double(), g)
    return u.reshape(SPAN * SPAN, weight.shape[0], weight.shape[1]).to(weight.dtype).contiguous()


def winograd_conv2d(x: torch.Tensor, u: torch.Tensor, coef: torch.Tensor | None = None) -> torch.Tensor:
    """3x3 convolution of x [B, I, H, W] (stride 1, zero padding 1) with transformed filters u
    [36, O, I] (`winograd_weight`), shared by the batch or, with `coef` [B, O, I] (or [B, 1, I]),
    multiplied per image: image b is convolved with the filters weight * coef[b].
    """
    batch, in_ch, height, width = x.shape
    out_ch = u.shape[-2]
    if u.shape[-1] != in_ch:
        raise ValueError(f"filters expect {u.shape[-1]} input channels, x has {in_ch}")
    rows, cols = -(-height // TILE), -(-width // TILE)
    bt, at = _input_output_transforms(x.dtype, x.device)
    padded = F.pad(x, (1, TILE * cols + 1 - width, 1, TILE * rows + 1 - height))
    if coef is None:
        v = _InputTiles.apply(padded, bt, False)  # [36, I, B·rows·cols]
        m = torch.bmm(u, v)  # [36, O, B·rows·cols]
        y = _both_axes(at, m.view(SPAN, SPAN, -1)).view(TILE, TILE, out_ch, batch, rows, cols)
        y = y.permute(3, 2, 4, 0, 5, 1)
    else:
        v = _InputTiles.apply(padded, bt, True)  # [B, 36, I, rows·cols]
        m = _ModulatedProduct.apply(u, coef, v).view(batch, SPAN, SPAN, -1)
        y = _both_axes(at, m).view(batch, TILE, TILE, out_ch, rows, cols).permute(0, 3, 4, 1, 5, 2)
    y = y.reshape(batch, out_ch, TILE * rows, TILE * cols)
    return y[:, :, :height, :width] if (TILE * rows, TILE * cols) != (height, width) else y


def runs_winograd(x: torch.Tensor, in_channels: int, out_channels: int) -> bool:
    """Whether a 3x3 conv of `x` should run as Winograd: full-precision arithmetic on a CPU (cuDNN picks
    its own algorithms; under autocast the direct conv runs) and a shape where it pays (`worth_it`)."""
    return (x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and not torch.is_autocast_enabled(x.device.type)
            and worth_it(in_channels, out_channels, x.shape[-2], x.shape[-1]))


class WinogradConv2d(nn.Module):
    """A frozen stride-1, padding-1 3x3 `nn.Conv2d` that runs as Winograd where `runs_winograd` says it
    pays and as the conv itself elsewhere; its filters are transformed once."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not self.fits(conv):
            raise ValueError(f"WinogradConv2d needs an ungrouped stride-1 3x3 conv with padding 1, got {conv}")
        self.conv = conv
        self.register_buffer("transformed", winograd_weight(conv.weight.detach()), persistent=False)

    @staticmethod
    def fits(conv: nn.Module) -> bool:
        """Whether `conv` is a conv this class can run: ungrouped, 3x3, stride 1, zero padding 1."""
        return (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
                and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
                and conv.padding_mode == "zeros")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not runs_winograd(x, self.conv.in_channels, self.conv.out_channels):
            return self.conv(x)
        y = winograd_conv2d(x, self.transformed.to(x.dtype))
        return y if self.conv.bias is None else y + self.conv.bias.to(x.dtype).view(1, -1, 1, 1)


def with_winograd(module: nn.Module) -> nn.Module:
    """`module` with every conv `WinogradConv2d` fits replaced by one (in place; for frozen networks)."""
    for name, child in module.named_children():
        if WinogradConv2d.fits(child):
            setattr(module, name, WinogradConv2d(child))
        else:
            with_winograd(child)
    return module
