"""JPEG: the true codec (PIL/libjpeg) and a differentiable re-implementation with the same tables.

The differentiable codec follows libjpeg's baseline path step by step: edge-replicated padding to
whole MCUs, JFIF RGB→YCbCr, 2×2 chroma averaging (4:2:0), orthonormal 8×8 DCT of level-shifted
samples, quantisation by the quality-scaled tables of ITU-T T.81 Annex K applied in natural
(row = vertical frequency, column = horizontal frequency) order exactly as libjpeg applies them,
dequantisation, inverse DCT, libjpeg's "fancy" triangular chroma upsampling and YCbCr→RGB.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from restorefw_plugins.degradations.surrogates import surrogate_round

LUMINANCE_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)
CHROMINANCE_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32


def quality_scale(quality: int) -> int:
    """libjpeg's jpeg_quality_scaling: percentage applied to the base tables."""
    quality = min(max(int(quality), 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def quant_table(quality: int, chroma: bool = False) -> np.ndarray:
    """The 8×8 table (natural order) libjpeg/PIL use at `quality`, baseline-limited to 1..255."""
    base = np.array(CHROMINANCE_BASE if chroma else LUMINANCE_BASE, dtype=np.int64)
    table = (base * quality_scale(quality) + 50) // 100
    return np.clip(table, 1, 255).reshape(8, 8)


@lru_cache(maxsize=None)
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II basis M[k, n] (the JPEG forward DCT is M · block · Mᵀ)."""
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    m = np.cos((2 * n + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m.astype(np.float32)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """JFIF conversion on a 0..255 scale, chroma centred on 128; `rgb` is [B,3,H,W]."""
    r, g, b = rgb.unbind(1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168735892 * r - 0.331264108 * g + 0.5 * b + 128.0
    cr = 0.5 * r - 0.418687589 * g - 0.081312411 * b + 128.0
    return torch.stack((y, cb, cr), 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    y, cb, cr = ycc.unbind(1)
    cb = cb - 128.0
    cr = cr - 128.0
    r = y + 1.402 * cr
    g = y - 0.344136286 * cb - 0.714136286 * cr
    b = y + 1.772 * cb
    return torch.stack((r, g, b), 1)


def block_codec(plane: torch.Tensor, table: torch.Tensor,
                rounding: Callable[[torch.Tensor], torch.Tensor] = surrogate_round) -> torch.Tensor:
    """DCT, quantise, dequantise and inverse-DCT every 8×8 block of [B,1,H,W] samples on 0..255."""
    b, _, h, w = plane.shape
    m = torch.as_tensor(_dct_matrix(), device=plane.device, dtype=plane.dtype)
    blocks = (plane - 128.0).reshape(b, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
    coeffs = torch.einsum("ki,bxyij,lj->bxykl", m, blocks, m)
    coeffs = rounding(coeffs / table) * table
    blocks = torch.einsum("ki,bxykl,lj->bxyij", m, coeffs, m)
    return blocks.permute(0, 1, 3, 2, 4).reshape(b, 1, h, w) + 128.0


@dataclass(frozen=True)
class JpegLayout:
    """What a JPEG file fixes for its codec: one 8×8 table (natural order) per component, and each
    component's (h, v) sampling factors; three components are JFIF YCbCr, one is grey."""

    tables: tuple[np.ndarray, ...]
    sampling: tuple[tuple[int, int], ...]

    @classmethod
    def from_quality(cls, quality: int, channels: int = 3) -> "JpegLayout":
        """PIL/libjpeg at `quality`: the Annex K tables scaled, 4:2:0 for colour."""
        if channels == 1:
            return cls((quant_table(quality),), ((1, 1),))
        chroma = quant_table(quality, chroma=True)
        return cls((quant_table(quality), chroma, chroma), ((2, 2), (1, 1), (1, 1)))

    def factors(self) -> list[tuple[int, int]]:
        """Each component's (vertical, horizontal) downsampling factor relative to full resolution."""
        hmax, vmax = max(h for h, _ in self.sampling), max(v for _, v in self.sampling)
        if any(hmax % h or vmax % v for h, v in self.sampling):
            raise ValueError(f"sampling factors {list(self.sampling)} are not integer ratios of the largest")
        return [(vmax // v, hmax // h) for h, v in self.sampling]


def _resample_up(plane: torch.Tensor, factor: tuple[int, int], size: tuple[int, int],
                 chroma_upsampling: str = "bilinear") -> torch.Tensor:
    """libjpeg's chroma upsampling: the triangular ("fancy") filter for ×1/×2 factors, replication
    otherwise or with `chroma_upsampling="nearest"`."""
    if factor == (1, 1):
        return plane[..., :size[0], :size[1]]
    mode = "bilinear" if max(factor) <= 2 and chroma_upsampling == "bilinear" else "nearest"
    extra = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(plane, scale_factor=factor, mode=mode, **extra)[..., :size[0], :size[1]]


def diff_jpeg_layout(x: torch.Tensor, layout: JpegLayout,
                     rounding: Callable[[torch.Tensor], torch.Tensor] = surrogate_round,
                     chroma_upsampling: str = "bilinear", clamp: bool = True) -> torch.Tensor:
    """Differentiable JPEG round trip of `x` ([B,1|3,H,W] in [0,1]) with `layout`'s tables and
    sampling: edge-replicated padding to whole MCUs, YCbCr, per-component box downsampling, block
    codec, upsampling, RGB, clamp to [0,1] (see `diff_jpeg` for the two keywords)."""
    channels, h, w = x.shape[1], x.shape[-2], x.shape[-1]
    if channels != len(layout.tables) or channels not in (1, 3):
        raise ValueError(f"a {len(layout.tables)}-component JPEG layout cannot code {channels} channels")
    factors = layout.factors()
    mcu_h, mcu_w = 8 * max(f[0] for f in factors), 8 * max(f[1] for f in factors)
    x = x * 255.0
    x = F.pad(x, (0, -w % mcu_w, 0, -h % mcu_h), mode="replicate") if (h % mcu_h or w % mcu_w) else x
    planes = x if channels == 1 else rgb_to_ycbcr(x)
    out = []
    for index, (table, factor) in enumerate(zip(layout.tables, factors)):
        plane = planes[:, index:index + 1]
        if factor != (1, 1):
            plane = F.avg_pool2d(plane, factor)
        table_t = torch.as_tensor(np.asarray(table), dtype=x.dtype, device=x.device)
        coded = block_codec(plane, table_t, rounding)
        kept = (-(-h // factor[0]), -(-w // factor[1]))
        out.append(_resample_up(coded[..., :kept[0], :kept[1]], factor, (h, w), chroma_upsampling))
    decoded = torch.cat(out, 1)
    decoded = (decoded if channels == 1 else ycbcr_to_rgb(decoded)).div(255.0)
    return decoded.clamp(0.0, 1.0) if clamp else decoded


def diff_jpeg(x: torch.Tensor, quality: int, transpose_tables: bool = False,
              rounding: Callable[[torch.Tensor], torch.Tensor] = surrogate_round,
              chroma_upsampling: str = "bilinear", clamp: bool = True) -> torch.Tensor:
    """Differentiable JPEG round trip of `x` ([B,1|3,H,W] in [0,1]) at `quality` (PIL's tables, 4:2:0).

    The defaults follow libjpeg. RUSIR's DiffJPEG differs in three ways, each selectable for
    reproducing it: tables applied transposed (`transpose_tables=True`), chroma upsampled by
    repetition (`chroma_upsampling="nearest"`) and no final clamp to [0,1] (`clamp=False`).
    """
    if x.shape[1] not in (1, 3):
        raise ValueError(f"JPEG needs 1 or 3 channels, got {x.shape[1]}")
    layout = JpegLayout.from_quality(quality, x.shape[1])
    if transpose_tables:
        layout = JpegLayout(tuple(t.T.copy() for t in layout.tables), layout.sampling)
    return diff_jpeg_layout(x, layout, rounding, chroma_upsampling, clamp)


def rusir_diff_jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """RUSIR's f̂ exactly: transposed tables, nearest chroma upsampling, no clamp."""
    return diff_jpeg(x, quality, transpose_tables=True, chroma_upsampling="nearest", clamp=False)


def to_pil_image(image: torch.Tensor) -> Image.Image:
    """[C,H,W] in [0,1] → an 8-bit PIL image (rounded), mode L or RGB."""
    array = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    array = array.permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def from_pil_image(img: Image.Image) -> torch.Tensor:
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


PIL_SUBSAMPLING = {((1, 1), (1, 1), (1, 1)): 0, ((2, 1), (1, 1), (1, 1)): 1, ((2, 2), (1, 1), (1, 1)): 2}


def _pil_options(layout: JpegLayout | None, quality: int, mode: str) -> dict:
    """PIL save options for `quality` (PIL's own tables, 4:2:0) or for `layout`'s tables and sampling."""
    if layout is None:
        return {"quality": int(quality), **({"subsampling": 2} if mode == "RGB" else {})}
    tables = [np.asarray(t).ravel().tolist() for t in layout.tables]
    if len(tables) == 3 and tables[1] == tables[2]:
        tables = tables[:2]
    if mode == "L":
        return {"qtables": tables}
    if tuple(layout.sampling) not in PIL_SUBSAMPLING:
        raise ValueError(f"PIL cannot write JPEG sampling factors {list(layout.sampling)} "
                         "(only 4:4:4, 4:2:2 and 4:2:0)")
    return {"qtables": tables, "subsampling": PIL_SUBSAMPLING[tuple(layout.sampling)]}


def pil_jpeg(x: torch.Tensor, quality: int, layout: JpegLayout | None = None) -> torch.Tensor:
    """The true codec: each image of [B,C,H,W] saved by PIL at `quality` (4:2:0 for RGB), or with
    `layout`'s tables and sampling when given, and read back."""
    out = []
    for image in x:
        buffer = io.BytesIO()
        pil = to_pil_image(image)
        pil.save(buffer, format="JPEG", **_pil_options(layout, quality, pil.mode))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            decoded.load()
            out.append(from_pil_image(decoded.convert(pil.mode)))
    return torch.stack(out).to(x.device)
