"""Generator components: the frozen image prior G that restoration inverts, and its protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from restorefw.component import Component
from restorefw.errors import PluginError

SIZES = ("z_dim", "c_dim", "w_dim", "num_ws", "img_resolution", "img_channels", "max_filters")


class GeneratorNetwork(Protocol):
    """What the engine, the latent spaces and `restorefw generate` use of a loaded generator.

    Sizes (ints): `z_dim` (≥ 1), `c_dim` (0 for an unconditional prior), `w_dim` (≥ 1), `num_ws`
    (style inputs, ≥ 1), `img_resolution` R (images are R×R), `img_channels` C (1 or 3 for the
    built-in losses and metrics), `max_filters` K (≥ 1): how many vectors a filter-wise W++ style
    has per style input (StyleGAN2: the widest layer's output filters; a filter-wise W++ latent
    space optimises `[B, num_ws, K, w_dim]`).

    `mapping(z, c)`: z float32 `[B, z_dim]`, c `[B, c_dim]` one-hot or None when `c_dim == 0`;
    returns W+ styles `[B, num_ws, w_dim]` (the engine uses row 0 as a W vector). `mapping.w_avg` is
    a float32 buffer of `w_dim` values, the mean W (where restoration starts).

    `synthesis(ws, noise_mode="const")`: ws float32 W+ `[B, num_ws, w_dim]` or W++
    `[B, num_ws, K', w_dim]` with K' ≥ K; returns float32 images `[B, C, R, R]` in [-1, 1] (not
    clamped; the engine maps them to [0, 1] by (x + 1) / 2), differentiable with respect to ws.
    `noise_mode`: "const" (fixed noise inputs: the same ws give the same image), "random" (drawn from
    torch's global generator, which the engine seeds), or "none". A prior without noise inputs
    ignores it. The network is frozen: the engine never updates its parameters.

    Optional: `render_resolutions`, the resolutions r < R at which `synthesis(ws, noise_mode,
    resolution=r)` can stop and return its coarse image upsampled to `[B, C, R, R]` (phases with
    `render_resolution` use it; StyleGAN2's skip architecture emits RGB at every block). A
    generator without it renders at R only.
    """

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    img_channels: int
    max_filters: int
    mapping: torch.nn.Module

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor: ...


class Generator(Component):
    """A generator component: `load(device)` returns a frozen `GeneratorNetwork` on `device`.

    Optional: `checkpoint_param` names the Params field that takes a checkpoint file, so that
    `restorefw generate FILE` can build this generator from a file alone; `save(network, path,
    metadata)` writes a network as a checkpoint `load` reads back (used by `restorefw train`).
    """

    kind: ClassVar[str] = "generator"
    checkpoint_param: ClassVar[str | None] = None

    def load(self, device: torch.device) -> GeneratorNetwork:
        raise NotImplementedError

    def save(self, network: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
        raise NotImplementedError(f"the generator {self.name!r} cannot write checkpoints")


def check_network(G: Any, who: str) -> None:
    """Check a loaded network against `GeneratorNetwork`, with one probe of mapping and synthesis;
    a violation is a PluginError naming `who` (the generator and its plugin) and the attribute."""
    def fail(problem: str) -> PluginError:
        return PluginError(f"{who}: load() returned a network that {problem}. The generator protocol is "
                           "restorefw.generator.GeneratorNetwork (docs/plugins.md); fix the plugin or use another "
                           "generator.")

    for size in SIZES:
        value = getattr(G, size, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if size == "c_dim" else 1):
            raise fail(f"has `{size}` = {value!r}; it must be an int ≥ {0 if size == 'c_dim' else 1}")
    w_avg = getattr(getattr(G, "mapping", None), "w_avg", None)
    if not callable(getattr(G, "mapping", None)) or not isinstance(w_avg, torch.Tensor) or w_avg.numel() != G.w_dim:
        raise fail(f"has no callable `mapping` with a `w_avg` tensor of w_dim = {G.w_dim} values")
    if not callable(getattr(G, "synthesis", None)):
        raise fail("has no callable `synthesis(ws, noise_mode)`")
    device = w_avg.device
    with torch.no_grad():
        z = torch.zeros(1, G.z_dim, device=device)
        c = torch.zeros(1, G.c_dim, device=device) if G.c_dim else None
        ws = G.mapping(z, c)
        expected = (1, G.num_ws, G.w_dim)
        if not isinstance(ws, torch.Tensor) or tuple(ws.shape) != expected:
            raise fail(f"maps z to {_shape(ws)}; mapping(z, c) must return [B, num_ws, w_dim] = {list(expected)}")
        image = G.synthesis(w_avg.float().reshape(1, 1, -1).repeat(1, G.num_ws, 1), noise_mode="const")
    image_shape = (1, G.img_channels, G.img_resolution, G.img_resolution)
    if not isinstance(image, torch.Tensor) or tuple(image.shape) != image_shape:
        raise fail(f"synthesises {_shape(image)} from W+ styles; synthesis must return [B, img_channels, "
                   f"img_resolution, img_resolution] = {list(image_shape)}")
    if not image.dtype.is_floating_point:
        raise fail(f"synthesises {image.dtype} images; they must be floating point in [-1, 1]")


def _shape(value: object) -> str:
    return str(list(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__
