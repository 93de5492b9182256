"""A tiny benchmark grid for the bench tests: 2 images, 2 single tasks × 2 levels plus NP, 2 recipes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image
from tiny_generator import tiny_generator

# The tiny generator, narrower still (16 channels) for the many cells of a grid.
GENERATOR = json.dumps(tiny_generator(seed=0, channel_max=16, num_fp16_res=0, conv_clamp=None))
RECIPE = """\
name: {name}
generator: GENERATOR
schedule:
  phases:
    - {{space: w, steps: 2, lr: 0.08}}
    - {{space: w+, steps: 1, lr: 0.02}}
losses: [{{type: {loss}}}]
inputs: {{path: unused}}
device: cpu
batch_size: 2
"""
RECIPE = RECIPE.replace("GENERATOR", GENERATOR.replace("{", "{{").replace("}", "}}"))

GRID = """\
name: tiny
recipes: [l1, msssim.yaml]
tasks: [denoising, inpainting, NP]
levels: [L, XS]
images: images
metrics: [psnr, ssim, {type: pfid, params: {crop_size: 16, num_crops: 2}}]
"""

ITEMS = 2 * (2 * 2 + 1) * 2  # recipes × (single tasks × levels + NP) × images


def write_images(folder: Path, count: int = 2, size: int = 32) -> None:
    """Smooth seeded colour images at the tiny generator's resolution."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(count):
        channels = [np.sin(2 * np.pi * (rng.uniform(0.5, 2) * xx + rng.uniform(0.5, 2) * yy + rng.uniform()))
                    for _ in range(3)]
        image = (np.stack(channels, -1) * 0.4 + 0.5 + rng.normal(0, 0.03, (size, size, 3))).clip(0, 1)
        Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / f"img{i}.png")


def write_grid(root: Path, grid: str = GRID) -> Path:
    """The grid, its two recipes (l1, ms-ssim) and its images under `root`; returns the grid file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "l1.yaml").write_text(RECIPE.format(name="l1", loss="l1"))
    (root / "msssim.yaml").write_text(RECIPE.format(name="msssim", loss="ms-ssim"))
    write_images(root / "images")
    path = root / "grid.yaml"
    path.write_text(textwrap.dedent(grid))
    return path


def done_files(out: Path) -> dict[str, tuple[int, bytes]]:
    """Every done-record under `out`: relative path → (mtime_ns, contents)."""
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(out.glob("cells/**/done.json"))}
