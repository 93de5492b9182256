"""How many CPU threads torch uses: the user's number, or a share of the machine that other work leaves free.

torch starts one thread per core. When any other process keeps a core busy, its threads wait for the
descheduled one at every parallel region, and a step gets many times slower. `threads: auto` (the
default) therefore takes the usable cores, minus those other processes keep busy when this process
starts (measured over a quarter of a second; the 1-minute load average where the OS does not say),
divided evenly among the restorefw processes running on the
machine (each registers itself in a per-user folder), and re-applies that share before every batch
as processes come and go. `OMP_NUM_THREADS` (torchrun sets 1 per process) replaces the share, and
an explicit `threads: N` or `--threads N` wins over both.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal

import torch
from pydantic import Field

from restorefw.errors import UserError

Threads = Annotated[int, Field(ge=1)] | Literal["auto"]
THREADS_HELP = ("CPU threads for torch: a number, or auto (OMP_NUM_THREADS when set, else the cores other "
                "processes leave free, shared among the restorefw processes of the machine)")

_registered: Path | None = None
_start_share: int | None = None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


SAMPLE_SECONDS = 0.25
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq; idle, iowait and steal count as free


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine since boot, in jiffies; None where /proc/stat is absent."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    values = [int(value) for value in fields[1:9]]
    return sum(values[i] for i in BUSY_FIELDS), sum(values)


def busy_cores() -> int:
    """Cores other processes keep busy now: measured over SAMPLE_SECONDS, else the 1-minute load average.

    The load average decays over minutes, so right after a long job ends it still reports its cores
    busy; the sample does not.
    """
    before = cpu_jiffies()
    if before is not None:
        time.sleep(SAMPLE_SECONDS)
        after = cpu_jiffies()
        if after is not None and after[1] > before[1]:
            share = (after[0] - before[0]) / (after[1] - before[1])
            return round(share * (os.cpu_count() or 1))
    try:
        return round(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0


def peers_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"restorefw-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / "active"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def running_peers() -> int:
    """restorefw processes registered on this machine and still alive (this one included once registered)."""
    folder = peers_folder()
    count = 0
    for entry in folder.glob("*") if folder.is_dir() else []:
        if entry.name.isdigit() and _alive(int(entry.name)):
            count += 1
        else:
            entry.unlink(missing_ok=True)
    return max(count, 1)


def register() -> None:
    """Announce this process to the other restorefw processes of the machine until it exits."""
    global _registered
    if _registered is not None:
        return
    folder = peers_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _registered = folder / str(os.getpid())
        _registered.touch()
    except OSError:
        _registered = None
        return
    atexit.register(_registered.unlink, missing_ok=True)


def auto_threads() -> int:
    """This process's share: free cores at its start, divided among the running restorefw processes."""
    global _start_share
    cores = usable_cores()
    if _start_share is None:
        _start_share = max(1, cores - busy_cores())
    return max(1, min(_start_share, cores // running_peers()))


def parse_option(text: str | None) -> int | str | None:
    """`--threads N|auto` as a recipe's `threads` value (None when the option is not given)."""
    if text is None or text == "auto":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UserError(f"--threads {text!r}: give a number of threads (1 or more) or auto.")


def resolve(choice: int | str | None) -> int:
    """The thread count for `choice`: a number, or "auto"/None (OMP_NUM_THREADS when set, else the share)."""
    if isinstance(choice, int):
        return choice
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    register()
    return auto_threads()


def apply(choice: int | str | None) -> int:
    """Set torch's intra-op thread count for `choice`; returns it."""
    threads = resolve(choice)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
