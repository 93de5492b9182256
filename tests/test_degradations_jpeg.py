"""Differentiable JPEG against PIL/libjpeg: tables, parity on real photos, surrogate gradients."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from restorefw_plugins.degradations.jpeg import diff_jpeg, pil_jpeg, quant_table
from restorefw_plugins.degradations.surrogates import surrogate_clamp, surrogate_round

PHOTOS = ("astronaut", "coffee", "chelsea")


def _photo(name: str, size: tuple[int, int] = (256, 256), top: int = 0, left: int = 0) -> torch.Tensor:
    array = getattr(data, name)()[top:top + size[0], left:left + size[1]]
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None].float() / 255.0


@pytest.mark.parametrize("quality", [1, 6, 9, 12, 15, 18, 30, 50, 75, 95, 100])
def test_tables_equal_pils_in_natural_order(quality):
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[:64, :64]).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as img:
        tables = img.quantization
    assert list(tables[0]) == quant_table(quality).ravel().tolist()
    assert list(tables[1]) == quant_table(quality, chroma=True).ravel().tolist()
    assert not np.array_equal(quant_table(quality), quant_table(quality).T) or quality in (1, 100)


@pytest.fixture(scope="module")
def parity() -> dict[tuple[str, int], tuple[float, float]]:
    """(photo, q) → (mean |PIL − ours|, mean |PIL − transposed tables as RUSIR applies them|)."""
    out = {}
    for name in PHOTOS:
        x = _photo(name)
        for q in (6, 12, 18):
            target = pil_jpeg(x, q)
            ours = (target - diff_jpeg(x, q)).abs().mean().item()
            transposed = (target - diff_jpeg(x, q, transpose_tables=True)).abs().mean().item()
            out[name, q] = (ours, transposed)
    return out


def test_parity_with_pil_on_photos(parity):
    for (name, q), (ours, _) in parity.items():
        assert ours < 0.005, f"{name} q{q}: mean |PIL − f̂| = {ours:.4f}"


def test_natural_order_beats_transposed_tables(parity):
    ours = np.mean([v[0] for v in parity.values()])
    transposed = np.mean([v[1] for v in parity.values()])
    assert transposed > 0.008
    assert ours < 0.4 * transposed


def test_parity_odd_size_and_grey():
    x = _photo("astronaut", (250, 243), 100, 100)
    assert (pil_jpeg(x, 12) - diff_jpeg(x, 12)).abs().mean().item() < 0.005
    assert diff_jpeg(x, 12).shape == x.shape
    grey = torch.from_numpy(data.camera()[:250, :243].copy())[None, None].float() / 255.0
    out = diff_jpeg(grey, 9)
    assert out.shape == grey.shape
    assert (pil_jpeg(grey, 9) - out).abs().mean().item() < 0.003


def test_diff_jpeg_gradient_finite_and_nonzero():
    x = _photo("chelsea", (40, 56)).requires_grad_(True)
    diff_jpeg(x, 6).square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().mean() > 0


def test_surrogate_round_forward_exact_backward_surrogate():
    x = torch.tensor([0.3, 1.5, -2.2, 4.0], requires_grad=True)
    y = surrogate_round(x)
    assert torch.equal(y, torch.round(x.detach()))
    y.sum().backward()
    frac = x.detach() - torch.round(x.detach())
    assert torch.allclose(x.grad, 0.2 + 2.4 * frac ** 2)
    assert x.grad[3].item() == pytest.approx(0.2)


def test_surrogate_clamp_forward_exact_backward_sigmoid():
    x = torch.tensor([-1.0, 0.25, 0.5, 2.0], requires_grad=True)
    y = surrogate_clamp(x)
    assert torch.equal(y, x.detach().clamp(0, 1))
    y.sum().backward()
    s = torch.sigmoid(2 * (x.detach() - 0.5))
    assert torch.allclose(x.grad, 2 * s * (1 - s))
    assert (x.grad > 0).all()
