"""Estimate the denoising task's damage from a noisy image: Poisson photons N and pixel dropout p.

The denoising model is y = Poisson(N·x)/N with whole pixels zeroed with probability p. Dropped
pixels are exactly black in every channel; the Poisson part has variance x/N, so for two adjacent
kept pixels i, j the difference d = yᵢ − yⱼ has variance (xᵢ + xⱼ)/N plus the image's own fine
detail. 1/N is fitted robustly as the squared normalised median absolute deviation of
d / sqrt(m), m being the local mean brightness of the pair's neighbourhood (the fine detail is the
minority the median ignores). Then p is the excess of black pixels over what Poisson alone would
zero: p = (z − q) / (1 − q), z the black fraction and q the mean chance exp(−N·Σ_c m_c) that a
kept pixel of that brightness comes out black.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

KEEP = 0.9
KEPT_VARIANCE = 1.0 - 2 * 1.6448536 * 0.10313564 / KEEP  # E[z²; |z| ≤ z₀.₉₅] / 0.9 for a unit Gaussian
MIN_PAIRS = 96
BRIGHT = 8.0 / 255.0
DIM_ENOUGH = 0.6
SATURATED = 0.95


@dataclass(frozen=True)
class NoiseEstimate:
    """What was measured: photons N (inf when no Poisson noise is seen), dropout p, the noise's
    standard deviation at mid-grey sqrt(0.5/N), and how many pixel pairs the fit used."""

    photons: float
    drop: float
    sigma_half: float
    pairs: int

    def as_dict(self) -> dict[str, float | int]:
        return {"photons": round(self.photons, 2) if self.photons != float("inf") else None,
                "drop": round(self.drop, 4), "sigma_at_half": round(self.sigma_half, 4), "pairs": self.pairs}


def _local_mean(y: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Mean of the kept pixels in each 3×3 neighbourhood, per channel ([C,H,W]; 0 where none is kept)."""
    weights = F.avg_pool2d(kept[None], 3, 1, 1, count_include_pad=False)[0]
    sums = F.avg_pool2d((y * kept)[None], 3, 1, 1, count_include_pad=False)[0]
    return torch.where(weights > 0, sums / weights.clamp_min(1e-8), torch.zeros_like(sums))


def _residual_ratios(y: torch.Tensor, kept: torch.Tensor, mean: torch.Tensor, upper: float) -> torch.Tensor:
    """Normalised second differences yᵢ − (yᵢ₋₁ + yᵢ₊₁)/2 along rows and columns, for runs of three kept
    pixels whose local mean m lies in (BRIGHT, upper): variance 1.5·m/N from the noise, while smooth
    (locally linear) image content cancels; divided by sqrt(1.5·m) they have variance 1/N."""
    ratios = []
    for dy, dx in ((0, 1), (1, 0)):
        h, w = y.shape[1] - 2 * dy, y.shape[2] - 2 * dx
        left, centre, right = (y[:, k * dy:k * dy + h, k * dx:k * dx + w] for k in range(3))
        runs = (kept[:, :h, :w] * kept[:, dy:dy + h, dx:dx + w] * kept[:, 2 * dy:2 * dy + h, 2 * dx:2 * dx + w])
        m = mean[:, dy:dy + h, dx:dx + w]
        usable = runs.bool().expand_as(centre) & (m > BRIGHT) & (m < upper)
        ratios.append(((centre - 0.5 * (left + right)) / (1.5 * m).clamp_min(1e-6).sqrt())[usable])
    return torch.cat(ratios)


def trimmed_variance(values: torch.Tensor) -> float:
    """The variance of the Gaussian whose central `KEEP` fraction matches `values`' (the rest, mostly
    the image's own edges and texture, is left out): mean square of the kept values over the
    fraction of a unit Gaussian's variance that lies inside its central `KEEP` interval."""
    magnitude = values.abs()
    cut = torch.quantile(magnitude, KEEP)
    inside = magnitude[magnitude <= cut]
    return float(inside.square().mean().item() / KEPT_VARIANCE)


def estimate_noise(image: torch.Tensor, known: torch.Tensor | None = None) -> NoiseEstimate:
    """Fit photons N and dropout p of the denoising model to `image` ([C,H,W] in [0,1]); only pixels
    where `known` ([1,H,W] or [H,W], 1 = known) is 1 are used (holes and their soft edges are not)."""
    y = image.detach().float().cpu()
    usable = torch.ones(1, *y.shape[-2:]) if known is None else (known.reshape(1, *y.shape[-2:]) >= 0.999).float()
    black = (y <= 0).all(0, keepdim=True).float() * usable
    kept = usable - black
    mean = _local_mean(y, kept)
    ratios = _residual_ratios(y, kept, mean, DIM_ENOUGH)
    if ratios.numel() < MIN_PAIRS:
        ratios = _residual_ratios(y, kept, mean, SATURATED)
    if ratios.numel() < MIN_PAIRS:
        return NoiseEstimate(float("inf"), 0.0, 0.0, int(ratios.numel()))
    gain = trimmed_variance(ratios)
    photons = 1.0 / gain if gain > 0 else float("inf")
    lit = mean.sum(0)
    poisson_black = torch.exp(-photons * lit) if photons != float("inf") else torch.zeros_like(lit)
    count = usable.sum().clamp_min(1.0)
    z, q = (black.sum() / count).item(), ((poisson_black * usable[0]).sum() / count).item()
    drop = max((z - q) / (1 - q), 0.0) if q < 1 else 0.0
    sigma = (0.5 * gain) ** 0.5
    return NoiseEstimate(photons, drop, sigma, int(ratios.numel()))
