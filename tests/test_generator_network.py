"""The generator network: W++ semantics and cost-free equivalence, precision, configs, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from reference_data import TINY

from restorefw.errors import RecipeError
from restorefw_plugins.stylegan2.checkpoint import DEFAULT_CONFIG, build_generator, load_generator
from restorefw_plugins.stylegan2.network import SynthesisLayer, ToRGBLayer


def _config(**changes) -> dict:
    cfg = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
           "mapping_kwargs": {"num_layers": 2},
           "synthesis_kwargs": {"channel_base": 128, "channel_max": 16, "conv_clamp": None}}
    for key, value in changes.items():
        if key in ("mapping_kwargs", "synthesis_kwargs"):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def _perturbed(G: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give noise strengths and biases non-zero values, so tests see them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(("noise_strength", "bias")) and "mapping" not in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return G


@pytest.fixture(scope="module")
def tiny():
    if not TINY.is_dir():
        pytest.skip("reference fixtures not available")
    return load_generator(TINY / "weights.safetensors")


@pytest.fixture(scope="module")
def ref():
    if not TINY.is_dir():
        pytest.skip("reference fixtures not available")
    with np.load(TINY / "reference.npz") as data:
        return {k: data[k] for k in data.files}


def test_wpp_from_repeated_wplus_renders_the_wplus_image(tiny, ref) -> None:
    ws = torch.from_numpy(ref["ws_random"])
    with torch.no_grad():
        img = tiny.synthesis(ws)
        for k in (tiny.synthesis.max_filters, 80):
            wpp = ws.unsqueeze(2).repeat(1, 1, k, 1)
            assert (tiny.synthesis(wpp) - img).abs().max() < 1e-5
        flat = ws.repeat_interleave(64, dim=1)  # the [B, num_ws*512, 512]-style layout of RUSIR
        assert flat.shape == (4, 8 * 64, 64)
        assert (tiny.synthesis(flat) - img).abs().max() < 1e-5
        with pytest.raises(ValueError, match="K >= 64"):
            tiny.synthesis(ws.unsqueeze(2).repeat(1, 1, 32, 1)[:, :, :32])
        with pytest.raises(ValueError, match="W\\+"):
            tiny.synthesis(ws[:, :7])


@pytest.mark.parametrize("kind", ["conv", "conv_up", "torgb"])
def test_wpp_vector_o_modulates_filter_o(kind: str) -> None:
    """Fused W++ equals a per-filter reference: filter o computed with the W+ path and style vector o."""
    torch.manual_seed(0)
    in_ch, out_ch, w_dim, batch = 6, 5, 8, 2
    if kind == "torgb":
        layer = ToRGBLayer(in_ch, out_ch, w_dim, conv_clamp=3.0)
        res = 8
    else:
        res = 8
        layer = SynthesisLayer(in_ch, out_ch, w_dim, res, up=2 if kind == "conv_up" else 1, conv_clamp=3.0)
        with torch.no_grad():
            layer.noise_const.normal_()
            layer.noise_strength.fill_(0.3)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_()
        if hasattr(layer, "resample_filter"):
            layer.resample_filter.add_(0.05 * torch.randn(4, 4))
    x = torch.randn(batch, in_ch, res // 2 if kind == "conv_up" else res, res // 2 if kind == "conv_up" else res)
    wpp = torch.randn(batch, out_ch + 3, w_dim)

    def call(w):
        return layer(x, w) if kind == "torgb" else layer(x, w, "const")

    with torch.no_grad():
        fused = call(wpp)
        per_filter = torch.stack([call(wpp[:, o])[:, o] for o in range(out_ch)], dim=1)
        unfused_wplus = layer(x, wpp[:, 0], fused=False) if kind == "torgb" else layer(x, wpp[:, 0], "const", fused=False)
    assert fused.shape == per_filter.shape
    assert (fused - per_filter).abs().max() < 1e-5
    assert (unfused_wplus - call(wpp[:, 0])).abs().max() < 1e-4
    assert (fused[:, 0] - call(wpp[:, 0])[:, 0]).abs().max() < 1e-5
    assert (fused[:, 1] - call(wpp[:, 0])[:, 1]).abs().max() > 1e-3


def test_wpp_gradients_reach_only_the_used_vectors() -> None:
    G = _perturbed(build_generator(_config(synthesis_kwargs={"channel_base": 256}), seed=0))
    assert G.synthesis.max_filters == 16
    K = G.synthesis.max_filters + 4
    wpp = torch.randn(2, G.num_ws, K, G.w_dim, requires_grad=True)
    G.synthesis(wpp).square().mean().backward()
    grad = wpp.grad
    assert grad[:, :, G.synthesis.max_filters:].abs().max() == 0
    assert (grad[:, :-1, :16].abs().sum(dim=-1) > 0).all()  # every conv filter's vector matters
    assert grad[:, -1, 3:].abs().max() == 0  # the last torgb uses only img_channels vectors
    assert (grad[:, -1, :3].abs().sum(dim=-1) > 0).all()


def test_float64_agrees_with_float32(tiny, ref) -> None:
    G64 = load_generator(TINY / "weights.safetensors").double()
    with torch.no_grad():
        for key, ws_key in [("img_wsrandom_const_fp32", "ws_random"), ("img_wsbig_const_fp32", "ws_big")]:
            ws = torch.from_numpy(ref[ws_key][:1])
            img32 = tiny.synthesis(ws).double()
            img64 = G64.synthesis(ws.double())
            assert img64.dtype == torch.float64
            scale = img64.abs().max()
            assert (img32 - img64).abs().max() <= 2e-5 * scale
            assert np.abs(img64.numpy() - ref[key][:1]).max() <= 2e-5 * float(scale)
        ws64 = G64.mapping(torch.from_numpy(ref["z"]).double(), None, truncation_psi=0.7)
        assert np.abs(ws64.numpy() - ref["ws_psi07"]).max() < 2e-5


def test_fused_and_unfused_wplus_agree_and_auto_choice(tiny, ref) -> None:
    ws = torch.from_numpy(ref["ws_random"])
    with torch.no_grad():
        fused = tiny.synthesis(ws)
        unfused = tiny.synthesis(ws, fused_modconv=False)
        assert torch.equal(fused, tiny.synthesis(ws, fused_modconv=True))
    assert (unfused - fused).abs().max() < 1e-4 and not torch.equal(unfused, fused)
    auto_grad = tiny.synthesis(ws.clone().requires_grad_(True))
    assert torch.equal(auto_grad.detach(), unfused)  # gradients flow: the cheaper non-fused path
    wpp = ws.unsqueeze(2).repeat(1, 1, 64, 1).requires_grad_(True)
    assert (tiny.synthesis(wpp).detach() - fused).abs().max() < 1e-5


def test_noise_modes(tiny, ref) -> None:
    ws = torch.from_numpy(ref["ws_psi1"][:1])
    with torch.no_grad():
        const = tiny.synthesis(ws, noise_mode="const")
        assert torch.equal(const, tiny.synthesis(ws))
        assert (tiny.synthesis(ws, noise_mode="none") - const).abs().max() > 0.1
        torch.manual_seed(0)
        r1 = tiny.synthesis(ws, noise_mode="random")
        r2 = tiny.synthesis(ws, noise_mode="random")
        assert (r1 - r2).abs().max() > 1e-3
    with pytest.raises(ValueError, match="noise_mode"):
        tiny.synthesis(ws, noise_mode="fixed")


def test_truncation_cutoff_only_touches_the_first_rows(tiny, ref) -> None:
    z = torch.from_numpy(ref["z"])
    with torch.no_grad():
        full = tiny.mapping(z, None)
        cut = tiny.mapping(z, None, truncation_psi=0.5, truncation_cutoff=3)
    assert torch.equal(cut[:, 3:], full[:, 3:])
    expected = tiny.mapping.w_avg + 0.5 * (full[:, :3] - tiny.mapping.w_avg)
    assert (cut[:, :3] - expected).abs().max() < 1e-5


def test_random_init_is_official_style_and_deterministic() -> None:
    a, b, c = build_generator(_config(), 0), build_generator(_config(), 0), build_generator(_config(), 1)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name
    assert not torch.equal(a.synthesis.b4.const, c.synthesis.b4.const)
    assert 60 < float(a.mapping.fc0.weight.detach().std()) < 140  # randn / lr_multiplier 0.01
    assert torch.equal(a.synthesis.b8.conv0.affine.bias, torch.ones(16))
    assert float(a.synthesis.b8.conv0.noise_strength.detach()) == 0 and a.mapping.w_avg.abs().max() == 0
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert torch.allclose(a.synthesis.b8.resample_filter, torch.outer(f, f) / 64)
    assert a(torch.randn(2, 16)).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("res, num_ws", [(4, 2), (8, 4), (32, 8), (128, 12)])
def test_num_ws_and_block_channels(res: int, num_ws: int) -> None:
    G = build_generator(_config(img_resolution=res, synthesis_kwargs={"channel_base": 256, "channel_max": 8}), 0)
    assert G.num_ws == num_ws and G.synthesis.num_ws == num_ws
    for r in G.synthesis.block_resolutions:
        assert G.synthesis.__getattr__(f"b{r}").out_channels == min(256 // r, 8)
    with torch.no_grad():
        assert G(torch.randn(1, 16)).shape == (1, 3, res, res)


def test_grayscale_conditional_and_other_architectures() -> None:
    gray = build_generator(_config(img_channels=1), 0)
    assert gray(torch.randn(2, 16)).shape == (2, 1, 16, 16)
    cond = build_generator(_config(c_dim=4), 0)
    assert "mapping.embed.weight" in cond.state_dict()
    c = torch.eye(4)[:2]
    with torch.no_grad():
        a, b = cond.mapping(torch.zeros(2, 16) + 1, c)
    assert (a - b).abs().max() > 1e-4
    with pytest.raises(ValueError, match="class-conditional"):
        cond(torch.randn(1, 16))
    for arch, names in [("orig", ["synthesis.b16.torgb.weight"]), ("resnet", ["synthesis.b8.skip.weight"])]:
        G = build_generator(_config(synthesis_kwargs={"architecture": arch}), 0)
        assert all(n in G.state_dict() for n in names)
        assert "synthesis.b8.torgb.weight" not in G.state_dict()
        assert G.num_ws == 6
        with torch.no_grad():
            img = G(torch.randn(2, 16))
        assert img.shape == (2, 3, 16, 16) and torch.isfinite(img).all()


def test_conv_clamp_limits_every_layer_output() -> None:
    G = build_generator(_config(synthesis_kwargs={"conv_clamp": 0.5}), 0)
    with torch.no_grad():
        img = G.synthesis(1000 * torch.randn(1, G.num_ws, 16))
    # three torgb outputs, each clamped to 0.5, summed after 2x FIR upsampling with gain 4 x filter sum 1
    assert img.abs().max() <= 0.5 * 3 + 1e-4


def test_registry_random_init_and_params(tmp_path: Path, tiny) -> None:
    from restorefw.plugins import load_plugins

    registry = load_plugins().registry
    component = registry.create("generator", "stylegan2-ada", {"init": "random", "seed": 3})
    G = component.load(torch.device("cpu"))
    assert G.config == DEFAULT_CONFIG and G.num_ws == 8
    assert not G.training and not any(p.requires_grad for p in G.parameters())
    assert G.synthesis(torch.zeros(1, G.num_ws, G.w_dim)).shape == (1, 3, 32, 32)
    custom = registry.create("generator", "stylegan2-ada", {"init": "random", "config": _config(img_channels=1)})
    assert custom.load("cpu").img_channels == 1
    with pytest.raises(RecipeError, match="checkpoint"):
        registry.create("generator", "stylegan2-ada", {}, path="generator")
    with pytest.raises(RecipeError, match="backbone"):
        registry.create("generator", "stylegan2-ada", {"init": "random", "backbone": "x"}, path="generator")
    G2 = registry.create("generator", "stylegan2-ada", {"checkpoint": str(TINY / "generator.pkl")}).load("cpu")
    assert G2.num_ws == 8 and not G2.training


def test_cached_weight_constants_follow_weight_changes_and_training() -> None:
    """A frozen layer caches what it derives from its weights (demodulation sums, transposed up-conv weight,
    noise + bias); new weights copied in place must be seen, and a training layer must get weight gradients."""
    cfg = _config()
    a, b = _perturbed(build_generator(cfg, seed=1)), _perturbed(build_generator(cfg, seed=2), seed=3)
    a.eval().requires_grad_(False)
    b.eval().requires_grad_(False)
    ws = torch.randn(2, a.num_ws, a.w_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = a.synthesis(ws)
        a.load_state_dict(b.state_dict())
        after = a.synthesis(ws)
    assert not torch.allclose(before, after)
    assert torch.equal(after, b.synthesis(ws))
    a.requires_grad_(True)
    for noise_mode in ("const", "none"):
        a.zero_grad()
        a.synthesis(ws, noise_mode=noise_mode).square().mean().backward()
        layer = a.synthesis.b8.conv0
        assert layer.weight.grad.abs().sum() > 0 and layer.bias.grad.abs().sum() > 0
        assert noise_mode != "const" or layer.noise_strength.grad.abs() > 0
