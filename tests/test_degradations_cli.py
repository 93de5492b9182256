"""`restorefw degrade`, tested on the command object itself."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from restorefw.errors import UserError, WorkError
from restorefw_plugins.degradations.cli import degrade


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / "rgb.png")
    Image.fromarray(rng.integers(0, 256, (48, 32), dtype=np.uint8)).save(folder / "grey.jpg")
    return folder


def _run(*args):
    return CliRunner().invoke(degrade, [str(a) for a in args])


def test_inpainting_writes_images_and_masks_deterministically(images, tmp_path):
    out = tmp_path / "out"
    result = _run("--task", "inpainting", "--level", "S", "--seed", "3", images, out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["grey.png", "grey_mask.png", "rgb.png", "rgb_mask.png"]
    with Image.open(out / "grey.png") as grey, Image.open(out / "rgb_mask.png") as mask:
        assert grey.mode == "L" and grey.size == (32, 48)
        assert mask.size == (64, 64) and np.asarray(mask).max() == 255 and np.asarray(mask).min() < 128
    again = tmp_path / "again"
    assert _run("--task", "inpainting", "--level", "S", "--seed", "3", images, again).exit_code == 0
    assert (again / "rgb.png").read_bytes() == (out / "rgb.png").read_bytes()
    other = tmp_path / "other"
    assert _run("--task", "inpainting", "--level", "S", "--seed", "4", images, other).exit_code == 0
    assert (other / "rgb_mask.png").read_bytes() != (out / "rgb_mask.png").read_bytes()


def test_upsampling_and_combination_sizes(images, tmp_path):
    assert _run("--task", "upsampling", "--level", "S", images, tmp_path / "u").exit_code == 0
    with Image.open(tmp_path / "u" / "rgb.png") as img:
        assert img.size == (16, 16)
    assert not (tmp_path / "u" / "rgb_mask.png").exists()
    result = _run("--task", "UAP", images, tmp_path / "uap")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "uap" / "rgb.png") as img, Image.open(tmp_path / "uap" / "rgb_mask.png") as mask:
        assert img.size == mask.size == (8, 8)


def test_unreadable_files_reported_rest_processed(images, tmp_path):
    (images / "broken.png").write_bytes(b"not an image")
    (images / "notes.txt").write_text("hello")
    result = _run("--task", "denoising", "--level", "XL", images, tmp_path / "out")
    assert result.exit_code == 1
    assert isinstance(result.exception, WorkError)
    assert "broken.png" in str(result.exception) and "notes.txt" in str(result.exception)
    assert (tmp_path / "out" / "rgb.png").exists() and (tmp_path / "out" / "grey.png").exists()


def test_user_mask_file_and_misuse(images, tmp_path):
    mask = np.full((10, 10), 255, np.uint8)
    mask[:, :5] = 0
    Image.fromarray(mask).save(tmp_path / "hole.png")
    result = _run("--task", "inpainting", "--mask", tmp_path / "hole.png", images, tmp_path / "out")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "rgb.png") as img:
        assert np.asarray(img)[:, :28].max() == 0
    result = _run("--task", "denoising", "--mask", tmp_path / "hole.png", images, tmp_path / "x")
    assert isinstance(result.exception, UserError)
    result = _run("--task", "denoising", tmp_path / "missing", tmp_path / "x")
    assert isinstance(result.exception, UserError)
    assert isinstance(_run("--task", "blur", images, tmp_path / "x").exception, UserError)
