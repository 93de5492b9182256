"""`device: auto` picks CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from restorefw.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device: cuda was requested but no CUDA device is available. "
                        "Use `device: auto` or `device: cpu`.")
    return torch.device(name)
