"""Read what a JPEG file fixes for its codec from the file's markers: quantisation tables and sampling.

Only the header is parsed (ITU-T T.81 §B.2): DQT segments give the tables (stored in zigzag order,
returned in natural order: row = vertical frequency), the SOF segment gives each component's
sampling factors and table, an Adobe APP14 segment the colour transform. Parsing stops at the
first scan (SOS), so the tables are the ones the first scan was coded with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOI = 0xD8
SOS = 0xDA
DQT = 0xDB
APP14 = 0xEE
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _zigzag() -> np.ndarray:
    """ZIGZAG[k] = natural (row-major) index of the k-th coefficient in zigzag order."""
    order = []
    for s in range(15):
        rows = range(min(s, 7), max(0, s - 7) - 1, -1) if s % 2 == 0 else range(max(0, s - 7), min(s, 7) + 1)
        order += [r * 8 + (s - r) for r in rows]
    return np.array(order)


ZIGZAG = _zigzag()


class NotAJpeg(ValueError):
    """The bytes are not a JPEG stream with a readable header."""


@dataclass(frozen=True)
class JpegComponent:
    """One colour component: its id, horizontal and vertical sampling factors and its table's slot."""

    id: int
    h: int
    v: int
    table: int


@dataclass(frozen=True)
class JpegHeader:
    """The codec settings a JPEG file was written with."""

    width: int
    height: int
    components: tuple[JpegComponent, ...]
    tables: dict[int, np.ndarray]
    progressive: bool
    adobe_transform: int | None = None

    def component_tables(self) -> list[np.ndarray]:
        """The 8×8 table (natural order) of each component, in component order."""
        missing = [c.id for c in self.components if c.table not in self.tables]
        if missing:
            raise NotAJpeg(f"component(s) {missing} use a quantisation table the file does not define")
        return [self.tables[c.table] for c in self.components]

    @property
    def sampling(self) -> list[tuple[int, int]]:
        """(h, v) sampling factors per component; (2,2),(1,1),(1,1) is 4:2:0."""
        return [(c.h, c.v) for c in self.components]

    @property
    def colour(self) -> str:
        """grey, ycbcr (JFIF), rgb (stored without colour transform) or cmyk/ycck (unsupported here)."""
        n = len(self.components)
        if n == 1:
            return "grey"
        if n == 3:
            ids = tuple(c.id for c in self.components)
            if self.adobe_transform == 0 or ids == (ord("R"), ord("G"), ord("B")):
                return "rgb"
            return "ycbcr"
        return "ycck" if self.adobe_transform == 2 else "cmyk"

    @property
    def subsampling(self) -> str:
        """The usual J:a:b name of the sampling layout, or the raw factors when it has none."""
        if len(self.components) != 3:
            return "none"
        (hy, vy), (hb, vb), (hr, vr) = self.sampling
        if (hb, vb) != (hr, vr):
            return ",".join(f"{h}x{v}" for h, v in self.sampling)
        names = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}
        ratio = (hy // hb, vy // vb) if hy % hb == 0 and vy % vb == 0 else None
        return names.get(ratio, ",".join(f"{h}x{v}" for h, v in self.sampling))


def _segments(data: bytes):
    """(marker, payload) for every segment from SOI up to and including SOS."""
    if data[:2] != b"\xff\xd8":
        raise NotAJpeg("no JPEG start-of-image marker")
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise NotAJpeg(f"expected a marker at byte {pos}")
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker in STANDALONE or marker == SOI:
            continue
        if pos + 2 > len(data):
            break
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise NotAJpeg(f"segment 0xFF{marker:02X} at byte {pos - 2} runs past the end of the file")
        yield marker, data[pos + 2:pos + length]
        if marker == SOS:
            return
        pos += length
    raise NotAJpeg("the file ends before its first scan")


def _read_dqt(payload: bytes, tables: dict[int, np.ndarray]) -> None:
    pos = 0
    while pos < len(payload):
        precision, slot = payload[pos] >> 4, payload[pos] & 0x0F
        size = 128 if precision else 64
        raw = payload[pos + 1:pos + 1 + size]
        if len(raw) != size:
            raise NotAJpeg("truncated quantisation table")
        values = np.frombuffer(raw, dtype=">u2" if precision else np.uint8).astype(np.int64)
        natural = np.empty(64, dtype=np.int64)
        natural[ZIGZAG] = values
        tables[slot] = natural.reshape(8, 8)
        pos += 1 + size


def parse_jpeg_header(data: bytes) -> JpegHeader:
    """The tables, sampling factors and colour transform of the JPEG stream `data`."""
    tables: dict[int, np.ndarray] = {}
    frame: tuple[int, int, tuple[JpegComponent, ...], bool] | None = None
    adobe: int | None = None
    for marker, payload in _segments(data):
        if marker == DQT:
            _read_dqt(payload, tables)
        elif marker in SOF_MARKERS and frame is None:
            if len(payload) < 6 or len(payload) < 6 + 3 * payload[5]:
                raise NotAJpeg("truncated frame header")
            height, width, count = int.from_bytes(payload[1:3], "big"), int.from_bytes(payload[3:5], "big"), payload[5]
            comps = tuple(JpegComponent(payload[6 + 3 * i], payload[7 + 3 * i] >> 4, payload[7 + 3 * i] & 0x0F,
                                        payload[8 + 3 * i]) for i in range(count))
            frame = (width, height, comps, marker in PROGRESSIVE_SOF)
        elif marker == APP14 and payload[:5] == b"Adobe" and len(payload) >= 12:
            adobe = payload[11]
    if frame is None:
        raise NotAJpeg("no frame header (SOF) before the first scan")
    width, height, comps, progressive = frame
    return JpegHeader(width, height, comps, {k: v.copy() for k, v in tables.items()}, progressive, adobe)


def read_jpeg_header(path: str | Path) -> JpegHeader | None:
    """The JPEG header of the file at `path`, or None when the file is not a JPEG."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] != b"\xff\xd8":
        return None
    return parse_jpeg_header(data)
