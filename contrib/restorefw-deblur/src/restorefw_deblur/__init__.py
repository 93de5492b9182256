"""restorefw-deblur: Gaussian and motion blur with a known kernel, as restorefw degradations."""

from __future__ import annotations

from typing import ClassVar, Literal, Sequence

import torch
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.degradation import Degradation, DegradationOperator, ImageKey
from restorefw.seeding import numpy_generator
from restorefw_deblur.kernels import gaussian_kernel, motion_kernel
from restorefw_deblur.operator import BlurOperator

Level = Literal["XS", "S", "M", "L", "XL"]
LEVELS: tuple[str, ...] = ("XS", "S", "M", "L", "XL")
DEFAULT_LEVEL = "M"
# Level M is the setting of the deblurring benchmarks at 256² (Gaussian σ = 3 px, e.g. DPS and DDRM);
# the others bracket it. Sizes are in pixels of the image being degraded.
GAUSSIAN_SIGMA = {"XS": 1.0, "S": 2.0, "M": 3.0, "L": 5.0, "XL": 8.0}
MOTION_LENGTH = {"XS": 5.0, "S": 9.0, "M": 15.0, "L": 23.0, "XL": 33.0}


def _preset(explicit, level: str | None, table: dict[str, float]) -> float:
    """An explicit value wins over the level's preset; with neither, level M's."""
    return float(explicit) if explicit is not None else table[level or DEFAULT_LEVEL]


def _check(shape: Sequence[int], keys: Sequence[ImageKey]) -> None:
    if len(shape) != 4 or len(keys) != shape[0]:
        raise ValueError(f"realize needs a (B, C, H, W) shape and one ImageKey per image; "
                         f"got shape {tuple(shape)} and {len(keys)} keys")


class GaussianBlurParams(Params):
    """`sigma` (pixels) overrides the `level` preset (XS 1, S 2, M 3, L 5, XL 8; M if unset)."""

    level: Level | None = None
    sigma: float | None = Field(None, gt=0, description="Standard deviation of the Gaussian, in pixels.")
    size: int | None = Field(None, ge=3, description="Odd kernel side; default: the odd side holding 6σ.")


class Blur(Degradation):
    """What both blurs declare: five levels (M by default), the group `blur`, and their place in letter
    combinations: first, as the optics blur before the sensor samples (U), adds noise (N) and encodes (A)."""

    levels: ClassVar[tuple[str, ...]] = LEVELS
    default_level: ClassVar[str | None] = DEFAULT_LEVEL
    groups: ClassVar[tuple[str, ...]] = ("blur",)
    order: ClassVar[float] = 0.5


class GaussianBlur(Blur):
    """Isotropic Gaussian blur with a known σ; f̂ is the same convolution."""

    name: ClassVar[str] = "gaussian-blur"
    description: ClassVar[str] = "Gaussian blur with a known σ (true: blur, clamp, 8 bits / f̂: the same blur)."
    letter: ClassVar[str | None] = "B"
    Params = GaussianBlurParams

    def kernel(self) -> torch.Tensor:
        p = self.params
        size = p.size if p.size is None or p.size % 2 else p.size + 1
        return gaussian_kernel(_preset(p.sigma, p.level, GAUSSIAN_SIGMA), size)

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        _check(shape, keys)
        return BlurOperator(self.kernel().expand(shape[0], -1, -1).clone()).to(device)


class MotionBlurParams(Params):
    """`length` (pixels) overrides the `level` preset (XS 5, S 9, M 15, L 23, XL 33; M if unset).
    `angle` (degrees) fixes the direction for every image; unset, each image gets its own direction,
    drawn from (seed, image id, stage) and known to f̂."""

    level: Level | None = None
    length: float | None = Field(None, gt=0, description="Length of the streak, in pixels.")
    angle: float | None = Field(None, description="Direction in degrees; unset: a seeded draw per image.")
    size: int | None = Field(None, ge=3, description="Odd kernel side; default: the odd side holding the streak.")


class MotionBlur(Blur):
    """Linear motion blur (a straight streak) with a known length and direction; f̂ is the same convolution."""

    name: ClassVar[str] = "motion-blur"
    description: ClassVar[str] = "Linear motion blur, seeded direction per image (true: blur, clamp, 8 bits / f̂: same)."
    letter: ClassVar[str | None] = "K"
    Params = MotionBlurParams

    def angles(self, keys: Sequence[ImageKey]) -> list[float]:
        if self.params.angle is not None:
            return [float(self.params.angle)] * len(keys)
        return [float(numpy_generator(k.seed, k.image_id, f"{self.name}/angle").uniform(0.0, 180.0)) for k in keys]

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        _check(shape, keys)
        p = self.params
        length = _preset(p.length, p.level, MOTION_LENGTH)
        size = p.size if p.size is None or p.size % 2 else p.size + 1
        kernels = torch.stack([motion_kernel(length, angle, size) for angle in self.angles(keys)])
        return BlurOperator(kernels).to(device)


@hookimpl
def restorefw_degradations() -> list[type[Degradation]]:
    return [GaussianBlur, MotionBlur]
