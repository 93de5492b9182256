"""`restorefw inspect IMAGE...`: print what `degradation: auto` reads from each file, restoring nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import torch

from restorefw_plugins.degradations.auto import Auto, Found


def _table_rows(table: list[int]) -> list[str]:
    return [" ".join(f"{v:3d}" for v in table[r * 8:r * 8 + 8]) for r in range(8)]


def render(image: str, record: dict[str, Any], resolution: tuple[int, int]) -> list[str]:
    """Human-readable lines for one file's record (Found.describe())."""
    found = record.get("found", {})
    scale = found.get("scale", {})
    lines = [f"{image}: {record.get('summary')}",
             f"  size {scale.get('input')} vs generator {list(resolution)}: factor (h, w) {scale.get('factor_hw')}"
             + (", exact" if scale.get("exact") else "")]
    if "shrunk_by_run" in scale:
        lines.append(f"  larger than the generator: the run shrinks it to {scale['shrunk_by_run']}")
    noise = found.get("noise", {})
    lines.append(f"  noise: photons {noise.get('photons')}, drop {noise.get('drop')}, σ at mid-grey "
                 f"{noise.get('sigma_at_half')} from {noise.get('pairs')} samples" +
                 (f" ({noise['note']})" if "note" in noise else ""))
    jpeg = found.get("jpeg")
    if jpeg is not None:
        lines.append(f"  JPEG: {jpeg['colour']}, {jpeg['subsampling']} sampling {jpeg['sampling']}, "
                     f"{'progressive' if jpeg['progressive'] else 'sequential'}, "
                     + (f"tables = IJG quality {jpeg['ijg_quality']}" if jpeg.get("ijg_quality") else "custom tables"))
        for index, table in enumerate(jpeg.get("tables", [])):
            lines.append(f"    table of component {index} (natural order):")
            lines += [f"      {row}" for row in _table_rows(table)]
    elif "blockiness" in found:
        lines.append(f"  not a JPEG file; 8×8 blockiness {found['blockiness']}")
    if "holes" in found:
        lines.append(f"  holes: alpha channel, {found['holes']['hole_fraction']:.1%} transparent")
    stages = record.get("stages", [])
    lines.append("  stages: " + (", ".join(s["type"] for s in stages) or "none"))
    return lines


def _from_recipe(path: str) -> tuple[tuple[int, int], int, Auto]:
    """The generator's resolution and channels, and the recipe's `auto` overrides, from a recipe."""
    from restorefw.build import Generators
    from restorefw.cli import get_plugins
    from restorefw.recipe import load_recipe

    plugins = get_plugins()
    recipe = load_recipe(path, plugins.registry)
    G = Generators(plugins.registry).get(recipe.generator, torch.device("cpu"))
    stages = recipe.degradation_stages
    auto = Auto(Auto.Params.model_validate(stages[0].params)) if len(stages) == 1 and stages[0].task == "auto" \
        else Auto()
    return (G.img_resolution, G.img_resolution), G.img_channels, auto


@click.command("inspect")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--resolution", type=int, default=1024, show_default=True,
              help="The generator's output side (the upsampling factor is measured against it).")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True,
              help="The generator's channels.")
@click.option("--recipe", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Take the resolution, channels and `auto` overrides from this recipe instead.")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per image (what run manifests record).")
def inspect(images: tuple[Path, ...], resolution: int, channels: str, recipe: str | None, as_json: bool) -> None:
    """Print the damage `degradation: auto` reads from each IMAGE (scale, JPEG tables and sampling,
    noise, alpha holes) and the stages it would restore through, without restoring anything."""
    size, count, auto = (((resolution, resolution), int(channels), Auto()) if recipe is None
                         else _from_recipe(recipe))
    records = {}
    for image in images:
        found: Found = auto.for_input(image, size, count)
        records[str(image)] = found.describe()
        if not as_json:
            click.echo("\n".join(render(str(image), records[str(image)], size)))
    if as_json:
        click.echo(json.dumps(records, indent=2))
