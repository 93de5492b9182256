"""RUSIR's JPEG stand-in (`stand_in: rusir-jpeg`): transposed tables, nearest chroma upsampling, no clamp."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from restorefw.degradation import ImageKey
from restorefw.plugins import load_plugins
from restorefw_plugins.degradations.jpeg import diff_jpeg, quant_table, rusir_diff_jpeg

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def reference_rusir_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """RUSIR's DiffJPEG forward pass restated in float64 numpy from its description ([3,H,W], H, W multiples of 16)."""
    rgb = image * 255.0
    to_ycc = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    ycc = np.einsum("ij,jhw->ihw", to_ycc, rgb) + np.array([0.0, 128.0, 128.0])[:, None, None]
    n = np.arange(8)
    alpha = np.where(n == 0, 1 / math.sqrt(2), 1.0)
    cos = np.cos((2 * n[:, None] + 1) * n[None, :] * math.pi / 16)  # [x, u]

    def codec(plane: np.ndarray, table: np.ndarray) -> np.ndarray:
        out = np.empty_like(plane)
        for i in range(0, plane.shape[0], 8):
            for j in range(0, plane.shape[1], 8):
                block = plane[i:i + 8, j:j + 8] - 128
                coeff = 0.25 * np.outer(alpha, alpha) * (cos.T @ block @ cos)
                coeff = np.round(coeff / table) * table
                out[i:i + 8, j:j + 8] = 0.25 * cos @ (np.outer(alpha, alpha) * coeff) @ cos.T + 128
        return out

    y = codec(ycc[0], quant_table(quality).T)
    chroma = [codec(c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean((1, 3)), quant_table(quality, True).T)
              for c in ycc[1:]]
    cb, cr = (np.kron(c, np.ones((2, 2))) - 128 for c in chroma)
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb])
    return rgb / 255.0


def _image(size: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4, generator=g), size=size, mode="bicubic")
    return (smooth + 0.1 * torch.rand(1, 3, size, size, generator=g)).clamp(0, 1).double()


def test_rusir_stand_in_matches_a_restatement_of_rusirs_codec():
    x = _image()
    reference = reference_rusir_jpeg(x[0].numpy(), 9)
    assert np.abs(rusir_diff_jpeg(x, 9)[0].numpy() - reference).max() < 1e-5
    assert np.abs(diff_jpeg(x, 9)[0].numpy() - reference).mean() > 3e-3


@pytest.mark.parametrize("left_out", ["transpose_tables", "chroma_upsampling", "clamp"])
def test_each_of_rusirs_three_choices_matters(left_out):
    x = _image()
    choices = {"transpose_tables": True, "chroma_upsampling": "nearest", "clamp": False}
    del choices[left_out]
    partial = diff_jpeg(x, 9, **choices)[0].numpy()
    assert np.abs(partial - reference_rusir_jpeg(x[0].numpy(), 9)).max() > 1e-2


def test_rusir_stand_in_is_not_clamped_and_the_default_is():
    x = torch.zeros(1, 3, 16, 16, dtype=torch.float64)
    x[..., 4:12, 4:12] = 1.0
    assert rusir_diff_jpeg(x, 6).max() > 1.0 and rusir_diff_jpeg(x, 6).min() < 0.0
    assert 0.0 <= diff_jpeg(x, 6).min() and diff_jpeg(x, 6).max() <= 1.0


def blue_difference(rgb: torch.Tensor) -> torch.Tensor:
    return -0.168736 * rgb[:, 0] - 0.331264 * rgb[:, 1] + 0.5 * rgb[:, 2]


def test_rusir_stand_in_upsamples_chroma_by_repetition():
    x = torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64)
    x[:, 0, :, 9:] = 0.9  # a red edge inside a chroma pixel pair
    cb = blue_difference(diff_jpeg(x, 100, chroma_upsampling="nearest", clamp=False))
    assert torch.allclose(cb[..., 0::2], cb[..., 1::2], atol=1e-5)
    cb = blue_difference(diff_jpeg(x, 100))
    assert not torch.allclose(cb[..., 0::2], cb[..., 1::2], atol=1e-3)


def test_the_recipe_option_selects_rusirs_codec():
    registry = load_plugins().registry
    keys = [ImageKey(0, "a")]
    x = _image().float()
    rusir = registry.create("degradation", "deartifacting", {"level": "L", "stand_in": "rusir-jpeg"}, "d")
    default = registry.create("degradation", "deartifacting", {"level": "L"}, "d")
    op, op_default = (d.build(tuple(x.shape), keys, torch.device("cpu"), "d") for d in (rusir, default))
    assert torch.equal(op(x), rusir_diff_jpeg(x, 9))
    assert torch.equal(op_default(x), diff_jpeg(x, 9))


def test_rusir_deartifacting_example_uses_rusirs_codec():
    recipe = yaml.safe_load((EXAMPLES / "rusir-deartifacting.yaml").read_text())
    assert recipe["degradation"]["params"]["stand_in"] == "rusir-jpeg"
