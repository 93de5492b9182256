"""Thread counts: the user's number wins; `auto` leaves busy cores alone and splits the rest among restorefw processes."""

from __future__ import annotations

import os
import subprocess
import sys

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
