"""Run `restorefw ...` in a forked process that kills itself with SIGKILL at a chosen atomic write.

A kill point is (phase, n, names): at the n-th atomic write (counting only files called one of `names`
when given), "before" dies before the temporary file exists, "partial" after writing part of it, and
"after" right after it was renamed to its final name. The fork shares the test's imported modules,
so each process starts in milliseconds; it is a separate process and dies exactly as kill -9 makes it.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

PHASES = ("before", "partial", "after")
KillPoint = tuple[str, int, tuple[str, ...]]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install(kill: KillPoint) -> None:
    """Patch the atomic writer of this (child) process so that it dies at `kill`."""
    from restorefw import imageio

    phase, n, names = kill
    seen = {"writes": 0, "armed": False}
    original_temp, original_replace = imageio.temp_file_beside, os.replace

    def temp_file_beside(path: Path, suffix: str = ".tmp"):
        if names and Path(path).name not in names:
            return original_temp(path, suffix)
        seen["writes"] += 1
        seen["armed"] = seen["writes"] == n
        if seen["armed"] and phase == "before":
            _die()
        fd, tmp = original_temp(path, suffix)
        if seen["armed"] and phase == "partial":
            os.write(fd, b"\x89PNG\r\n\x1a\n{ half of a file")
            _die()
        return fd, tmp

    def replace(src, dst):
        original_replace(src, dst)
        if seen["armed"] and phase == "after" and (not names or Path(dst).name in names):
            _die()

    imageio.temp_file_beside = temp_file_beside
    os.replace = replace


def _child(args: Sequence[str], kill: KillPoint | None, log: Path) -> None:
    """The forked process: run `restorefw ARGS` (output to `log`) and exit with its code, never returning."""
    code = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ["OMP_NUM_THREADS"] = "1"  # `threads: auto` must not grow OpenMP's pool in a fork: it can hang
        torch.set_num_threads(1)
        if kill is not None:
            _install(kill)
        from restorefw.cli import main

        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        os._exit(code)


def start(args: Sequence[str], kill: KillPoint | None, log: Path) -> int:
    """Fork a process running `restorefw ARGS` that dies at `kill` (None: never); its pid."""
    pid = os.fork()
    if pid == 0:
        _child(args, kill, log)
    return pid


def wait(pid: int) -> int:
    """Exit code of a `start`ed process: -9 when it was killed by SIGKILL."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_process(args: Sequence[str], kill: KillPoint | None, log: Path) -> int:
    return wait(start(args, kill, log))


def finished(root: Path) -> dict[str, dict[str, tuple[int, bytes]]]:
    """Every finished item under `root` (a folder holding a done.json): its files' (mtime_ns, bytes)."""
    return {str(done.parent.relative_to(root)): {p.name: (p.stat().st_mtime_ns, p.read_bytes())
                                                 for p in sorted(done.parent.iterdir()) if p.is_file()
                                                 and not p.name.startswith(".")}
            for done in sorted(root.rglob("done.json"))}


def unreadable_final_files(root: Path) -> list[str]:
    """Files under a final name (not a hidden temporary) that are not complete PNG, JSON or torch files."""
    bad = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            if path.suffix == ".png":
                with Image.open(path) as image:
                    image.load()
            elif path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".pt":
                torch.load(path)
            elif path.suffix in (".csv", ".md", ".tex"):
                text = path.read_text()
                assert text.endswith("\n") and "half of a file" not in text
        except Exception as exc:  # noqa: BLE001 - any failure to read is what this looks for
            bad.append(f"{path}: {exc}")
    return bad
