"""`restorefw degrade`: write degraded copies (and inpainting masks) of a folder of images."""

from __future__ import annotations

from pathlib import Path

import click
import torch
from PIL import Image

from restorefw.degradation import Degradation, ImageKey
from restorefw.errors import UserError, WorkError
from restorefw.imageio import read_image, write_png

GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def build_degradation(task: str, level: str | None, mask: str | None = None) -> Degradation:
    """Any registered degradation (by name or letter) or a combination of letters (`UN`), at `level`
    (for the stages that declare it); `mask` goes to a degradation whose parameters take one."""
    from restorefw.bench.tasks import Vocabulary
    from restorefw.composition import Composition, build_stage
    from restorefw.plugins import load_plugins

    registry = load_plugins().registry
    found = Vocabulary(registry).expand(task, "--task")
    if len(found) != 1:
        raise UserError(f"--task {task!r} names {len(found)} tasks; name one degradation or combination.")
    stages = found[0].stage_names
    takes_mask = len(stages) == 1 and "mask" in registry.get("degradation", stages[0]).Params.model_fields
    if mask is not None and not takes_mask:
        raise UserError(f"--mask applies to a degradation with a `mask` parameter (such as inpainting), not {task}.")
    built = [build_stage(registry, name, level if level in registry.get("degradation", name).levels else None,
                         {"mask": Path(mask)} if mask is not None else {}, "--task") for name in stages]
    return built[0] if len(built) == 1 else Composition(built)


def _channels(path: Path) -> int:
    with Image.open(path) as img:
        return 1 if img.mode in GREY_MODES else 3


@click.command("degrade")
@click.option("--task", required=True,
              help="A degradation (name or letter) or a combination of letters, e.g. UN (see `restorefw plugins`).")
@click.option("--level", default=None, help="A named level of the degradation (default: its own default).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Run seed; each image's randomness derives from (seed, file stem, stage).")
@click.option("--mask", type=click.Path(dir_okay=False), default=None,
              help="Inpainting only: a mask image (white = known) used instead of random strokes.")
@click.argument("in_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def degrade(task: str, level: str | None, seed: int, mask: str | None, in_dir: Path, out_dir: Path) -> None:
    """Degrade every image of IN_DIR into OUT_DIR as <stem>.png (and <stem>_mask.png, white = known).

    Unreadable files are reported by name after the others are written; the exit code is then 1.
    """
    if not in_dir.is_dir():
        raise UserError(f"{in_dir}: not a folder. Pass a folder of images as IN_DIR.")
    degradation = build_degradation(task, level, mask)
    failures: list[str] = []
    written: dict[str, Path] = {}
    for path in sorted(p for p in in_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.stem in written:
            failures.append(f"{path.name} (same stem as {written[path.stem].name}; not written)")
            continue
        try:
            image = read_image(path, channels=_channels(path))
        except (UserError, OSError, ValueError, SyntaxError):
            failures.append(f"{path.name} (not a readable image)")
            click.echo(f"{path.name}: not a readable image, skipped", err=True)
            continue
        x = image[None]
        operator = degradation.realize(tuple(x.shape), [ImageKey(seed, path.stem)], torch.device("cpu"))
        try:
            y = operator.true(x)
            write_png(out_dir / f"{path.stem}.png", y[0])
            if operator.mask is not None:
                write_png(out_dir / f"{path.stem}_mask.png", operator.mask[0])
        except OSError as exc:
            raise WorkError(f"{out_dir}: cannot write the result for {path.name} ({exc}). Check that "
                            "OUT_DIR is writable and the disk is not full.") from None
        written[path.stem] = path
        click.echo(f"{path.name} -> {path.stem}.png")
    click.echo(f"degraded {len(written)} image(s) with {task}" + (f" at level {level}" if level else "")
               + f" into {out_dir}")
    if failures:
        raise WorkError(f"{len(failures)} file(s) in {in_dir} could not be degraded: {'; '.join(failures)}. "
                        "The other images were written; remove or fix these files and run again.")
