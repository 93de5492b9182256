"""Degradation components: a true operator that makes targets and a differentiable stand-in f̂."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch

from restorefw.component import Component


@dataclass(frozen=True)
class ImageKey:
    """Identifies one image of a run; every random draw derives from (seed, image_id, stage)."""

    seed: int
    image_id: str


class DegradationOperator(torch.nn.Module):
    """A degradation realised for one batch: its random choices (filters, masks) are fixed.

    `true(x)` degrades clean images in [0,1] into targets (ending with a clamp and an 8-bit round
    trip); `forward(x)` is the differentiable f̂ used in the loss; `mask` is `[B,1,h,w]` at the
    output resolution (1 = known) or None; `output_size(h, w)` is the target size.
    """

    mask: torch.Tensor | None = None

    def true(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return height, width

    def set_mask(self, mask: torch.Tensor) -> None:
        """Use `mask` (`[B,1,h,w]`, 1 = known, at the output size) as the known-pixel mask: restore
        mode gives the user's masks this way. Operators whose f̂ uses the mask must honour it."""
        self.mask = mask


class Degradation(Component):
    """A degradation task; `level` names a preset (XS, S, M, L, XL) of its explicit parameters."""

    kind: ClassVar[str] = "degradation"
    levels: ClassVar[Sequence[str]] = ("XS", "S", "M", "L", "XL")

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        """Fix the random choices for a batch of images of `shape` (B, C, H, W)."""
        raise NotImplementedError
