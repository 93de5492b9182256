"""Flag an image that was once a JPEG (now a PNG, say) by the 8×8 block edges JPEG leaves behind.

Blockiness is the mean absolute luma step across columns/rows that sit on an 8-pixel grid line,
over the mean step elsewhere, taking the best of the 8 grid offsets per axis (a crop moves the
grid). Natural images score near 1; strong JPEG blocking scores well above. This only flags: the
tables of a decoded JPEG are not recoverable from pixels with certainty, so nothing is guessed.
"""

from __future__ import annotations

import torch

FLAG_ABOVE = 1.5
MIN_SIDE = 24


def _axis_ratio(steps: torch.Tensor) -> float:
    """Best grid offset's mean step over the mean of the other steps; `steps` is [N, L] along L."""
    length = steps.shape[-1]
    profile = steps.mean(0)
    best = 0.0
    for offset in range(8):
        on = torch.zeros(length, dtype=torch.bool)
        on[offset::8] = True
        if on.all() or not on.any():
            continue
        rest = profile[~on].mean().item()
        best = max(best, profile[on].mean().item() / max(rest, 1e-6))
    return best


def blockiness(image: torch.Tensor) -> float:
    """The 8×8 blockiness of `image` ([C,H,W] in [0,1]); 0 when the image is too small to tell."""
    luma = image.mean(0) if image.shape[0] != 3 else (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])
    if min(luma.shape) < MIN_SIDE:
        return 0.0
    columns = (luma[:, 1:] - luma[:, :-1]).abs()
    rows = (luma[1:, :] - luma[:-1, :]).abs().T
    return 0.5 * (_axis_ratio(columns) + _axis_ratio(rows))


def looks_like_jpeg(image: torch.Tensor) -> bool:
    return blockiness(image) > FLAG_ABOVE
