"""The degradation components: the four single tasks (U, N, A, P; their combinations are the core's).

Parameter precedence, for every task: an explicit parameter wins over the `level` preset; with
neither, the level-M preset is used. Levels are RUSIR's benchmark strengths (levels.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Sequence

import numpy as np
import torch
from pydantic import Field

from restorefw.component import Params
from restorefw.degradation import Degradation, DegradationOperator, ImageKey
from restorefw.errors import UserError
from restorefw.seeding import numpy_generator
from restorefw_plugins.degradations import levels as L
from restorefw_plugins.degradations.jpeg import JpegLayout
from restorefw_plugins.degradations.operators import (
    DeartifactingOperator,
    DenoisingOperator,
    InpaintingOperator,
    UpsamplingOperator,
)
from restorefw_plugins.degradations.strokes import load_mask_file, stroke_mask

Shape = tuple[int, int, int, int]
FILTER_NAMES = ("bilinear", "bicubic", "lanczos")


def _check_keys(shape: Sequence[int], keys: Sequence[ImageKey]) -> None:
    if len(shape) != 4 or len(keys) != shape[0]:
        raise ValueError(f"realize needs a (B, C, H, W) shape and one ImageKey per image; "
                         f"got shape {tuple(shape)} and {len(keys)} keys")


class SingleTask(Degradation):
    """A single task; subclasses implement `build(shape, keys, device, stage)`."""

    levels = L.LEVELS
    default_level = L.DEFAULT_LEVEL
    groups = ("single",)

    def realize(self, shape: Shape, keys: Sequence[ImageKey], device: torch.device) -> DegradationOperator:
        _check_keys(shape, keys)
        return self.build(tuple(shape), list(keys), torch.device(device), self.name)

    def build(self, shape: Shape, keys: list[ImageKey], device: torch.device, stage: str) -> DegradationOperator:
        raise NotImplementedError


class Upsampling(SingleTask):
    """Super-resolution task: targets are the image shrunk by `factor`."""

    name = "upsampling"
    description = "Downsample by a factor: antialiased PIL resize (seeded filter) / average pooling f̂."
    letter = "U"
    order = 1

    class Params(Params):
        """`factor` and `filter` override the `level` preset (XS 2, S 4, M 8, L 16, XL 32; M if unset).

        `filter`: bilinear, bicubic or lanczos for every image, or random (default): a seeded
        per-image choice among the three, drawn from (seed, image id, stage).
        """

        level: L.Level | None = None
        factor: int | None = Field(None, ge=1)
        size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = Field(
            None, description="the target's [height, width], winning over `factor`: non-integer and unequal factors "
                              "(the generator's image is area-averaged, or PIL-filtered, to exactly this size)")
        filter: Literal["bilinear", "bicubic", "lanczos", "random"] | None = None
        stand_in: Literal["box", "matched"] = Field(
            "box", description="f̂: average pooling (RUSIR) or each image's own PIL filter as an exact linear map")

    @property
    def factor(self) -> int:
        return L.pick(self.params.factor, self.params.level, L.UPSAMPLING_FACTOR)

    def build(self, shape: Shape, keys: list[ImageKey], device: torch.device, stage: str) -> DegradationOperator:
        factor = self.factor
        size = self.params.size
        if size is not None and (size[0] > shape[2] or size[1] > shape[3]):
            raise UserError(f"upsampling: size {list(size)} is larger than the {shape[2]}×{shape[3]} image it shrinks; "
                            "give a size no larger than the generator's resolution.")
        if size is None and (shape[2] < factor or shape[3] < factor):
            raise UserError(f"upsampling: a {shape[2]}×{shape[3]} image cannot be shrunk by {factor}; "
                            "use a smaller factor or level, or larger images.")
        choice = self.params.filter or "random"
        filters = [choice if choice != "random" else
                   FILTER_NAMES[int(numpy_generator(k.seed, k.image_id, f"{stage}/filter").integers(3))]
                   for k in keys]
        return UpsamplingOperator(factor, filters, self.params.stand_in, size)


class Denoising(SingleTask):
    """Denoising task: Poisson photon noise plus pixel dropout."""

    name = "denoising"
    description = "Poisson noise (N photons) and pixel dropout p / Gaussian approximation f̂."
    letter = "N"
    order = 2

    class Params(Params):
        """`photons` N and `drop` p override the `level` preset (XS 96/0.04 … XL 6/0.64; M if unset)."""

        level: L.Level | None = None
        photons: float | None = Field(None, gt=0)
        drop: float | None = Field(None, ge=0, lt=1)

    def build(self, shape: Shape, keys: list[ImageKey], device: torch.device, stage: str) -> DegradationOperator:
        p = self.params
        return DenoisingOperator(L.pick(p.photons, p.level, L.DENOISING_PHOTONS),
                                 L.pick(p.drop, p.level, L.DENOISING_DROP), keys, stage)


Table = Annotated[list[Annotated[int, Field(ge=1, le=65535)]], Field(min_length=64, max_length=64)]


class Deartifacting(SingleTask):
    """JPEG artifact removal task."""

    name = "deartifacting"
    description = "JPEG at quality q, 4:2:0 (PIL), or a file's own tables / differentiable JPEG with the same tables f̂."
    letter = "A"
    order = 3

    class Params(Params):
        """`quality` (1–100) overrides the `level` preset (XS 18, S 15, M 12, L 9, XL 6; M if unset).

        `tables` (as `restorefw inspect` reads them from a file) win over both: one 64-value table
        per component in natural order (row = vertical frequency), [Y] for grey, [Y, C] or
        [Y, Cb, Cr] for colour; `sampling` gives each component's [h, v] factors (4:2:0 if unset).
        """

        level: L.Level | None = None
        quality: int | None = Field(None, ge=1, le=100)
        tables: list[Table] | None = Field(None, min_length=1, max_length=3)
        sampling: list[tuple[Annotated[int, Field(ge=1, le=4)], Annotated[int, Field(ge=1, le=4)]]] | None = Field(
            None, min_length=1, max_length=3)
        stand_in: Literal["jpeg", "rusir-jpeg", "identity"] = Field(
            "jpeg", description="f̂: the differentiable JPEG as libjpeg decodes, RUSIR's variant of it (tables "
                                "transposed, nearest chroma upsampling, no clamp), or the identity, which fits G(w) "
                                "to the decoded JPEG itself so that only what the prior can render survives "
                                "(GAN-projection artifact removal; pulls toward the quantisation cells' centres)")

    def layout(self, channels: int) -> JpegLayout | None:
        """The explicit tables and sampling for `channels`-channel images, or None (quality tables)."""
        tables = self.params.tables
        if tables is None:
            if self.params.sampling is not None:
                raise UserError("deartifacting: `sampling` needs `tables` (the quality presets are always 4:2:0).")
            return None
        arrays = [np.array(t, dtype=np.int64).reshape(8, 8) for t in tables]
        if channels == 1:
            arrays, sampling = arrays[:1], [(1, 1)]
        else:
            arrays = [arrays[0], arrays[min(1, len(arrays) - 1)], arrays[-1]]
            sampling = list(self.params.sampling or [(2, 2), (1, 1), (1, 1)])
            if len(sampling) != 3:
                raise UserError(f"deartifacting: `sampling` gives {len(sampling)} component(s); colour JPEG has 3.")
        layout = JpegLayout(tuple(arrays), tuple(tuple(f) for f in sampling))
        try:
            layout.factors()
        except ValueError as exc:
            raise UserError(f"deartifacting: {exc}; give factors such as [[2, 2], [1, 1], [1, 1]].") from None
        return layout

    def build(self, shape: Shape, keys: list[ImageKey], device: torch.device, stage: str) -> DegradationOperator:
        if shape[1] not in (1, 3):
            raise UserError(f"deartifacting: JPEG needs 1 (grey) or 3 (RGB) channels, got {shape[1]}.")
        return DeartifactingOperator(L.pick(self.params.quality, self.params.level, L.JPEG_QUALITY),
                                     self.params.stand_in, self.layout(shape[1]))


class Inpainting(SingleTask):
    """Inpainting task: holes from random thick strokes or from a user mask image."""

    name = "inpainting"
    description = "Thick random strokes (or a mask image, white = known) / x·mask for true and f̂."
    letter = "P"
    order = 4

    class Params(Params):
        """`mask` (an image file, white = known, resized to the image) wins over strokes; else
        `strokes` overrides the `level` preset (XS 1, S 5, M 9, L 13, XL 17; M if unset).
        `brush` is the stroke width as a fraction of the image side (RUSIR: 0.08)."""

        level: L.Level | None = None
        strokes: int | None = Field(None, ge=0)
        mask: Path | None = None
        mask_channel: Literal["grey", "alpha"] = Field(
            "grey", description="what of the `mask` image marks the known pixels: its grey level or its alpha channel")
        fill: float = Field(0.0, ge=0, le=1, description="the value holes take (0: black, RUSIR's; 1: white, as a "
                                                         "photo's transparent pixels read, composited on white)")
        mask_fit: Literal["stretch", "crop", "pad"] = Field(
            "stretch", description="how a non-square `mask` meets the image: resized (stretch), or centre-cropped or "
                                   "padded to a square first, as `inputs.fit` does to a restored photo")
        brush: float = Field(0.08, gt=0, le=1)

    def build(self, shape: Shape, keys: list[ImageKey], device: torch.device, stage: str) -> DegradationOperator:
        h, w = shape[2], shape[3]
        p = self.params
        if p.mask is not None:
            masks = [load_mask_file(p.mask, h, w, p.mask_channel, p.mask_fit)] * len(keys)
        else:
            strokes = L.pick(p.strokes, p.level, L.INPAINTING_STROKES)
            masks = [stroke_mask(h, w, strokes, numpy_generator(k.seed, k.image_id, f"{stage}/strokes"), p.brush)
                     for k in keys]
        return InpaintingOperator(masks, device, p.fill)


SINGLE_TASKS: dict[str, type[SingleTask]] = {c.name: c for c in (Upsampling, Denoising, Deartifacting, Inpainting)}


ALL_DEGRADATIONS: list[type[Degradation]] = list(SINGLE_TASKS.values())
