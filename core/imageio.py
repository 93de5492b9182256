"""Image files in and out: clear errors for unreadable files, atomic writes for everything produced."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import secrets
import struct
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from restorefw.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
ORIENTATION = 0x0112  # the EXIF orientation tag
TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")  # what temp_file_beside names a file before its rename
STALE_AFTER_S = 3600.0  # a temporary file untouched this long belongs to no write in progress


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


def remove_stale_temps(folder: Path, older_than: float = STALE_AFTER_S) -> int:
    """Delete the temporary files under `folder` that writes killed before their rename left (kill -9, power
    loss), once untouched for `older_than` seconds; the count. Writes still in progress are left alone."""
    removed, deadline = 0, time.time() - older_than
    for parent, _, names in os.walk(folder):
        for name in names:
            if not TEMP_NAME.fullmatch(name):
                continue
            path = Path(parent) / name
            try:
                if path.stat().st_mtime < deadline:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = temp_file_beside(path)
    except OSError as exc:
        raise output_error(f"write {path.name} in {path.parent}", exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise output_error(f"write {path.name} in {path.parent}", exc) from None
        raise


def output_error(what: str, exc: OSError) -> UserError:
    """A failed write (`what`: "write X in FOLDER") as one paragraph: the folder, the cause and the fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "The disk (or your quota) is full: free some space or write elsewhere with --output"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "The folder is not writable: fix its permissions or write elsewhere with --output"
    else:
        fix = "Check the folder, or write elsewhere with --output"
    return UserError(f"cannot {what} ({exc.strerror or exc}). {fix}; finished outputs are kept and a rerun "
                     "resumes.")


def make_folder(folder: str | os.PathLike) -> Path:
    """Create an output folder (and its parents); failures are UserErrors naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(f"create the folder {folder}", exc) from None
    return folder


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


MAX_PIXELS = 100_000_000
MIN_SIDE = 2
ENV_MAX_PIXELS = "RESTOREFW_MAX_PIXELS"
READ_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error)


def max_pixels() -> int:
    """The largest image (width × height) read; $RESTOREFW_MAX_PIXELS overrides the default 100 MP."""
    try:
        return int(os.environ.get(ENV_MAX_PIXELS, MAX_PIXELS))
    except ValueError:
        raise UserError(f"${ENV_MAX_PIXELS}={os.environ[ENV_MAX_PIXELS]!r} is not a whole number of pixels.") from None


def _refuse(path: Path, problem: str, fix: str) -> UserError:
    return UserError(f"{path}: {problem}. {fix}")


def _check_size(path: Path, width: int, height: int) -> None:
    """Refuse images too large to hold in memory (before decoding them) and too small to restore."""
    limit = max_pixels()
    if width * height > limit:
        raise _refuse(path, f"{width}×{height} pixels is over the limit of {limit:,} pixels (a guard against "
                            "decompression bombs and out-of-memory crashes); nothing was decoded",
                      f"Downscale the image, or raise the limit with ${ENV_MAX_PIXELS} if it is genuine.")
    if min(width, height) < MIN_SIDE:
        raise _refuse(path, f"{width}×{height} pixels is too small to restore (at least {MIN_SIDE}×{MIN_SIDE})",
                      "Remove it from the folder.")


def _to_array(img: Image.Image, channels: int, notes: list[str]) -> np.ndarray:
    """A decoded image as float32 `[H,W,channels]` in [0,1], alpha composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(img).astype(np.float32)
        scale = 1.0 if img.mode == "F" else 65535.0 if img.mode != "I" or array.max(initial=0) > 255 else 255.0
        array = (array / scale).clip(0, 1)[:, :, None]
        if channels == 3:
            notes.append("greyscale: copied to 3 channels")
        return np.repeat(array, channels, axis=2)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode == "CMYK":
        notes.append("CMYK converted to RGB without a colour profile")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        if cast("tuple[int, int]", rgba.getchannel("A").getextrema())[0] < 255:
            notes.append("transparent pixels composited on white")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    grey = img.mode in ("1", "L", "I;16")
    if grey != (channels == 1):
        notes.append("greyscale: copied to 3 channels" if grey else "colour: converted to greyscale")
    array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8).astype(np.float32) / 255.0
    return array[:, :, None] if array.ndim == 2 else array


def load_image(path: str | os.PathLike, channels: int = 3) -> tuple[torch.Tensor, list[str]]:
    """An image file as float32 `[C,H,W]` in [0,1] (`channels` 1 or 3), and notes on what reading it changed.

    EXIF orientation is applied; 16-bit files keep their precision; alpha is composited on white;
    animated or multi-page files give their first frame. Bad files raise a UserError naming the file."""
    path = Path(path)
    notes: list[str] = []
    pil_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the size is checked here, with its own message
    try:
        with Image.open(path) as img:
            _check_size(path, *img.size)
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                notes.append(f"{frames} frames (animated or multi-page): the first frame is used")
                img.seek(0)
            if img.mode in ("RGB", "RGBA") and any("16" in str(tile[3]) for tile in img.tile):
                notes.append("16 bits per channel: reduced to 8")
            orientation = img.getexif().get(ORIENTATION, 1)
            img.load()
            picture: Image.Image = img
            if orientation in range(2, 9):
                picture = ImageOps.exif_transpose(img)
                notes.append(f"EXIF orientation {orientation} applied (now {picture.width}×{picture.height})")
            array = _to_array(picture, channels, notes)
    except READ_ERRORS as exc:
        raise _refuse(path, f"cannot read this image ({exc or type(exc).__name__})",
                      "Check that it is a complete image file (PNG, JPEG, ...), or remove it from the "
                      "folder.") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pil_limit
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).contiguous(), notes


def fit_square(image: torch.Tensor, fit: str, path: str | os.PathLike) -> tuple[torch.Tensor, str | None]:
    """`[C,H,W]` made square by `fit` (crop, pad, stretch: left to the resize, refuse), and a note on what was done."""
    height, width = image.shape[-2:]
    if height == width or fit == "stretch":
        return image, None if height == width else f"{width}×{height}: stretched to a square (inputs.fit: stretch)"
    if fit == "refuse":
        raise UserError(f"{path}: {width}×{height} is not square and the generator is (inputs.fit: refuse). "
                        "Crop it yourself, or set inputs.fit to crop, pad or stretch.")
    if fit == "crop":
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[:, top:top + side, left:left + side]
    else:
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        padding = (left, side - width - left, top, side - height - top)
        image = torch.nn.functional.pad(image[None], padding, mode="replicate")[0]
    verb = "centre-cropped" if fit == "crop" else "padded (edges repeated)"
    return image.contiguous(), f"{width}×{height}: {verb} to {side}×{side} (inputs.fit: {fit})"


def read_image(path: str | os.PathLike, channels: int = 3) -> torch.Tensor:
    """An image file as float32 `[C,H,W]` in [0,1]; `channels` is 1 (grey) or 3 (RGB)."""
    return load_image(path, channels)[0]


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
