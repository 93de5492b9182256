"""iqa losses: finiteness, differentiability, zero at x == y, per-image independence, RUSIR pyramid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from restorefw.errors import MissingWeightsError, UserError
from restorefw.plugins import load_plugins
from restorefw_plugins.iqa import weights
from restorefw_plugins.iqa.losses import LpipsMultires, hole_noise
from restorefw_plugins.iqa.piq_losses import MEASURES


@pytest.fixture(scope="module")
def registry():
    return load_plugins().registry


def smooth_images(b: int, side: int, seed: int) -> torch.Tensor:
    """Natural-ish images: bicubic upsampled low-res noise, in [0,1]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, 3, max(side // 8, 2), max(side // 8, 2), generator=g)
    return F.interpolate(low, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1)


def perturbed(y: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (y + 0.08 * torch.randn(y.shape, generator=g)).clamp(0, 1)


def stroke_mask(b: int, side: int) -> torch.Tensor:
    m = torch.ones(b, 1, side, side)
    m[:, :, side // 4: side // 2, side // 5: side - side // 5] = 0
    return m


LOSS_NAMES = ["lpips-multires", "lpips", "l1", "l2", "consistency", "ms-ssim", "gradient"] + \
             [m.name for m in MEASURES if m.min_side <= 64]


def make(registry, name: str, **extra):
    params = {"backbone": "random", "seed": 3} if name.startswith("lpips") else {}
    params.update(extra)
    return registry.create("loss", name, params)


def test_every_expected_loss_is_registered(registry):
    names = set(registry.names("loss"))
    assert set(LOSS_NAMES) | {"iw-ssim"} <= names


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("masked", [False, True])
def test_loss_contract(registry, name, masked):
    side = 64
    loss = make(registry, name)
    y = smooth_images(2, side, seed=1)
    mask = stroke_mask(2, side) if masked else None
    if mask is not None:
        y = y * mask
    loss.prepare(y, mask)
    x = perturbed(y, seed=2)
    if mask is not None:
        x = x * mask
    x.requires_grad_(True)
    value = loss(x)
    assert value.shape == (2,)
    assert torch.isfinite(value).all()
    assert (value > 1e-4).all(), f"{name}: not positive for different images: {value}"
    value.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    same = loss(y.clone())
    assert same.abs().max() < 1e-4, f"{name}: not ~0 at x == y: {same}"
    # per-image independence: a batch of two equals two batches of one
    singles = []
    for i in range(2):
        loss.prepare(y[i:i + 1], mask[i:i + 1] if mask is not None else None)
        singles.append(loss(x[i:i + 1].detach()))
    loss.prepare(y, mask)
    torch.testing.assert_close(loss(x.detach()), torch.cat(singles), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("side,expected", [(32, 1), (64, 2), (128, 3), (256, 4), (1024, 6), (16, 0)])
def test_lpips_multires_level_count(registry, side, expected):
    loss = make(registry, "lpips-multires")
    assert loss.level_count(side) == expected


@pytest.mark.parametrize("side,expected", [(32, 1), (64, 2)])
def test_lpips_multires_prepares_that_many_levels(registry, side, expected):
    loss = make(registry, "lpips-multires")
    loss.prepare(smooth_images(1, side, 0), None)
    assert len(loss.levels) == expected
    assert loss.coarsest.shape[-1] == 16


def test_lpips_multires_matches_lpips_package_pyramid(registry):
    """Σ LPIPS(package) over the pyramid + 0.1·L1 at 16², with hole noise on both sides."""
    loss = make(registry, "lpips-multires")
    reference = loss.lpips  # same weights in the lpips package module below
    import lpips

    package = lpips.LPIPS(pretrained=False, net="vgg", pnet_rand=True, verbose=False).eval()
    package.load_state_dict(_lpips_state_from(reference, package))
    y = smooth_images(1, 64, 5)
    mask = stroke_mask(1, 64)
    x = perturbed(y, 6) * mask
    y = y * mask
    loss.prepare(y, mask)
    got = loss(x)
    expected = 0.0
    m = mask
    for level in range(2):
        if level:
            x, y, m = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2), F.avg_pool2d(m, 2)
        fill = hole_noise(y.shape[1:], 3, [""], f"lpips-hole-noise-{level}", y.device) * (1 - m)
        expected = expected + package(x + fill, y + fill, normalize=True).flatten()
    x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    expected = expected + 0.1 * (x - y).abs().mean()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def _lpips_state_from(features, package):
    """State dict for an lpips.LPIPS module taken from our LPIPSFeatures (backbone + heads)."""
    state = package.state_dict()
    for key in state:
        if key.startswith("net."):
            state[key] = features.net.state_dict()[key[4:]]
    for k, w in enumerate(features.heads()):
        for prefix in (f"lin{k}", f"lins.{k}"):
            state[f"{prefix}.model.1.weight"] = w.view_as(state[f"{prefix}.model.1.weight"])
    return state


def test_random_backbone_is_marked_and_seeded(registry):
    a = make(registry, "lpips-multires", seed=11)
    b = make(registry, "lpips-multires", seed=11)
    c = make(registry, "lpips-multires", seed=12)
    assert a.uses_random_backbone is True
    wa, wb, wc = (next(loss.lpips.net.parameters()) for loss in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_missing_backbone_error_names_file_and_directory(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(weights.ENV_WEIGHTS_DIR, raising=False)
    with pytest.raises(MissingWeightsError) as info:
        registry.create("loss", "lpips-multires", {"net": "vgg"})
    text = str(info.value)
    assert "vgg16-397923af.pth" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in text
    assert "553433881" in text and "397923af8e79" in text
    with pytest.raises(MissingWeightsError, match="alexnet-owt-7be5be79.pth"):
        registry.create("loss", "lpips", {"net": "alex"})


def test_piq_loss_refuses_too_small_targets(registry):
    loss = registry.create("loss", "iw-ssim", {})
    with pytest.raises(UserError, match="161"):
        loss.prepare(torch.rand(1, 3, 64, 64), None)


def test_ms_ssim_scales_adapt_to_small_targets(registry):
    loss = registry.create("loss", "ms-ssim", {})
    for side, window, scales in [(32, 7, 3), (64, 11, 3), (256, 11, 5), (16, 5, 2)]:
        loss.prepare(smooth_images(1, side, 0), None)
        assert (loss.msssim.window, loss.msssim.scales) == (window, scales), side
        assert side / 2 ** (scales - 1) >= window


def test_consistency_ignores_holes(registry):
    loss = registry.create("loss", "consistency", {})
    y = smooth_images(1, 32, 0)
    mask = stroke_mask(1, 32)
    loss.prepare(y, mask)
    x = y + (1 - mask) * 0.7  # differs only in the holes
    assert loss(x).abs().max() < 1e-7
    x = y + 0.1
    torch.testing.assert_close(loss(x), torch.tensor([0.01]))


def test_lpips_multires_params_reject_unknown_keys(registry):
    from restorefw.errors import RecipeError

    with pytest.raises(RecipeError, match="level_weight"):
        registry.create("loss", "lpips-multires", {"backbone": "random", "level_weight": [1.0]})
    assert LpipsMultires.Params().level_weights == [1.0] * 6


def test_explicit_torchvision_backbone_file_is_loaded(registry, tmp_path):
    """A torchvision-format checkpoint (features.N.*) given as weights_path is mapped into lpips' slices."""
    donor = make(registry, "lpips", seed=21).lpips.net
    state = {"features." + k.split(".", 1)[1]: v for k, v in donor.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)  # extra torchvision keys are ignored
    path = tmp_path / "vgg16-custom.pth"
    torch.save(state, path)
    loss = registry.create("loss", "lpips", {"weights_path": str(path)})
    assert loss.uses_random_backbone is False
    for a, b in zip(loss.lpips.net.state_dict().values(), donor.state_dict().values()):
        assert torch.equal(a, b)
