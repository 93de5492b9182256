"""The generator reference fixtures: `tiny32` ships in tests/data; the larger `small64` is optional.

Set RESTOREFW_TEST_FIXTURES to a folder holding `small64/` (generator.pkl, weights.safetensors,
reference.npz) to run the tests that need it; without it they are skipped, saying so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
ENV_FIXTURES = "RESTOREFW_TEST_FIXTURES"


def fixture_dir(name: str) -> Path:
    """tests/data/<name>, else <$RESTOREFW_TEST_FIXTURES>/<name> (which may not exist)."""
    local = DATA / name
    extra = os.environ.get(ENV_FIXTURES)
    return local if local.is_dir() or not extra else Path(extra) / name


TINY = fixture_dir("tiny32")
SMALL = fixture_dir("small64")
needs_small = pytest.mark.skipif(
    not SMALL.is_dir(), reason=f"the optional small64 fixture is not here; set {ENV_FIXTURES} to a folder holding small64/")
