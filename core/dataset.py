"""Dataset components: named image collections for training priors and benchmarking."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from restorefw.component import Component


class Dataset(Component):
    """A named image collection. `materialize(split, directory)` writes the split (one of `splits`)
    as PNG files in `directory` (created if needed) and returns their paths, sorted; materialising
    twice gives identical files. Optional `Params` fields `resolution` and `seed` receive
    `restorefw train`'s --resolution and --seed when present."""

    kind: ClassVar[str] = "dataset"
    splits: ClassVar[tuple[str, ...]] = ("train", "test")

    def materialize(self, split: str, directory: Path) -> list[Path]:
        raise NotImplementedError
