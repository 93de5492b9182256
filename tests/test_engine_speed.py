"""engine_speed.py compares with RUSIR's own times only where they were measured alike."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import engine_speed  # noqa: E402

XEON = {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
AVX2 = {"avx2"}


def matching(flags: set[str], clock: str, threads: int) -> list[str]:
    return [r.cpu for r in engine_speed.REFERENCES if r.applies(flags, clock, threads)]


def test_each_reference_applies_only_to_its_cpu_clock_and_threads():
    assert matching(XEON, "wall", 2) == ["a Xeon with AVX-512 and AMX"]
    assert matching(AVX2, "cpu", 1) == ["an AMD EPYC with AVX2 only"]
    assert matching(XEON, "cpu", 1) == ["a Xeon with AVX-512 and AMX"]  # not the AVX2 one
    assert matching(XEON, "cpu", 2) == []
    assert matching(AVX2, "wall", 2) == []
    assert matching({"avx512f"}, "wall", 2) == []  # AVX-512 without AMX is neither


def test_the_docs_quote_the_avx2_reference():
    avx2 = next(r for r in engine_speed.REFERENCES if r.lacks)
    doc = (REPO / "docs" / "performance.md").read_text()
    for size, (w, wp, wpp) in avx2.seconds.items():
        line = f"W {w:.3f}, W+ {wp:.3f}, W++ {wpp:.3f} s" if size == 64 else f"{w:.3f}, {wp:.3f}, {wpp:.3f} s"
        assert f"- {size}²: {line}" in doc


def test_the_docs_quote_the_xeon_references():
    doc = (REPO / "docs" / "performance.md").read_text()
    for reference in (r for r in engine_speed.REFERENCES if not r.lacks):
        for size, (w, wp, wpp) in reference.seconds.items():
            line = f"| {reference.threads}, {reference.clock} | {size} | {w:.3f} / {wp:.3f} / {wpp:.3f} |"
            assert line in doc, line
