"""Image files in and out: clear errors for unreadable files, atomic writes for everything produced."""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from restorefw.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def temp_file_beside(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A new, open temporary file in `path`'s folder, to be renamed over `path`.

    Unlike `tempfile.mkstemp` (always 0600), the file gets the mode a plain `open()` gives under the
    user's umask, so that renamed outputs can be shared with a group or served like any other file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def list_images(directory: str | os.PathLike) -> list[Path]:
    """Image files directly inside `directory`, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory of images. Pass a folder that holds "
                        f"{', '.join(IMAGE_SUFFIXES)} files.")
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: str | os.PathLike, channels: int = 3) -> torch.Tensor:
    """An image file as float32 `[C,H,W]` in [0,1]; `channels` is 1 (grey) or 3 (RGB)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            img = img.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{path}: cannot read this image ({exc}). Check that it is a complete PNG/JPEG "
                        "file, or remove it from the folder.") from None
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """`[C,H,W]` float in [0,1] → `[H,W,C]` uint8 (clamped and rounded)."""
    array = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    return array.permute(1, 2, 0).numpy()


def to_pil(image: torch.Tensor) -> Image.Image:
    array = to_uint8(image)
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def write_png(path: str | os.PathLike, image: torch.Tensor) -> None:
    """Write `[C,H,W]` in [0,1] as an 8-bit PNG, atomically."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0,1] and round-trip through 8 bits, as saving to an image file would."""
    return x.clamp(0, 1).mul(255).round().div(255)
