"""Restore mode: a degradation may read each input file's damage (`Degradation.for_input`), so every
image can have its own; a batch holds images whose targets have one shape, each through its own
operator."""

from __future__ import annotations

import sys
from typing import Callable, Sequence

import torch

from restorefw.degradation import Degradation, DegradationOperator, ImageKey
from restorefw.errors import UserError
from restorefw.inputs import InputImage


def resolve_per_input(degradation: Degradation | None, images: Sequence[InputImage], resolution: tuple[int, int],
                      channels: int, fit: str = "crop", quiet: bool = False) -> dict[str, Degradation]:
    """Each image's own degradation where it differs from the recipe's, with its one-line summary printed
    to stderr; an unreadable file is skipped here (restoring it reports it)."""
    found: dict[str, Degradation] = {}
    if degradation is None:
        return found
    for item in images:
        try:
            own = degradation.for_input(item.path, resolution, channels, item.mask, fit)
        except UserError:
            continue
        if own is not degradation:
            found[item.image_id] = own
            if not quiet:
                record = own.describe()
                print(f"{item.image_id}: {record.get('summary', record)}", file=sys.stderr)
    return found


def batches(todo: Sequence[InputImage], per_image: dict[str, Degradation], size: int,
            shape: tuple[int, int, int]) -> list[list[InputImage]]:
    """Batches of at most `size` images whose targets have one shape (input order kept within each);
    images with their own degradations share a batch through `StackedOperator`."""
    groups: dict[tuple[int, ...], list[InputImage]] = {}
    for item in todo:
        own = per_image.get(item.image_id)
        key = output_shape(own, item.image_id, shape) if own is not None else ()
        groups.setdefault(key, []).append(item)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]


class StackedOperator(DegradationOperator):
    """Images with different degradations of one output size in one batch: image i's `rows`
    consecutive rows (its ensemble samples) go through `operators[i]`."""

    def __init__(self, operators: Sequence[DegradationOperator], rows: int, height: int, width: int) -> None:
        super().__init__()
        self.stages = torch.nn.ModuleList(operators)  # registered as submodules
        self.operators: list[DegradationOperator] = list(operators)  # the same modules, typed
        self.rows = rows
        out = operators[0].output_size(height, width)
        masks = [op.mask for op in operators if op.mask is not None]
        if masks:
            self.mask = torch.cat([op.mask if op.mask is not None else torch.ones(rows, 1, *out, device=masks[0].device)
                                   for op in operators])

    def _each(self, x: torch.Tensor,
              apply: Callable[[DegradationOperator, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return torch.cat([apply(op, part) for op, part in zip(self.operators, x.split(self.rows))])

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return self._each(x, lambda op, part: op.true(part))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._each(x, lambda op, part: op(part))

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return self.operators[0].output_size(height, width)

    def output_channels(self, channels: int) -> int:
        return self.operators[0].output_channels(channels)

    def set_mask(self, mask: torch.Tensor) -> None:
        self.mask = mask
        for op, part in zip(self.operators, mask.split(self.rows)):
            op.set_mask(part)


def realize_each(degradations: Sequence[Degradation], keys: Sequence[ImageKey], rows: int,
                 shape: tuple[int, int, int], device: torch.device) -> DegradationOperator:
    """One operator for a batch whose image i (rows i·rows … (i+1)·rows − 1) has `degradations[i]`."""
    channels, height, width = shape
    if all(d is degradations[0] for d in degradations):
        return degradations[0].realize((len(keys), channels, height, width), keys, device)
    return StackedOperator([d.realize((rows, channels, height, width), list(keys[i * rows:(i + 1) * rows]), device)
                            for i, d in enumerate(degradations)], rows, height, width)


def output_shape(degradation: Degradation | None, image_id: str, shape: tuple[int, int, int]) -> tuple[int, ...]:
    """(channels, height, width) of `degradation`'s targets for a generator of `shape` (C, H, W)."""
    if degradation is None:
        return shape
    op = degradation.realize((1, *shape), [ImageKey(0, image_id)], torch.device("cpu"))
    return (op.output_channels(shape[0]), *op.output_size(*shape[1:]))
