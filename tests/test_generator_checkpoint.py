"""Checkpoint resolution (path, https + sha256 cache, builtin), .pt/.safetensors formats, convert/generate CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from reference_data import SMALL, TINY, needs_small
from safetensors import safe_open

from restorefw.errors import UserError
from restorefw.generate import generate, parse_seeds
from restorefw_plugins.stylegan2 import checkpoint as ckpt
from restorefw_plugins.stylegan2.checkpoint import (
    build_generator,
    infer_config,
    load_generator,
    resolve_checkpoint,
    save_safetensors,
)
from restorefw_plugins.stylegan2.cli import convert
from restorefw_plugins.stylegan2.pickle_loader import read_checkpoint

URL = "https://example.invalid/models/tiny%20gen.safetensors"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub dir; downloads fail loudly if anything tries the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(ckpt.ENV_OFFLINE, raising=False)

    def no_network(url, dest, timeout=60.0):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(ckpt, "_download", no_network)
    return tmp_path / "torch-home" / "hub" / "restorefw"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_url_offline_error_names_the_file_and_the_cache_path(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sha = _sha(TINY / "weights.safetensors")
    expected = hub / "tiny_gen.safetensors"
    assert ckpt.cache_dir() == hub
    with pytest.raises(UserError) as err:
        resolve_checkpoint(URL, sha)
    assert "tiny_gen.safetensors" in str(err.value) and str(expected) in str(err.value) and sha in str(err.value)
    monkeypatch.setenv(ckpt.ENV_OFFLINE, "1")
    with pytest.raises(UserError, match="downloads are off") as err:
        resolve_checkpoint(URL, sha)
    assert str(expected) in str(err.value)
    with pytest.raises(UserError, match="sha256"):
        resolve_checkpoint(URL)
    expected.parent.mkdir(parents=True)
    shutil.copy(TINY / "weights.safetensors", expected)
    assert resolve_checkpoint(URL, sha) == expected
    assert load_generator(URL, sha256=sha).num_ws == 8
    with pytest.raises(UserError, match="sha256 is"):
        resolve_checkpoint(URL, "0" * 64)


def test_url_is_downloaded_once_and_verified(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(url, dest, timeout=60.0):
        calls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TINY / "weights.safetensors", dest)

    monkeypatch.setattr(ckpt, "_download", fake_download)
    sha = _sha(TINY / "weights.safetensors")
    assert resolve_checkpoint(URL, sha).is_file()
    assert resolve_checkpoint(URL, sha).is_file()
    assert calls == [URL]
    other = "https://example.invalid/other.pkl"
    with pytest.raises(UserError, match="sha256 is"):
        resolve_checkpoint(other, "1" * 64)
    assert not (hub / "other.pkl").exists()  # a download that fails verification is not kept


def test_other_checkpoint_values() -> None:
    with pytest.raises(UserError, match="no built-in generator named 'nope'.*available"):
        resolve_checkpoint("builtin:nope")
    with pytest.raises(UserError, match="only https"):
        resolve_checkpoint("http://example.invalid/g.pkl", "0" * 64)
    with pytest.raises(UserError, match="file not found"):
        resolve_checkpoint("/nonexistent/g.pkl")
    with pytest.raises(UserError, match="sha256 is"):
        resolve_checkpoint(TINY / "generator.pkl", "2" * 64)
    assert resolve_checkpoint(TINY / "generator.pkl", _sha(TINY / "generator.pkl")).is_file()


def test_builtin_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copy(TINY / "weights.safetensors", tmp_path / "demo.safetensors")
    monkeypatch.setattr(ckpt, "builtin_dir", lambda: tmp_path)
    assert ckpt.builtin_names() == ["demo"]
    assert load_generator("builtin:demo").num_ws == 8
    with pytest.raises(UserError, match="available: builtin:demo"):
        resolve_checkpoint("builtin:other")


def test_save_safetensors_round_trip(tmp_path: Path) -> None:
    cfg = {**ckpt.DEFAULT_CONFIG, "img_channels": 1}
    G = build_generator(cfg, seed=5)
    path = save_safetensors(G, tmp_path / "sub" / "g.safetensors", {"kimg": 12, "note": "x"})
    assert sorted(p.name for p in path.parent.iterdir()) == ["g.safetensors"]
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["init_kwargs"]) == cfg and meta["num_ws"] == "8" and meta["kimg"] == "12"
    H = load_generator(path)
    assert H.config == cfg
    for (k, a), b in zip(G.state_dict().items(), H.state_dict().values()):
        assert torch.equal(a, b), k


def _small_ref() -> dict[str, np.ndarray]:
    with np.load(SMALL / "reference.npz") as data:
        return {k: data[k] for k in data.files}


@needs_small
@pytest.mark.parametrize("layout", ["state_dict+config", "G_ema+init_kwargs_json", "bare"])
def test_torch_files(tmp_path: Path, layout: str) -> None:
    data = read_checkpoint(SMALL / "weights.safetensors")
    if layout == "state_dict+config":
        obj = {"state_dict": data.state_dict, "config": data.config}
    elif layout == "G_ema+init_kwargs_json":
        obj = {"G_ema": data.state_dict, "init_kwargs": json.dumps(data.config)}
    else:
        obj = data.state_dict
    path = tmp_path / "g.pth"
    torch.save(obj, path)
    G = load_generator(path)
    if layout == "bare":
        cfg = infer_config(data.state_dict)
        assert cfg["synthesis_kwargs"]["channel_base"] == 4096 and cfg["synthesis_kwargs"]["channel_max"] == 128
        assert (cfg["z_dim"], cfg["w_dim"], cfg["img_resolution"], G.num_ws) == (128, 128, 64, 10)
    else:
        assert G.config == data.config
    ref = _small_ref()
    with torch.no_grad():
        img = G.synthesis(torch.from_numpy(ref["ws_random"][:1])).numpy()
    assert np.abs(img - ref["img_wsrandom_const_fp32"][:1]).max() <= 1e-4


def test_legacy_torch_save_format(tmp_path: Path) -> None:
    data = read_checkpoint(TINY / "weights.safetensors")
    path = tmp_path / "legacy.pt"
    torch.save({"state_dict": data.state_dict, "config": data.config}, path, _use_new_zipfile_serialization=False)
    assert load_generator(path).num_ws == 8


def test_mismatched_weights_are_named(tmp_path: Path) -> None:
    data = read_checkpoint(TINY / "weights.safetensors")
    torch.save({"state_dict": data.state_dict, "config": {**data.config, "img_resolution": 64}}, tmp_path / "g.pt")
    with pytest.raises(UserError, match="missing: synthesis.b64"):
        load_generator(tmp_path / "g.pt")
    with pytest.raises(UserError, match="invalid generator config"):
        load_generator(TINY / "weights.safetensors", config={**data.config, "bogus": 1})


def test_parse_seeds() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,4,10-11") == [1, 4, 10, 11]
    with pytest.raises(UserError):
        parse_seeds("3-1")
    with pytest.raises(UserError):
        parse_seeds("a")


def _invoke(command, args: list[str]):
    result = CliRunner().invoke(command, args, catch_exceptions=True)
    return result


@needs_small
def test_generate_matches_the_references(tmp_path: Path) -> None:
    ref = _small_ref()
    np.save(tmp_path / "z.npy", ref["z"])
    np.save(tmp_path / "wpp.npy", np.repeat(ref["ws_random"][:, :, None, :], 128, axis=2))
    ckpt_path = str(SMALL / "generator.pkl")
    for flag, file, key in [("--z", "z.npy", "img_psi1_const_fp32"), ("--ws", "wpp.npy", "img_wsrandom_const_fp32")]:
        out = tmp_path / f"out-{file}"
        result = _invoke(generate, [ckpt_path, "--out", str(out), flag, str(tmp_path / file),
                                    "--array-out", str(out / "raw.npy"), "--device", "cpu"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        raw = np.load(out / "raw.npy")
        assert raw.dtype == np.float32 and raw.shape == (4, 3, 64, 64)
        assert np.abs(raw - ref[key]).max() <= 1e-4
        pngs = sorted(out.glob("*.png"))
        assert len(pngs) == 4
        pixels = np.asarray(Image.open(pngs[0]))
        expected = np.clip(ref[key][0].transpose(1, 2, 0) * 127.5 + 128, 0, 255).astype(np.uint8)
        assert pixels.shape == (64, 64, 3) and np.abs(pixels.astype(int) - expected).max() <= 1


def test_generate_seeds_use_the_official_z_convention(tmp_path: Path) -> None:
    result = _invoke(generate, [str(TINY / "weights.safetensors"), "--out", str(tmp_path), "--seeds", "3,5",
                                "--truncation-psi", "0.7", "--noise-mode", "none", "--array-out",
                                str(tmp_path / "a.npy")])
    assert result.exit_code == 0, repr(result.exception)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["seed0003.png", "seed0005.png"]
    G = load_generator(TINY / "weights.safetensors")
    z = torch.from_numpy(np.concatenate([np.random.RandomState(s).randn(1, 64) for s in (3, 5)]))
    with torch.no_grad():
        expected = G(z, None, truncation_psi=0.7, noise_mode="none").numpy()
    assert np.abs(np.load(tmp_path / "a.npy") - expected).max() < 1e-5


def test_generate_usage_errors(tmp_path: Path) -> None:
    g = str(TINY / "generator.pkl")
    both = _invoke(generate, [g, "--out", str(tmp_path), "--seeds", "0", "--z", str(tmp_path / "z.npy")])
    assert isinstance(both.exception, UserError) and "only one of" in str(both.exception)
    np.save(tmp_path / "bad.npy", np.zeros((1, 3, 64), np.float32))
    bad = _invoke(generate, [g, "--out", str(tmp_path), "--ws", str(tmp_path / "bad.npy")])
    assert isinstance(bad.exception, UserError) and "W+ [B, 8, 64]" in str(bad.exception)


def test_convert_makes_a_safe_copy(tmp_path: Path) -> None:
    target = tmp_path / "tiny.safetensors"
    result = _invoke(convert, [str(TINY / "generator.pkl"), str(target)])
    assert result.exit_code == 0, repr(result.exception)
    assert "num_ws 8" in result.output
    with safe_open(str(target), "pt") as f:
        meta = f.metadata()
    assert meta["source_format"] == "pkl" and meta["source_sha256"] == _sha(TINY / "generator.pkl")
    ours, official = read_checkpoint(target), read_checkpoint(TINY / "weights.safetensors")
    assert ours.config == official.config
    assert all(torch.equal(ours.state_dict[k], v) for k, v in official.state_dict.items())
    wrong = _invoke(convert, [str(TINY / "generator.pkl"), str(tmp_path / "x.pt")])
    assert isinstance(wrong.exception, UserError)


def test_commands_are_registered_on_the_main_cli(tmp_path: Path) -> None:
    from restorefw.cli import cli

    result = CliRunner().invoke(cli, ["generate", str(TINY / "weights.safetensors"), "--out", str(tmp_path),
                                      "--seeds", "0"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (tmp_path / "seed0000.png").is_file()
    assert CliRunner().invoke(cli, ["convert", "--help"]).exit_code == 0


def test_plain_pickle_of_a_state_dict(tmp_path: Path) -> None:
    import pickle

    data = read_checkpoint(TINY / "weights.safetensors")
    path = tmp_path / "sd.pkl"
    path.write_bytes(pickle.dumps({"G_ema": data.state_dict}))
    G = load_generator(path)
    ref = np.load(TINY / "reference.npz")
    with torch.no_grad():
        img = G.synthesis(torch.from_numpy(ref["ws_random"])).numpy()
    assert np.abs(img - ref["img_wsrandom_const_fp32"]).max() <= 1e-4


def test_generate_accepts_wplus_arrays(tmp_path: Path) -> None:
    with np.load(TINY / "reference.npz") as ref:
        ws, expected = ref["ws_random"][:2], ref["img_wsrandom_const_fp32"][:2]
    np.save(tmp_path / "ws.npy", ws)
    result = _invoke(generate, [str(TINY / "generator.pkl"), "--out", str(tmp_path / "o"), "--ws",
                                str(tmp_path / "ws.npy"), "--array-out", str(tmp_path / "raw.npy")])
    assert result.exit_code == 0, repr(result.exception)
    assert np.abs(np.load(tmp_path / "raw.npy") - expected).max() <= 1e-4
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["ws0000.png", "ws0001.png"]
