"""Conformance of generator components: the loaded network's protocol, frozen weights, batching, seeding."""

from __future__ import annotations

from typing import Any

import torch

from restorefw.errors import PluginError
from restorefw.generator import Generator
from restorefw.generator import check_network as protocol_check
from restorefw.testing import samples as S
from restorefw.testing.common import check_common
from restorefw.testing.rules import Checker, Report, run_check


def check_generator(cls: type[Generator], **params: Any) -> Report:
    """Run a generator class through every rule of the generator contract; raises ConformanceError."""
    return run_check("generator", cls, lambda checker: _check(checker, cls, params))


def check_network(checker: Checker, G: Any) -> None:
    """The protocol rules of a loaded network (also used by `check_latent_space` on the generator it gets)."""
    try:
        protocol_check(G, "the generator")
    except PluginError as exc:
        checker.fail("generator.load", str(exc).split(". The generator protocol")[0])
    checker.report.passed.append("generator.load")


def _check(checker: Checker, cls: type[Generator], params: dict[str, Any]) -> None:
    component = check_common(checker, "generator", cls, Generator, params)
    with checker.rule("generator.load"):
        G = component.load(torch.device("cpu"))
    check_network(checker, G)
    trainable = [n for n, p in getattr(G, "named_parameters", list)() if p.requires_grad]
    checker.require(not trainable, "generator.frozen", f"parameters requiring grad: {', '.join(trainable[:3])}")
    checker.report.passed.append("generator.frozen")
    z = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(S.SEED))
    c = torch.zeros(3, G.c_dim) if G.c_dim else None
    with checker.rule("generator.mapping"):
        ws = G.mapping(z, c)
    expected = (3, G.num_ws, G.w_dim)
    checker.require(tuple(ws.shape) == expected, "generator.mapping", f"mapping(z, c) returned shape "
                                                                      f"{list(ws.shape)}, expected {list(expected)}")
    ws = ws.detach().clone().requires_grad_(True)
    with checker.rule("generator.synthesis"):
        images = G.synthesis(ws, noise_mode="const")
    shape = (3, G.img_channels, G.img_resolution, G.img_resolution)
    checker.require(tuple(images.shape) == shape and images.is_floating_point(), "generator.synthesis",
                    f"synthesis returned {list(images.shape)} {images.dtype}, expected {list(shape)} floats")
    checker.require(bool(torch.isfinite(images).all()), "generator.synthesis", "the images are not finite")
    with checker.rule("generator.synthesis"):
        images.square().mean().backward()
    checker.require(ws.grad is not None and bool(torch.isfinite(ws.grad).all()), "generator.synthesis",
                    "no finite gradient reached ws")
    with torch.no_grad(), checker.rule("generator.synthesis"):
        wpp = G.synthesis(ws.detach().unsqueeze(2).repeat(1, 1, G.max_filters, 1), noise_mode="const")
    checker.require(tuple(wpp.shape) == shape, "generator.synthesis",
                    f"W++ styles [3, num_ws, max_filters={G.max_filters}, w_dim] rendered {list(wpp.shape)}")
    with torch.no_grad(), checker.rule("generator.batch-independence"):
        alone = torch.cat([G.synthesis(ws[i:i + 1].detach(), noise_mode="const") for i in range(3)])
    checker.require(S.close(images, alone, rtol=1e-4, atol=1e-4), "generator.batch-independence",
                    f"max difference {(images - alone).abs().max().item():.3g}")
    with torch.no_grad(), checker.rule("generator.determinism"):
        twin = cls(cls.Params.model_validate(params)).load(torch.device("cpu"))
        again = twin.synthesis(ws.detach(), noise_mode="const")
    checker.require(S.close(images, again, rtol=1e-4, atol=1e-5), "generator.determinism",
                    "a second load rendered different images from the same styles")
    _check_render_resolutions(checker, G, ws.detach(), images.detach())
    for device in S.devices()[1:]:
        with torch.no_grad(), checker.rule("device.move"):
            moved = component.load(device).synthesis(ws.detach().to(device), noise_mode="const")
        checker.require(S.close(moved, images, rtol=1e-3, atol=1e-3), "device.move",
                        f"on {device} the images differ from the CPU's")
    checker.report.passed.append("device.move")


def _check_render_resolutions(checker: Checker, G: Any, ws: torch.Tensor, images: torch.Tensor) -> None:
    """Each listed coarse resolution renders the full-size shape; the full one renders the image itself."""
    offered = getattr(G, "render_resolutions", None)
    if offered is not None:
        listed = list(offered)
        checker.require(all(isinstance(r, int) and 4 <= r <= G.img_resolution for r in listed),
                        "generator.render-resolutions",
                        f"render_resolutions {listed}: not ints in 4…{G.img_resolution}")
        for r in listed:
            with torch.no_grad(), checker.rule("generator.render-resolutions"):
                coarse = G.synthesis(ws, noise_mode="const", resolution=r)
            checker.require(tuple(coarse.shape) == tuple(images.shape) and bool(torch.isfinite(coarse).all()),
                            "generator.render-resolutions",
                            f"synthesis(resolution={r}) returned {list(coarse.shape)}, expected {list(images.shape)} "
                            "finite values (the coarse image upsampled to full size)")
            if r == G.img_resolution:
                checker.require(S.close(coarse, images, rtol=1e-4, atol=1e-5), "generator.render-resolutions",
                                f"synthesis(resolution={r}) (the full resolution) differs from the full render")
    checker.report.passed.append("generator.render-resolutions")
