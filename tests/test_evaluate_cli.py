"""`restorefw evaluate`: folders matched by stem, and IS/FID/KID of a generator's samples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from restorefw.evaluate_cli import sample_generator
from restorefw_plugins.stylegan2.checkpoint import build_generator

SMALL = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3, "mapping_kwargs": {"num_layers": 2},
         "synthesis_kwargs": {"channel_base": 256, "channel_max": 16, "num_fp16_res": 0, "conv_clamp": None}}


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def folders(tmp_path):
    """3 matched pairs (gt + noise), one prediction and one ground truth without partner."""
    rng = np.random.default_rng(3)
    pairs = {}
    for stem in ("a", "b", "c"):
        gt = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
        pred = np.clip(gt.astype(int) + rng.integers(-30, 31, gt.shape), 0, 255).astype(np.uint8)
        save(tmp_path / "gt" / f"{stem}.png", gt)
        save(tmp_path / "pred" / f"{stem}.png", pred)
        pairs[stem] = (pred, gt)
    save(tmp_path / "pred" / "only_pred.png", pairs["a"][0])
    save(tmp_path / "gt" / "only_gt.png", pairs["a"][1])
    return tmp_path, pairs


def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    mse = np.mean((pred.astype(np.float64) / 255 - gt.astype(np.float64) / 255) ** 2)
    return float(10 * np.log10(1.0 / mse))


def test_folders_psnr_equals_direct_computation(folders, cli):
    root, pairs = folders
    out = root / "report.json"
    code, stdout, err = cli("evaluate", "--pred", root / "pred", "--gt", root / "gt", "-m", "psnr,ssim", "--json", out)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["matched"] == 3
    assert report["unmatched"] == {"pred_only": ["only_pred"], "gt_only": ["only_gt"]}
    assert "1 predictions without ground truth: only_pred" in err and "1 ground truths without prediction: only_gt" in err
    for stem, (pred, gt) in pairs.items():
        assert report["per_image"][stem]["psnr"] == pytest.approx(psnr(pred, gt), abs=1e-4)
    expected = np.mean([psnr(p, g) for p, g in pairs.values()])
    assert report["metrics"]["psnr"]["value"] == pytest.approx(expected, abs=1e-4)
    assert report["metrics"]["psnr"]["lower_is_better"] is False
    assert 0 < report["metrics"]["ssim"]["value"] < 1
    assert "psnr" in stdout and f"{expected:.4f}" in stdout


def test_folders_missing_weights_metric_is_unavailable_others_go_on(folders, cli):
    root, _ = folders
    code, stdout, err = cli("evaluate", "--pred", root / "pred", "--gt", root / "gt", "-m", "psnr", "-m", "lpips")
    assert code == 0, err
    report = json.loads((root / "pred" / "evaluation.json").read_text())
    assert report["metrics"]["psnr"]["value"] > 0
    assert report["metrics"]["lpips"]["value"] is None
    assert "alexnet" in report["metrics"]["lpips"]["unavailable"]
    assert "lpips unavailable" in stdout


def test_folders_all_unavailable_says_so(folders, cli):
    root, _ = folders
    code, _, err = cli("evaluate", "--pred", root / "pred", "--gt", root / "gt", "-m", "lpips-vgg")
    assert code == 1 and "no metric could be computed" in err and "vgg16" in err


def test_folders_without_common_stems(tmp_path, cli):
    save(tmp_path / "p" / "x.png", np.zeros((8, 8, 3), np.uint8))
    save(tmp_path / "g" / "y.png", np.zeros((8, 8, 3), np.uint8))
    code, _, err = cli("evaluate", "--pred", tmp_path / "p", "--gt", tmp_path / "g")
    assert code == 2 and "no file stem" in err


def test_mode_options_are_checked(tmp_path, cli):
    code, _, err = cli("evaluate")
    assert code == 2 and "either --pred and --gt" in err
    code, _, err = cli("evaluate", "--generator-param", "init=random", "--num", "4")
    assert code == 2 and "--real" in err


def test_samples_depend_on_seed_only():
    G = build_generator(SMALL, 0).eval().requires_grad_(False)
    a = sample_generator(G, 5, 1.0, seed=3, device=torch.device("cpu"), batch_size=2)
    b = sample_generator(G, 5, 1.0, seed=3, device=torch.device("cpu"), batch_size=5)
    c = sample_generator(G, 5, 1.0, seed=4, device=torch.device("cpu"), batch_size=5)
    assert [x.shape[0] for x in a] == [2, 2, 1]
    assert torch.allclose(torch.cat(a), torch.cat(b), atol=1e-6)
    assert not torch.allclose(torch.cat(b), torch.cat(c), atol=1e-3)
    truncated = sample_generator(G, 5, 0.0, seed=3, device=torch.device("cpu"), batch_size=5)[0]
    assert torch.allclose(truncated, truncated[:1].expand_as(truncated), atol=1e-6)  # ψ=0: every sample is w_avg's


def write_reals(folder, count=4):
    rng = np.random.default_rng(5)
    for i in range(count):
        save(folder / f"r{i}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))


def test_generator_without_inception_weights_reports_each_metric(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("RESTOREFW_WEIGHTS_DIR", raising=False)
    write_reals(tmp_path / "real")
    code, stdout, err = cli("evaluate", "--generator-param", "init=random", "--real", tmp_path / "real", "--num", "4",
                            "--json", tmp_path / "gen.json")
    assert code == 1 and "no metric could be computed" in err
    report = json.loads((tmp_path / "gen.json").read_text())
    assert list(report["metrics"]) == ["is", "fid", "kid"]
    for info in report["metrics"].values():
        assert info["value"] is None and "weights-inception-2015-12-05" in info["unavailable"]


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    from restorefw_plugins.iqa.inception import random_inception_weights

    return random_inception_weights(tmp_path_factory.mktemp("inception") / "random-inception.pth", seed=0)


def run_generator(cli, tmp_path, weights, metrics):
    write_reals(tmp_path / "real", count=2)
    params = [arg for m in metrics for arg in ("--metric-param", f"{m}.weights_path={weights}")]
    extra = {"kid": ["--metric-param", "kid.subset_size=2"], "is": ["--metric-param", "is.splits=1"]}
    code, stdout, err = cli("evaluate", "--generator-param", "init=random", "--generator-param", "seed=1",
                            "--generator-param", f"config={json.dumps(SMALL)}",
                            "--real", tmp_path / "real", "--num", "2", "--truncation-psi", "0.7", "--seed", "2",
                            "-m", ",".join(metrics), *params, *[a for m in metrics for a in extra.get(m, [])],
                            "--json", tmp_path / "gen.json")
    assert code == 0, err
    report = json.loads((tmp_path / "gen.json").read_text())
    assert report["samples"] == 2 and report["real_images"] == 2 and report["truncation_psi"] == 0.7
    values = {name: info["value"] for name, info in report["metrics"].items()}
    assert list(values) == list(metrics)
    assert all(v is not None and math.isfinite(v) for v in values.values()), report["metrics"]
    return report, stdout


def test_generator_is_kid_with_random_inception(tmp_path, cli, random_inception):
    report, stdout = run_generator(cli, tmp_path, random_inception, ["is", "kid"])
    assert report["metrics"]["is"]["value"] >= 1.0
    assert report["metrics"]["kid"]["details"]["subset_size"] == 2
    assert "is ↑" in stdout and "kid ↓" in stdout


@pytest.mark.slow
def test_generator_fid_with_random_inception(tmp_path, cli, random_inception):
    """FID's 2048×2048 matrix square root alone takes seconds on a CPU, hence slow."""
    report, stdout = run_generator(cli, tmp_path, random_inception, ["is", "fid", "kid"])
    assert report["metrics"]["fid"]["value"] > 0 and "fid ↓" in stdout
