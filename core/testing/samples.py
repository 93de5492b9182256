"""Deterministic inputs for the conformance checks: smooth images, masks, keys and devices."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restorefw.degradation import ImageKey

SEED = 1234


def images(count: int, size: int = 64, channels: int = 3, seed: int = SEED) -> torch.Tensor:
    """`count` smooth random images `[count, channels, size, size]` in [0, 1], the same for the same seed."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, channels, max(2, size // 8), max(2, size // 8), generator=gen)
    fine = torch.rand(count, channels, size, size, generator=gen)
    smooth = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return (0.8 * smooth + 0.2 * fine).clamp(0, 1)


def masks(count: int, size: int = 64) -> torch.Tensor:
    """Masks `[count, 1, size, size]` (1 = known), each with a different rectangular hole."""
    out = torch.ones(count, 1, size, size)
    for i in range(count):
        start = (i * size) // (2 * count + 2)
        out[i, :, start + size // 4:start + size // 2, size // 4 + i:size // 2 + i] = 0
    return out


def keys(count: int, seed: int = 0) -> list[ImageKey]:
    return [ImageKey(seed, f"kit-image-{i}") for i in range(count)]


def devices() -> list[torch.device]:
    """The CPU, and the first CUDA device when one is present."""
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return a.shape == b.shape and torch.allclose(a.detach().cpu().float(), b.detach().cpu().float(),
                                                 rtol=rtol, atol=atol, equal_nan=False)
