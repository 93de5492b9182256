"""A third-party restorefw plugin that uses only what docs/plugins.md states."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.degradation import Degradation, DegradationOperator
from restorefw.generator import Generator
from restorefw.latent import LatentSpace
from restorefw.loss import Loss
from restorefw.metric import Metric
from restorefw.seeding import torch_generator

FILTERS = 5  # output filters of every layer: this prior's W++ vector count


class TinyNetwork(torch.nn.Module):
    """z [B,8] → W+ [B,3,8]; three per-filter modulated 1×1 layers over a learned 16×16 constant."""

    z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels, max_filters = 8, 0, 8, 3, 16, 3, FILTERS

    def __init__(self, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.mapping = Mapping(gen)
        self.const = torch.nn.Parameter(torch.randn(FILTERS, 16, 16, generator=gen))
        self.weights = torch.nn.Parameter(torch.randn(self.num_ws, FILTERS, FILTERS, generator=gen) / FILTERS ** 0.5)
        self.affine = torch.nn.Parameter(torch.randn(self.num_ws, self.w_dim, FILTERS, generator=gen) / 3)
        self.to_rgb = torch.nn.Parameter(torch.randn(3, FILTERS, generator=gen) / FILTERS ** 0.5)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        if ws.dim() == 3:  # W+: every filter of a layer uses the layer's one vector
            ws = ws.unsqueeze(2).expand(-1, -1, FILTERS, -1)
        ws = ws[:, :, :FILTERS]  # W++: vector o modulates output filter o
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
        for layer in range(self.num_ws):
            styles = torch.einsum("bow,wc->boc", ws[:, layer], self.affine[layer]) + 1  # [B, out, in]
            x = torch.einsum("oc,boc,bchw->bohw", self.weights[layer], styles, x)
            x = torch.nn.functional.leaky_relu(x, 0.2)
        return torch.tanh(torch.einsum("rc,bchw->brhw", self.to_rgb, x))


class Mapping(torch.nn.Module):
    def __init__(self, gen: torch.Generator) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(8, 8, generator=gen) / 8 ** 0.5)
        self.register_buffer("w_avg", torch.randn(8, generator=gen) * 0.1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return torch.nn.functional.leaky_relu(z @ self.weight, 0.2).unsqueeze(1).repeat(1, 3, 1)


class TinyPrior(Generator):
    name = "tp-prior"
    description = "A 16×16 toy prior with 5 filters per layer."

    class Params(Params):
        seed: int = 0

    def load(self, device):
        return TinyNetwork(self.params.seed).to(device).eval().requires_grad_(False)


class MeanW(LatentSpace):
    name = "tp-w"
    description = "One w per image: the mean of the previous styles, or w_avg."

    def initial(self, G, batch_size, previous_styles):
        if previous_styles is None:
            return G.mapping.w_avg.reshape(1, -1).repeat(batch_size, 1)
        flat = previous_styles.reshape(previous_styles.shape[0], -1, G.w_dim)
        return flat.mean(dim=1)

    def to_styles(self, latent, G):
        return latent.unsqueeze(1).repeat(1, G.num_ws, 1)


class FadeOperator(DegradationOperator):
    def __init__(self, strength: torch.Tensor) -> None:
        super().__init__()
        self.strength = strength  # [B,1,1,1]

    def true(self, x):
        y = (x * (1 - self.strength.to(x.device)) + 0.5 * self.strength.to(x.device)).clamp(0, 1)
        return torch.round(y * 255) / 255

    def forward(self, x):
        return x * (1 - self.strength.to(x.device)) + 0.5 * self.strength.to(x.device)


class Fade(Degradation):
    name = "tp-fade"
    description = "Fades images toward grey by a per-image random amount."
    levels = ("faint", "strong")
    letter = "F"
    groups = ("toys",)
    order = 2.5

    class Params(Params):
        level: Literal["faint", "strong"] | None = None
        amount: float | None = Field(None, ge=0, le=1)

    def realize(self, shape, keys, device):
        amount = self.params.amount if self.params.amount is not None else {
            "faint": 0.2, "strong": 0.6, None: 0.4}[self.params.level]
        jitter = torch.stack([0.05 * torch.rand(1, generator=torch_generator(k.seed, k.image_id, "tp-fade"))
                              for k in keys])
        return FadeOperator((amount + jitter).reshape(-1, 1, 1, 1).to(device))


class GreyOperator(DegradationOperator):
    def output_channels(self, channels):
        return 1

    def true(self, x):
        return torch.round(x.mean(dim=1, keepdim=True).clamp(0, 1) * 255) / 255

    def forward(self, x):
        return x.mean(dim=1, keepdim=True)


class Grey(Degradation):
    name = "tp-grey"
    description = "Colour to grey (one channel out)."

    def realize(self, shape, keys, device):
        return GreyOperator()


class L1(Loss):
    name = "tp-l1"
    description = "Mean absolute difference over known pixels."

    def forward(self, x):
        diff = (x - self.target).abs()
        if self.mask is not None:
            return (diff * self.mask).flatten(1).sum(1) / (self.mask.flatten(1).sum(1) * x.shape[1]).clamp_min(1)
        return diff.flatten(1).mean(1)


class MAE(Metric):
    name = "tp-mae"
    description = "Mean absolute error."
    lower_is_better = True

    def paired(self, pred, ref):
        return (pred - ref).abs().flatten(1).mean(1)


@hookimpl
def restorefw_generators():
    return [TinyPrior]


@hookimpl
def restorefw_latent_spaces():
    return [MeanW]


@hookimpl
def restorefw_degradations():
    return [Fade, Grey]


@hookimpl
def restorefw_losses():
    return [L1]


@hookimpl
def restorefw_metrics():
    return [MAE]
