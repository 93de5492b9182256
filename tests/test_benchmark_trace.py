"""benchmarks/psnr_trace.py records the PSNR of every render, coarse renders included."""

from __future__ import annotations

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import psnr_trace  # noqa: E402

METHOD = """
schedule:
  phases:
    - {space: w, steps: 2, lr: 0.1, render_resolution: target}
    - {space: w+, steps: 3, lr: 0.01}
losses: [{type: l1}]
outputs: {dir: out}
device: cpu
"""


def test_trace_holds_one_psnr_per_render_and_ends_at_the_result(monkeypatch, capsys, tmp_path) -> None:
    (tmp_path / "method.yaml").write_text(METHOD)
    argv = ["psnr_trace.py", "--recipe", str(tmp_path / "method.yaml"), "--reference", "--size", "16",
            "--tasks", "upsampling", "--channel-base", "256", "--channel-max", "16", "--out", str(tmp_path / "t.json")]
    monkeypatch.setattr(sys, "argv", argv)
    psnr_trace.main()
    entry = json.loads((tmp_path / "t.json").read_text())["upsampling/0"]
    assert len(entry["psnr"]) == 2 + 3 + 1  # every step's render and the final one
    assert abs(entry["psnr"][-1] - entry["final_psnr"]) < 1e-6
    assert "w end" in capsys.readouterr().out
