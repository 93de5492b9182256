"""A residual StyleGAN2-style discriminator with equalised learning rate and minibatch std.

Our own layout, matched to the generator's resolution and channel formula
(channels of block r = min(channel_base // r, channel_max)). Downsampling is a 2×2 average pool
followed by a 3×3 convolution at the lower resolution (cheap on CPU).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)
SQRT_HALF = math.sqrt(0.5)


class EqConv(nn.Module):
    """Conv with weights stored as N(0,1) and scaled by 1/sqrt(fan_in) at run time."""

    def __init__(self, cin: int, cout: int, k: int, bias: bool = True, act: bool = True,
                 down: bool = False, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = 1.0 / math.sqrt(cin * k * k)
        self.act, self.down, self.gain, self.pad = act, down, gain, k // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)
        if self.act:
            x = F.leaky_relu(x, 0.2)
            return x * (SQRT2 * self.gain)
        return x * self.gain if self.gain != 1 else x


class EqLinear(nn.Module):
    """Fully connected layer with equalised learning rate."""

    def __init__(self, cin: int, cout: int, act: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale, self.act = 1.0 / math.sqrt(cin), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.act else x


class DBlock(nn.Module):
    """Two 3×3 convs (the second one downsampling) plus a 1×1 residual skip, both scaled by √½."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv0 = EqConv(cin, cin, 3)
        self.conv1 = EqConv(cin, cout, 3, down=True, gain=SQRT_HALF)
        self.skip = EqConv(cin, cout, 1, bias=False, act=False, down=True, gain=SQRT_HALF)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.conv1(self.conv0(x))


def minibatch_std(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one feature map: the mean over features of the std over each group of consecutive samples."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.reshape(n // g, g, c, h, w)
    y = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1).add(1e-8).sqrt()
    y = y.mean(dim=(1, 2, 3)).reshape(n // g, 1, 1, 1, 1).expand(n // g, g, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """Residual discriminator: fromRGB, blocks down to 4×4, minibatch std, conv, fc, logit."""

    def __init__(self, img_resolution: int, img_channels: int = 3, channel_base: int = 4096,
                 channel_max: int = 128, mbstd_group: int = 4) -> None:
        super().__init__()
        self.img_resolution, self.img_channels, self.mbstd_group = img_resolution, img_channels, mbstd_group
        log2 = int(math.log2(img_resolution))
        ch = {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}
        self.fromrgb = EqConv(img_channels, ch[img_resolution], 1)
        self.blocks = nn.ModuleList(DBlock(ch[2 ** i], ch[2 ** (i - 1)]) for i in range(log2, 2, -1))
        c4 = ch[4]
        self.conv = EqConv(c4 + 1, c4, 3)
        self.fc = EqLinear(c4 * 16, c4)
        self.out = EqLinear(c4, 1, act=False)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.fromrgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.conv(minibatch_std(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1))).squeeze(1)
