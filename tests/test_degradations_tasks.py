"""Single tasks, levels, determinism, composition and the differentiable stand-ins."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from restorefw.composition import Composition
from restorefw.degradation import ImageKey
from restorefw.imageio import quantize_8bit
from restorefw.seeding import numpy_generator
from restorefw_plugins.degradations.components import ALL_DEGRADATIONS, Deartifacting, Denoising, Inpainting, Upsampling
from restorefw_plugins.degradations.strokes import stroke_mask

CPU = torch.device("cpu")
KEYS2 = [ImageKey(7, "a"), ImageKey(7, "b")]


def _photo(size: int = 64) -> torch.Tensor:
    array = data.astronaut()[:256, 128:384]
    img = Image.fromarray(np.ascontiguousarray(array)).resize((size, size), Image.Resampling.BOX)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 255.0


TASKS = {"U": Upsampling, "N": Denoising, "A": Deartifacting, "P": Inpainting}


def combination(letters: str, level: str = "M") -> Composition:
    """The standard combination `letters` (U → N → A → P), each stage at `level`."""
    return Composition([TASKS[ch](level=level) for ch in letters])


def _instances():
    yield from (cls() for cls in ALL_DEGRADATIONS)
    yield Composition([Denoising(level="S"), Upsampling(factor=2)])


@pytest.mark.parametrize("degradation", list(_instances()), ids=lambda d: d.label)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_fhat_has_finite_nonzero_gradient_and_matches_shapes(degradation, channels):
    x = torch.rand(2, channels, 32, 32, generator=torch.Generator().manual_seed(0)).mul(0.8).add(0.1)
    op = degradation.realize(tuple(x.shape), KEYS2, CPU)
    target = op.true(x)
    x.requires_grad_(True)
    y = op(x)
    assert y.shape == target.shape == (2, channels, *op.output_size(32, 32))
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert torch.equal(target, quantize_8bit(target))
    if op.mask is not None:
        assert op.mask.shape == (2, 1, *op.output_size(32, 32))


def test_level_presets_and_precedence():
    assert Upsampling().factor == 8
    assert Upsampling(level="XL").factor == 32
    assert Upsampling(level="XL", factor=3).factor == 3
    op = Denoising(level="L", drop=0.0).realize((1, 3, 8, 8), [ImageKey(0, "x")], CPU)
    assert (op.photons, op.drop) == (12.0, 0.0)
    assert Deartifacting(level="XS").realize((1, 3, 8, 8), [ImageKey(0, "x")], CPU).quality == 18
    assert Deartifacting(level="XS", quality=50).realize((1, 3, 8, 8), [ImageKey(0, "x")], CPU).quality == 50


def test_deartifacting_identity_stand_in_keeps_the_true_codec():
    x = _photo(32)
    jpeg = Deartifacting(level="M").realize(tuple(x.shape), [ImageKey(0, "p")], CPU)
    identity = Deartifacting(level="M", stand_in="identity").realize(tuple(x.shape), [ImageKey(0, "p")], CPU)
    assert torch.equal(identity(x), x)
    assert torch.equal(identity.true(x), jpeg.true(x))
    assert (jpeg(x) - x).abs().mean().item() > 0.01


def test_upsampling_true_vs_fhat_and_seeded_filters():
    x = _photo(128)
    for name in ("bilinear", "bicubic", "lanczos"):
        op = Upsampling(factor=4, filter=name).realize(tuple(x.shape), [ImageKey(0, "p")], CPU)
        assert (op.true(x) - op(x)).abs().mean().item() < 0.012
    keys = [ImageKey(0, f"img{i}") for i in range(24)]
    filters = Upsampling(level="S").realize((24, 3, 16, 16), keys, CPU).filters
    assert set(filters) == {"bilinear", "bicubic", "lanczos"}
    assert filters == Upsampling(level="S").realize((24, 3, 16, 16), keys, CPU).filters
    assert filters[3] == Upsampling(level="S").realize((1, 3, 16, 16), keys[3:4], CPU).filters[0]


def test_poisson_mean_variance_and_dropout():
    x = torch.full((1, 3, 96, 96), 0.5)
    op = Denoising(photons=24, drop=0.0).realize(tuple(x.shape), [ImageKey(1, "flat")], CPU)
    y = op.true(x)
    assert y.mean().item() == pytest.approx(0.5, abs=0.005)
    assert y.var().item() == pytest.approx(0.5 / 24, rel=0.06)
    fhat = op(x)
    assert fhat.mean().item() == pytest.approx(0.5 - 0.5 / 24, abs=0.005)
    assert fhat.var().item() == pytest.approx(0.5 / 24, rel=0.06)

    op = Denoising(photons=96, drop=0.32).realize(tuple(x.shape), [ImageKey(1, "flat")], CPU)
    y, fhat = op.true(x), op(x)
    for out in (y, fhat):
        zero = out == 0
        assert torch.equal(zero.all(1), zero.any(1)), "dropout zeroes all channels of a pixel together"
        assert zero.all(1).float().mean().item() == pytest.approx(0.32, abs=0.02)


def test_denoising_fhat_is_fresh_each_call_but_reproducible():
    x = torch.full((2, 3, 16, 16), 0.4)
    op = Denoising().realize(tuple(x.shape), KEYS2, CPU)
    first, second = op(x), op(x)
    assert not torch.equal(first, second)
    again = Denoising().realize(tuple(x.shape), KEYS2, CPU)
    assert torch.equal(again(x), first) and torch.equal(again(x), second)
    again.restart()
    assert torch.equal(again(x), first)


def test_denoising_draws_on_the_device_of_its_input_not_the_one_it_was_realised_for():
    """Realised for CUDA (absent here: a CUDA generator made eagerly would raise), then given CPU
    inputs, f̂ draws on the CPU exactly as an operator realised there."""
    x = torch.full((2, 3, 16, 16), 0.4)
    elsewhere = Denoising().realize(tuple(x.shape), KEYS2, torch.device("cuda"))
    here = Denoising().realize(tuple(x.shape), KEYS2, CPU)
    assert torch.equal(elsewhere(x), here(x)) and torch.equal(elsewhere(x), here(x))
    assert [g.device for g in elsewhere.generators] == [CPU, CPU]


def test_a_composition_restarts_its_stages():
    x = torch.full((2, 3, 16, 16), 0.4)
    op = combination("UNAP", "XS").realize(tuple(x.shape), KEYS2, CPU)
    first = op(x)
    assert not torch.equal(op(x), first)
    op.restart()
    assert torch.equal(op(x), first)


@pytest.mark.parametrize("degradation", [Upsampling(level="S"), Denoising(), Deartifacting(), Inpainting(),
                                         combination("UNAP", "XS")], ids=lambda d: d.name)
def test_targets_bit_identical_batch_independent_and_key_dependent(degradation):
    x = _photo(64).repeat(2, 1, 1, 1)
    target = degradation.realize(tuple(x.shape), KEYS2, CPU).true(x)
    assert torch.equal(target, degradation.realize(tuple(x.shape), KEYS2, CPU).true(x))
    alone = degradation.realize((1, *x.shape[1:]), KEYS2[1:], CPU).true(x[1:])
    assert torch.equal(alone, target[1:])
    if isinstance(degradation, (Deartifacting, Upsampling)):
        return
    assert not torch.equal(target[0], target[1]), "two images must get different noise/masks"
    reseeded = degradation.realize(tuple(x.shape), [ImageKey(8, "a"), ImageKey(8, "b")], CPU).true(x)
    assert not torch.equal(reseeded, target)


def _hole_fraction(size: int, strokes: int, seeds: range) -> float:
    return float(np.mean([1.0 - stroke_mask(size, size, strokes, numpy_generator(s, "hole", "inpainting")).mean()
                          for s in seeds]))


@pytest.mark.parametrize("level,strokes,expected", [("XS", 1, 0.06), ("S", 5, 0.21), ("M", 9, 0.35),
                                                    ("L", 13, 0.47), ("XL", 17, 0.59)])
def test_hole_fractions_per_level_256(level, strokes, expected):
    op = Inpainting(level=level).realize((1, 3, 256, 256), [ImageKey(0, "hole")], CPU)
    mask = op.mask[0, 0].numpy()
    assert mask.min() >= 0 and mask.max() <= 1 and ((mask > 0.05) & (mask < 0.95)).any(), "soft edges"
    assert _hole_fraction(256, strokes, range(24)) == pytest.approx(expected, abs=0.035)


def test_hole_fraction_1024():
    assert _hole_fraction(1024, 9, range(3)) == pytest.approx(0.35, abs=0.05)


def test_inpainting_true_equals_fhat_and_mask_file(tmp_path):
    x = _photo(64)
    op = Inpainting(level="L").realize(tuple(x.shape), [ImageKey(0, "m")], CPU)
    assert torch.equal(op.true(x), quantize_8bit(op(x)))
    hole = np.full((30, 50), 255, np.uint8)
    hole[:15] = 0
    Image.fromarray(hole).save(tmp_path / "mask.png")
    op = Inpainting(mask=tmp_path / "mask.png").realize((2, 3, 60, 100), KEYS2, CPU)
    assert op.mask.shape == (2, 1, 60, 100)
    assert op.mask[:, :, :28].max() == 0 and op.mask[:, :, 32:].min() == 1
    out = op(torch.ones(2, 3, 60, 100))
    assert out[:, :, :28].abs().max() == 0 and out[:, :, 32:].min() == 1


def test_combination_order_sizes_and_mask_source():
    x = _photo(64)
    keys = [ImageKey(3, "c")]
    unap = combination("UNAP").realize(tuple(x.shape), keys, CPU)
    assert unap.output_size(64, 64) == (8, 8) and [type(s).__name__ for s in unap.stages] == [
        "UpsamplingOperator", "DenoisingOperator", "DeartifactingOperator", "InpaintingOperator"]
    assert unap.mask is unap.stages[3].mask and unap.mask.shape == (1, 1, 8, 8)
    assert combination("UNA").realize(tuple(x.shape), keys, CPU).mask is None
    small = Upsampling(level="M").realize(tuple(x.shape), keys, CPU)
    down = small.true(x)
    manual = Denoising(level="M").realize(tuple(down.shape), keys, CPU).true(down)
    assert torch.equal(combination("UN").realize(tuple(x.shape), keys, CPU).true(x), manual)
    na = combination("NA").realize(tuple(x.shape), keys, CPU).true(x)
    an = Composition([Deartifacting(), Denoising()]).realize(tuple(x.shape), keys, CPU).true(x)
    assert not torch.equal(na, an), "order matters"
    pu = Composition([Inpainting(), Upsampling(factor=4)])
    op = pu.realize(tuple(x.shape), keys, CPU)
    assert op.mask.shape == (1, 1, 16, 16) and op(x).shape == (1, 3, 16, 16)


def test_upsampling_too_small_image_is_a_user_error():
    from restorefw.errors import UserError
    with pytest.raises(UserError, match="cannot be shrunk"):
        Upsampling(level="XL").realize((1, 3, 16, 16), [ImageKey(0, "x")], CPU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_targets_and_runs_fhat():
    x = _photo(64).repeat(2, 1, 1, 1)
    cuda = torch.device("cuda")
    for degradation in _instances():
        cpu_target = degradation.realize(tuple(x.shape), KEYS2, CPU).true(x)
        op = degradation.realize(tuple(x.shape), KEYS2, cuda)
        xc = x.to(cuda).requires_grad_(True)
        assert torch.equal(op.true(xc).cpu(), cpu_target)
        y = op(xc)
        assert y.device.type == "cuda"
        y.sum().backward()
        assert torch.isfinite(xc.grad).all() and xc.grad.abs().sum() > 0
