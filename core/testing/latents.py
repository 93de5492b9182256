"""Conformance of latent spaces against a generator (the kit's toy one by default): starts, styles, gradients."""

from __future__ import annotations

from typing import Any

import torch

from restorefw.latent import LatentSpace
from restorefw.testing import samples as S
from restorefw.testing.common import check_common
from restorefw.testing.generators import check_network
from restorefw.testing.rules import Checker, Report, run_check
from restorefw.testing.toy_generator import ToyGenerator


def wpp_vectors(G: Any) -> int:
    """How many W++ vectors per style input the generator uses."""
    return int(G.max_filters)


def check_latent_space(cls: type[LatentSpace], generator: Any = None, **params: Any) -> Report:
    """Run a latent-space class through every rule of its contract, with `generator` (a loaded network) or the
    kit's toy StyleGAN2-like generator; raises ConformanceError naming the broken rule."""
    G = generator if generator is not None else ToyGenerator()
    return run_check("latent space", cls, lambda checker: _check(checker, cls, G, params))


def _styles(checker: Checker, space: LatentSpace, latent: torch.Tensor, G: Any) -> torch.Tensor:
    with checker.rule("latent.styles"):
        styles = space.to_styles(latent, G)
    wplus, wpp = (latent.shape[0], G.num_ws, G.w_dim), (latent.shape[0], G.num_ws, wpp_vectors(G), G.w_dim)
    shape = tuple(getattr(styles, "shape", ()))
    checker.require(shape == wplus or (len(shape) == 4 and shape[:2] == wpp[:2] and shape[3] == G.w_dim
                                       and shape[2] >= wpp[2]), "latent.styles",
                    f"to_styles returned shape {list(shape)}; expected W+ {list(wplus)} or W++ {list(wpp)}")
    return styles


def _penalty(checker: Checker, space: LatentSpace, start: torch.Tensor) -> None:
    latent = start.detach().clone().requires_grad_(True)
    with checker.rule("latent.penalty"):
        value = space.penalty(latent)
    if value is None:
        return
    checker.require(isinstance(value, torch.Tensor) and value.shape == (latent.shape[0],)
                    and bool(torch.isfinite(value).all()), "latent.penalty",
                    f"penalty returned {getattr(value, 'shape', value)!r}; expected None or one finite value per "
                    f"image, shape [{latent.shape[0]}]")
    with checker.rule("latent.penalty"):
        value.sum().backward()
    checker.require(latent.grad is not None and bool(torch.isfinite(latent.grad).all()), "latent.penalty",
                    "the penalty's gradient does not reach the latent tensor, or is not finite")


def _check(checker: Checker, cls: type[LatentSpace], G: Any, params: dict[str, Any]) -> None:
    check_network(checker, G)
    space = check_common(checker, "latent_space", cls, LatentSpace, params)
    z = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(S.SEED))
    with torch.no_grad():
        wplus = G.mapping(z, torch.zeros(3, G.c_dim) if G.c_dim else None).float()
    wpp = wplus.unsqueeze(2).repeat(1, 1, wpp_vectors(G), 1)
    starts = {}
    for label, previous in (("w_avg", None), ("W+ styles", wplus), ("W++ styles", wpp)):
        with checker.rule("latent.initial"):
            latent = space.initial(G, 3, previous)
        checker.require(isinstance(latent, torch.Tensor) and latent.is_floating_point() and latent.shape[0] == 3,
                        "latent.initial", f"from {label}, initial returned {getattr(latent, 'shape', latent)!r}")
        starts[label] = latent
    latent = starts["W+ styles"].detach().clone().requires_grad_(True)
    styles = _styles(checker, space, latent, G)
    with checker.rule("latent.styles"):
        image = G.synthesis(styles, noise_mode="const")
    with checker.rule("latent.gradient"):
        image.square().mean().backward()
    checker.require(latent.grad is not None and bool(torch.isfinite(latent.grad).all())
                    and bool(latent.grad.abs().sum() > 0), "latent.gradient",
                    "no finite, non-zero gradient reached the latent tensor")
    for label, previous in (("w_avg", None), ("W+ styles", wplus), ("W++ styles", wpp)):
        with checker.rule("latent.batch-independence"):
            rows = [space.initial(G, 1, None if previous is None else previous[i:i + 1]) for i in range(3)]
        checker.require(S.close(starts[label], torch.cat(rows)), "latent.batch-independence",
                        f"from {label}, initial(G, 3, ...) differs from three calls with one image")
    with torch.no_grad(), checker.rule("latent.batch-independence"):
        single = torch.cat([space.to_styles(starts["W+ styles"][i:i + 1], G) for i in range(3)])
        together = space.to_styles(starts["W+ styles"], G)
    checker.require(S.close(together, single), "latent.batch-independence",
                    "to_styles of a batch of 3 differs from to_styles of each row")
    other = G.mapping.w_avg.reshape(1, 1, -1).expand_as(wplus).float()
    with checker.rule("latent.continues"):
        moved = space.initial(G, 3, 0.5 * wplus + 0.5 * other)
    checker.require(not S.close(moved, starts["W+ styles"]), "latent.continues",
                    "initial(G, B, previous_styles) ignores previous_styles: a phase would restart instead of "
                    "continuing")
    _penalty(checker, space, starts["W+ styles"])
    with checker.rule("latent.determinism"):
        twin = cls(cls.Params.model_validate(params)).initial(G, 3, wplus)
    checker.require(S.close(twin, starts["W+ styles"], rtol=1e-4, atol=1e-5), "latent.determinism",
                    "a second instance started from a different latent")
