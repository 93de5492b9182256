"""benchmarks/sensitivity.py: draws of one image differ only by the target's perturbation."""

from __future__ import annotations

import json
import sys

import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import sensitivity  # noqa: E402

METHOD = """
schedule:
  phases:
    - {space: w, steps: 2, lr: 0.1}
    - {space: w++, steps: 3, lr: 0.01}
losses: [{type: l1}]
outputs: {dir: out}
device: cpu
"""


def _spread(monkeypatch, tmp_path, epsilon: str) -> dict:
    (tmp_path / "method.yaml").write_text(METHOD)
    argv = ["sensitivity.py", "--recipe", str(tmp_path / "method.yaml"), "--size", "16", "--channel-base", "256",
            "--channel-max", "16", "--tasks", "denoising", "--draws", "2", "--epsilon", epsilon,
            "--out", str(tmp_path / "spread.json")]
    monkeypatch.setattr(sys, "argv", argv)
    sensitivity.main()
    return json.loads((tmp_path / "spread.json").read_text())["denoising/0"]


def test_unperturbed_draws_repeat_exactly(monkeypatch, capsys, tmp_path):
    """Denoising's operator draws its noise as it runs: each draw realises it afresh, so draws are equal."""
    entry = _spread(monkeypatch, tmp_path, "0")
    assert len(entry["psnr"]) == 3 and len(set(entry["psnr"])) == 1 and entry["range"] == 0
    assert "denoising seed 0: mean" in capsys.readouterr().out


def test_perturbed_draws_move_the_target_by_at_most_epsilon_and_draw_0_not_at_all():
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert sensitivity.perturbed(target, 0, 0, 1e-3) is target
    one, two = (sensitivity.perturbed(target, 0, draw, 1e-3) for draw in (1, 2))
    assert 0 < (one - target).abs().max() <= 1e-3 and not torch.equal(one, two)
    assert torch.equal(one, sensitivity.perturbed(target, 0, 1, 1e-3))
