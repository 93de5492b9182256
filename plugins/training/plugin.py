"""Entry point of the training plugin: the `restorefw train` command."""

from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from restorefw import hookimpl
from restorefw.device import resolve_device
from restorefw.errors import UserError


@click.command("train")
@click.option("--data", required=True, help="Folder of R×R training images, or dataset:NAME (e.g. dataset:aerial).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: G_ema.safetensors, training-state.safetensors, samples/, log.jsonl.")
@click.option("--resolution", type=int, default=32, show_default=True, help="Image side (power of two).")
@click.option("--kimg", type=float, default=100.0, show_default=True,
              help="Train until this many thousand real images were shown.")
@click.option("--batch", type=int, default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds initialisation, batches, noise and augmentation.")
@click.option("--config", "config_name", default="small", show_default=True,
              help="Model preset: tiny, fast, small or official-small.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps.")
@click.option("--resume", is_flag=True, help="Continue from --out/training-state.safetensors.")
@click.option("--snap", "snap_kimg", type=float, default=10.0, show_default=True,
              help="Checkpoint and sample grid every this many kimg.")
@click.option("--tick", "tick_kimg", type=float, default=1.0, show_default=True, help="Log line every this many kimg.")
@click.option("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice).")
@click.option("--r1-gamma", type=float, default=None, help="Override the preset's R1 weight.")
@click.option("--lr", type=float, default=None, help="Override the preset's Adam learning rate.")
@click.option("--quiet", is_flag=True, help="No progress bar (log lines only).")
def train_command(data: str, out: Path, resolution: int, kimg: float, batch: int, seed: int, config_name: str,
                  device: str, resume: bool, snap_kimg: float, tick_kimg: float, threads: int | None,
                  r1_gamma: float | None, lr: float | None, quiet: bool) -> None:
    """Train a StyleGAN2-ADA prior (G_ema with official parameter names) on a folder or dataset."""
    from dataclasses import replace

    from restorefw_plugins.training.configs import get_config
    from restorefw_plugins.training.data import load_images, resolve_data
    from restorefw_plugins.training.loop import STATE_FILE, Trainer, TrainOptions, count_params
    from restorefw_plugins.training.progress import TrainProgress

    if resolution < 8 or resolution & (resolution - 1):
        raise UserError(f"--resolution {resolution}: must be a power of two ≥ 8.")
    if batch < 1:
        raise UserError("--batch must be at least 1.")
    if threads:
        torch.set_num_threads(threads)
    cfg = get_config(config_name)
    if r1_gamma is not None:
        cfg = replace(cfg, r1_gamma=r1_gamma)
    if lr is not None:
        cfg = replace(cfg, lr=lr)
    dev = resolve_device(device)
    out.mkdir(parents=True, exist_ok=True)
    state_exists = (out / STATE_FILE).is_file()
    if state_exists and not resume:
        raise UserError(f"{out / STATE_FILE} exists: pass --resume to continue that run, or choose another --out.")
    folder = resolve_data(data, resolution, out / "data", seed=0)
    images = load_images(folder, resolution)
    opts = TrainOptions(out=out, resolution=resolution, kimg=kimg, batch=batch, seed=seed, device=str(dev),
                        resume=resume, snap_kimg=snap_kimg, tick_kimg=tick_kimg, config_name=config_name,
                        threads=threads)
    trainer = Trainer(cfg, opts, images)
    resumed = resume and trainer.resume()
    header = {"data": str(folder), "images": int(images.shape[0]), "device": str(dev),
              "threads": torch.get_num_threads(), "config": config_name,
              "G_params": count_params(trainer.G), "D_params": count_params(trainer.D),
              "resumed_at_kimg": trainer.nimg / 1000 if resumed else None}
    click.echo(json.dumps(header))
    with open(out / "log.jsonl", "a") as handle:
        handle.write(json.dumps({"run": header}) + "\n")
    if not trainer.step:
        trainer.sample_grid(out / "samples" / "fakes000000.png")
        from restorefw.imageio import write_png
        from restorefw_plugins.training.loop import make_grid
        write_png(out / "samples" / "reals.png",
                  make_grid(images[: opts.grid ** 2].float() / 127.5 - 1, opts.grid))
    with TrainProgress(kimg, trainer.nimg / 1000, enabled=not quiet) as progress:
        last = trainer.run(on_tick=progress.tick,
                           on_step=lambda s: progress.step(trainer.nimg / 1000, s, trainer.ada.p))
    click.echo(json.dumps({"done": True, **last}))


@hookimpl
def restorefw_commands(cli: click.Group) -> None:
    cli.add_command(train_command)
