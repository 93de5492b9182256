"""Training checkpoints in safetensors: module and optimiser tensors flattened, the rest in JSON metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from restorefw.errors import UserError
from restorefw.imageio import temp_file_beside

STATE_FORMAT = "restorefw-train-state/1"


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], Any]:
    """Tensors of an optimiser's state under `prefix.<param index>.<name>`, and its param groups."""
    sd = opt.state_dict()
    tensors = {f"{prefix}.{idx}.{name}": value.detach().clone().contiguous()
               for idx, entry in sd["state"].items() for name, value in entry.items()}
    return tensors, sd["param_groups"]


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], groups: Any) -> dict[str, Any]:
    """The inverse of `flatten_optimizer`: an optimiser state dict."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": groups}


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """safetensors file written to a temporary name, fsynced, then renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path)
    umask_mode = os.fstat(fd).st_mode & 0o777
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.chmod(tmp, umask_mode)  # safetensors recreates the file as 0600
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_state(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               info: dict[str, Any]) -> None:
    """Write every module's state dict, every optimiser's state and `info` (JSON) in one file."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
    groups = {}
    for name, opt in optimizers.items():
        flat, groups[name] = flatten_optimizer(name, opt)
        tensors.update(flat)
    meta = {"format": STATE_FORMAT, "info": json.dumps(info), "param_groups": json.dumps(groups)}
    atomic_save_tensors(path, tensors, meta)


def load_state(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               device: torch.device) -> dict[str, Any]:
    """Restore modules and optimisers saved by `save_state`; returns the `info` dict."""
    path = Path(path)
    try:
        tensors = load_file(str(path), device=str(device))
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
    except (OSError, SafetensorError, ValueError) as exc:
        raise UserError(f"{path}: cannot read this training state ({exc}). Delete it to start over, "
                        "or pass the --out folder of an intact run.") from None
    if meta.get("format") != STATE_FORMAT:
        raise UserError(f"{path}: not a restorefw training state (format {meta.get('format')!r}).")
    for name, module in modules.items():
        sub = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        module.load_state_dict(sub)
    groups = json.loads(meta["param_groups"])
    for name, opt in optimizers.items():
        opt.load_state_dict(unflatten_optimizer(name, tensors, groups[name]))
    return json.loads(meta["info"])
