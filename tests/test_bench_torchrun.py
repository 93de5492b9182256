"""`torchrun --nproc-per-node 2 -m restorefw bench` gives the tables of one process, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from bench_helpers import ITEMS, done_files, write_grid

from restorefw.bench import run_bench
from restorefw.plugins import load_plugins


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        torchrun = shutil.which("torchrun")
    assert torchrun, "torchrun is installed with torch"
    grid = write_grid(tmp_path)
    single = run_bench(grid, load_plugins(), tmp_path / "single", quiet=True)
    assert single.gathered
    # same CPU thread count in every process: float reductions (and so the last bits) depend on it
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "restorefw", "bench",
                           str(grid), "--output", str(tmp_path / "multi"), "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    multi = tmp_path / "multi"
    assert len(done_files(multi)) == ITEMS
    assert (multi / "tables.csv").read_bytes() == (tmp_path / "single" / "tables.csv").read_bytes()
    assert (multi / "tables.md").read_bytes() == (tmp_path / "single" / "tables.md").read_bytes()
    assert not (multi / ".gather.lock").exists()
