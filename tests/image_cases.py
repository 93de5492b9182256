"""Image files users really have, built byte by byte or with PIL: each with what reading it must do."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

SIZE = 32


def photo(size: int = SIZE, seed: int = 0, width: int | None = None) -> np.ndarray:
    """A smooth seeded colour picture `[H,W,3]` uint8."""
    width = width or size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:width] / max(size, width)
    channels = [np.sin(2 * np.pi * (rng.uniform(0.5, 2) * xx + rng.uniform(0.5, 2) * yy + rng.uniform()))
                for _ in range(3)]
    return ((np.stack(channels, -1) * 0.4 + 0.5).clip(0, 1) * 255).round().astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written from raw filtered rows (filter byte 0 included)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def png16_rgb(value: int = 40000, size: int = SIZE) -> bytes:
    row = b"\0" + np.full((size, 3), value, ">u2").tobytes()
    return png_bytes(size, size, 16, 2, row * size)


def png16_grey(value: int = 40000, size: int = SIZE) -> bytes:
    row = b"\0" + np.full(size, value, ">u2").tobytes()
    return png_bytes(size, size, 16, 0, row * size)


def bomb_png(side: int = 30000) -> bytes:
    """A 30000×30000 PNG header with one compressed row: tiny on disk, 2.7 GB if decoded."""
    return png_bytes(side, side, 8, 2, b"\0" * (3 * side + 1))


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def exif_rotated_jpeg() -> bytes:
    """A 32×16 JPEG stored landscape whose EXIF says: rotate 90° clockwise to display (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(Image.fromarray(photo(16, width=32)), "JPEG", exif=exif.tobytes(), quality=95)


def animated(fmt: str) -> bytes:
    frames = [Image.fromarray(photo(seed=s)) for s in range(3)]
    if fmt == "GIF":
        frames = [f.convert("P") for f in frames]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def rgba_png() -> bytes:
    array = np.dstack([photo(), np.full((SIZE, SIZE), 255, np.uint8)])
    array[:8, :8, 3] = 0
    return encoded(Image.fromarray(array, "RGBA"), "PNG")


# name -> (file name, bytes builder, outcome): outcome "ok:<note fragment>" (read, with a note; "" for none)
# or "refused:<message fragment>".
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "truncated-png": ("truncated_png.png", lambda: encoded(Image.fromarray(photo()), "PNG")[:300],
                      "refused:cannot read this image"),
    "truncated-jpeg": ("truncated_jpeg.jpg", lambda: encoded(Image.fromarray(photo()), "JPEG")[:400],
                       "refused:cannot read this image"),
    "not-an-image": ("notes.png", lambda: b"these are my notes, not a picture\n", "refused:cannot read this image"),
    "empty-file": ("empty.png", lambda: b"", "refused:cannot read this image"),
    "16-bit-rgb-png": ("deep_rgb.png", png16_rgb, "ok:16 bits per channel: reduced to 8"),
    "16-bit-grey-png": ("deep_grey.png", png16_grey, "ok:greyscale: copied to 3 channels"),
    "greyscale": ("grey.png", lambda: encoded(Image.fromarray(photo()).convert("L"), "PNG"),
                  "ok:greyscale: copied to 3 channels"),
    "palette": ("palette.png", lambda: encoded(Image.fromarray(photo()).convert("P"), "PNG"), "ok:"),
    "rgba": ("alpha.png", rgba_png, "ok:transparent pixels composited on white"),
    "cmyk-jpeg": ("cmyk.jpg", lambda: encoded(Image.fromarray(photo()).convert("CMYK"), "JPEG"),
                  "ok:CMYK converted to RGB"),
    "exif-rotated-jpeg": ("rotated.jpg", exif_rotated_jpeg, "ok:EXIF orientation 6 applied (now 16×32)"),
    "animated-gif": ("animated.gif", lambda: animated("GIF"), "ok:3 frames (animated or multi-page): the first"),
    "animated-webp": ("animated.webp", lambda: animated("WEBP"), "ok:3 frames (animated or multi-page): the first"),
    "1x1": ("dot.png", lambda: encoded(Image.new("RGB", (1, 1), "red"), "PNG"), "refused:1×1 pixels is too small"),
    "30000x30000": ("bomb.png", bomb_png, "refused:30000×30000 pixels is over the limit"),
}


def write_case(folder: Path, name: str) -> Path:
    filename, build, _ = CASES[name]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(build())
    return path
