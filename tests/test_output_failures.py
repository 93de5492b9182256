"""An output folder that cannot be written, and a disk that fills up mid-run: exit 2 naming the folder, nothing
half-written under a final name, finished images kept, and a rerun resumes."""

from __future__ import annotations

import errno
import json
import os

import yaml
from image_cases import photo
from PIL import Image
from test_bad_inputs_run import TINY


def write_run(tmp_path, out: str, images: int = 3) -> str:
    (tmp_path / "images").mkdir(exist_ok=True)
    for i in range(images):
        Image.fromarray(photo(seed=i)).save(tmp_path / "images" / f"img{i}.png")
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({
        "generator": TINY, "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.05}]},
        "degradation": {"task": "denoising", "level": "M"}, "losses": [{"type": "l1"}], "metrics": ["psnr"],
        "inputs": {"path": "images"}, "outputs": {"dir": out}, "device": "cpu", "batch_size": 1}))
    return path


def test_output_folder_that_cannot_be_created(tmp_path, cli):
    (tmp_path / "taken").write_text("a file where the output folder should be")
    code, _, err = cli("run", write_run(tmp_path, "taken/out"))
    assert code == 2 and "Traceback" not in err
    assert f"cannot create the folder {tmp_path / 'taken' / 'out'}" in err and "--output" in err


def test_output_folder_without_permission(tmp_path, cli, monkeypatch):
    real_open = os.open

    def denied(path, flags, *args):
        if str(path).startswith(str(tmp_path / "out")) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    code, _, err = cli("run", write_run(tmp_path, "out"))
    assert code == 2 and "Traceback" not in err
    assert f"in {tmp_path / 'out'} (Permission denied). The folder is not writable" in err


def test_full_disk_mid_run_leaves_nothing_half_written_and_resumes(tmp_path, cli, monkeypatch):
    recipe = write_run(tmp_path, "out")
    real_fsync, calls = os.fsync, []

    def fills_up(fd):
        calls.append(fd)
        if len(calls) > 12:  # the manifest and the first image's files fit, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fills_up)
    code, _, err = cli("run", recipe)
    monkeypatch.setattr(os, "fsync", real_fsync)
    out = tmp_path / "out"
    assert code == 2 and "Traceback" not in err
    assert "The disk (or your quota) is full" in err and f"in {out / 'images'}" in err
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("images/*/done.json")}
    assert finished == {"img0": finished["img0"]}
    json.loads((out / "images" / "img0" / "done.json").read_text())
    code, _, err = cli("run", recipe)
    assert code == 0, err
    assert "Resuming: 1 of 3 images already finished" in err
    assert (out / "images" / "img0" / "done.json").stat().st_mtime_ns == finished["img0"]
    assert sorted(p.parent.name for p in out.glob("images/*/done.json")) == ["img0", "img1", "img2"]


def test_a_rerun_removes_the_temporary_files_a_killed_write_left(tmp_path, cli):
    recipe = write_run(tmp_path, "out", images=1)
    folder = tmp_path / "out" / "images" / "img0"
    folder.mkdir(parents=True)
    stale, fresh, theirs = (folder / ".restored.png.0123456789ab.tmp", folder / ".grid.png.ba9876543210.tmp",
                            folder / ".notes.tmp")
    for path in (stale, fresh, theirs):
        path.write_bytes(b"half")
    hours_ago = os.stat(fresh).st_mtime - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(theirs, (hours_ago, hours_ago))
    code, _, err = cli("run", recipe)
    assert code == 0, err
    assert "Removed 1 temporary file(s) that an interrupted run left" in err
    assert not stale.exists() and fresh.exists() and theirs.exists()  # a write in progress, a user's own file
    assert (folder / "done.json").is_file()
