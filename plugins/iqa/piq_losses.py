"""The differentiable, weight-free piq measures as losses, through one adapter class factory.

Each loss is `1 − similarity` (ssim, haarpsi, fsim, vsi, srsim, dss, vif, iw-ssim) or the distance
itself (gmsd, ms-gmsd, mdsi), per image. Mask handling: hole pixels of x are replaced by the
same seeded uniform noise field u on both sides (x·m + u·(1−m) vs y·m + u·(1−m)): holes compare
equal, carry no gradient, and are not flat (piq's gradient maps take sqrt without ε, whose gradient
is NaN on perfectly flat regions). Any remaining non-finite gradient entries (e.g. on saturated,
clamped areas) are zeroed by a hook on x. Inputs are clamped to
[0,1] as piq requires, with a straight-through gradient (out-of-range pixels still get pulled back).
srsim normalises its saliency maps over the whole batch in piq 0.8, so it is evaluated one image
at a time to keep images independent. Each measure has a minimum image side (measured with piq 0.8 on
this project: the smallest side where the value and its gradient are finite); smaller targets are
refused with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from pydantic import Field

from restorefw.component import Params
from restorefw.errors import UserError
from restorefw.loss import Loss
from restorefw.seeding import torch_generator
from restorefw_plugins.iqa.lpips_net import area_resize


@dataclass(frozen=True)
class PiqMeasure:
    name: str
    function: str
    similarity: bool
    min_side: int
    description: str
    batch_safe: bool = True  # False: piq mixes images of a batch (srsim's saliency min/max), so loop


MEASURES = [
    PiqMeasure("ssim", "ssim", True, 11, "1 − SSIM (piq)"),
    PiqMeasure("gmsd", "gmsd", False, 8, "gradient magnitude similarity deviation (piq)"),
    PiqMeasure("ms-gmsd", "multi_scale_gmsd", False, 17, "multi-scale GMSD (piq)"),
    PiqMeasure("haarpsi", "haarpsi", True, 16, "1 − HaarPSI, Haar-wavelet perceptual similarity (piq)"),
    PiqMeasure("mdsi", "mdsi", False, 8, "mean deviation similarity index, a distance (piq)"),
    PiqMeasure("fsim", "fsim", True, 8, "1 − FSIM, feature similarity (piq)"),
    PiqMeasure("vsi", "vsi", True, 8, "1 − VSI, visual-saliency similarity (piq)"),
    PiqMeasure("srsim", "srsim", True, 40, "1 − SR-SIM, spectral-residual similarity (piq; side ≥ 40)",
               batch_safe=False),
    PiqMeasure("dss", "dss", True, 32, "1 − DSS, DCT subband similarity (piq; side ≥ 32)"),
    PiqMeasure("vif", "vif_p", True, 41, "1 − VIFp, visual information fidelity (piq; side ≥ 41)"),
    PiqMeasure("iw-ssim", "information_weighted_ssim", True, 161, "1 − IW-SSIM (piq; side ≥ 161)"),
]


def _unit_range(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0,1] in the forward pass, identity gradient in the backward pass."""
    return x + (x.clamp(0, 1) - x).detach()


def _finite(grad: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)


class PiqParams(Params):
    seed: int = Field(0, description="seeds the hole-filling noise")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="extra keyword arguments for the piq function (e.g. scales)")


def piq_loss_class(measure: PiqMeasure) -> type[Loss]:
    """Build the Loss subclass for one piq measure."""

    class PiqLoss(Loss):
        name: ClassVar[str] = measure.name
        description: ClassVar[str] = measure.description
        Params: ClassVar[type] = PiqParams
        spec: ClassVar[PiqMeasure] = measure

        def __init__(self, params=None, **kwargs) -> None:
            super().__init__(params, **kwargs)
            import piq

            self.fn: Callable[..., torch.Tensor] = getattr(piq, measure.function)

        def prepare(self, target: torch.Tensor, mask: torch.Tensor | None, keys=None) -> None:
            side = min(target.shape[-2:])
            if side < measure.min_side:
                raise UserError(f"loss {measure.name!r} needs images of at least {measure.min_side}×"
                                f"{measure.min_side} pixels, but the target is {target.shape[-2]}×"
                                f"{target.shape[-1]}. Drop it from the recipe for this task, or use "
                                f"'ms-ssim' or 'gradient', which work at any size.")
            y = target.float().clamp(0, 1)
            self.keep = self.fill = None
            if mask is not None:
                self.keep = area_resize(mask.float(), y.shape[-2:])
                ids = list(keys) if keys is not None else [""] * y.shape[0]
                stage = f"piq-hole-noise-{measure.name}"
                noise = torch.stack([torch.rand(tuple(y.shape[1:]), generator=torch_generator(
                    self.params.seed + getattr(i, "seed", 0), getattr(i, "image_id", i), stage))
                    for i in ids]).to(y.device)
                self.fill = noise * (1 - self.keep)
                y = y * self.keep + self.fill
            super().prepare(y, mask, keys)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.requires_grad:
                x.register_hook(_finite)
            x = _unit_range(x)
            if self.keep is not None:
                x = x * self.keep + self.fill
            opts = self.params.options
            if measure.batch_safe:
                value = self.fn(x, self.target, data_range=1.0, reduction="none", **opts)
            else:
                value = torch.cat([self.fn(x[i:i + 1], self.target[i:i + 1], data_range=1.0, reduction="none",
                                           **opts) for i in range(x.shape[0])])
            return 1 - value if measure.similarity else value

    PiqLoss.__name__ = PiqLoss.__qualname__ = "Piq" + measure.name.title().replace("-", "") + "Loss"
    return PiqLoss


PIQ_LOSSES = [piq_loss_class(m) for m in MEASURES]
