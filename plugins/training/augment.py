"""Differentiable augmentations for adaptive discriminator augmentation (ADA).

Every transform is applied to each image independently with probability p, to reals and fakes
alike before the discriminator, so the generator never learns them: x-flips, 90° rotations,
integer translations (reflect padding), brightness, contrast and saturation. Images are in
[-1, 1]. Gradients flow to the input through every transform.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _pick(p: float, n: int, gen: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) < p


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.reshape(-1, 1, 1, 1), a, b)


def xflip(x: torch.Tensor, p: float, gen: torch.Generator | None = None) -> torch.Tensor:
    return _where(_pick(p, x.shape[0], gen, x.device), x.flip(3), x)


def rotate90(x: torch.Tensor, p: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """Rotate by a random multiple of 90° (square images)."""
    n = x.shape[0]
    k = torch.randint(1, 4, (n,), generator=gen, device=x.device)
    k = torch.where(_pick(p, n, gen, x.device), k, torch.zeros_like(k))
    out = x
    for turns in (1, 2, 3):
        out = _where(k == turns, torch.rot90(x, turns, dims=(2, 3)), out)
    return out


def translate(x: torch.Tensor, p: float, fraction: float = 0.125, gen: torch.Generator | None = None) -> torch.Tensor:
    """Shift by a random integer offset up to `fraction` of the side, padding by reflection."""
    n, _, h, w = x.shape
    m = max(1, int(round(fraction * h)))
    apply = _pick(p, n, gen, x.device)
    t = torch.randint(-m, m + 1, (2, n), generator=gen, device=x.device) * apply
    padded = F.pad(x, (m, m, m, m), mode="reflect")
    rows = torch.arange(h, device=x.device)[None, :] + m - t[0][:, None]
    cols = torch.arange(w, device=x.device)[None, :] + m - t[1][:, None]
    b = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


def colour(x: torch.Tensor, p: float, gen: torch.Generator | None = None,
           brightness_std: float = 0.2, contrast_std: float = 0.5, saturation_std: float = 1.0) -> torch.Tensor:
    """Brightness (additive), contrast (log-normal around the image mean), saturation (about luma)."""
    n, c = x.shape[:2]
    dev = x.device
    b = torch.randn(n, generator=gen, device=dev) * brightness_std * _pick(p, n, gen, dev)
    x = x + b.reshape(n, 1, 1, 1)
    k = torch.exp2(torch.randn(n, generator=gen, device=dev) * contrast_std * _pick(p, n, gen, dev))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * k.reshape(n, 1, 1, 1) + mean
    if c == 3:
        s = torch.exp2(torch.randn(n, generator=gen, device=dev) * saturation_std * _pick(p, n, gen, dev))
        luma = x.mean(dim=1, keepdim=True)
        x = (x - luma) * s.reshape(n, 1, 1, 1) + luma
    return x


class AdaptiveAugment:
    """The augmentation pipeline and its probability p, steered by the sign of D on reals.

    Every `interval` steps, p moves by sign(E[sign(D(real))] - target) · (batch·interval)/(speed_kimg·1000),
    clamped to [0, p_max]: the more D is sure about the reals (overfitting), the more it is augmented.
    """

    def __init__(self, target: float = 0.6, speed_kimg: float = 100.0, interval: int = 4,
                 p: float = 0.0, p_max: float = 1.0) -> None:
        self.target, self.speed_kimg, self.interval, self.p, self.p_max = target, speed_kimg, interval, p, p_max
        self._signs: list[torch.Tensor] = []
        self.rt = 0.0

    def __call__(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        if self.p <= 0:
            return x
        p = self.p
        x = xflip(x, p, gen)
        x = rotate90(x, p, gen)
        x = translate(x, p, gen=gen)
        return colour(x, p, gen)

    def observe(self, real_logits: torch.Tensor, batch: int) -> None:
        """Record D's outputs on (augmented) reals and update p every `interval` calls."""
        self._signs.append(real_logits.detach().sign().mean())
        if len(self._signs) < self.interval:
            return
        self.rt = float(torch.stack(self._signs).mean())
        self._signs.clear()
        step = batch * self.interval / (self.speed_kimg * 1000.0)
        direction = (self.rt > self.target) - (self.rt < self.target)
        self.p = float(min(max(self.p + direction * step, 0.0), self.p_max))

    def state(self) -> dict[str, object]:
        return {"p": self.p, "rt": self.rt, "pending": [float(v) for v in self._signs]}

    def load(self, state: dict[str, object]) -> None:
        self.p, self.rt = float(state["p"]), float(state["rt"])
        self._signs = [torch.tensor(v) for v in state.get("pending", [])]
