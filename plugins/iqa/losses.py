"""Loss plugins between f̂(G(w)) and the degraded target, per image, mask-aware.

Mask conventions (mask `[B,1,h,w]`, 1 = known, soft values allowed):
- lpips-multires, lpips: RUSIR's rule: the same seeded noise field n = (N(0,1)+0.5)/2 is added as
  n·(1−m) to both images at every LPIPS level (mask area-resized, then pooled with the pyramid).
  The final L1 term is not masked (both sides are 0 in holes after f̂).
- l1, l2: plain per-image means over all pixels (holes are equal on both sides after f̂).
- consistency: Σ m·(x−y)² / (C·Σ m): the MSE over known pixels only.
- ms-ssim: SSIM maps averaged with the mask (pooled per scale and blurred by the window).
- gradient: finite differences/Sobel responses only where the whole stencil is known.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Sequence

import torch
import torch.nn.functional as F
from pydantic import Field

from restorefw.component import Params, RecipePath
from restorefw.degradation import ImageKey
from restorefw.loss import Loss
from restorefw.seeding import torch_generator
from restorefw_plugins.iqa.lpips_net import LPIPSFeatures, area_resize, build_lpips
from restorefw_plugins.iqa.ssim import MSSSIM, weighted_mean

_LPIPS_CACHE: dict[tuple, LPIPSFeatures] = {}


def lpips_features(net: str, backbone: str, weights_path: str | None, seed: int,
                   convolution: str = "direct") -> LPIPSFeatures:
    """A shared, frozen LPIPS feature network (built once per configuration and process)."""
    key = (net, backbone, weights_path, seed if backbone == "random" else None, convolution)
    if key not in _LPIPS_CACHE:
        _LPIPS_CACHE[key] = LPIPSFeatures(build_lpips(net, backbone, weights_path, seed), convolution)
    return _LPIPS_CACHE[key]


def _side(t: torch.Tensor) -> int:
    return min(t.shape[-2:])


def hole_noise(shape: Sequence[int], seed: int, image_ids: Sequence[str | ImageKey], stage: str,
               device: torch.device) -> torch.Tensor:
    """One field (N(0,1)+0.5)/2 per image, drawn from (seed, image id, stage) on the CPU; an
    `ImageKey` (what the engine passes) adds its recipe seed to the loss's own `seed`."""
    fields = [torch.randn(tuple(shape), generator=torch_generator(seed + getattr(key, "seed", 0),
                                                                 getattr(key, "image_id", key), stage))
              for key in image_ids]
    return ((torch.stack(fields) + 0.5) / 2).to(device)


class LPIPSParams(Params):
    net: Literal["vgg", "alex"] = "vgg"
    backbone: Literal["pretrained", "random"] = Field(
        "pretrained", description="'random' only on purpose (tests, smoke runs): outputs are then marked")
    weights_path: RecipePath | None = Field(None, description="backbone .pth (torchvision format); default: search")
    seed: int = Field(0, description="seeds the hole-noise fields (and a random backbone)")
    convolution: Literal["direct", "winograd"] = Field(
        "direct", description="'winograd': the backbone's stride-1 3x3 convolutions with at least 256x256 channels "
        "run as Winograd F(4x4, 3x3) in float32 on a CPU (equal up to float rounding, about 1e-7 relative; 0.78x "
        "the loss's time with a 256² target on an AVX2 CPU); not used on CUDA or under bfloat16 autocast")


class _LpipsPyramid(Loss):
    """Shared machinery: cached target features per pyramid level, hole noise, optional final L1."""

    level_weights: list[float]
    min_side: int
    l1_weight: float

    def __init__(self, params=None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        p = self.params
        self.lpips = lpips_features(p.net, p.backbone, p.weights_path, p.seed, p.convolution)
        self.uses_random_backbone = p.backbone == "random"
        self.levels: list[tuple[float, torch.Tensor | None, list[torch.Tensor]]] = []
        self.coarsest: torch.Tensor | None = None

    def level_count(self, side: int) -> int:
        """How many pyramid levels (LPIPS terms, counting zero weights) a target of `side` gets."""
        count = 0
        for _ in self.level_weights:
            if side <= self.min_side:
                break
            count, side = count + 1, side // 2
        return count

    @torch.no_grad()
    def prepare(self, target: torch.Tensor, mask: torch.Tensor | None,
                keys: Sequence[ImageKey] | None = None) -> None:
        """Cache the target pyramid's LPIPS features and the hole-noise fields (`keys` seed each
        image's noise; default: the same field for every image, independent of batching)."""
        super().prepare(target, mask, keys)
        ids = list(keys) if keys is not None else [""] * target.shape[0]
        y = target.float()
        m = area_resize(mask.float(), y.shape[-2:]) if mask is not None else None
        self.levels = []
        for level, weight in enumerate(self.level_weights[: self.level_count(_side(y))]):
            if level:
                y = F.avg_pool2d(y, 2)
                m = F.avg_pool2d(m, 2) if m is not None else None
            fill = None
            if m is not None:
                noise = hole_noise(y.shape[1:], self.params.seed, ids, f"lpips-hole-noise-{level}", y.device)
                fill = noise * (1 - m)
            feats = self.lpips.features(y + fill if fill is not None else y) if weight > 0 else []
            self.levels.append((weight, fill, feats))
        self.coarsest = F.avg_pool2d(y, 2) if self.levels else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(x.shape[0])
        for level, (weight, fill, feats) in enumerate(self.levels):
            if level:
                x = F.avg_pool2d(x, 2)
            if weight > 0:
                fx = self.lpips.features(x + fill if fill is not None else x)
                total = total + weight * self.lpips.distance(fx, feats)
        if self.l1_weight > 0:
            if self.levels:
                x = F.avg_pool2d(x, 2)
            total = total + self.l1_weight * (x - self.coarsest).abs().mean((1, 2, 3))
        return total


class LpipsMultires(_LpipsPyramid):
    """RUSIR's loss: Σ_ℓ λ_ℓ·LPIPS over a 2×2 average-pool pyramid while side > min_side, plus
    l1_weight·mean|x−y| at the level where the loop stopped."""

    name: ClassVar[str] = "lpips-multires"
    description: ClassVar[str] = "RUSIR multi-resolution LPIPS pyramid + L1 at the coarsest level (mask-noise aware)"

    class Params(LPIPSParams):
        level_weights: list[float] = Field(default_factory=lambda: [1.0] * 6, min_length=1, max_length=12,
                                           description="one weight per pyramid level; its length caps the levels")
        min_side: int = Field(16, ge=1, description="stop adding LPIPS levels once the side is ≤ this")
        l1_weight: float = Field(0.1, ge=0)

    def __init__(self, params=None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self.level_weights = list(self.params.level_weights)
        self.min_side = self.params.min_side
        self.l1_weight = self.params.l1_weight


class LpipsLoss(_LpipsPyramid):
    """LPIPS at the target's own resolution only (no pyramid, no L1)."""

    name: ClassVar[str] = "lpips"
    description: ClassVar[str] = "single-level LPIPS (vgg|alex) at the target resolution, mask-noise aware"
    Params = LPIPSParams
    level_weights = [1.0]
    min_side = 0
    l1_weight = 0.0


class L1Loss(Loss):
    name: ClassVar[str] = "l1"
    description: ClassVar[str] = "mean absolute difference per image (over all pixels)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.target).abs().mean((1, 2, 3))


class L2Loss(Loss):
    name: ClassVar[str] = "l2"
    description: ClassVar[str] = "mean squared difference per image (over all pixels)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.target).pow(2).mean((1, 2, 3))


class ConsistencyLoss(Loss):
    name: ClassVar[str] = "consistency"
    description: ClassVar[str] = "data consistency: MSE over known pixels, normalised by the known count"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return weighted_mean((x - self.target).pow(2), self.mask)


class MSSSIMLoss(Loss):
    name: ClassVar[str] = "ms-ssim"
    description: ClassVar[str] = "1 − MS-SSIM, window and number of scales adapted to small targets, mask-weighted"

    class Params(Params):
        window: int | None = Field(None, ge=3, description="Gaussian window taps; default: by target size "
                                                          "(11 from 64 px, 7 from 28 px, else 5)")
        max_scales: int = Field(5, ge=1, le=5, description="scales are also limited so the coarsest ≥ window")

    def prepare(self, target: torch.Tensor, mask: torch.Tensor | None, keys=None) -> None:
        super().prepare(target, mask, keys)
        m = area_resize(mask.float(), target.shape[-2:]) if mask is not None else None
        self.msssim = MSSSIM(target.float(), m, window=self.params.window, max_scales=self.params.max_scales)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - self.msssim(x)


def _sobel(device, dtype) -> torch.Tensor:
    g = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], device=device, dtype=dtype) / 8
    return torch.stack([g, g.t()]).unsqueeze(1)


class GradientLoss(Loss):
    name: ClassVar[str] = "gradient"
    description: ClassVar[str] = "L1 between image gradients (finite differences or Sobel), known pixels only"

    class Params(Params):
        operator: Literal["diff", "sobel"] = "diff"

    def _grads(self, img: torch.Tensor) -> list[torch.Tensor]:
        if self.params.operator == "diff":
            return [img[..., :, 1:] - img[..., :, :-1], img[..., 1:, :] - img[..., :-1, :]]
        b, c, h, w = img.shape
        out = F.conv2d(img.reshape(b * c, 1, h, w), _sobel(img.device, img.dtype)).reshape(b, c * 2, h - 2, w - 2)
        return [out]

    def _mask_grads(self, m: torch.Tensor) -> list[torch.Tensor]:
        if self.params.operator == "diff":
            return [torch.minimum(m[..., :, 1:], m[..., :, :-1]), torch.minimum(m[..., 1:, :], m[..., :-1, :])]
        return [-F.max_pool2d(-m, 3, stride=1)]

    def prepare(self, target: torch.Tensor, mask: torch.Tensor | None, keys=None) -> None:
        super().prepare(target, mask, keys)
        self.target_grads = [g.detach() for g in self._grads(target.float())]
        m = area_resize(mask.float(), target.shape[-2:]) if mask is not None else None
        self.mask_grads = self._mask_grads(m) if m is not None else [None] * len(self.target_grads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [weighted_mean((gx - gy).abs(), m) for gx, gy, m in zip(self._grads(x), self.target_grads,
                                                                         self.mask_grads)]
        return sum(parts) / len(parts)


LOSSES = [LpipsMultires, LpipsLoss, L1Loss, L2Loss, ConsistencyLoss, MSSSIMLoss, GradientLoss]
