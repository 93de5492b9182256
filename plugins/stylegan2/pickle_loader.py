"""Reading generator checkpoints without executing anything they contain.

Official stylegan2-ada-pytorch pickles are read by a restricted unpickler: only an allow-list of
globals resolves, the persistence reconstruct function is replaced by a stub that keeps the stored
object state (the embedded module source is never looked at, let alone executed), and tensors are
rebuilt by torch's weights-only loader. `.pt/.pth` files go through `torch.load(weights_only=True)`,
`.safetensors` files carry their config as JSON metadata. Every failure is a UserError naming the file.
"""

from __future__ import annotations

import collections
import io
import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restorefw.errors import UserError

NEVER_EXECUTES = "restorefw never executes code from checkpoints"
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
INIT_ARG_NAMES = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list."""

    def __init__(self, qualified_name: str) -> None:
        super().__init__(qualified_name)
        self.qualified_name = qualified_name


@dataclass
class PersistentStub:
    """What a `torch_utils.persistence` object is read as: its class name and stored state only."""

    class_name: str
    state: dict[str, Any] = field(default_factory=dict)


def _reconstruct_persistent_obj(meta: dict[str, Any]) -> PersistentStub:
    if not isinstance(meta, dict) or not isinstance(meta.get("state", {}), dict):
        raise pickle.UnpicklingError("malformed persistent object")
    return PersistentStub(str(meta.get("class_name", "")), meta.get("state") or {})


class _EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict: a plain dict."""


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """Rebuild a numeric numpy scalar from its bytes; anything else is not needed and becomes None."""
    if (isinstance(dtype, np.dtype) and dtype.kind in "biufc" and isinstance(data, bytes)
            and len(data) == dtype.itemsize):
        return np.frombuffer(data, dtype=dtype)[0]
    return None


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool = False, hooks: Any = None, *_: Any) -> torch.Tensor:
    return data


def _load_storage_bytes(payload: bytes) -> Any:
    return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib", "EasyDict"): _EasyDict,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only ALLOWED_GLOBALS; everything else raises RefusedGlobal."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("unexpected persistent id in a network pickle")


def refusal(path: str | Path, qualified_name: str) -> UserError:
    return UserError(f"{path}: this file asks to import {qualified_name}; {NEVER_EXECUTES}. "
                     "Use an unmodified stylegan2-ada-pytorch network pickle, or a .safetensors file "
                     "written by `restorefw convert` from a trusted copy.")


def corrupt(path: str | Path, detail: str) -> UserError:
    return UserError(f"{path}: cannot read this checkpoint, it is truncated or corrupt ({detail}). "
                     "Download or copy the file again and check its sha256.")


_TORCH_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_TORCH_REFUSED = re.compile(r"Unsupported|not an allowed global|Weights only load failed")


def _torch_error(path: str | Path, exc: Exception) -> UserError:
    """Map an error of torch's weights-only loader to a refusal or a corrupt-file message."""
    text = str(exc)
    match = _TORCH_GLOBAL.search(text)
    if match:
        name = match.group(1)
        return refusal(path, name if "." in name else f"builtins.{name}")
    if _TORCH_REFUSED.search(text) and "truncated" not in text and "EOF" not in text:
        fallback = text.splitlines()[0] if text else ""
        first = next((ln.strip() for ln in text.splitlines() if "Unsupported" in ln), fallback)
        return UserError(f"{path}: torch's safe loader refused this file ({first}); {NEVER_EXECUTES}.")
    return corrupt(path, f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}")


def _plain(value: Any) -> Any:
    """Turn EasyDicts/OrderedDicts/tuples/numpy scalars of a config into JSON-able plain values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def stub_state_dict(stub: PersistentStub, prefix: str = "",
                    out: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Rebuild `module.state_dict()` (names and order) from a stub's stored module state."""
    out = {} if out is None else out
    state = stub.state
    for name, value in (state.get("_parameters") or {}).items():
        if value is not None:
            out[prefix + name] = value.detach()
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for name, value in (state.get("_buffers") or {}).items():
        if value is not None and name not in skip:
            out[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentStub):
            stub_state_dict(child, prefix + name + ".", out)
    return out


def stub_config(stub: PersistentStub) -> dict[str, Any]:
    """The Generator's init kwargs from the stored `_init_args` / `_init_kwargs`."""
    args = list(stub.state.get("_init_args") or ())
    kwargs = dict(stub.state.get("_init_kwargs") or {})
    config = dict(zip(INIT_ARG_NAMES, args))
    config.update(kwargs)
    return _plain(config)


def unpickle_restricted(path: str | Path, data: bytes) -> Any:
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except RefusedGlobal as exc:
        raise refusal(path, exc.qualified_name) from None
    except pickle.UnpicklingError as exc:
        if _TORCH_REFUSED.search(str(exc)):
            raise _torch_error(path, exc) from None
        raise corrupt(path, f"{type(exc).__name__}: {exc}") from None
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError,
            OverflowError, MemoryError, UnicodeDecodeError, RecursionError) as exc:
        raise corrupt(path, f"{type(exc).__name__}: {exc}") from None


@dataclass
class CheckpointData:
    """A generator checkpoint as data: its state dict, its config (None if it must be inferred), its format."""

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any] | None
    format: str
    metadata: dict[str, str] = field(default_factory=dict)


def _from_pickle(path: Path, data: bytes) -> CheckpointData:
    root = unpickle_restricted(path, data)
    if isinstance(root, int) and root == LEGACY_TORCH_MAGIC:
        return _from_torch(path, data, "torch-legacy")
    stub = root.get("G_ema") if isinstance(root, dict) else root
    if isinstance(stub, dict) and stub and all(isinstance(v, torch.Tensor) for v in stub.values()):
        return CheckpointData({k: v.detach() for k, v in stub.items()}, None, "pkl")
    if not isinstance(stub, PersistentStub) or stub.class_name != "Generator":
        keys = f"keys {', '.join(map(str, root))}" if isinstance(root, dict) else f"a {type(root).__name__}"
        raise UserError(f"{path}: this pickle holds {keys}, not a StyleGAN2-ADA generator; expected a network "
                        "pickle with a 'G_ema' entry (as written by stylegan2-ada-pytorch).")
    return CheckpointData(stub_state_dict(stub), stub_config(stub), "pkl")


def _config_value(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError("config is not a mapping")
    return _plain(value)


def _from_torch(path: Path, data: bytes, fmt: str = "pt") -> CheckpointData:
    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types for bad files; all become one message
        raise _torch_error(path, exc) from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: holds a {type(obj).__name__}; expected a state dict, or a dict with "
                        "'state_dict' (or 'G_ema') and 'config' (or 'init_kwargs').")
    config = None
    for key in ("config", "init_kwargs"):
        if key in obj:
            try:
                config = _config_value(obj[key])
            except ValueError as exc:
                raise UserError(f"{path}: its '{key}' entry is not a valid config ({exc}).") from None
    sd = obj
    for key in ("state_dict", "G_ema", "g_ema"):
        if isinstance(obj.get(key), dict):
            sd = obj[key]
            break
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise UserError(f"{path}: no tensors found; expected a StyleGAN2-ADA G_ema state dict.")
    return CheckpointData(tensors, config, fmt)


def _from_safetensors(path: Path) -> CheckpointData:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error type for bad headers/lengths
        raise corrupt(path, f"{type(exc).__name__}: {exc}") from None
    raw = metadata.get("init_kwargs") or metadata.get("config")
    try:
        config = _config_value(raw)
    except ValueError as exc:
        raise UserError(f"{path}: the 'init_kwargs' metadata is not valid JSON ({exc}).") from None
    return CheckpointData(tensors, config, "safetensors", metadata)


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < n <= size


def read_checkpoint(path: str | Path) -> CheckpointData:
    """Read any supported checkpoint file as data, executing nothing (format from the content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: checkpoint file not found.") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the checkpoint ({exc.strerror}).") from None
    if not data:
        raise corrupt(path, "the file is empty")
    if data[:4] == b"PK\x03\x04":
        return _from_torch(path, data)
    if _is_safetensors(data[:9], len(data)):
        return _from_safetensors(path)
    if path.suffix == ".safetensors":
        raise corrupt(path, "not a safetensors header")
    return _from_pickle(path, data)
