"""restorefw-pulse: the Gaussianising fold, the sphere, composition with W+ / W++ styles."""

from __future__ import annotations

import math

import torch
from restorefw_pulse import PulseSpace, fold, gaussianise

from restorefw.plugins import load_plugins

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
