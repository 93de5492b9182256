"""Thread counts: the user's number wins; `auto` leaves busy cores alone and splits the rest among restorefw processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restorefw import threads


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A pretend machine: `machine(cores, busy)`; the peer registry lives in tmp_path."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "peers_folder", lambda: tmp_path / "active")
    monkeypatch.setattr(threads, "_registered", None)
    monkeypatch.setattr(threads, "_start_share", None)
    before = torch.get_num_threads()

    def configure(cores: int, busy: int) -> None:
        monkeypatch.setattr(threads, "usable_cores", lambda: cores)
        monkeypatch.setattr(threads, "busy_cores", lambda: busy)

    yield configure
    torch.set_num_threads(before)


def other_process(tmp_path):
    """A live process registered as a restorefw peer."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "active").mkdir(parents=True, exist_ok=True)
    (tmp_path / "active" / str(proc.pid)).touch()
    return proc


def test_alone_on_an_idle_machine_uses_every_core(machine):
    machine(16, 0)
    assert threads.resolve("auto") == 16


def test_a_busy_process_elsewhere_keeps_its_core(machine):
    machine(16, 1)
    assert threads.resolve("auto") == 15
    machine(2, 1)
    threads._start_share = None
    assert threads.resolve("auto") == 1


def test_restorefw_processes_share_the_cores_and_take_them_back(machine, tmp_path):
    machine(16, 0)
    assert threads.resolve("auto") == 16
    peer = other_process(tmp_path)
    try:
        assert threads.apply("auto") == 8 and torch.get_num_threads() == 8
    finally:
        peer.kill()
        peer.wait()
    assert threads.apply("auto") == 16  # the dead peer's entry is dropped
    assert sorted(p.name for p in (tmp_path / "active").iterdir()) == [str(os.getpid())]


def test_explicit_numbers_and_omp_num_threads_win(machine, monkeypatch):
    machine(16, 4)
    assert threads.apply(3) == 3 and torch.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.resolve("auto") == 2 and threads.resolve(5) == 5


def test_at_least_one_thread(machine, tmp_path):
    machine(2, 7)
    assert threads.resolve("auto") == 1


TINY = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 1}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


def _recipe(tmp_path, **extra) -> Path:
    import yaml

    from restorefw.imageio import write_png

    write_png(tmp_path / "images" / "a.png", torch.rand(3, 16, 16))
    recipe = {"generator": {"type": "stylegan2-ada", "params": {"init": "random", "config": TINY}},
              "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]},
              "degradation": {"task": "denoising", "level": "M"}, "losses": ["l1"],
              "inputs": {"path": str(tmp_path / "images")}, "outputs": {"dir": str(tmp_path / "out")},
              "device": "cpu", **extra}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_recipes_and_the_command_line_set_the_threads(tmp_path, cli):
    before = torch.get_num_threads()
    try:
        code, _, err = cli("run", _recipe(tmp_path, threads=3), "--no-report")
        assert code == 0, err
        assert torch.get_num_threads() == 3
        code, _, err = cli("run", _recipe(tmp_path, threads=3), "--no-report", "--force", "--threads", "2")
        assert code == 0, err
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value,args", [(0, []), ("many", []), (None, ["--threads", "0"]), (None, ["--threads", "x"])])
def test_bad_thread_counts_are_user_errors(tmp_path, cli, value, args):
    path = _recipe(tmp_path, **({"threads": value} if value is not None else {}))
    code, _, err = cli("run", path, "--no-report", *args)
    assert code == 2 and "threads" in err and "Traceback" not in err


def test_a_grid_and_the_bench_command_set_the_threads(tmp_path, cli):
    from bench_helpers import write_grid

    before = torch.get_num_threads()
    try:
        grid = write_grid(tmp_path, "recipes: [l1]\ntasks: [denoising]\nlevels: [M]\nimages: images\nlimit: 1\n"
                                    "metrics: [psnr]\nthreads: 3\n")
        code, _, err = cli("bench", grid, "-o", tmp_path / "a", "--no-report", "-q")
        assert code == 0, err
        assert torch.get_num_threads() == 3
        code, _, err = cli("bench", grid, "-o", tmp_path / "b", "--no-report", "-q", "--threads", "1")
        assert code == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_busy_cores_measures_now_not_the_last_minute(monkeypatch):
    """1.5 of 2 cores busy during the sample counts as 2, whatever the load average still says."""
    samples = iter([(1000, 4000), (1150, 4200)])
    monkeypatch.setattr(threads, "cpu_jiffies", lambda: next(samples))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert threads.busy_cores() == 2
    samples = iter([(1000, 4000), (1010, 4200)])
    monkeypatch.setattr(threads, "cpu_jiffies", lambda: next(samples))
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert threads.busy_cores() == 0  # a job that just ended leaves the load average high, the cores free


def test_busy_cores_falls_back_to_the_load_average(monkeypatch):
    monkeypatch.setattr(threads, "cpu_jiffies", lambda: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.2, 3.0, 3.0))
    assert threads.busy_cores() == 1


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="no /proc/stat on this OS")
def test_cpu_jiffies_reads_this_machine():
    busy, total = threads.cpu_jiffies()
    assert 0 < busy < total
    assert threads.cpu_jiffies()[1] >= total
