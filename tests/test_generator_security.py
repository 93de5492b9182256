"""Checkpoints are data: evil pickles are refused and their side effects never happen."""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_data import TINY

from restorefw.errors import UserError
from restorefw_plugins.stylegan2.checkpoint import load_generator
from restorefw_plugins.stylegan2.pickle_loader import PersistentStub, read_checkpoint


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _protocol0_call(module: str, name: str, *args: str) -> bytes:
    """A hand-written pickle that calls module.name(*args) when loaded by a plain unpickler."""
    arg_ops = b"".join(b"S" + repr(a).encode() + b"\n" for a in args)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(" + arg_ops + b"tR."


def _evil_pickles(marker: Path) -> dict[str, tuple[bytes, str]]:
    py = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os_system": (_protocol0_call("os", "system", f"touch {marker}"), "os.system"),
        "posix_system": (_protocol0_call("posix", "system", f"touch {marker}"), "posix.system"),
        "builtins_exec": (_protocol0_call("builtins", "exec", py), "builtins.exec"),
        "builtins_eval": (_protocol0_call("builtins", "eval", py), "builtins.eval"),
        "subprocess": (b"csubprocess\ncheck_call\n((S'touch'\nS" + repr(str(marker)).encode() + b"\nltR.",
                       "subprocess.check_call"),
        "getattr": (_protocol0_call("builtins", "getattr", "x", "y"), "builtins.getattr"),
        # evil call nested inside an otherwise plausible snapshot dict
        "nested": (b"}(S'G_ema'\n" + _protocol0_call("os", "system", f"touch {marker}")[:-1] + b"u.", "os.system"),
    }


@pytest.mark.parametrize("case", list(_evil_pickles(Path("x"))))
def test_evil_pickles_are_refused_without_side_effect(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "side-effect"
    data, qualified = _evil_pickles(marker)[case]
    if case != "getattr":  # the payload is live: a plain unpickler creates the marker (in tmp_path)
        pickle.loads(data)
        assert marker.exists()
        marker.unlink()
    path = _write(tmp_path, f"{case}.pkl", data)
    with pytest.raises(UserError) as err:
        load_generator(path)
    message = str(err.value)
    assert f"asks to import {qualified}" in message
    assert "restorefw never executes code from checkpoints" in message
    assert str(path) in message
    assert not marker.exists()


class _Persistent:
    """Pickles like a torch_utils.persistence object: _reconstruct_persistent_obj(meta)."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self):
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,))


def _persistent_pickle(root: object, module_src: str) -> bytes:
    """Re-pickle a stub tree in the official persistence format with the given embedded source."""
    fake_pkg, fake_mod = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # never called: the fake module only exists while pickling
        raise AssertionError

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    fake_mod._reconstruct_persistent_obj = _reconstruct_persistent_obj
    fake_pkg.persistence = fake_mod

    def convert(obj):
        if isinstance(obj, PersistentStub):
            state = {k: convert(v) for k, v in obj.state.items()}
            return _Persistent({"type": "class", "version": 6, "module_src": module_src,
                                "class_name": obj.class_name, "state": state})
        if isinstance(obj, dict):
            return type(obj)((k, convert(v)) for k, v in obj.items()) if not hasattr(obj, "__dict__") \
                else {k: convert(v) for k, v in obj.items()}
        return obj

    saved = {k: sys.modules.get(k) for k in ("torch_utils", "torch_utils.persistence")}
    sys.modules["torch_utils"], sys.modules["torch_utils.persistence"] = fake_pkg, fake_mod
    try:
        return pickle.dumps(convert(root), protocol=4)
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def _tiny_stub() -> PersistentStub:
    from restorefw_plugins.stylegan2.pickle_loader import unpickle_restricted

    root = unpickle_restricted(TINY / "generator.pkl", (TINY / "generator.pkl").read_bytes())
    return root["G_ema"]


def test_embedded_source_that_writes_a_file_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-module-src"
    source = f"open({str(marker)!r}, 'w').write('pwned')\nimport os\nos.system('touch {marker}')\n"
    path = _write(tmp_path, "snapshot.pkl", _persistent_pickle({"G_ema": _tiny_stub()}, source))
    assert source.encode() in path.read_bytes()
    G = load_generator(path)
    ref = np.load(TINY / "reference.npz")
    with torch.no_grad():
        img = G(torch.from_numpy(ref["z"]), None).numpy()
    assert np.abs(img - ref["img_psi1_const_fp32"]).max() <= 1e-4
    assert not marker.exists()


def test_a_bare_generator_pickle_loads_too(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.pkl", _persistent_pickle(_tiny_stub(), "# nothing"))
    assert load_generator(path).num_ws == 8


def test_a_pickle_without_a_generator_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "other.pkl", pickle.dumps({"D": 1, "augment_pipe": None}))
    with pytest.raises(UserError, match="not a StyleGAN2-ADA generator.*G_ema"):
        load_generator(path)


class _Evil:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


@pytest.mark.parametrize("func", ["system", "exec"])
def test_torch_zip_with_malicious_data_pkl_is_refused(tmp_path: Path, func: str) -> None:
    import builtins
    import os

    marker = tmp_path / "side-effect"
    evil = _Evil(os.system, f"touch {marker}") if func == "system" else \
        _Evil(builtins.exec, f"open({str(marker)!r}, 'w').write('x')")
    path = tmp_path / "model.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "payload": evil}, path)
    assert zipfile.is_zipfile(path)
    marker.unlink(missing_ok=True)
    with pytest.raises(UserError) as err:
        load_generator(path)
    assert "restorefw never executes code from checkpoints" in str(err.value)
    assert ("posix.system" if func == "system" else "asks to import builtins.exec") in str(err.value)
    assert not marker.exists()


def test_torch_zip_with_hand_replaced_data_pkl_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "side-effect"
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(2)}, good)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("/data.pkl"):
                data = _protocol0_call("os", "system", f"touch {marker}")
            dst.writestr(item, data)
    with pytest.raises(UserError) as err:
        load_generator(bad)
    assert "os.system" in str(err.value) or "never executes code" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("source", ["generator.pkl", "weights.safetensors", "zip"])
@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_truncated_files_give_a_clear_error(tmp_path: Path, source: str, keep: float) -> None:
    if source == "zip":
        full = io.BytesIO()
        torch.save({"state_dict": read_checkpoint(TINY / "weights.safetensors").state_dict}, full)
        data, name = full.getvalue(), "g.pt"
    else:
        data, name = (TINY / source).read_bytes(), source
    path = _write(tmp_path, name, data[: int(len(data) * keep)])
    with pytest.raises(UserError, match="truncated or corrupt") as err:
        load_generator(path)
    assert str(path) in str(err.value)


def test_empty_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_generator(_write(tmp_path, "empty.pkl", b""))
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_generator(_write(tmp_path, "noise.pkl", bytes(range(256)) * 4))
    with pytest.raises(UserError, match="not found"):
        load_generator(tmp_path / "missing.pkl")
