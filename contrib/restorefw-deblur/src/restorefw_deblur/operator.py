"""The realised blur: one known kernel per image, applied as a depthwise convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restorefw.degradation import DegradationOperator
from restorefw.imageio import quantize_8bit


class BlurOperator(DegradationOperator):
    """y = k_i * x_i for image i (same size, edges replicated). The stand-in f̂ is the same
    convolution, so the operator is known exactly; `true` adds the clamp and 8-bit round trip."""

    def __init__(self, kernels: torch.Tensor) -> None:
        super().__init__()
        if kernels.dim() != 3 or kernels.shape[-1] % 2 == 0 or kernels.shape[-1] != kernels.shape[-2]:
            raise ValueError(f"kernels must be [B, k, k] with an odd k; got {tuple(kernels.shape)}")
        self.register_buffer("kernels", kernels.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        if b != self.kernels.shape[0]:
            raise ValueError(f"this blur was realised for {self.kernels.shape[0]} images, got a batch of {b}")
        pad = self.kernels.shape[-1] // 2
        padded = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode="replicate")
        weight = self.kernels.to(x.dtype).repeat_interleave(c, dim=0).unsqueeze(1)
        return F.conv2d(padded, weight, groups=b * c).reshape(b, c, h, w)

    def true(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return quantize_8bit(self.forward(x))
