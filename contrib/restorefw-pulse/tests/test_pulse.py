"""restorefw-pulse: the Gaussianising fold, the sphere, composition with W+ / W++ styles."""

from __future__ import annotations

import math

import torch
from restorefw_pulse import PulseSpace, fold, gaussianise, geocross

from restorefw.build import Generators, build
from restorefw.degradation import ImageKey
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe

CONFIG = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
          "mapping_kwargs": {"num_layers": 2}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


def tiny_generator():
    registry = load_plugins().registry
    G = registry.create("generator", "stylegan2-ada", {"init": "random", "seed": 1, "config": CONFIG}).load("cpu")
    z = torch.randn(256, 16, generator=torch.Generator().manual_seed(5))
    G.mapping.w_avg.copy_(G.mapping(z, None)[:, 0].mean(0))
    return G


def test_the_fold_inverts_the_final_leaky_relu():
    w = torch.randn(1000)
    assert torch.allclose(fold(gaussianise(w)), w, atol=1e-6)
    assert torch.allclose(gaussianise(torch.tensor([-0.2, 1.0])), torch.tensor([-1.0, 1.0]))


def test_gaussianising_makes_w_less_skewed():
    G = tiny_generator()
    w = G.mapping(torch.randn(4000, 16, generator=torch.Generator().manual_seed(0)), None)[:, 0]

    def skew(t):
        t = (t - t.mean(0)) / t.std(0)
        return t.pow(3).mean(0).abs().mean()

    assert skew(gaussianise(w)) < skew(w)


def test_latents_live_on_the_sphere_of_radius_sqrt_d():
    G = tiny_generator()
    space = PulseSpace(fit_samples=500)
    latent = space.initial(G, 3, None)
    assert latent.shape == (3, G.num_ws, G.w_dim)
    assert torch.allclose(latent.norm(dim=-1), torch.full((3, G.num_ws), math.sqrt(G.w_dim)), atol=1e-4)
    styles = space.to_styles(latent * 7.0, G)  # off-sphere tensors render as their projection
    assert torch.allclose(styles, space.to_styles(latent, G), atol=1e-5)
    assert styles.shape == (3, G.num_ws, G.w_dim)


def test_gradients_are_tangent_to_the_sphere():
    G = tiny_generator()
    space = PulseSpace(fit_samples=500)
    latent = space.initial(G, 2, None).requires_grad_(True)
    G.synthesis(space.to_styles(latent, G)).square().mean().backward()
    radial = (latent.grad * latent.detach()).sum(-1)
    assert radial.abs().max() < 1e-4 * latent.grad.norm()


def test_starting_from_previous_styles_reproduces_styles_near_the_sphere():
    G = tiny_generator()
    space = PulseSpace(fit_samples=2000)
    mean, std = space.fit(G, torch.device("cpu"))
    v = torch.randn(2, G.num_ws, G.w_dim, generator=torch.Generator().manual_seed(3))
    v = v * math.sqrt(G.w_dim) / v.norm(dim=-1, keepdim=True)
    styles = fold(mean + std * v)
    assert torch.allclose(space.to_styles(space.initial(G, 2, styles), G), styles, atol=1e-4)
    wpp = styles.unsqueeze(2).repeat(1, 1, 4, 1)  # W++ styles: the mean over filter vectors
    assert torch.allclose(space.initial(G, 2, wpp), space.initial(G, 2, styles), atol=1e-5)


def test_one_shared_latent_broadcasts_to_every_style_input():
    G = tiny_generator()
    space = PulseSpace(per_layer=False, fit_samples=500)
    latent = space.initial(G, 2, None)
    assert latent.shape == (2, G.w_dim)
    styles = space.to_styles(latent, G)
    assert styles.shape == (2, G.num_ws, G.w_dim) and torch.equal(styles[:, 0], styles[:, -1])


def test_the_fit_is_deterministic_and_the_plugin_is_registered():
    G = tiny_generator()
    a = PulseSpace(fit_samples=300).fit(G, torch.device("cpu"))
    b = PulseSpace(fit_samples=300).fit(G, torch.device("cpu"))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert "pulse" in load_plugins().registry.names("latent_space")


def test_geocross_is_the_mean_squared_angle_between_layers_times_d_over_8():
    d = 16
    same = torch.randn(1, 1, d).repeat(2, 3, 1)
    assert geocross(same).abs().max() < 1e-3
    orthogonal = torch.zeros(1, 2, d)
    orthogonal[0, 0, 0], orthogonal[0, 1, 1] = 3.0, 0.5  # norms do not matter: rows are put on the sphere
    expected = (2 * (math.pi / 2) ** 2 / 4) * d / 8  # pairs (0,1) and (1,0) at π/2, the diagonal at 0
    assert math.isclose(geocross(orthogonal).item(), expected, rel_tol=1e-4)
    opposite = torch.stack([orthogonal[0, 0], -orthogonal[0, 0]]).unsqueeze(0)
    assert math.isclose(geocross(opposite).item(), (2 * math.pi ** 2 / 4) * d / 8, rel_tol=1e-4)


def test_the_geocross_weight_is_the_spaces_penalty_and_the_engine_lowers_it():
    G = tiny_generator()
    assert PulseSpace(fit_samples=500).penalty(torch.randn(2, G.num_ws, G.w_dim)) is None  # off by default
    space = PulseSpace(fit_samples=500, geocross=0.5)
    latent = torch.randn(2, G.num_ws, G.w_dim, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(space.penalty(latent), 0.5 * geocross(latent))
    assert PulseSpace(fit_samples=500, per_layer=False, geocross=0.5).penalty(latent[:, 0]) is None
    spread = {weight: layer_spread(G, weight) for weight in (0.0, 5.0)}
    assert spread[5.0] < 0.5 * spread[0.0]  # the prior draws the per-layer latents together


def layer_spread(G, weight: float) -> float:
    """Geocross of the Gaussianised per-layer latents a 15-step pulse phase ends at (prior weight `weight`),
    the prior's value in the log checked on the way."""
    registry = load_plugins().registry
    recipe = parse_recipe({
        "generator": {"type": "stylegan2-ada", "params": {"init": "random", "seed": 1, "config": CONFIG}},
        "schedule": {"phases": [{"space": "pulse", "steps": 15, "lr": 0.3,
                                 "space_params": {"fit_samples": 500, "geocross": weight}}]},
        "degradation": {"task": "denoising", "level": "M"}, "losses": [{"type": "l1"}], "device": "cpu",
        "inputs": {"path": "unused"}}, registry)
    built = build(recipe, registry, torch.device("cpu"), Generators(registry))
    keys = [ImageKey(0, "geocross")]
    z = torch.randn(1, 16, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        clean = (built.generator.synthesis(built.generator.mapping(z, None)).clamp(-1, 1) + 1) / 2
    operator = built.degradation.realize(tuple(clean.shape), keys, torch.device("cpu"))
    restoration = built.restorer.restore(operator.true(clean), operator, keys)
    log = restoration.log[0]
    assert ("1:pulse/prior" in log) == (weight > 0)
    if weight > 0:
        assert len(log["1:pulse/prior"]) == 15
        assert all(t > p for t, p in zip(log["1:pulse/total"], log["1:pulse/prior"]))  # prior + L1
    mean, std = PulseSpace(fit_samples=500).fit(built.generator, torch.device("cpu"))
    return geocross((gaussianise(restoration.styles.float()) - mean) / std).item()
