"""Blur kernels: an isotropic Gaussian and a straight motion streak, each normalised to sum 1."""

from __future__ import annotations

import math

import torch


def odd_size(extent: float) -> int:
    """The smallest odd kernel side that holds a support of `extent` pixels (at least 3)."""
    side = max(3, math.ceil(extent))
    return side if side % 2 else side + 1


def gaussian_kernel(sigma: float, size: int | None = None) -> torch.Tensor:
    """A `[size, size]` isotropic Gaussian with standard deviation `sigma` pixels (side ≈ 6σ by default)."""
    size = size or odd_size(6 * sigma)
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    line = torch.exp(-x.pow(2) / (2 * sigma ** 2))
    kernel = torch.outer(line, line)
    return (kernel / kernel.sum()).float()


def motion_kernel(length: float, angle: float, size: int | None = None) -> torch.Tensor:
    """A `[size, size]` straight streak of `length` pixels at `angle` degrees (counter-clockwise from the
    x axis), centred, drawn by splatting densely sampled points of the segment bilinearly."""
    size = size or odd_size(length + 2)
    centre = (size - 1) / 2
    samples = max(2, 8 * math.ceil(length) + 1)
    t = torch.linspace(-length / 2, length / 2, samples, dtype=torch.float64)
    theta = math.radians(angle)
    xs, ys = centre + t * math.cos(theta), centre - t * math.sin(theta)
    kernel = torch.zeros(size, size, dtype=torch.float64)
    x0, y0 = xs.floor(), ys.floor()
    for dx in (0, 1):
        for dy in (0, 1):
            weight = (1 - (xs - x0 - dx).abs()) * (1 - (ys - y0 - dy).abs())
            col, row = (x0 + dx).long(), (y0 + dy).long()
            inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
            kernel.index_put_((row[inside], col[inside]), weight[inside], accumulate=True)
    return (kernel / kernel.sum()).float()
