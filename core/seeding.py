"""Every random choice derives from (recipe seed, image id, stage): no global RNG state is used."""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def derive_seed(seed: int, image_id: str = "", stage: str = "") -> int:
    """A 63-bit seed that depends only on its three arguments (stable across runs and machines)."""
    digest = hashlib.sha256(f"{int(seed)}\x1f{image_id}\x1f{stage}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def torch_generator(seed: int, image_id: str = "", stage: str = "",
                    device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator on `device` seeded from (seed, image_id, stage)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(seed, image_id, stage))
    return gen


def numpy_generator(seed: int, image_id: str = "", stage: str = "") -> np.random.Generator:
    """A numpy Generator seeded from (seed, image_id, stage)."""
    return np.random.default_rng(derive_seed(seed, image_id, stage))
