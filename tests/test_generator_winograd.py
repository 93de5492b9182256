"""The Winograd F(4x4, 3x3) convolution and the generator's `convolution: winograd` option."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_generator import tiny_config

from restorefw.errors import RecipeError
from restorefw_plugins import winograd
from restorefw_plugins.stylegan2.checkpoint import build_generator
from restorefw_plugins.winograd import winograd_conv2d, winograd_weight, worth_it


@pytest.mark.parametrize("size", [(8, 8), (10, 7), (4, 13), (1, 1)])
def test_equals_the_direct_convolution_in_float64(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, *size, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 5, 3, 3, generator=gen, dtype=torch.float64)
    expected = F.conv2d(x, weight, padding=1)
    assert torch.allclose(winograd_conv2d(x, winograd_weight(weight)), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [(8, 8), (10, 7), (1, 1)])
def test_input_gradient_equals_the_direct_convolutions_in_float64(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(2, 5, *size, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(6, 5, 3, 3, generator=gen, dtype=torch.float64)
    probe = torch.randn(2, 6, *size, generator=gen, dtype=torch.float64)
    ours, = torch.autograd.grad((winograd_conv2d(x, winograd_weight(weight)) * probe).sum(), x)
    expected, = torch.autograd.grad((F.conv2d(x, weight, padding=1) * probe).sum(), x)
    assert torch.allclose(ours, expected, rtol=0, atol=1e-12)


def test_float32_error_is_float_rounding() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 64, 16, 16, generator=gen)
    weight = torch.randn(32, 64, 3, 3, generator=gen) / 24
    expected = F.conv2d(x.double(), weight.double(), padding=1)
    error = (winograd_conv2d(x, winograd_weight(weight)).double() - expected).abs().max() / expected.abs().max()
    assert 0 < error < 2e-5  # float32 rounding of the transforms; a wrong tap would be O(1)


def test_per_image_filters_and_gradients_match_the_direct_convolution() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 4, 9, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(5, 4, 3, 3, generator=gen, dtype=torch.float64)
    coef = torch.rand(3, 5, 4, generator=gen, dtype=torch.float64).requires_grad_(True)
    ours = winograd_conv2d(x, winograd_weight(weight), coef)
    direct = torch.cat([F.conv2d(x[b:b + 1], weight * coef[b, :, :, None, None], padding=1) for b in range(3)])
    assert torch.allclose(ours, direct, atol=1e-12)
    probe = torch.randn(direct.shape, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad((ours * probe).sum(), [x, coef])
    expected = torch.autograd.grad((direct * probe).sum(), [x, coef])
    for g, e in zip(grads, expected):
        assert torch.allclose(g, e, atol=1e-10)


@pytest.mark.parametrize("per_output", [True, False])
def test_per_image_coefficients_give_the_weight_its_gradient_too(per_output: bool) -> None:
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(2, 4, 6, 5, generator=gen, dtype=torch.float64)
    weight = torch.randn(3, 4, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    coef = torch.rand(2, 3 if per_output else 1, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    ours = winograd_conv2d(x, winograd_weight(weight), coef)
    direct = torch.cat([F.conv2d(x[b:b + 1], weight * coef[b, :, :, None, None], padding=1) for b in range(2)])
    probe = torch.randn(direct.shape, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad((ours * probe).sum(), [weight, coef])
    expected = torch.autograd.grad((direct * probe).sum(), [weight, coef])
    for g, e in zip(grads, expected):
        assert g.shape == e.shape and torch.allclose(g, e, atol=1e-10)


def test_rejects_filters_that_are_not_3x3_and_channel_mismatches() -> None:
    with pytest.raises(ValueError, match="3x3"):
        winograd_weight(torch.zeros(2, 2, 1, 1))
    with pytest.raises(ValueError, match="input channels"):
        winograd_conv2d(torch.zeros(1, 3, 4, 4), winograd_weight(torch.zeros(2, 4, 3, 3)))


def test_worth_it_only_for_wide_layers_at_16_pixels_or_more() -> None:
    assert worth_it(512, 512, 64, 64) and worth_it(256, 256, 16, 16)
    assert not worth_it(128, 128, 256, 256)  # the transforms' memory passes cost more than they save
    assert not worth_it(512, 512, 8, 8)


@pytest.fixture
def every_layer_winograd(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Make every stride-1 3x3 layer of the tiny generator eligible, and record the calls."""
    monkeypatch.setattr(winograd, "MIN_CHANNEL_PRODUCT", 1)
    monkeypatch.setattr(winograd, "MIN_SIDE", 1)
    calls: list[tuple] = []
    original = winograd.winograd_conv2d

    def recording(x: torch.Tensor, u: torch.Tensor, coef: torch.Tensor | None = None) -> torch.Tensor:
        calls.append((tuple(x.shape), 3 if coef is None else 4))  # filters shared, or per image
        return original(x, u, coef)

    monkeypatch.setattr("restorefw_plugins.stylegan2.modconv.winograd_conv2d", recording)
    return calls


@pytest.mark.parametrize("space", ["w+", "w++"])
def test_generator_renders_and_differentiates_the_same(space: str, every_layer_winograd: list[tuple]) -> None:
    G = build_generator(tiny_config(), seed=3).double().eval().requires_grad_(False)
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    if space == "w++":
        ws = ws.unsqueeze(2).repeat(1, 1, G.max_filters, 1) + 0.01 * torch.randn(
            *ws.shape[:2], G.max_filters, ws.shape[-1], generator=torch.Generator().manual_seed(5), dtype=ws.dtype)
    ws.requires_grad_(True)
    results = []
    for kind in ("direct", "winograd"):
        G.synthesis.set_convolution(kind)
        img = G.synthesis(ws)
        results.append((img, torch.autograd.grad(img.square().sum(), ws)[0]))
    (img, grad), (img_w, grad_w) = results
    blocks = len(G.synthesis.block_resolutions)
    assert len(every_layer_winograd) == blocks  # each block's conv1, never the upsampling conv0
    assert all(ndim == (4 if space == "w++" else 3) for _, ndim in every_layer_winograd)
    assert torch.allclose(img_w, img, atol=1e-10) and torch.allclose(grad_w, grad, atol=1e-9)


def test_autocast_keeps_the_direct_convolution(every_layer_winograd: list[tuple]) -> None:
    G = build_generator(tiny_config(), seed=3).eval().requires_grad_(False)
    G.synthesis.set_convolution("winograd")
    ws = G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(6)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        G.synthesis(ws)
    assert every_layer_winograd == []
    G.synthesis(ws)
    assert len(every_layer_winograd) == len(G.synthesis.block_resolutions)


def test_recipe_param_selects_it_and_names_the_choices() -> None:
    from restorefw.plugins import load_plugins

    registry = load_plugins().registry
    params = {"init": "random", "seed": 0, "config": tiny_config()}
    G = registry.create("generator", "stylegan2-ada", {**params, "convolution": "winograd"}).load()
    kinds = {m.convolution for m in G.synthesis.modules() if hasattr(m, "convolution")}
    assert kinds == {"winograd"}
    default = registry.create("generator", "stylegan2-ada", params).load()
    assert {m.convolution for m in default.synthesis.modules() if hasattr(m, "convolution")} == {"direct"}
    with pytest.raises((RecipeError, ValueError), match="direct.*winograd|winograd.*direct"):
        registry.create("generator", "stylegan2-ada", {**params, "convolution": "fft"})
    with pytest.raises(ValueError, match="unsupported convolution 'fft'"):
        G.synthesis.set_convolution("fft")

