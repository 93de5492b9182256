"""kill -9 at seeded points of `restorefw run` and of `restorefw bench` (2 shards sharing one folder), then resume.

After every kill: each item finished before it is untouched (same files, same mtimes: neither lost nor
recomputed) and every file under a final name is complete. At the end: results.json and tables.csv equal
those of an uninterrupted run, and a gather lock left by a killed process has been taken over.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from bench_helpers import RECIPE, write_images
from image_cases import photo
from kill_helpers import PHASES, finished, run_process, start, unreadable_final_files, wait
from PIL import Image
from test_bad_inputs_run import TINY

GATHER = ("results.json", "tables.md", "tables.csv", "tables.tex")
WRITES_PER_IMAGE = 7  # restored, target, ground truth, grid, log, styles, done-record


def run_recipe(root: Path, images: int) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i in range(images):
        Image.fromarray(photo(seed=i)).save(root / "images" / f"img{i}.png")
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump({
        "generator": TINY, "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.05},
                                                   {"space": "w+", "steps": 1, "lr": 0.02}]},
        "degradation": {"task": "inpainting", "level": "M"}, "losses": [{"type": "l1"}], "metrics": ["psnr"],
        "inputs": {"path": "images"}, "device": "cpu", "batch_size": 1}))
    return path


def without_timings(results: dict) -> dict:
    return {k: v for k, v in results.items() if k != "seconds_per_image"}


def check_after_kill(out: Path, before: dict, where: str) -> None:
    after = finished(out)
    for item, files in before.items():
        assert after.get(item) == files, f"{where}: finished item {item} was lost or rewritten"
    assert unreadable_final_files(out) == [], where


def kill_chain(tmp_path: Path, images: int, kills: int, seed: int) -> int:
    """Kill `restorefw run` `kills` times at seeded points, resume to the end, compare with an uninterrupted run."""
    recipe = run_recipe(tmp_path, images)
    assert run_process(["run", recipe, "-o", tmp_path / "reference"], None, tmp_path / "reference.log") == 0
    out, rng, survived = tmp_path / "out", random.Random(seed), 0
    while survived < kills:
        remaining = images - len(finished(out))
        kill = (rng.choice(PHASES), rng.randint(1, 2 + WRITES_PER_IMAGE * remaining), ())
        before = finished(out)
        code = run_process(["run", recipe, "-o", out], kill, tmp_path / f"kill{survived}.log")
        if code == -9:
            survived += 1
            check_after_kill(out, before, f"kill {survived} at {kill}")
        else:
            assert code == 0, (tmp_path / f"kill{survived}.log").read_text()
    before = finished(out)
    assert run_process(["run", recipe, "-o", out], None, tmp_path / "final.log") == 0
    check_after_kill(out, before, "final resume")
    reference = json.loads((tmp_path / "reference" / "results.json").read_text())
    assert without_timings(json.loads((out / "results.json").read_text())) == without_timings(reference)
    for i in range(images):
        for name in ("restored.png", "target.png", "styles.pt"):
            mine, theirs = out / "images" / f"img{i}" / name, tmp_path / "reference" / "images" / f"img{i}" / name
            assert mine.read_bytes() == theirs.read_bytes(), (i, name)
    return survived


def test_run_survives_a_few_kills(tmp_path):
    assert kill_chain(tmp_path, images=2, kills=3, seed=1) == 3


@pytest.mark.slow
def test_run_survives_ten_seeded_kills(tmp_path):
    assert kill_chain(tmp_path, images=3, kills=10, seed=16) == 10


GRID = """\
name: killed
recipes: [l1]
tasks: [denoising, inpainting]
levels: [XS]
images: images
metrics: [psnr, {type: pfid, params: {crop_size: 16, num_crops: 2}}]
"""


def bench_grid(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "l1.yaml").write_text(RECIPE.format(name="l1", loss="l1"))
    write_images(root / "images", count=4)
    (root / "grid.yaml").write_text(textwrap.dedent(GRID))
    return root / "grid.yaml"


@pytest.mark.slow
def test_bench_with_two_shards_survives_seeded_kills_and_a_stale_gather_lock(tmp_path):
    grid = bench_grid(tmp_path)
    assert run_process(["bench", grid, "-o", tmp_path / "reference", "-q"], None, tmp_path / "ref.log") == 0
    out, rng = tmp_path / "out", random.Random(216)
    survived, stale_locks, round_ = 0, 0, 0
    while survived < 8 or stale_locks < 1:
        round_ += 1
        assert round_ < 40, "the kill rounds do not converge"
        all_done = len(finished(out)) == 8
        kills = [(rng.choice(PHASES), rng.randint(1, 4), GATHER) if all_done and rng.random() < 0.7
                 else (rng.choice(PHASES), rng.randint(1, 12), ()) if rng.random() < 0.85 else None
                 for _ in range(2)]
        before = finished(out)
        pids = [start(["bench", grid, "-o", out, "--shard", f"{i}/2", "-q"], kill, tmp_path / f"r{round_}s{i}.log")
                for i, kill in enumerate(kills)]
        codes = [wait(pid) for pid in pids]
        for i, code in enumerate(codes):
            assert code in (0, -9), (tmp_path / f"r{round_}s{i}.log").read_text()
        survived += codes.count(-9)
        if -9 in codes:
            check_after_kill(out, before, f"round {round_}, kills {kills}, codes {codes}")
        if (out / ".gather.lock").exists():
            stale_locks += 1
    print(f"bench: {survived} kills survived in {round_} rounds, {stale_locks} stale gather lock(s) taken over")
    before = finished(out)
    for i in range(2):
        assert run_process(["bench", grid, "-o", out, "--shard", f"{i}/2", "-q"], None, tmp_path / "final.log") == 0
    check_after_kill(out, before, "final resume")
    assert not (out / ".gather.lock").exists()
    assert (out / "tables.csv").read_bytes() == (tmp_path / "reference" / "tables.csv").read_bytes()
    reference = json.loads((tmp_path / "reference" / "results.json").read_text())
    assert close(json.loads((out / "results.json").read_text()), reference)


def close(a, b) -> bool:
    """Equal JSON, floats to float32 precision (a recomputed item may differ in its last float32 bits)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.slow
def test_real_cli_process_killed_with_sigkill_resumes(tmp_path):
    """The same guarantee through the installed entry point: `python -m restorefw run`, SIGKILL from outside."""
    recipe = run_recipe(tmp_path, images=3)
    out, rng = tmp_path / "out", random.Random(3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "restorefw", "run", str(recipe), "-o", str(out)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("images/*/done.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0, 0.5))
    process.send_signal(signal.SIGKILL)
    assert process.wait() in (-signal.SIGKILL, 0)
    before = finished(out)
    check_after_kill(out, before, "after SIGKILL")
    assert subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0
    check_after_kill(out, before, "after resuming")
    assert len(finished(out)) == 3
