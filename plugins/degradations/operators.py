"""Realised degradation operators: each holds the per-image random choices of one batch.

Targets (`true`) are computed on the CPU in float32 with per-image generators, so they are
bit-identical across runs, independent of batch composition and of the device, and are returned on
the input's device. The differentiable stand-ins (`forward`) run on the input's device.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from restorefw.degradation import DegradationOperator, ImageKey
from restorefw.imageio import quantize_8bit
from restorefw.seeding import torch_generator
from restorefw_plugins.degradations.jpeg import (
    JpegLayout,
    diff_jpeg,
    diff_jpeg_layout,
    from_pil_image,
    pil_jpeg,
    rusir_diff_jpeg,
    to_pil_image,
)
from restorefw_plugins.degradations.surrogates import surrogate_clamp

PIL_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
               "lanczos": Image.Resampling.LANCZOS}


def pil_resize_matrix(size_in: int, size_out: int, filter_name: str) -> torch.Tensor:
    """The `[size_out, size_in]` matrix of PIL's antialiased 1-D resize with `filter_name`.

    PIL resizes float ('F') images linearly and separably, so resizing the identity image along one
    axis yields the exact matrix; applying it on both axes reproduces PIL's resize before rounding."""
    identity = Image.fromarray(np.eye(size_in, dtype=np.float32), mode="F")
    resized = np.asarray(identity.resize((size_out, size_in), PIL_FILTERS[filter_name]), dtype=np.float32)
    return torch.from_numpy(resized.T.copy())


class UpsamplingOperator(DegradationOperator):
    """Downsampling by `factor` (or to an explicit `size`, any ratio per axis): true = antialiased PIL resize with a
    per-image filter; f̂ = box average (`stand_in="box"`, RUSIR's) or the same PIL filter as a linear map
    (`"matched"`)."""

    def __init__(self, factor: int, filters: Sequence[str], stand_in: str = "box",
                 size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.factor = int(factor)
        self.size = tuple(size) if size is not None else None
        self.filters = list(filters)
        self.stand_in = stand_in
        self._matrices: dict[tuple[int, int, str], torch.Tensor] = {}

    def _matrix(self, size_in: int, size_out: int, filter_name: str, device: torch.device) -> torch.Tensor:
        key = (size_in, size_out, filter_name)
        if key not in self._matrices:
            self._matrices[key] = pil_resize_matrix(size_in, key[1], filter_name)
        return self._matrices[key].to(device)

    def _matched(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        oh, ow = self.output_size(h, w)
        out = [torch.einsum("oh,chw,pw->cop", self._matrix(h, oh, name, x.device).to(x.dtype), image,
                            self._matrix(w, ow, name, x.device).to(x.dtype))
               for image, name in zip(x, self.filters)]
        return torch.stack(out)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        if self.size is not None:
            return self.size
        return height // self.factor, width // self.factor

    def true(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.output_size(*x.shape[-2:])
        out = [from_pil_image(to_pil_image(image).resize((w, h), PIL_FILTERS[name]))
               for image, name in zip(x, self.filters)]
        return quantize_8bit(torch.stack(out)).to(x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stand_in == "matched":
            return self._matched(x)
        return F.adaptive_avg_pool2d(x, self.output_size(*x.shape[-2:]))


class DenoisingOperator(DegradationOperator):
    """Poisson noise with `photons` N and pixel dropout with probability `drop`.

    true: y = Poisson(N·x)/N, each pixel (all channels) zeroed with probability p, clamp, 8 bits;
    drawn from generators seeded by (seed, image id, stage + "/true") afresh at every call.
    f̂: surrogate clamp, then (λ − ½ + sqrt(λ + 1e-3)·ε)/N with λ = N·x (RUSIR's Gaussian
    approximation), a fresh dropout mask, surrogate clamp; drawn from per-image generators this
    operator owns (seeded by stage + "/forward") and creates on the device of the first input it
    sees, so every call draws new noise reproducibly; `restart()` begins the draws again, as does an
    input on another device.
    """

    def __init__(self, photons: float, drop: float, keys: Sequence[ImageKey], stage: str) -> None:
        super().__init__()
        self.photons, self.drop = float(photons), float(drop)
        self.keys, self.stage = list(keys), stage
        self.restart()

    def restart(self) -> None:
        self.generators: list[torch.Generator] = []

    def _forward_generators(self, device: torch.device) -> list[torch.Generator]:
        """The f̂ generators on `device`, created (seeded afresh) when there are none there yet."""
        if not self.generators or self.generators[0].device != device:
            self.generators = [torch_generator(k.seed, k.image_id, f"{self.stage}/forward", device)
                               for k in self.keys]
        return self.generators

    def _keep(self, shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
        return (torch.rand(shape, generator=generator, device=device) >= self.drop).float()

    def true(self, x: torch.Tensor) -> torch.Tensor:
        clean = x.detach().float().cpu().clamp(0.0, 1.0)
        out = []
        for image, key in zip(clean, self.keys):
            gen = torch_generator(key.seed, key.image_id, f"{self.stage}/true")
            noisy = torch.poisson(image * self.photons, generator=gen) / self.photons
            out.append(noisy * self._keep((1, *image.shape[-2:]), gen, torch.device("cpu")))
        return quantize_8bit(torch.stack(out)).to(x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lam = surrogate_clamp(x) * self.photons
        generators = self._forward_generators(x.device)
        eps = torch.stack([torch.randn(x.shape[1:], generator=g, device=x.device, dtype=x.dtype)
                           for g in generators])
        keep = torch.stack([self._keep((1, *x.shape[-2:]), g, x.device) for g in generators]).to(x.dtype)
        y = (lam - 0.5 + torch.sqrt(lam + 1e-3) * eps) / self.photons
        return surrogate_clamp(y * keep)


class DeartifactingOperator(DegradationOperator):
    """JPEG at `quality` (or with an explicit `layout`: tables and sampling read from a file): true =
    PIL, f̂ = differentiable JPEG with the same tables (`stand_in="jpeg"`), RUSIR's variant of it
    (`"rusir-jpeg"`, quality tables only) or the identity (`"identity"`: G(w) is fitted to the
    decoded JPEG)."""

    def __init__(self, quality: int, stand_in: str = "jpeg", layout: JpegLayout | None = None) -> None:
        super().__init__()
        self.quality = int(quality)
        self.stand_in = stand_in
        self.layout = layout

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_8bit(pil_jpeg(x.detach().float().cpu(), self.quality, self.layout)).to(x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stand_in == "identity":
            return x
        if self.stand_in == "rusir-jpeg":
            return rusir_diff_jpeg(x, self.quality)
        if self.layout is not None:
            return diff_jpeg_layout(x, self.layout)
        return diff_jpeg(x, self.quality)


class InpaintingOperator(DegradationOperator):
    """A fixed per-image mask [B,1,H,W] (1 = known): true = f̂ = x·mask + fill·(1 − mask)."""

    def __init__(self, masks: Sequence[np.ndarray], device: torch.device, fill: float = 0.0) -> None:
        super().__init__()
        self.mask = torch.from_numpy(np.stack(masks)[:, None]).to(device)
        self.fill = float(fill)

    def true(self, x: torch.Tensor) -> torch.Tensor:
        mask = self.mask.cpu()
        return quantize_8bit(x.detach().float().cpu() * mask + self.fill * (1 - mask)).to(x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = self.mask.to(x.dtype)
        return x * mask + self.fill * (1 - mask) if self.fill else x * mask
