"""The five named levels (XS…XL) of every single task: the strengths of RUSIR's benchmark (upsampling ×2…×32,
Poisson photons 96…6 with 4…64 % dropped pixels, JPEG quality 18…6, 1…17 inpainting strokes)."""

from __future__ import annotations

from typing import Literal

Level = Literal["XS", "S", "M", "L", "XL"]
LEVELS: tuple[str, ...] = ("XS", "S", "M", "L", "XL")
DEFAULT_LEVEL = "M"

UPSAMPLING_FACTOR = {"XS": 2, "S": 4, "M": 8, "L": 16, "XL": 32}
DENOISING_PHOTONS = {"XS": 96.0, "S": 48.0, "M": 24.0, "L": 12.0, "XL": 6.0}
DENOISING_DROP = {"XS": 0.04, "S": 0.08, "M": 0.16, "L": 0.32, "XL": 0.64}
JPEG_QUALITY = {"XS": 18, "S": 15, "M": 12, "L": 9, "XL": 6}
INPAINTING_STROKES = {"XS": 1, "S": 5, "M": 9, "L": 13, "XL": 17}


def pick(explicit, level: str | None, table: dict):
    """Precedence: an explicit parameter wins, else the level's preset, else level M's preset."""
    if explicit is not None:
        return explicit
    return table[level or DEFAULT_LEVEL]
