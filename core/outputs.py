"""What a run writes besides images and records: labelled comparison grids, tensors saved atomically."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from restorefw.imageio import atomic_write_bytes, to_pil


def grid_image(panels: list[tuple[str, torch.Tensor]], size: int) -> Image.Image:
    """Labelled side-by-side panels (`[C,h,w]` each, nearest-resized to `size`)."""
    label_h, gap = 12, 2
    canvas = Image.new("RGB", (len(panels) * (size + gap) - gap, size + label_h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, image) in enumerate(panels):
        picture = to_pil(image).convert("RGB").resize((size, size), Image.Resampling.NEAREST)
        canvas.paste(picture, (i * (size + gap), label_h))
        draw.text((i * (size + gap) + 2, 0), label, fill="black")
    return canvas


def write_grid(path: Path, panels: list[tuple[str, torch.Tensor]], size: int) -> None:
    buffer = io.BytesIO()
    grid_image(panels, max(size, 96)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def atomic_torch_save(path: Path, tensor: torch.Tensor) -> None:
    """`torch.save` of `tensor` to `path`, atomically."""
    buffer = io.BytesIO()
    torch.save(tensor, buffer)
    atomic_write_bytes(path, buffer.getvalue())
