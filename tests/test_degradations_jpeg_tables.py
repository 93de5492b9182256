"""A JPEG file's own tables and sampling factors: read from its markers, used by both codecs.

tests/data/jpeg/ holds tiny files written by libjpeg-turbo's `cjpeg` (Debian libjpeg-turbo-progs)
from a 48×40 crop of skimage's astronaut: q40 4:4:4, custom tables (custom_tables.txt, one per
component) 4:2:2, q20 4:2:0 progressive (16-bit tables: cjpeg does not clip to 255 without
-baseline), q60 grey, q70/q25 per-table qualities 4:4:0.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from restorefw.degradation import ImageKey
from restorefw_plugins.degradations.components import Deartifacting
from restorefw_plugins.degradations.jpeg import (
    CHROMINANCE_BASE,
    LUMINANCE_BASE,
    JpegLayout,
    diff_jpeg,
    diff_jpeg_layout,
    from_pil_image,
    pil_jpeg,
    quality_scale,
    quant_table,
)
from restorefw_plugins.degradations.jpeg_header import ZIGZAG, NotAJpeg, parse_jpeg_header, read_jpeg_header

DATA = Path(__file__).parent / "data" / "jpeg"


def _crop() -> np.ndarray:
    return data.astronaut()[60:100, 180:228]


def _custom_tables() -> list[np.ndarray]:
    values = [int(v) for line in (DATA / "custom_tables.txt").read_text().splitlines()
              if not line.startswith("#") for v in line.split()]
    return [np.array(values[i * 64:(i + 1) * 64]).reshape(8, 8) for i in range(3)]


def _unclipped(quality: int, chroma: bool = False) -> np.ndarray:
    """IJG tables without the baseline clip to 255: cjpeg without -baseline writes 16-bit tables."""
    base = np.array(CHROMINANCE_BASE if chroma else LUMINANCE_BASE).reshape(8, 8)
    return np.maximum((base * quality_scale(quality) + 50) // 100, 1)


def _pil_bytes(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def test_zigzag_is_the_standard_scan():
    assert ZIGZAG[:10].tolist() == [0, 1, 8, 16, 9, 2, 3, 10, 17, 24]
    assert ZIGZAG[-6:].tolist() == [61, 54, 47, 55, 62, 63]
    assert sorted(ZIGZAG.tolist()) == list(range(64))


@pytest.mark.parametrize("quality", [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
@pytest.mark.parametrize("subsampling,factors", [(0, [(1, 1)] * 3), (1, [(2, 1), (1, 1), (1, 1)]),
                                                 (2, [(2, 2), (1, 1), (1, 1)])])
def test_pil_files_tables_and_sampling(quality, subsampling, factors):
    header = parse_jpeg_header(_pil_bytes(_crop(), quality=quality, subsampling=subsampling))
    tables = header.component_tables()
    assert np.array_equal(tables[0], quant_table(quality))
    assert np.array_equal(tables[1], quant_table(quality, chroma=True))
    assert np.array_equal(tables[2], quant_table(quality, chroma=True))
    assert header.sampling == factors
    assert (header.width, header.height, header.colour) == (48, 40, "ycbcr")


def test_pil_custom_tables_per_component():
    rng = np.random.default_rng(5)
    tables = [rng.integers(1, 120, 64) for _ in range(3)]
    header = parse_jpeg_header(_pil_bytes(_crop(), qtables=[t.tolist() for t in tables], subsampling=1))
    assert [t.ravel().tolist() for t in header.component_tables()] == [t.tolist() for t in tables]
    assert header.subsampling == "4:2:2"


@pytest.mark.parametrize("name,sampling,progressive,colour", [
    ("q40_444.jpg", [(1, 1)] * 3, False, "ycbcr"), ("custom_422.jpg", [(2, 1), (1, 1), (1, 1)], False, "ycbcr"),
    ("q20_420_progressive.jpg", [(2, 2), (1, 1), (1, 1)], True, "ycbcr"), ("q60_grey.jpg", [(1, 1)], False, "grey"),
    ("q70_25_440.jpg", [(1, 2), (1, 1), (1, 1)], False, "ycbcr")])
def test_cjpeg_files(name, sampling, progressive, colour):
    header = read_jpeg_header(DATA / name)
    assert (header.sampling, header.progressive, header.colour) == (sampling, progressive, colour)
    expected = {"q40_444.jpg": [quant_table(40), quant_table(40, True), quant_table(40, True)],
                "custom_422.jpg": _custom_tables(),
                "q20_420_progressive.jpg": [_unclipped(20), _unclipped(20, True), _unclipped(20, True)],
                "q60_grey.jpg": [quant_table(60)],
                "q70_25_440.jpg": [quant_table(70), quant_table(25, True), quant_table(25, True)]}[name]
    assert all(np.array_equal(a, b) for a, b in zip(header.component_tables(), expected, strict=True))
    assert (header.component_tables()[0].max() > 255) == (name == "q20_420_progressive.jpg")
    with Image.open(DATA / name) as img:
        assert {k: list(v) for k, v in img.quantization.items()} == {k: v.ravel().tolist()
                                                                    for k, v in header.tables.items()}


def test_cjpeg_live_custom_tables(tmp_path):
    if shutil.which("cjpeg") is None:
        pytest.skip("cjpeg not installed (Debian: apt-get install libjpeg-turbo-progs); the committed "
                    "cjpeg files in tests/data/jpeg are still checked")
    Image.fromarray(_crop()).save(tmp_path / "src.ppm")
    out = tmp_path / "out.jpg"
    subprocess.run(["cjpeg", "-qtables", str(DATA / "custom_tables.txt"), "-qslots", "0,1,2", "-sample", "1x1",
                    "-outfile", str(out), str(tmp_path / "src.ppm")], check=True)
    header = read_jpeg_header(out)
    assert all(np.array_equal(a, b) for a, b in zip(header.component_tables(), _custom_tables(), strict=True))
    assert header.sampling == [(1, 1)] * 3


def test_not_a_jpeg(tmp_path):
    Image.fromarray(_crop()).save(tmp_path / "x.png")
    assert read_jpeg_header(tmp_path / "x.png") is None
    with pytest.raises(NotAJpeg):
        parse_jpeg_header(_pil_bytes(_crop(), quality=50)[:100])


def test_layout_codec_equals_quality_codec():
    x = torch.rand(2, 3, 37, 45, generator=torch.Generator().manual_seed(0))
    assert torch.equal(diff_jpeg_layout(x, JpegLayout.from_quality(12)), diff_jpeg(x, 12))
    grey = x[:, :1]
    assert torch.equal(diff_jpeg_layout(grey, JpegLayout.from_quality(30, 1)), diff_jpeg(grey, 30))


@pytest.mark.parametrize("name", ["q40_444.jpg", "custom_422.jpg", "q20_420_progressive.jpg", "q60_grey.jpg",
                                  "q70_25_440.jpg"])
def test_file_layout_reproduces_the_file_better_than_other_tables(name):
    header = read_jpeg_header(DATA / name)
    mode = "L" if header.colour == "grey" else "RGB"
    source = from_pil_image(Image.fromarray(_crop()).convert(mode))[None]
    with Image.open(DATA / name) as img:
        decoded = from_pil_image(img.convert(mode))[None]
    own = JpegLayout(tuple(header.component_tables()), tuple(header.sampling))
    error = (diff_jpeg_layout(source, own, torch.round) - decoded).abs().mean().item()
    assert error < 0.005, f"{name}: mean |libjpeg − f̂| = {error:.4f}"
    for quality in (10, 50, 90):
        other = JpegLayout(tuple(quant_table(quality, i > 0) for i in range(len(own.tables))), own.sampling)
        assert (diff_jpeg_layout(source, other, torch.round) - decoded).abs().mean().item() > error


def test_deartifacting_with_explicit_tables_matches_pil_writing_them():
    tables = [t.ravel().tolist() for t in _custom_tables()]
    task = Deartifacting(tables=tables, sampling=[[1, 1], [1, 1], [1, 1]])
    x = from_pil_image(Image.fromarray(_crop()))[None]
    op = task.realize(tuple(x.shape), [ImageKey(0, "a")], torch.device("cpu"))
    target = op.true(x)
    written = parse_jpeg_header(_pil_bytes(_crop(), qtables=tables, subsampling=0))
    assert [t.ravel().tolist() for t in written.component_tables()] == tables
    assert (op(x) - target).abs().mean().item() < 0.005
    assert not torch.equal(target, pil_jpeg(x, 12))


def test_sampling_needs_tables():
    from restorefw.errors import UserError

    with pytest.raises(UserError, match="sampling"):
        Deartifacting(sampling=[[1, 1], [1, 1], [1, 1]]).realize((1, 3, 16, 16), [ImageKey(0, "a")], "cpu")
