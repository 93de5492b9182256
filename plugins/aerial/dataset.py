"""The `aerial` dataset component: seeded synthetic drone tiles written as PNG files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image
from pydantic import Field, field_validator

from restorefw.component import Params
from restorefw.dataset import Dataset
from restorefw.errors import UserError
from restorefw.imageio import atomic_write_bytes, atomic_write_json
from restorefw.seeding import numpy_generator
from restorefw_plugins.aerial.render import render_tile

FORMAT_VERSION = 1
MANIFEST = "aerial.json"


def tile(seed: int, split: str, index: int, resolution: int, supersample: int = 4) -> np.ndarray:
    """Tile `index` of `split` as uint8 `[H, W, 3]`; depends only on its arguments."""
    rng = numpy_generator(seed, f"{split}/{index}", "aerial-tile")
    return render_tile(rng, resolution, supersample)


class AerialParams(Params):
    resolution: int = Field(32, description="tile side in pixels (a power of two, 16–256)")
    train_count: int = Field(10000, ge=1, description="number of tiles in the train split")
    val_count: int = Field(64, ge=1, description="number of tiles in the validation split (for tuning recipes)")
    test_count: int = Field(64, ge=1, description="number of tiles in the held-out test split")
    seed: int = Field(0, description="dataset seed; each split's tiles use their own seed stream")
    supersample: int = Field(4, ge=1, le=8, description="render at this multiple, then box-average")

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v < 16 or v > 256 or v & (v - 1):
            raise ValueError("resolution must be a power of two between 16 and 256")
        return v


class AerialDataset(Dataset):
    name: ClassVar[str] = "aerial"
    description: ClassVar[str] = "synthetic drone tiles (fields with crop rows, villages, lakes), seeded, offline"
    Params: ClassVar[type[AerialParams]] = AerialParams
    splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")

    def count(self, split: str) -> int:
        if split not in self.splits:
            raise UserError(f"the aerial dataset has no split {split!r}; use one of {', '.join(self.splits)}.")
        return {"train": self.params.train_count, "val": self.params.val_count, "test": self.params.test_count}[split]

    def image(self, split: str, index: int) -> np.ndarray:
        """Tile `index` of `split` as uint8 `[H, W, 3]`."""
        p = self.params
        return tile(p.seed, split, index, p.resolution, p.supersample)

    def manifest(self, split: str) -> dict:
        return {"dataset": self.name, "format": FORMAT_VERSION, "split": split,
                "count": self.count(split), **self.params.model_dump()}

    def materialize(self, split: str, directory: Path) -> list[Path]:
        """Write the split as `aerial_<split>_<index>.png` in `directory` (skipped when up to date)."""
        directory = Path(directory)
        n = self.count(split)
        paths = [directory / f"aerial_{split}_{i:06d}.png" for i in range(n)]
        manifest_path = directory / MANIFEST
        wanted = self.manifest(split)
        if manifest_path.is_file() and all(p.is_file() for p in paths):
            try:
                if json.loads(manifest_path.read_text()) == wanted:
                    return paths
            except (OSError, ValueError):
                pass
        directory.mkdir(parents=True, exist_ok=True)
        manifest_path.unlink(missing_ok=True)
        for i, path in enumerate(paths):
            buf = io.BytesIO()
            Image.fromarray(self.image(split, i)).save(buf, format="PNG", compress_level=1)
            atomic_write_bytes(path, buf.getvalue())
        atomic_write_json(manifest_path, wanted)
        return paths
