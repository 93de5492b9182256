"""RUSIR-style inpainting masks: thick round-capped strokes on a 4× canvas, softened by two pyrDowns.

Mask making runs in numpy on the CPU (single-threaded, identical on every machine); the result is
moved to the batch's device by the operator.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from restorefw.errors import UserError
from restorefw.imageio import fit_square


def _outer_third(rng: np.random.Generator, length: int) -> int:
    """A coordinate in the first or the last third of [0, length − 1], each third with chance ½."""
    top = (length - 1) // 3
    low = int(rng.integers(0, top + 1))
    high = int(rng.integers(2 * top, length))
    return low if rng.random() < 0.5 else high


def paint_stroke(canvas: np.ndarray, start: tuple[int, int], end: tuple[int, int], radius: float) -> None:
    """Set to 1 every pixel of `canvas` [H,W] within `radius` of the segment start–end (round caps)."""
    (y0, x0), (y1, x1) = start, end
    height, width = canvas.shape
    top = max(int(math.floor(min(y0, y1) - radius)), 0)
    bottom = min(int(math.ceil(max(y0, y1) + radius)), height - 1)
    left = max(int(math.floor(min(x0, x1) - radius)), 0)
    right = min(int(math.ceil(max(x0, x1) + radius)), width - 1)
    if top > bottom or left > right:
        return
    py = np.arange(top, bottom + 1, dtype=np.float32)[:, None] - np.float32(y0)
    px = np.arange(left, right + 1, dtype=np.float32)[None, :] - np.float32(x0)
    dy, dx = np.float32(y1 - y0), np.float32(x1 - x0)
    length2 = dy * dy + dx * dx
    t = np.clip((py * dy + px * dx) / length2, 0.0, 1.0) if length2 > 0 else np.zeros((1, 1), np.float32)
    dist2 = np.square(py - t * dy) + np.square(px - t * dx)
    canvas[top:bottom + 1, left:right + 1][dist2 <= radius * radius] = 1.0


def _blur_decimate_rows(x: np.ndarray) -> np.ndarray:
    """Binomial [1,4,6,4,1]/16 blur along axis 0 (reflect-101 border), keeping even rows only."""
    out = (x.shape[0] + 1) // 2
    x = np.pad(x, ((2, 2), (0, 0)), mode="reflect")
    taps = [x[k:k + 2 * out - 1:2] for k in range(5)]
    return (taps[0] + taps[4] + 4.0 * (taps[1] + taps[3]) + 6.0 * taps[2]) / 16.0


def pyr_down(x: np.ndarray) -> np.ndarray:
    """OpenCV-style pyrDown of [H,W]: 5×5 binomial blur (reflect-101 border), keep even pixels."""
    return _blur_decimate_rows(_blur_decimate_rows(x).T).T


def stroke_mask(height: int, width: int, strokes: int, rng: np.random.Generator,
                brush: float = 0.08) -> np.ndarray:
    """A [H,W] float32 mask (1 = known) with `strokes` thick strokes between points in the outer thirds.

    Strokes are drawn binary on a 4H×4W canvas with width int(brush·R)·4 (R = sqrt(H·W), the side of
    a square image), then two pyrDown steps bring the canvas to H×W with soft edges.
    """
    canvas = np.zeros((4 * height, 4 * width), dtype=np.float32)
    radius = int(brush * math.sqrt(height * width)) * 4 / 2.0
    for _ in range(strokes):
        start = (_outer_third(rng, 4 * height), _outer_third(rng, 4 * width))
        end = (_outer_third(rng, 4 * height), _outer_third(rng, 4 * width))
        paint_stroke(canvas, start, end, radius)
    soft = pyr_down(pyr_down(canvas))[:height, :width]
    return np.clip(1.0 - soft, 0.0, 1.0).astype(np.float32)


def load_mask_file(path: str | Path, height: int, width: int, channel: str = "grey",
                   fit: str = "stretch") -> np.ndarray:
    """A user mask image (white = known; or opaque = known with `channel="alpha"`) as a [H,W] float32
    mask: made square first by `fit` (crop or pad, as `inputs.fit` does to the image; stretch: not),
    then bilinearly resized to H×W if needed."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGBA").getchannel("A") if channel == "alpha" else img.convert("L")
            if fit in ("crop", "pad") and img.width != img.height:
                square, _ = fit_square(torch.from_numpy(np.asarray(img, dtype=np.float32))[None], fit, path)
                img = Image.fromarray(square[0].numpy(), mode="F")
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            array = np.asarray(img, dtype=np.float32).clip(0, 255) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read this inpainting mask ({exc}). Give a PNG/JPEG image, "
                        "white where the image is known and black in the holes.") from None
    return array.copy()
