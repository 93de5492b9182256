"""`device: auto` picks CUDA when present, else the CPU."""

from __future__ import annotations

import ctypes
import sys

import torch

from restorefw.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for a recipe's `device`; on the CPU, denormal floats are flushed to zero."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name!r} was requested but no CUDA device is available on this machine. "
                        "Use `auto` or `cpu`.")
    if name == "cpu":
        flush_denormals()
        reuse_freed_memory()
    return torch.device(name)


def flush_denormals() -> None:
    """Treat denormal floats as zero on the CPU. Trained generators and small loss gradients produce
    them, and x86 arithmetic on denormals is up to 100x slower (measured here: a 32² restoration
    step went from 1.3 s to 14 ms); the values involved are below 1e-38."""
    torch.set_flush_denormal(True)


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc mallopt parameters
INT_MAX = 2**31 - 1


def reuse_freed_memory() -> bool:
    """Keep freed CPU memory in the process (glibc only; False elsewhere). glibc serves every block over
    32 MiB with a fresh mmap and unmaps it on free, so each optimisation step faulted its large
    activations in again page by page: 1.3 GiB of page faults per step at 64², batch 4, which made
    batches slower per image than single images. Afterwards the process keeps its peak heap."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, INT_MAX))


SLOW_BFLOAT16_CPU = ("bfloat16 on this CPU is emulated (it has neither AVX512-BF16 nor AMX): measured on an AVX2 "
                     "CPU, a 512-channel 3x3 convolution took 60x the time of float32")


def runs_bfloat16_fast(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 in hardware: a CUDA GPU with native bfloat16 (Ampere or newer), a CPU with
    AVX512-BF16 or AMX. Anywhere else bfloat16 is emulated and far slower than float32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        return any(probe is not None and probe() for probe in probes)
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """The precision a recipe's `precision`/`loss_precision` runs in: `auto` is bfloat16 where `device` computes it
    in hardware, float32 elsewhere; float32 and bfloat16 are taken as given."""
    if name == "auto":
        return "bfloat16" if runs_bfloat16_fast(device) else "float32"
    return name


def precision_warning(field: str, name: str, device: torch.device) -> str | None:
    """A warning when the recipe asks for bfloat16 by name on a CPU that emulates it, else None."""
    if name != "bfloat16" or device.type != "cpu" or runs_bfloat16_fast(device):
        return None
    return (f"`{field}: bfloat16` will be very slow: {SLOW_BFLOAT16_CPU}. Set `{field}: auto` (bfloat16 where the "
            "hardware has it, float32 here) or `float32`.")
