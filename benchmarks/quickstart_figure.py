"""Compose docs/quickstart.png from a quickstart run: per task, the grids of the first two test tiles.

    python benchmarks/quickstart_figure.py runs/quickstart docs/quickstart.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

TASKS = ("upsampling-M", "denoising-M", "deartifacting-M", "inpainting-M")
IMAGES = ("aerial_test_000000", "aerial_test_000001")
GAP = 8  # between the two tiles
ROW_GAP = 4


def compose(run: Path) -> Image.Image:
    rows = [[Image.open(run / task / "images" / image / "grid.png").convert("RGB") for image in IMAGES]
            for task in TASKS]
    width, height = rows[0][0].size
    size = (len(IMAGES) * width + GAP * (len(IMAGES) - 1), len(TASKS) * height + ROW_GAP * (len(TASKS) - 1))
    canvas = Image.new("RGB", size, "white")
    for r, row in enumerate(rows):
        for c, grid in enumerate(row):
            canvas.paste(grid, (c * (width + GAP), r * (height + ROW_GAP)))
    return canvas


if __name__ == "__main__":
    compose(Path(sys.argv[1])).save(sys.argv[2], optimize=True)
