"""The equal-quality table in docs/performance.md is the one the committed record gives."""

from __future__ import annotations

import json
import statistics

from conftest import REPO

RECORD = REPO / "benchmarks" / "results" / "equal-quality-64.jsonl"


def test_the_docs_64_table_is_the_committed_records():
    lines = [json.loads(line) for line in RECORD.read_text().splitlines() if line.strip()]
    images: dict[tuple[str, str], list[dict]] = {}
    for line in lines:
        images.setdefault((line["task"], line["method"]), []).append(line)
    assert len(images) == 12 and all(len(v) == 4 for v in images.values())  # 4 tasks x 3 methods x 4 seeds
    doc = (REPO / "docs" / "performance.md").read_text()
    for (task, method), entries in images.items():
        reference = images[task, "reference"]
        seconds = statistics.mean(e["seconds"] for e in entries)
        psnr = statistics.mean(e["psnr"] for e in entries)
        ratio = seconds / statistics.mean(e["seconds"] for e in reference)
        gain = psnr - statistics.mean(e["psnr"] for e in reference)
        row = f"| 64 | {task} | {method} | 4 | {seconds:.1f} | {psnr:.2f} | "
        assert row in doc, row
        assert f"| {ratio:.2f} | {gain:+.2f} |" in doc.split(row, 1)[1].splitlines()[0]
