"""restorefw-pulse: PULSE's latent space (Menon et al., CVPR 2020) for any StyleGAN2 generator.

The mapping network ends with a leaky ReLU (slope 0.2), so W is a folded, skewed distribution. PULSE
undoes that fold (a leaky ReLU of slope 1/0.2 = 5), fits a per-coordinate mean and standard deviation
there, where W is close to Gaussian, and searches on the sphere of radius sqrt(d) of the standardised
space, where almost all of a d-dimensional standard Gaussian's mass lies:

    w = lrelu_0.2(mean + std * sqrt(d) * v / |v|)
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.generator import GeneratorNetwork
from restorefw.latent import LatentSpace

SLOPE = 0.2


def gaussianise(w: torch.Tensor) -> torch.Tensor:
    """The inverse of the mapping's final leaky ReLU (slope 0.2). A positive gain after it (StyleGAN2's
    sqrt(2)) commutes with the fold and is absorbed by the fitted mean and std."""
    return F.leaky_relu(w, 1 / SLOPE)


def fold(x: torch.Tensor) -> torch.Tensor:
    """The mapping's final leaky ReLU: Gaussianised space → W."""
    return F.leaky_relu(x, SLOPE)


def on_sphere(v: torch.Tensor) -> torch.Tensor:
    """Each row of the last dimension scaled to norm sqrt(d)."""
    return v * (math.sqrt(v.shape[-1]) / v.norm(dim=-1, keepdim=True).clamp_min(1e-12))


def geocross(latent: torch.Tensor) -> torch.Tensor:
    """PULSE's cross-layer prior, per image: d/8 times the mean over all pairs (i, j) of a `[B, n, d]`
    tensor's rows of their squared angle, the angle taken as 2·atan2(|a − b|, |a + b|) of the rows projected
    onto the sphere (stable near 0 and π; the 1e-9 keeps its gradient finite where two rows coincide)."""
    rows = on_sphere(latent)
    a, b = rows.unsqueeze(2), rows.unsqueeze(1)
    chord = ((a - b).square().sum(-1) + 1e-9).sqrt()
    span = ((a + b).square().sum(-1) + 1e-9).sqrt()
    angle = 2 * torch.atan2(chord, span)
    return angle.square().mean(dim=(1, 2)) * latent.shape[-1] / 8


class PulseParams(Params):
    per_layer: bool = Field(True, description="One latent per style input (PULSE's default); false: one latent "
                                              "shared by every style input.")
    fit_samples: int = Field(10000, ge=2, description="z samples drawn to fit the Gaussianised mean and std.")
    fit_seed: int = Field(0, description="Seed of those samples (the fit is deterministic).")
    geocross: float = Field(0.0, ge=0, description="Weight of PULSE's cross-layer prior (0: off), which pulls the "
                                                   "per-layer latents towards one another on the sphere.")


class PulseSpace(LatentSpace):
    """PULSE: latents on the sphere of radius sqrt(d) in standardised, Gaussianised W.

    The optimised tensor `[B, num_ws, d]` (or `[B, d]`) is projected onto the sphere inside `to_styles`,
    so every render comes from a point of the sphere and the gradient of each row is tangent to it: a
    normalised-gradient optimiser moves rows along the sphere, as PULSE's spherical optimiser does."""

    name: ClassVar[str] = "pulse"
    description: ClassVar[str] = "PULSE (Menon et al. 2020): latents on the sqrt(d)-sphere of Gaussianised W."
    Params = PulseParams

    def __init__(self, params=None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._fits: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def fit(self, G: GeneratorNetwork, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-coordinate mean and std of gaussianise(w) over `fit_samples` seeded draws of z (cached per G)."""
        key = (id(G), str(device))
        if key not in self._fits:
            gen = torch.Generator().manual_seed(self.params.fit_seed)
            z = torch.randn(self.params.fit_samples, G.z_dim, generator=gen).to(device)
            c = torch.zeros(z.shape[0], G.c_dim, device=device) if G.c_dim else None
            with torch.no_grad():
                x = gaussianise(G.mapping(z, c)[:, 0].float())
            self._fits[key] = (x.mean(0), x.std(0).clamp_min(1e-8))
        return self._fits[key]

    def initial(self, G, batch_size, previous_styles):
        device = G.mapping.w_avg.device
        if previous_styles is None:
            w = G.mapping.w_avg.detach().float().reshape(1, 1, -1).repeat(batch_size, G.num_ws, 1)
        else:
            w = previous_styles.mean(dim=2) if previous_styles.dim() == 4 else previous_styles
            w = w.detach().float().to(device)
        mean, std = self.fit(G, device)
        v = on_sphere((gaussianise(w) - mean) / std)
        return v if self.params.per_layer else on_sphere(v.mean(dim=1))

    def penalty(self, latent):
        if self.params.geocross == 0 or latent.dim() != 3:
            return None
        return self.params.geocross * geocross(latent)

    def to_styles(self, latent, G):
        mean, std = self.fit(G, latent.device)
        w = fold(mean + std * on_sphere(latent))
        return w if self.params.per_layer else w.unsqueeze(1).expand(-1, G.num_ws, -1)


@hookimpl
def restorefw_latent_spaces() -> list[type[LatentSpace]]:
    return [PulseSpace]
