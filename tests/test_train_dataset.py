"""The aerial dataset: deterministic per (seed, split, index), disjoint splits, registered by name."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pydantic import ValidationError

from restorefw.plugins import load_plugins
from restorefw_plugins.aerial.dataset import AerialDataset, tile


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(array.tobytes()).hexdigest()


def test_tiles_are_deterministic_and_vary():
    a = tile(0, "train", 5, 32)
    b = tile(0, "train", 5, 32)
    assert a.dtype == np.uint8 and a.shape == (32, 32, 3)
    assert np.array_equal(a, b)
    others = [tile(0, "train", i, 32) for i in range(6)]
    assert len({_digest(t) for t in others}) == 6
    assert not np.array_equal(tile(1, "train", 5, 32), a)  # the dataset seed matters
    assert float(a.std()) > 5.0  # structure, not a flat colour


def test_tiles_have_fine_structure():
    # Each tile must carry detail that 8x downsampling destroys (so upsampling has something to restore).
    lost = []
    for i in range(8):
        t = tile(0, "train", i, 32).astype(np.float64)
        coarse = t.reshape(4, 8, 4, 8, 3).mean(axis=(1, 3))
        lost.append(np.abs(t - np.repeat(np.repeat(coarse, 8, 0), 8, 1)).mean())
    assert min(lost) > 3.0


def test_splits_are_disjoint():
    train = {_digest(tile(0, "train", i, 16)) for i in range(300)}
    val = {_digest(tile(0, "val", i, 16)) for i in range(50)}
    test = {_digest(tile(0, "test", i, 16)) for i in range(50)}
    assert len(train) == 300 and len(val) == 50 and len(test) == 50
    assert not train & test and not train & val and not val & test


def test_materialize_writes_identical_files(tmp_path):
    ds = AerialDataset(resolution=32, train_count=5, test_count=3)
    first = ds.materialize("test", tmp_path / "a")
    second = ds.materialize("test", tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second] == [f"aerial_test_{i:06d}.png" for i in range(3)]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    mtimes = [p.stat().st_mtime_ns for p in first]
    assert ds.materialize("test", tmp_path / "a") == first  # up to date: nothing rewritten
    assert [p.stat().st_mtime_ns for p in first] == mtimes
    from restorefw.imageio import read_image
    assert tuple(read_image(first[0]).shape) == (3, 32, 32)


def test_resolution_64_and_validation():
    assert tile(0, "train", 0, 64).shape == (64, 64, 3)
    with pytest.raises(ValidationError):
        AerialDataset(resolution=48)
    from restorefw.errors import UserError
    with pytest.raises(UserError):
        AerialDataset().count("validation")


def test_registered_as_dataset_plugin():
    registry = load_plugins().registry
    ds = registry.create("dataset", "aerial", {"resolution": 16, "test_count": 2})
    assert isinstance(ds, AerialDataset) and ds.params.resolution == 16
