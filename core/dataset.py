"""Dataset components: named image collections for training priors and benchmarking."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from restorefw.component import Component


class Dataset(Component):
    """A dataset materialises its `split` ("train", "test", ...) as PNG files in `directory`,
    and returns their paths, sorted. Materialising twice gives identical files."""

    kind: ClassVar[str] = "dataset"
    splits: ClassVar[tuple[str, ...]] = ("train", "test")

    def materialize(self, split: str, directory: Path) -> list[Path]:
        raise NotImplementedError
