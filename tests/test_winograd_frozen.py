"""`WinogradConv2d` for frozen networks, and LPIPS's `convolution: winograd` loss parameter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from restorefw.degradation import ImageKey
from restorefw_plugins.iqa.losses import LpipsLoss, LpipsMultires
from restorefw_plugins.winograd import WinogradConv2d, with_winograd


def conv(in_channels: int, out_channels: int, **kwargs) -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, **kwargs).requires_grad_(False)


def test_a_wide_conv_runs_as_winograd_and_gives_the_conv_up_to_rounding():
    layer = conv(256, 256)
    x = torch.randn(1, 256, 16, 16, generator=torch.Generator().manual_seed(1), requires_grad=True)
    wrapped = WinogradConv2d(layer)
    ours, expected = wrapped(x), layer(x)
    assert not torch.equal(ours, expected)  # another algorithm ran
    assert (ours - expected).abs().max() < 2e-5 * expected.abs().max()
    probe = torch.randn_like(expected)
    grad, = torch.autograd.grad((ours * probe).sum(), x)
    want, = torch.autograd.grad((expected * probe).sum(), x)
    assert (grad - want).abs().max() < 2e-5 * want.abs().max()


@pytest.mark.parametrize("channels, side, bfloat16", [(64, 16, False), (256, 8, False), (256, 16, True)])
def test_where_winograd_does_not_pay_or_cannot_run_the_conv_itself_runs(channels, side, bfloat16):
    layer = conv(channels, channels)
    x = torch.randn(1, channels, side, side, generator=torch.Generator().manual_seed(1))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        assert torch.equal(WinogradConv2d(layer)(x), layer(x))


def test_only_stride_1_padding_1_3x3_convs_are_wrapped():
    net = nn.Sequential(conv(4, 4), nn.ReLU(), nn.Sequential(conv(4, 4, stride=2), nn.Conv2d(4, 4, 1), conv(4, 4)))
    with_winograd(net)
    assert [type(m).__name__ for m in (net[0], net[2][0], net[2][1], net[2][2])] == \
        ["WinogradConv2d", "Conv2d", "Conv2d", "WinogradConv2d"]
    with pytest.raises(ValueError, match="stride-1 3x3"):
        WinogradConv2d(conv(4, 4, groups=2))


@pytest.mark.parametrize("loss_type", [LpipsMultires, LpipsLoss])
def test_an_lpips_loss_with_winograd_gives_the_direct_loss_and_gradient(loss_type):
    gen = torch.Generator().manual_seed(2)
    target, x = torch.rand(1, 3, 64, 64, generator=gen), torch.rand(1, 3, 64, 64, generator=gen)
    mask = (torch.rand(1, 1, 64, 64, generator=gen) > 0.3).float()
    values, grads = [], []
    for convolution in ("direct", "winograd"):
        loss = loss_type(loss_type.Params(net="vgg", backbone="random", convolution=convolution))
        loss.prepare(target, mask, [ImageKey(0, "a")])
        xi = (x * mask).requires_grad_(True)
        value = loss(xi)
        values.append(value.detach())
        grads.append(torch.autograd.grad(value.sum(), xi)[0])
    winograd_layers = [m for m in loss.lpips.net.modules() if isinstance(m, WinogradConv2d)]
    assert len(winograd_layers) == 13  # every conv of VGG16
    assert torch.allclose(values[0], values[1], rtol=1e-5) and not torch.equal(grads[0], grads[1])
    assert F.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0) > 0.9999

