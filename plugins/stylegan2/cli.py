"""`restorefw convert`: a safe .safetensors copy of any supported checkpoint."""

from __future__ import annotations

import click

from restorefw.errors import UserError
from restorefw_plugins.stylegan2.checkpoint import (
    file_sha256,
    generator_from_data,
    resolve_checkpoint,
    save_safetensors,
)
from restorefw_plugins.stylegan2.pickle_loader import read_checkpoint


@click.command("convert")
@click.argument("source")
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--sha256", default=None, help="Expected sha256 of SOURCE (required for https URLs).")
def convert(source: str, target: str, sha256: str | None) -> None:
    """Write a safe .safetensors copy of any supported generator checkpoint (.pkl, .pt/.pth, .safetensors)."""
    if not target.endswith(".safetensors"):
        raise UserError(f"{target}: the output of convert must end in .safetensors.")
    path = resolve_checkpoint(source, sha256)
    data = read_checkpoint(path)
    G = generator_from_data(data, str(path))
    save_safetensors(G, target, {"source_file": path.name, "source_sha256": file_sha256(path),
                                 "source_format": data.format})
    click.echo(f"wrote {target}: {G.img_resolution}x{G.img_resolution}, {G.img_channels} channel(s), "
               f"num_ws {G.num_ws}, {len(G.state_dict())} tensors (from {data.format})")
