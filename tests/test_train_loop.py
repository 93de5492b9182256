"""restorefw train: a tiny config learns a few steps, checkpoints, resumes exactly, reloads through stylegan2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from restorefw_plugins.stylegan2.checkpoint import load_generator
from restorefw_plugins.training.augment import AdaptiveAugment, colour, rotate90, translate, xflip
from restorefw_plugins.training.configs import get_config
from restorefw_plugins.training.discriminator import Discriminator, minibatch_std
from restorefw_plugins.training.loop import GEMA_FILE, STATE_FILE, Trainer, TrainOptions

RES, BATCH = 16, 8


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _images(n: int = 24) -> torch.Tensor:
    from restorefw_plugins.aerial.dataset import tile
    return torch.stack([torch.from_numpy(tile(3, "train", i, RES)).permute(2, 0, 1) for i in range(n)])


def _trainer(out: Path, kimg: float, images: torch.Tensor) -> Trainer:
    opts = TrainOptions(out=out, resolution=RES, kimg=kimg, batch=BATCH, seed=7, snap_kimg=1.0, tick_kimg=1.0,
                        grid=2, config_name="tiny")
    return Trainer(get_config("tiny"), opts, images)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_steps_checkpoint_and_reload(tmp_path):
    images = _images()
    tr = _trainer(tmp_path, kimg=4 * BATCH / 1000, images=images)
    before = _state(tr.G)
    last = tr.run()
    assert tr.step == 4 and tr.nimg == 4 * BATCH
    assert all(k in last for k in ("loss_G", "loss_D", "kimg_per_h", "ada_p"))
    assert any(not torch.equal(before[k], v) for k, v in tr.G.state_dict().items())  # G actually trained
    for name in (GEMA_FILE, STATE_FILE, "log.jsonl", "status.json"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "samples" / "fakes000000.png").is_file()
    G = load_generator(tmp_path / GEMA_FILE)
    assert set(G.state_dict()) == set(tr.G_ema.state_dict())
    assert G.state_dict()["mapping.fc0.weight"].shape == (32, 32)
    z = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = tr.G_ema(z, None, noise_mode="const")
        got = G(z, None, noise_mode="const")
    assert torch.equal(got, expected)
    assert not torch.allclose(tr.G_ema.mapping.w_avg, torch.zeros_like(tr.G_ema.mapping.w_avg))  # w_avg tracked


def test_resume_continues_exactly(tmp_path):
    images = _images()
    total = 6 * BATCH / 1000
    straight = _trainer(tmp_path / "a", total, images)
    straight.run()

    first = _trainer(tmp_path / "b", 3 * BATCH / 1000, images)
    first.run()  # stops mid ADA interval and between R1 steps
    second = _trainer(tmp_path / "b", total, images)
    assert second.resume() and second.step == 3
    second.run()
    for name in ("G", "G_ema", "D"):
        a, b = getattr(straight, name).state_dict(), getattr(second, name).state_dict()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}.{key} differs after resume"
    assert straight.ada.p == second.ada.p
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [round(e["kimg"], 3) for e in log] == [0.024, 0.048]


def test_discriminator_and_minibatch_std():
    D = Discriminator(16, 3, channel_base=256, channel_max=32)
    x = torch.randn(8, 3, 16, 16)
    assert D(x).shape == (8,)
    feats = torch.randn(8, 5, 4, 4)
    out = minibatch_std(feats, 4)
    assert out.shape == (8, 6, 4, 4)
    # Groups are consecutive samples: the first four share one statistic, the next four another.
    assert torch.allclose(out[0, 5], out[3, 5]) and not torch.allclose(out[0, 5], out[4, 5])
    feats[4:] = feats[:4]  # identical groups give identical statistics
    out = minibatch_std(feats, 4)
    assert torch.allclose(out[0, 5], out[4, 5])


def test_augmentations_are_differentiable_and_identity_at_p0():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 16, 16, generator=gen) * 2 - 1
    for fn in (xflip, rotate90, translate):
        assert torch.equal(fn(x, 0.0, gen=gen), x)
    assert torch.allclose(colour(x, 0.0, gen=gen), x, atol=1e-6)
    xr = x.clone().requires_grad_(True)
    y = colour(translate(rotate90(xflip(xr, 1.0, gen), 1.0, gen), 1.0, gen=gen), 1.0, gen)
    assert y.shape == x.shape and not torch.equal(y, x)
    y.square().sum().backward()
    assert xr.grad is not None and xr.grad.abs().sum() > 0
    # Integer translation only moves pixels: every output value occurs in the input (reflect padding).
    t = translate(x, 1.0, gen=gen)
    assert torch.isin(t, x).all()


def test_ada_probability_follows_the_overfitting_heuristic():
    ada = AdaptiveAugment(target=0.6, speed_kimg=1.0, interval=2)
    for _ in range(4):
        ada.observe(torch.ones(32), batch=32)  # D sure about every real: overfitting
    assert ada.rt == 1.0 and ada.p == pytest.approx(0.128)
    for _ in range(2):
        ada.observe(-torch.ones(32), batch=32)
    assert ada.p == pytest.approx(0.064)
    for _ in range(20):
        ada.observe(-torch.ones(32), batch=32)
    assert ada.p == 0.0
