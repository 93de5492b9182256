"""iqa paired metrics against independent implementations (scikit-image, the lpips package)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restorefw.plugins import load_plugins


@pytest.fixture(scope="module")
def registry():
    return load_plugins().registry


def images(seed: int, b: int = 3, side: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ref = F.interpolate(torch.rand(b, 3, side // 6, side // 6, generator=g), size=(side, side), mode="bicubic",
                        align_corners=False).clamp(0, 1)
    noise = torch.linspace(0.02, 0.2, b).view(b, 1, 1, 1)
    pred = (ref + noise * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    # 8-bit values, as image files would hold
    return pred.mul(255).round().div(255), ref.mul(255).round().div(255)


def hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).double().numpy()


def test_directions(registry):
    assert registry.get("metric", "psnr").lower_is_better is False
    assert registry.get("metric", "ssim").lower_is_better is False
    assert registry.get("metric", "ms-ssim").lower_is_better is False
    assert registry.get("metric", "is").lower_is_better is False
    for name in ("lpips", "lpips-vgg", "fid", "kid", "pfid"):
        assert registry.get("metric", name).lower_is_better is True
    for name in ("fid", "kid", "is", "pfid"):
        assert registry.get("metric", name).is_set_metric is True


def test_psnr_matches_scikit_image(registry):
    pred, ref = images(0)
    ours = registry.create("metric", "psnr").paired(pred, ref)
    theirs = [peak_signal_noise_ratio(hwc(r), hwc(p), data_range=1.0) for p, r in zip(pred, ref)]
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5)
    assert registry.create("metric", "psnr").paired(ref, ref).tolist() == [100.0] * 3


@pytest.mark.parametrize("side", [48, 96])
def test_ssim_matches_scikit_image(registry, side):
    pred, ref = images(1, side=side)
    ours = registry.create("metric", "ssim").paired(pred, ref)
    theirs = [structural_similarity(hwc(r), hwc(p), data_range=1.0, channel_axis=2, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False) for p, r in zip(pred, ref)]
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-6)
    assert ours[0] > ours[-1]  # more noise, lower SSIM


def test_ms_ssim_metric_orders_by_noise(registry):
    pred, ref = images(2, side=64)
    value = registry.create("metric", "ms-ssim").paired(pred, ref)
    assert (value[:-1] > value[1:]).all() and (value <= 1).all()
    torch.testing.assert_close(registry.create("metric", "ms-ssim").paired(ref, ref), torch.ones(3))


@pytest.mark.parametrize("name,net", [("lpips", "alex"), ("lpips-vgg", "vgg")])
def test_lpips_matches_lpips_package(registry, name, net):
    """Same random backbone and the package's own v0.1 heads loaded into both implementations."""
    import lpips

    metric = registry.create("metric", name, {"backbone": "random", "seed": 7})
    assert metric.uses_random_backbone
    package = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    package.net.load_state_dict(metric.model.net.state_dict())  # heads: the package loads its own files
    pred, ref = images(3, side=64)
    ours = metric.paired(pred, ref)
    theirs = package(pred, ref, normalize=True).flatten().detach()
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    assert ours.shape == (3,) and (ours > 0).all()
