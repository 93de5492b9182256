"""Bad and unusual image files: each is read (saying what was changed) or refused with a message naming it."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from image_cases import CASES, SIZE, photo, write_case
from PIL import Image, ImageFile

from restorefw.errors import UserError
from restorefw.imageio import load_image, read_image


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_is_read_or_refused_by_name(tmp_path, name):
    path = write_case(tmp_path, name)
    outcome, fragment = CASES[name][2].split(":", 1)
    if outcome == "refused":
        with pytest.raises(UserError) as info:
            load_image(path, 3)
        message = str(info.value)
        assert message.startswith(str(path)) and fragment in message and "\n" not in message
        return
    image, notes = load_image(path, 3)
    assert image.dtype == torch.float32 and image.shape[0] == 3 and 0 <= image.min() <= image.max() <= 1
    assert (fragment in " ".join(notes)) if fragment else notes == []


def test_sixteen_bit_grey_keeps_its_precision(tmp_path):
    image = read_image(write_case(tmp_path, "16-bit-grey-png"), 1)
    assert image.shape == (1, SIZE, SIZE) and torch.allclose(image, torch.full_like(image, 40000 / 65535))


def test_sixteen_bit_rgb_is_not_clipped(tmp_path):
    image = read_image(write_case(tmp_path, "16-bit-rgb-png"), 3)
    assert abs(image.mean().item() - 40000 / 65535) < 1 / 255


def test_exif_orientation_is_respected(tmp_path):
    stored = photo(16, width=32).astype(np.float32) / 255
    image = read_image(write_case(tmp_path, "exif-rotated-jpeg"), 3)
    assert image.shape == (3, 32, 16)
    upright = torch.from_numpy(np.rot90(stored, k=-1).copy()).permute(2, 0, 1)
    assert (image - upright).abs().mean() < 0.03


def test_transparent_pixels_become_white(tmp_path):
    image = read_image(write_case(tmp_path, "rgba"), 3)
    assert torch.equal(image[:, :8, :8], torch.ones(3, 8, 8))
    assert torch.allclose(image[:, 8:, 8:], torch.from_numpy(photo()[8:, 8:]).permute(2, 0, 1).float() / 255)


def test_animated_file_gives_its_first_frame(tmp_path):
    image = read_image(write_case(tmp_path, "animated-webp"), 3)
    first = torch.from_numpy(photo(seed=0)).permute(2, 0, 1).float() / 255
    second = torch.from_numpy(photo(seed=1)).permute(2, 0, 1).float() / 255
    assert (image - first).abs().mean() < (image - second).abs().mean() / 3


def test_colour_file_for_a_grey_generator_says_so(tmp_path):
    path = tmp_path / "colour.png"
    Image.fromarray(photo()).save(path)
    image, notes = load_image(path, 1)
    assert image.shape == (1, SIZE, SIZE) and notes == ["colour: converted to greyscale"]


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = write_case(tmp_path, "30000x30000")

    def no_decoding(self):
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.perf_counter()
    with pytest.raises(UserError, match="nothing was decoded.*RESTOREFW_MAX_PIXELS"):
        read_image(path)
    assert time.perf_counter() - started < 1.0


def test_pixel_limit_can_be_raised_or_lowered(tmp_path, monkeypatch):
    path = tmp_path / "ok.png"
    Image.fromarray(photo()).save(path)
    monkeypatch.setenv("RESTOREFW_MAX_PIXELS", str(SIZE * SIZE - 1))
    with pytest.raises(UserError, match="over the limit of 1,023 pixels"):
        read_image(path)
    monkeypatch.setenv("RESTOREFW_MAX_PIXELS", "lots")
    with pytest.raises(UserError, match="RESTOREFW_MAX_PIXELS='lots' is not a whole number"):
        read_image(path)
    monkeypatch.setenv("RESTOREFW_MAX_PIXELS", str(SIZE * SIZE))
    assert read_image(path).shape == (3, SIZE, SIZE)


def test_plain_rgb_png_reads_exactly(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(photo()).save(path)
    image, notes = load_image(path, 3)
    assert notes == [] and torch.equal(image, torch.from_numpy(photo()).permute(2, 0, 1).float() / 255)
