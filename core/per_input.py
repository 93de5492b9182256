"""Restore mode: a degradation may read each input file's damage (`Degradation.for_input`), so every
image can have its own; a batch only holds images whose degradations are equal."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

from restorefw.degradation import Degradation
from restorefw.errors import UserError
from restorefw.inputs import InputImage


def resolve_per_input(degradation: Degradation | None, images: Sequence[InputImage], resolution: tuple[int, int],
                      channels: int, quiet: bool = False) -> dict[str, Degradation]:
    """Each image's own degradation where it differs from the recipe's, with its one-line summary printed
    to stderr; an unreadable file is skipped here (restoring it reports it)."""
    found: dict[str, Degradation] = {}
    if degradation is None:
        return found
    for item in images:
        try:
            own = degradation.for_input(item.path, resolution, channels, item.mask)
        except UserError:
            continue
        if own is not degradation:
            found[item.image_id] = own
            if not quiet:
                record = own.describe()
                print(f"{item.image_id}: {record.get('summary', record)}", file=sys.stderr)
    return found


def without_findings(record: Any) -> Any:
    """A degradation record without what `for_input` measured: equal records restore alike."""
    if isinstance(record, dict):
        return {k: without_findings(v) for k, v in record.items() if k not in ("found", "summary")}
    if isinstance(record, list):
        return [without_findings(v) for v in record]
    return record


def batches(todo: Sequence[InputImage], per_image: dict[str, Degradation], size: int) -> list[list[InputImage]]:
    """Batches of at most `size` images sharing one degradation (input order kept within each)."""
    groups: dict[str, list[InputImage]] = {}
    for item in todo:
        own = per_image.get(item.image_id)
        key = json.dumps(without_findings(own.describe()), sort_keys=True, default=str) if own is not None else ""
        groups.setdefault(key, []).append(item)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]
