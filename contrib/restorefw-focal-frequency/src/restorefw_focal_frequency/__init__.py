"""The focal frequency loss (Jiang et al., ICCV 2021) as a restorefw loss plugin."""

from __future__ import annotations

import torch
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.loss import Loss


class FocalFrequencyParams(Params):
    alpha: float = Field(1.0, gt=0, description="Focusing exponent of the spectrum weight.")
    patches: int = Field(1, ge=1, description="Split each image into patches×patches tiles before the FFT.")
    log_weight: bool = Field(False, description="Use log(1 + distance) before normalising the weight.")


def _spectra(x: torch.Tensor, patches: int) -> torch.Tensor:
    """Orthonormal 2-D FFT of each tile, as a real tensor `[B, tiles, C, h, w, 2]`."""
    b, c, h, w = x.shape
    if h % patches or w % patches:
        raise ValueError(f"image size {h}x{w} is not divisible by patches={patches}")
    ph, pw = h // patches, w // patches
    tiles = x.unfold(2, ph, ph).unfold(3, pw, pw).permute(0, 2, 3, 1, 4, 5).reshape(b, patches * patches, c, ph, pw)
    return torch.view_as_real(torch.fft.fft2(tiles, norm="ortho"))


class FocalFrequencyLoss(Loss):
    name = "focal-frequency"
    description = "Focal frequency loss: spectrum distance weighted towards badly matched frequencies."
    Params = FocalFrequencyParams

    def prepare(self, target, mask, keys=None):
        super().prepare(target, mask, keys)
        masked = target if mask is None else target * mask
        self.target_spectrum = _spectra(masked, self.params.patches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask is not None:
            x = x * self.mask
        diff = (_spectra(x, self.params.patches) - self.target_spectrum).pow(2).sum(dim=-1)
        with torch.no_grad():
            weight = diff.sqrt().pow(self.params.alpha)
            if self.params.log_weight:
                weight = torch.log1p(weight)
            peak = weight.flatten(3).amax(dim=-1)[..., None, None]
            weight = torch.nan_to_num(weight / peak.clamp_min(1e-12), nan=0.0).clamp(0, 1)
        return (weight * diff).flatten(1).mean(dim=1)


@hookimpl
def restorefw_losses() -> list[type[Loss]]:
    return [FocalFrequencyLoss]
