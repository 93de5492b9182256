"""`restorefw train` end to end on a tiny folder: outputs, refusal to overwrite, resume, bad input."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from restorefw_plugins.aerial.dataset import AerialDataset


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_train_command_runs_and_resumes(cli, tmp_path):
    data = tmp_path / "data"
    AerialDataset(resolution=16, train_count=16, test_count=1).materialize("train", data)
    out = tmp_path / "run"
    args = ["train", "--data", data, "--out", out, "--resolution", 16, "--config", "tiny", "--batch", 8,
            "--kimg", 0.016, "--snap", 1, "--threads", 1, "--quiet"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    header = json.loads(stdout.splitlines()[0])
    assert header["images"] == 16 and header["config"] == "tiny" and header["G_params"] > 0
    assert json.loads(stdout.splitlines()[-1])["done"] is True
    for name in ("G_ema.safetensors", "training-state.safetensors", "samples/reals.png", "samples/fakes000000.png"):
        assert (out / name).is_file(), name

    code, _, stderr = cli(*args)  # an existing run is never overwritten silently
    assert code == 2 and "--resume" in stderr

    code, stdout, stderr = cli(*[a if a != 0.016 else 0.032 for a in args], "--resume")
    assert code == 0, stderr
    assert json.loads(stdout.splitlines()[0])["resumed_at_kimg"] == 0.016
    assert json.loads((out / "status.json").read_text())["step"] == 4

    code, stdout, stderr = cli("generate", out / "G_ema.safetensors", "--out", tmp_path / "gen", "--seeds", "0-1")
    assert code == 0, stderr
    assert len(list((tmp_path / "gen").glob("*.png"))) == 2


def test_train_rejects_wrong_image_size(cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (20, 16)).save(data / "odd.png")
    code, _, stderr = cli("train", "--data", data, "--out", tmp_path / "run", "--resolution", 16, "--config", "tiny",
                          "--kimg", 0.008, "--quiet")
    assert code == 2 and "odd.png" in stderr and "16" in stderr


def test_train_rejects_unknown_config(cli, tmp_path):
    code, _, stderr = cli("train", "--data", tmp_path, "--out", tmp_path / "run", "--config", "huge", "--quiet")
    assert code == 2 and "huge" in stderr and "tiny" in stderr
