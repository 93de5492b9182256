"""benchmarks/equal_quality.py --record: finished images are kept, a rerun skips them, and tables can be
printed from the file alone."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import equal_quality  # noqa: E402

TINY_METHOD = """
schedule:
  phases:
    - {space: w, steps: 2, lr: 0.1}
    - {space: w++, steps: %d, lr: 0.01}
losses: [{type: l1}]
outputs: {dir: out}
device: cpu
"""


def _bench(monkeypatch, capsys, tmp_path, *extra: str) -> str:
    (tmp_path / "reference.yaml").write_text(TINY_METHOD % 2)
    (tmp_path / "short.yaml").write_text(TINY_METHOD % 1)
    argv = ["equal_quality.py", "--sizes", "16", "--tasks", "denoising", "--channel-base", "256", "--channel-max",
            "16", "--reference", str(tmp_path / "reference.yaml"), "--contenders", str(tmp_path / "short.yaml"),
            "--clock", "cpu", "--record", str(tmp_path / "eq.jsonl"), *extra]
    monkeypatch.setattr(sys, "argv", argv)
    equal_quality.main()
    return capsys.readouterr().out


def _lines(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "eq.jsonl").read_text().splitlines()]


def _table(out: str) -> list[str]:
    """The rows of the table of means."""
    return [line for line in out.splitlines() if line.startswith("| 16 |") and "→" not in line]


def _per_image(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("| 16 |") and "→" in line]


@pytest.mark.slow
def test_a_rerun_skips_recorded_images_and_added_seeds_run(monkeypatch, capsys, tmp_path):
    first = _bench(monkeypatch, capsys, tmp_path, "--seeds", "1")
    lines = _lines(tmp_path)
    assert [(e["method"], e["seed"], e["task"]) for e in lines] == [("reference", 0, "denoising"),
                                                                    ("short", 0, "denoising")]
    assert all(e["seconds"] > 0 and 0 < e["psnr"] < 60 and e["fingerprint"] for e in lines)
    assert len({(e["run"], e["commit"]) for e in lines}) == 1 and lines[0]["commit"] == equal_quality.source_commit()
    assert f"images by origin: run {lines[0]['run']} at {lines[0]['commit']}: 2" in first

    again = _bench(monkeypatch, capsys, tmp_path, "--seeds", "1")
    assert len(_lines(tmp_path)) == 2 and "16² seed 0" not in again  # nothing ran
    assert _table(again) == _table(first)

    _bench(monkeypatch, capsys, tmp_path, "--seeds", "2")
    assert [(e["method"], e["seed"]) for e in _lines(tmp_path)[2:]] == [("reference", 1), ("short", 1)]

    out = _bench(monkeypatch, capsys, tmp_path, "--seeds", "2", "--table-only")
    table = _table(out)
    [origins] = [line for line in out.splitlines() if line.startswith("images by origin: ")]
    assert sum(int(part.rsplit(": ", 1)[1]) for part in origins.split("origin: ", 1)[1].split("; ")) == 4
    assert len(table) == 2 and all(row.split("|")[4].strip() == "2" for row in table)  # 2 images each
    assert len(_lines(tmp_path)) == 4
    psnr = {(e["method"], e["seed"]): e["psnr"] for e in _lines(tmp_path)}
    gains = [psnr["short", s] - psnr["reference", s] for s in (0, 1)]
    assert table[1].split("|")[10].strip() == f"{min(gains):+.2f}"  # the contender's worst image
    assert table[1].split("|")[11].strip() == f"{abs(gains[0] - gains[1]) / 2:.2f}"  # SE of 2 gains: |a - b| / 2
    assert table[0].split("|")[11].strip() == ""
    [row] = _per_image(out)
    assert row.split("|")[3].strip() == "short" and row.count("→") == 2
    assert f"{psnr['reference', 1]:.2f} → {psnr['short', 1]:.2f} dB" in row.split("|")[5]

    other_clock = _bench(monkeypatch, capsys, tmp_path, "--seeds", "2", "--table-only", "--clock", "wall")
    assert "also holds images timed with --clock cpu" in other_clock and not _table(other_clock)


@pytest.mark.slow
def test_a_changed_method_does_not_reuse_the_record(monkeypatch, capsys, tmp_path):
    _bench(monkeypatch, capsys, tmp_path, "--seeds", "1")
    (tmp_path / "eq.jsonl").write_text((tmp_path / "eq.jsonl").read_text() + '{"size": 16, "task"')  # cut short
    (tmp_path / "other.yaml").write_text((TINY_METHOD % 1).replace("lr: 0.1", "lr: 0.2"))
    out = _bench(monkeypatch, capsys, tmp_path, "--seeds", "1", "--contenders", str(tmp_path / "other.yaml"))
    assert "eq.jsonl:3: not a record line" in out
    ran = [line for line in out.splitlines() if "16² seed 0" in line]
    assert len(ran) == 1 and "other" in ran[0]  # the reference was recorded; the new contender was not


def test_table_only_needs_a_record(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["equal_quality.py", "--table-only"])
    with pytest.raises(SystemExit):
        equal_quality.main()
    assert "--table-only needs --record" in capsys.readouterr().err


def test_each_table_says_which_runs_and_commits_its_images_came_from(capsys):
    one, two = equal_quality.Result(), equal_quality.Result()
    for result, runs in ((one, ["A", "A"]), (two, ["A", None])):
        for seed, run in enumerate(runs):
            line = {"seed": seed, "seconds": 1.0, "psnr": 20.0, "loss": 0.1, "phase_psnr": {}}
            result.add_image(line | ({"run": run, "commit": "abc1234"} if run else {}))
    equal_quality.report(16, [("denoising", "reference", one), ("denoising", "short", two)], phases=False)
    out = capsys.readouterr().out
    assert "images by origin: run A at abc1234: 3; run unknown at an unknown commit: 1" in out


def test_images_are_compared_seed_by_seed_where_a_method_lacks_a_seed(capsys):
    """A record from split runs can hold seeds 0 and 2 of the reference and only seed 2 of a contender."""
    reference, contender = equal_quality.Result(), equal_quality.Result()
    for result, lines in ((reference, [(0, 10.0, 20.0), (2, 30.0, 24.0)]), (contender, [(2, 6.0, 25.0)])):
        for seed, seconds, psnr in lines:
            result.add_image({"seed": seed, "seconds": seconds, "psnr": psnr, "loss": 0.1, "phase_psnr": {}})
    equal_quality.report(16, [("denoising", "reference", reference), ("denoising", "short", contender)], phases=False)
    out = capsys.readouterr().out
    assert "| 16 | denoising | reference | 2 | 20.0 | 22.00 |" in out
    assert "| 16 | denoising | short | 1 | 6.0 | 25.00 | 0.1000 | 0.20 | +1.00 | +1.00 |" in out  # against seed 2
    assert "| size | task | method | seed 2 |" in out
    assert "| 16 | denoising | short | 24.00 → 25.00 dB, 0.20× |" in out


def test_the_commit_says_when_tracked_files_changed(monkeypatch):
    answers = {"rev-parse": "abc1234", "status": " M core/engine.py"}

    def fake_run(argv, **kwargs):
        return equal_quality.subprocess.CompletedProcess(argv, 0, stdout=answers[argv[3]] + "\n")

    monkeypatch.setattr(equal_quality.subprocess, "run", fake_run)
    assert equal_quality.source_commit() == "abc1234+changes"
    answers["status"] = ""
    assert equal_quality.source_commit() == "abc1234"

    def no_git(argv, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(equal_quality.subprocess, "run", no_git)
    assert equal_quality.source_commit() == "unknown"


def test_every_methods_generator_gets_the_tracked_w_avg(monkeypatch, capsys, tmp_path):
    """A contender whose generator computes differently (convolution: winograd) has its own generator
    instance; it starts from the same w_avg as the reference's, not from the untracked zeros."""
    tracked = []
    original = equal_quality.track_w_avg

    def recording(G, count=10_000):
        original(G, count)
        tracked.append(G)

    monkeypatch.setattr(equal_quality, "track_w_avg", recording)
    (tmp_path / "reference.yaml").write_text(TINY_METHOD % 1)
    (tmp_path / "winograd.yaml").write_text("generator: {type: stylegan2-ada, params: {convolution: winograd}}\n"
                                            + TINY_METHOD % 1)
    argv = ["equal_quality.py", "--sizes", "16", "--tasks", "denoising", "--channel-base", "256", "--channel-max",
            "16", "--reference", str(tmp_path / "reference.yaml"), "--contenders", str(tmp_path / "winograd.yaml")]
    monkeypatch.setattr(sys, "argv", argv)
    equal_quality.main()
    assert len({id(G) for G in tracked}) == 2
    assert {G.synthesis.b4.conv1.convolution for G in tracked} == {"direct", "winograd"}
    assert torch.equal(tracked[0].mapping.w_avg, tracked[1].mapping.w_avg)
    assert tracked[0].mapping.w_avg.abs().sum() > 0


def test_a_line_made_on_another_cpu_does_not_stand_for_this_ones(tmp_path):
    """The reference's seed-2 denoising image: 20.98 dB on an AVX-512 CPU, 22.39 dB on an AVX2 one."""
    method = SimpleNamespace(name="reference", fingerprint="f")
    path = tmp_path / "eq.jsonl"
    Record = equal_quality.Record
    Record(path, "cpu", {"cpu": "avx2"}).add(64, "denoising", method, 2, {"psnr": 22.39})
    assert Record(path, "cpu", {"cpu": "avx2"}).get(64, "denoising", method, 2)["psnr"] == 22.39
    assert Record(path, "cpu", {"cpu": "avx2 avx512f"}).get(64, "denoising", method, 2) is None
    legacy = {"size": 64, "task": "denoising", "method": "reference", "seed": 3, "fingerprint": "f", "clock": "cpu"}
    with path.open("a") as file:
        file.write(json.dumps(legacy) + "\n")
    assert Record(path, "cpu", {"cpu": "avx2 avx512f"}).get(64, "denoising", method, 3) is not None


def _tiny_problem_generator():
    from restorefw.build import Generators
    from restorefw.plugins import load_plugins

    spec = equal_quality.generator_spec(16, 256, 16)
    return equal_quality.problem_generator(Generators(load_plugins().registry), spec, torch.device("cpu"))


def test_a_ground_truth_does_not_depend_on_the_seeds_beside_it():
    """Rendered in one batch, seed 0's image moved by up to 5.7e-7 (16²) to 2.4e-6 (64²) with its neighbours,
    and 256² inpainting's restoration by 0.7 dB with it."""
    G = _tiny_problem_generator()
    alone = equal_quality.ground_truths(G, [0])
    assert torch.equal(equal_quality.ground_truths(G, [3, 0])[1], alone[0])
    assert torch.equal(equal_quality.ground_truths(G, [0, 1, 2, 3])[0], alone[0])


def test_ground_truths_come_from_the_problem_generator_whatever_the_reference_computes(monkeypatch, tmp_path):
    rendered_by = []
    original = equal_quality.ground_truths

    def recording(G, seeds):
        rendered_by.append(G)
        return original(G, seeds)

    monkeypatch.setattr(equal_quality, "ground_truths", recording)
    (tmp_path / "winograd.yaml").write_text("generator: {type: stylegan2-ada, params: {convolution: winograd}}\n"
                                            + TINY_METHOD % 1)
    argv = ["equal_quality.py", "--sizes", "16", "--tasks", "denoising", "--channel-base", "256", "--channel-max",
            "16", "--seeds", "1", "--reference", str(tmp_path / "winograd.yaml"),
            "--contenders", str(tmp_path / "winograd.yaml")]
    monkeypatch.setattr(sys, "argv", argv)
    equal_quality.main()
    assert [G.synthesis.b4.conv1.convolution for G in rendered_by] == ["direct"]
    assert torch.equal(rendered_by[0].mapping.w_avg, _tiny_problem_generator().mapping.w_avg)
