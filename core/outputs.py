"""What a run writes: per-image folders with a done-record written last, and run-level summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from restorefw.imageio import atomic_write_bytes, atomic_write_json, to_pil

DONE = "done.json"


def image_dir(root: Path, image_id: str) -> Path:
    return root / "images" / image_id


def is_done(root: Path, image_id: str) -> bool:
    return (image_dir(root, image_id) / DONE).is_file()


def read_done(root: Path, image_id: str) -> dict[str, Any]:
    return json.loads((image_dir(root, image_id) / DONE).read_text())


RESUME_INDIFFERENT = {"name", "description", "requires", "outputs", "batch_size", "inputs.limit"}


def recipe_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths where two dumped recipes differ in anything that changes an image's result."""
    changes = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}{key}"
        if path in RESUME_INDIFFERENT:
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += recipe_changes(a, b, f"{path}.")
        elif a != b:
            changes.append(path)
    return changes


def naive_baseline(target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The target upsampled bicubically to `size`, or as is when it already has that size."""
    if tuple(target.shape[-2:]) == tuple(size):
        return target.clone()
    return F.interpolate(target, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def grid_image(panels: list[tuple[str, torch.Tensor]], size: int) -> Image.Image:
    """Labelled side-by-side panels (`[C,h,w]` each, nearest-resized to `size`)."""
    label_h, gap = 12, 2
    canvas = Image.new("RGB", (len(panels) * (size + gap) - gap, size + label_h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, image) in enumerate(panels):
        picture = to_pil(image).convert("RGB").resize((size, size), Image.NEAREST)
        canvas.paste(picture, (i * (size + gap), label_h))
        draw.text((i * (size + gap) + 2, 0), label, fill="black")
    return canvas


def write_grid(path: Path, panels: list[tuple[str, torch.Tensor]], size: int) -> None:
    import io

    buffer = io.BytesIO()
    grid_image(panels, max(size, 96)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def write_done(root: Path, image_id: str, record: dict[str, Any]) -> None:
    atomic_write_json(image_dir(root, image_id) / DONE, record)
