"""Entry-point module of the stylegan2 plugin: the `stylegan2-ada` generator and its commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import click
import torch
from pydantic import Field, model_validator

from restorefw import hookimpl
from restorefw.component import Params, RecipePath
from restorefw.generator import Generator as GeneratorComponent
from restorefw_plugins.stylegan2.checkpoint import build_generator, load_generator, save_safetensors
from restorefw_plugins.stylegan2.cli import convert
from restorefw_plugins.stylegan2.network import Generator

__all__ = ["StyleGAN2ADA", "Generator", "build_generator", "load_generator", "save_safetensors"]


class StyleGAN2ADAParams(Params):
    checkpoint: RecipePath | None = None
    sha256: str | None = None
    init: Literal["checkpoint", "random"] = "checkpoint"
    seed: int = 0
    config: dict[str, Any] | None = None
    convolution: Literal["direct", "winograd"] = Field(
        "direct", description="'winograd': stride-1 3x3 convolutions with at least 256x256 channels run as "
        "Winograd F(4x4, 3x3) in float32 on a CPU (equal up to float rounding, about 1e-5 relative; "
        "about half the time of those convolutions); not used on CUDA (cuDNN chooses its own algorithms) "
        "or under bfloat16 autocast")

    @model_validator(mode="after")
    def _needs_checkpoint(self) -> "StyleGAN2ADAParams":
        if self.init == "checkpoint" and not self.checkpoint:
            raise ValueError("`checkpoint` is required (a path, an https URL with sha256, or builtin:<name>); "
                             "use `init: random` for a randomly initialised network")
        return self


class StyleGAN2ADA(GeneratorComponent):
    name: ClassVar[str] = "stylegan2-ada"
    description: ClassVar[str] = ("StyleGAN2-ADA generator (own implementation) from an official .pkl, "
                                  ".pt/.pth or .safetensors checkpoint, read without executing code")
    Params: ClassVar[type[Params]] = StyleGAN2ADAParams
    checkpoint_param: ClassVar[str | None] = "checkpoint"

    def load(self, device: torch.device | str = "cpu") -> Generator:
        p = self.params
        if p.init == "random":
            G = build_generator(p.config, p.seed).to(device)
        else:
            G = load_generator(p.checkpoint, sha256=p.sha256, device=device, config=p.config)
        G.synthesis.set_convolution(p.convolution)
        return G.eval().requires_grad_(False)

    def save(self, network: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
        save_safetensors(network, path, metadata)


@hookimpl
def restorefw_generators() -> list[type]:
    return [StyleGAN2ADA]


@hookimpl
def restorefw_commands(cli: click.Group) -> None:
    cli.add_command(convert)
