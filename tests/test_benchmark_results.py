"""The equal-quality tables in docs/performance.md are the ones the committed records give."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from conftest import REPO

RESULTS = REPO / "benchmarks" / "results"


def latest_images(record: Path) -> dict[tuple[str, str], list[dict]]:
    """Each (task, method)'s images, one per seed: a method's later line for a seed (its recipe changed and
    the image was run again) replaces the earlier, as the record is read in file order."""
    latest: dict[tuple[str, str, int], dict] = {}
    for line in record.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            latest[entry["task"], entry["method"], entry["seed"]] = entry
    images: dict[tuple[str, str], list[dict]] = {}
    for (task, method, _), entry in latest.items():
        images.setdefault((task, method), []).append(entry)
    return images


@pytest.mark.parametrize("record, size, methods, seeds, tasks", [
    ("equal-quality-64.jsonl", 64, 3, {4}, 4),  # reference, fast, rusir-bfloat16
    ("equal-quality-256-cuda.jsonl", 256, 2, {4}, 4),  # reference, fast (on an H200)
    ("equal-quality-256.jsonl", 256, 2, {4}, 4),  # this CPU
    ("ours-fast-64.jsonl", 64, 2, {2}, 4),  # ours.yaml as the reference, ours-fast
    ("coarse-64.jsonl", 64, 3, {4}, 1),  # upsampling: reference, fast, fast-coarse
    ("coarse-256.jsonl", 256, 3, {4}, 1),
])
def test_the_docs_table_is_the_committed_records(record, size, methods, seeds, tasks):
    images = latest_images(RESULTS / record)
    assert len(images) == tasks * methods and {len(v) for v in images.values()} == seeds
    doc = (REPO / "docs" / "performance.md").read_text()
    for (task, method), entries in images.items():
        reference = images[task, "reference"]
        seconds = statistics.mean(e["seconds"] for e in entries)
        psnr = statistics.mean(e["psnr"] for e in entries)
        ratio = seconds / statistics.mean(e["seconds"] for e in reference)
        gain = psnr - statistics.mean(e["psnr"] for e in reference)
        row = f"| {size} | {task} | {method} | {len(entries)} | {seconds:.1f} | {psnr:.2f} | "
        assert row in doc, row
        assert f"| {ratio:.2f} | {gain:+.2f} |" in doc.split(row, 1)[1].splitlines()[0]


def test_a_later_line_for_the_same_seed_replaces_the_earlier(tmp_path):
    lines = [{"task": "inpainting", "method": "fast", "seed": 0, "psnr": 1.0},
             {"task": "inpainting", "method": "fast", "seed": 1, "psnr": 2.0},
             {"task": "inpainting", "method": "fast", "seed": 0, "psnr": 3.0}]
    record = tmp_path / "r.jsonl"
    record.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert sorted(e["psnr"] for e in latest_images(record)["inpainting", "fast"]) == [2.0, 3.0]
