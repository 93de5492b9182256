"""A tiny, self-contained network with the generator protocol, for checking latent spaces and the kit itself."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class ToyMapping(torch.nn.Module):
    """z → w through two leaky-ReLU layers (slope 0.2, gain sqrt(2), as StyleGAN2's mapping ends), broadcast."""

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.num_ws = num_ws
        self.fc0 = torch.nn.Parameter(torch.randn(w_dim, z_dim, generator=gen) / math.sqrt(z_dim))
        self.fc1 = torch.nn.Parameter(torch.randn(w_dim, w_dim, generator=gen) / math.sqrt(w_dim))
        self.w_avg: torch.Tensor
        self.register_buffer("w_avg", torch.zeros(w_dim))
        with torch.no_grad():
            self.w_avg.copy_(self(torch.randn(512, z_dim, generator=gen))[:, 0].mean(0))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0) -> torch.Tensor:
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for weight in (self.fc0, self.fc1):
            x = F.leaky_relu(x @ weight.T, 0.2) * math.sqrt(2)
        w = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return self.w_avg.lerp(w, truncation_psi) if truncation_psi != 1 else w


class ToySynthesis(torch.nn.Module):
    """Styles → image: style input l modulates `filters` feature maps; W++ vector o modulates filter o only."""

    def __init__(self, w_dim: int, num_ws: int, filters: int, channels: int, resolution: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed + 1)
        self.max_filters = filters
        self.affine = torch.nn.Parameter(torch.randn(num_ws, filters, w_dim, generator=gen) / math.sqrt(w_dim))
        self.basis = torch.nn.Parameter(torch.randn(num_ws, filters, channels * resolution * resolution,
                                                    generator=gen) / math.sqrt(filters * num_ws))
        self.shape = (channels, resolution, resolution)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        if ws.dim() == 3:
            styles = torch.einsum("lfw,blw->blf", self.affine, ws)
        elif ws.dim() == 4 and ws.shape[2] >= self.max_filters:
            styles = torch.einsum("lfw,blfw->blf", self.affine, ws[:, :, :self.max_filters])
        else:
            raise ValueError(f"styles must be [B,num_ws,w_dim] or [B,num_ws,K>={self.max_filters},w_dim]; "
                             f"got {tuple(ws.shape)}")
        image = torch.einsum("blf,lfp->bp", styles, self.basis)
        return torch.tanh(image).reshape(ws.shape[0], *self.shape)


class ToyGenerator(torch.nn.Module):
    """A frozen toy prior with the attributes of `restorefw.generator.GeneratorNetwork`."""

    def __init__(self, z_dim: int = 16, w_dim: int = 16, num_ws: int = 4, filters: int = 8,
                 channels: int = 3, resolution: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, 0, w_dim, num_ws
        self.img_resolution, self.img_channels, self.max_filters = resolution, channels, filters
        self.mapping = ToyMapping(z_dim, w_dim, num_ws, seed)
        self.synthesis = ToySynthesis(w_dim, num_ws, filters, channels, resolution, seed)
        self.requires_grad_(False).eval()
