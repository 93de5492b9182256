"""LPIPS v0.1 (the lpips package's network definitions) with weights loaded under our control.

The backbone is always constructed without pretrained weights (so torchvision never downloads);
ImageNet weights are then loaded from the file `weights.find` locates, or, only when asked
explicitly (`backbone="random"`), the backbone keeps a seeded random initialisation.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from restorefw_plugins.iqa import weights
from restorefw_plugins.winograd import with_winograd

Net = Literal["vgg", "alex"]
Backbone = Literal["pretrained", "random"]
BACKBONE_KEYS = {"vgg": "vgg16", "alex": "alexnet"}
HEAD_KEYS = {"vgg": "lpips-vgg-head", "alex": "lpips-alex-head"}


def _construct(net: Net, seed: int) -> nn.Module:
    """An lpips.LPIPS module with a seeded random backbone (He-normal convs, zero biases).

    It is built on the meta device so that torchvision's unused classifier is never initialised
    (that alone took ~3 s for VGG16) and nothing can be downloaded."""
    import lpips

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.device("meta"):
        warnings.simplefilter("ignore")
        module = lpips.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False)
    module.to_empty(device="cpu")
    module.scaling_layer = lpips.ScalingLayer()
    gen = torch.Generator().manual_seed(int(seed))
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
            with torch.no_grad():
                conv.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=gen)
                if conv.bias is not None:
                    conv.bias.zero_()
    return module


def _load_backbone(module: nn.Module, path) -> None:
    """Copy torchvision `features.N.*` tensors into lpips' `sliceK.N.*` layout."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    mapped = {}
    for name in module.net.state_dict():
        source = "features." + name.split(".", 1)[1]
        if source not in state:
            raise weights.MissingWeightsError(f"{path}: key {source} not found; this is not a torchvision "
                                              f"{BACKBONE_KEYS[module.pnet_type]} checkpoint.")
        mapped[name] = state[source]
    module.net.load_state_dict(mapped, strict=True)


def _load_heads(module: nn.Module, path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    wanted = [f"lin{k}.model.1.weight" for k in range(len(module.lins))]
    missing = [k for k in wanted if k not in state]
    if missing:
        raise weights.MissingWeightsError(f"{path}: not an LPIPS v0.1 head file (missing {missing[0]}).")
    module.load_state_dict({k: state[k] for k in wanted}, strict=False)


def build_lpips(net: Net = "vgg", backbone: Backbone = "pretrained", weights_path: str | None = None,
                seed: int = 0) -> nn.Module:
    """An `lpips.LPIPS` v0.1 module in eval mode with frozen parameters.

    `backbone="pretrained"` loads the ImageNet backbone (MissingWeightsError naming the file when
    absent); `"random"` keeps the seeded random backbone. The linear heads always come from the
    lpips package's v0.1 files."""
    module = _construct(net, seed)
    if backbone == "pretrained":
        _load_backbone(module, weights.find(BACKBONE_KEYS[net], weights_path))
    elif backbone != "random":
        raise ValueError(f"backbone must be 'pretrained' or 'random', not {backbone!r}")
    _load_heads(module, weights.find(HEAD_KEYS[net]))
    module.eval().requires_grad_(False)
    return module


class LPIPSFeatures(nn.Module):
    """LPIPS split in two: unit-normalised features per image, and the head-weighted distance.

    Splitting lets a loss compute the target's features once and reuse them every step. With
    `convolution="winograd"` the backbone's wide 3x3 convs run as Winograd where it pays (`WinogradConv2d`)."""

    def __init__(self, module: nn.Module, convolution: str = "direct") -> None:
        super().__init__()
        if convolution not in ("direct", "winograd"):
            raise ValueError(f"convolution must be 'direct' or 'winograd', not {convolution!r}")
        self.net = with_winograd(module.net) if convolution == "winograd" else module.net
        shift = module.scaling_layer.shift.detach().clone()
        scale = module.scaling_layer.scale.detach().clone()
        # [0,1] → [-1,1] → (z − shift)/scale folded into one affine map x·a + b
        self.register_buffer("gain", 2.0 / scale)
        self.register_buffer("bias", (-1.0 - shift) / scale)
        heads = [next(m for m in lin.modules() if isinstance(m, nn.Conv2d)).weight.detach().flatten()
                 for lin in module.lins]
        for k, w in enumerate(heads):
            self.register_buffer(f"head{k}", w.clone())
        self.levels = len(heads)
        self.requires_grad_(False)

    def heads(self) -> list[torch.Tensor]:
        return [getattr(self, f"head{k}") for k in range(self.levels)]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) backbone activations of images `[B,3,h,w]` in [0,1]."""
        out = self.net(x * self.gain + self.bias)
        return [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in out]

    def distance(self, fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        """LPIPS per image `[B]` between two feature lists (spatial average of head-weighted squares)."""
        total = None
        for a, b, w in zip(fx, fy, self.heads()):
            term = (a - b).pow(2).mean((2, 3)) @ w
            total = term if total is None else total + term
        return total

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.distance(self.features(x), self.features(y))


def area_resize(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a mask to `size` with area averaging (identity when already that size)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=size, mode="area")
