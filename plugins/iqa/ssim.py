"""SSIM and MS-SSIM on small images, with target statistics that can be computed once.

Gaussian window (Wang et al.: 11 taps, σ=1.5), 'valid' filtering (no padding: this equals
scikit-image's gaussian SSIM, which crops the padded border), K1=0.01, K2=0.03, data range 1.

MS-SSIM for small images: the window shrinks with the image (11 taps from 64 px up, 7 taps σ=1.0
from 28 px, 5 taps σ=0.75 below), and the number of scales is the largest K ≤ 5 for which the
coarsest scale (side / 2^(K−1)) is still at least the window size. The standard scale weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333) are truncated to K and renormalised to sum to 1.
E.g. 32² → window 7, 3 scales (32, 16, 8); 64² → window 11, 3 scales; 256² → window 11, 5 scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

C1 = 0.01 ** 2
C2 = 0.03 ** 2
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float, channels: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Separable-equivalent 2-D Gaussian kernel `[C,1,size,size]` for depthwise convolution."""
    ax = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(ax ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    k = torch.outer(g, g).to(device=device, dtype=dtype)
    return k.expand(channels, 1, size, size).contiguous()


def auto_window(side: int) -> tuple[int, float]:
    """Window size and σ for an image whose smaller side is `side`."""
    if side >= 64:
        return 11, 1.5
    if side >= 28:
        return 7, 1.0
    return min(5, side - (1 - side % 2)), 0.75


def num_scales(side: int, window: int, max_scales: int = 5) -> int:
    """Largest K ≤ max_scales with side / 2^(K−1) ≥ window (at least 1)."""
    k = 1 + int(math.floor(math.log2(max(side, 1) / window))) if side >= window else 1
    return max(1, min(max_scales, k))


def _blur(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, win, groups=x.shape[1])


@dataclass
class Stats:
    """Local statistics of one image at one scale: blurred mean, mean of squares."""

    mu: torch.Tensor
    sq: torch.Tensor


def stats(y: torch.Tensor, win: torch.Tensor) -> Stats:
    return Stats(_blur(y, win), _blur(y * y, win))


def ssim_maps(x: torch.Tensor, y: torch.Tensor, win: torch.Tensor,
              sy: Stats | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSIM map, contrast-structure map), each `[B,C,h',w']` ('valid' size)."""
    sy = sy or stats(y, win)
    mu_x = _blur(x, win)
    sxx = _blur(x * x, win) - mu_x * mu_x
    syy = sy.sq - sy.mu * sy.mu
    sxy = _blur(x * y, win) - mu_x * sy.mu
    cs = (2 * sxy + C2) / (sxx + syy + C2)
    lum = (2 * mu_x * sy.mu + C1) / (mu_x * mu_x + sy.mu * sy.mu + C1)
    return lum * cs, cs


def weighted_mean(value: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean `[B]` of `value` `[B,C,h,w]`, optionally weighted by `weight` `[B,1,h,w]`."""
    if weight is None:
        return value.mean((1, 2, 3))
    w = weight.expand_as(value)
    return (value * w).sum((1, 2, 3)) / w.sum((1, 2, 3)).clamp_min(1e-8)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM per image `[B]` (window shrunk to the image when it is smaller than `window`)."""
    side = min(x.shape[-2:])
    if side < window:
        window, sigma = auto_window(side)
    win = gaussian_window(window, sigma, x.shape[1], x.device, x.dtype)
    return ssim_maps(x, y, win)[0].mean((1, 2, 3))


class MSSSIM:
    """MS-SSIM per image against a fixed target; the target pyramid and statistics are cached.

    A mask (1 = known) is average-pooled along the pyramid and blurred with the window; the
    SSIM maps are then averaged with those weights, so holes do not count."""

    def __init__(self, target: torch.Tensor, mask: torch.Tensor | None = None, window: int | None = None,
                 sigma: float | None = None, max_scales: int = 5) -> None:
        side = min(target.shape[-2:])
        auto = auto_window(side)
        self.window = window or auto[0]
        self.sigma = sigma or (auto[1] if window is None else 1.5 * self.window / 11)
        self.scales = num_scales(side, self.window, max_scales)
        w = torch.tensor(MS_WEIGHTS[: self.scales], dtype=torch.float64)
        self.weights = (w / w.sum()).tolist()
        self.win = gaussian_window(self.window, self.sigma, target.shape[1], target.device, target.dtype)
        self.targets, self.stats, self.masks = [], [], []
        y, m = target, mask
        for k in range(self.scales):
            if k:
                y = F.avg_pool2d(y, 2)
                m = F.avg_pool2d(m, 2) if m is not None else None
            self.targets.append(y)
            self.stats.append(stats(y, self.win))
            self.masks.append(_blur(m, self.win[:1]) if m is not None else None)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        value = None
        for k in range(self.scales):
            if k:
                x = F.avg_pool2d(x, 2)
            full, cs = ssim_maps(x, self.targets[k], self.win, self.stats[k])
            part = weighted_mean(full if k == self.scales - 1 else cs, self.masks[k])
            term = part.clamp_min(1e-6) ** self.weights[k]
            value = term if value is None else value * term
        return value
