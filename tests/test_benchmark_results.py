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


def against_reference(images: dict[tuple[str, str], list[dict]], task: str, entries: list[dict]) -> tuple[float, float]:
    """(time ratio, mean PSNR gain) of `entries` against the task's reference images."""
    reference = images[task, "reference"]
    ratio = statistics.mean(e["seconds"] for e in entries) / statistics.mean(e["seconds"] for e in reference)
    gain = statistics.mean(e["psnr"] for e in entries) - statistics.mean(e["psnr"] for e in reference)
    return ratio, gain


@pytest.mark.parametrize("record, size, methods, seeds, tasks", [
    ("equal-quality-64.jsonl", 64, {"reference", "fast"}, {4}, 4),  # this CPU, one run
    ("rusir-bfloat16-64.jsonl", 64, {"reference", "rusir-bfloat16"}, {4}, 4),  # also holds an older fast
    ("equal-quality-256-cuda.jsonl", 256, {"reference", "fast"}, {4}, 4),  # on an H200
    ("equal-quality-256.jsonl", 256, {"reference", "fast"}, {4}, 4),  # this CPU
    ("ours-fast-64.jsonl", 64, {"reference", "ours-fast"}, {2}, 4),  # ours.yaml as the reference
    ("rusir-winograd-64.jsonl", 64, {"reference", "rusir-winograd"}, {2}, 4),  # an AVX2 CPU
    ("fast-avx2-64.jsonl", 64, {"reference", "fast"}, {4}, 4),  # an AVX2 CPU, one run
    ("fast-avx2-64-b.jsonl", 64, {"reference", "fast"}, {4}, 4),  # the same after the second Winograd pass
    ("fast-avx2-64-c.jsonl", 64, {"reference", "fast"}, {4}, 4),  # the same with the loss's Winograd
    ("fast-avx2-64-d.jsonl", 64, {"reference", "fast"}, {4}, 4),  # the same with inpainting's W, W+ at full/2
    ("fast-avx2-256.jsonl", 256, {"reference", "fast"}, {4}, 1),  # an AVX2 CPU: inpainting
    ("fast-avx2-256-tasks.jsonl", 256, {"reference", "fast"}, {4}, 3),  # the other three tasks
    ("coarse-64.jsonl", 64, {"reference", "fast", "fast-coarse"}, {4}, 1),  # upsampling only
    ("coarse-256.jsonl", 256, {"reference", "fast", "fast-coarse"}, {4}, 1),
    ("upsampling-adaptive-64.jsonl", 64, {"reference", "fast", "fast-upsampling-adaptive"}, {4}, 1),  # AVX2
    ("upsampling-adaptive-256.jsonl", 256, {"reference", "fast", "fast-upsampling-adaptive"}, {4}, 1),
    ("fast-momentum-64.jsonl", 64, {"reference", "fast", "fast-momentum"}, {4}, 4),  # the Xeon; fast.yaml since
    ("fast-momentum-256.jsonl", 256, {"reference", "fast", "fast-momentum"}, {4}, 4),
    ("fast-momentum-64-same-run.jsonl", 64, {"reference", "fast-momentum"}, {1}, 4),  # seed 0, one run
    ("fast-momentum-256-same-run.jsonl", 256, {"reference", "fast-momentum"}, {1}, 2),  # upsampling, inpainting
    ("one-run-64.jsonl", 64, {"reference", "fast"}, {4}, 4),  # the Xeon, fast.yaml as it is, one run
    ("one-run-256.jsonl", 256, {"reference", "fast"}, {4}, 4),
    ("rusir-winograd-xeon-64.jsonl", 64, {"reference", "rusir-winograd"}, {4}, 4),
])
def test_the_docs_table_is_the_committed_records(record, size, methods, seeds, tasks):
    """Every row the docs show for these methods is the record's mean; the record has all their images."""
    images = latest_images(RESULTS / record)
    shown = {key: entries for key, entries in images.items() if key[1] in methods}
    assert {method for _, method in shown} == methods and len(shown) == tasks * len(methods)
    assert {len(v) for v in shown.values()} == seeds
    doc = (REPO / "docs" / "performance.md").read_text()
    for (task, method), entries in shown.items():
        seconds = statistics.mean(e["seconds"] for e in entries)
        psnr = statistics.mean(e["psnr"] for e in entries)
        ratio, gain = against_reference(images, task, entries)
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


def ranges(record: str) -> tuple[str, str]:
    """The contender's time ratios and mean PSNR gains over all tasks, as the summary writes them."""
    images = latest_images(RESULTS / record)
    ratios, gains = zip(*(against_reference(images, task, entries)
                          for (task, method), entries in images.items() if method == "fast"))
    return f"{min(ratios):.2f}–{max(ratios):.2f}×", f"{min(gains):+.2f} to {max(gains):+.2f} dB"


@pytest.mark.parametrize("record, where", [
    ("equal-quality-64.jsonl", "64²: "), ("equal-quality-256.jsonl", "256²: "), ("equal-quality-256-cuda.jsonl", "| "),
    ("fast-avx2-64-d.jsonl", "AVX2, 64²: "),
    ("one-run-64.jsonl", "64², one run (2026-12-02, 4 seeds × 4 tasks): "),
    ("one-run-256.jsonl", "256², one run (2026-12-02, 4 seeds × 4 tasks): "),
])
def test_the_summary_quotes_the_records(record, where):
    doc = (REPO / "docs" / "performance.md").read_text()
    summary = doc.split("## At a glance", 1)[1].split("\n## ", 1)[0]
    ratio, gain = ranges(record)
    row = next(line for line in summary.splitlines() if f"{where}{ratio}" in line)
    assert gain in row.split(f"{where}{ratio}", 1)[1].split(";")[0]
