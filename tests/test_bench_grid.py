"""`restorefw bench`: tables in the paper's layouts, resume without redoing items, shards = one process."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from bench_helpers import ITEMS, done_files, write_grid

from restorefw.bench import Vocabulary, parse_shard, run_bench
from restorefw.errors import RecipeError, UserError
from restorefw.plugins import load_plugins


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def plugins():
    return load_plugins()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, plugins):
    """The tiny grid run by one process from start to end."""
    root = tmp_path_factory.mktemp("bench-ref")
    grid = write_grid(root)
    outcome = run_bench(grid, plugins, root / "out", quiet=True)
    return root / "out", outcome


def csv_rows(out):
    return list(csv.DictReader(io.StringIO((out / "tables.csv").read_text())))


def test_one_process_writes_three_table_files(reference):
    out, outcome = reference
    assert (len(outcome.executed), outcome.skipped, outcome.done, outcome.total) == (ITEMS, 0, ITEMS, ITEMS)
    assert outcome.gathered
    rows = csv_rows(out)
    by_layout = {}
    for row in rows:
        by_layout.setdefault(row["layout"], []).append(row)
    # levels: 2 tasks × 2 levels × 3 metrics × 2 recipes; combinations: NP × 3 × 2; ablation at L: 2 × 2 × 3
    assert {k: len(v) for k, v in by_layout.items()} == {"levels": 24, "combinations": 6, "ablation": 12}
    assert [r["level"] for r in by_layout["levels"][:12:6]] == ["XS", "L"]  # levels in XS..XL order
    assert {r["task"] for r in by_layout["combinations"]} == {"NP"} and {r["level"] for r in by_layout["combinations"]} == {"M"}
    assert {r["level"] for r in by_layout["ablation"]} == {"L"}
    for row in rows:
        if row["metric"] == "pfid":  # no Inception weights here: unavailable, not a crash
            assert row["value"] == "" and row["best"] == "0"
        else:
            assert float(row["value"]) > 0
    # best marks: the higher PSNR/SSIM of the two recipes in each row and metric
    groups = {}
    for row in by_layout["levels"] + by_layout["combinations"]:
        if row["value"]:
            groups.setdefault((row["task"], row["level"], row["metric"]), []).append(row)
    assert len(groups) == 10
    for pair in groups.values():
        best = max(pair, key=lambda r: float(r["value"]))
        assert best["best"] == "1" and sum(r["best"] == "1" for r in pair) == 1

    md = (out / "tables.md").read_text()
    assert "| Degradation | PSNR ↑ (l1) | PSNR ↑ (msssim) | SSIM ↑ (l1) | SSIM ↑ (msssim) | PFID ↓ (l1) | PFID ↓ (msssim) |" in md
    assert "| **Denoising** |" in md and "| **Inpainting** |" in md and "| **2 degradations** |" in md
    assert "| Task / recipe | PSNR ↑ | SSIM ↑ | PFID ↓ |" in md
    assert "**PFID unavailable**" in md and "weights-inception-2015-12-05" in md
    assert md.count("**") > 20 and "| n/a |" in md
    tex = (out / "tables.tex").read_text()
    assert tex.count(r"\begin{tabular}") == 3 and r"\textbf{" in tex and r"\multicolumn{2}{c}{PSNR $\uparrow$}" in tex
    results = json.loads((out / "results.json").read_text())
    assert len(results["cells"]) == 10 and results["metrics"]["pfid"]["unavailable"]
    assert results["metrics"]["psnr"]["lower_is_better"] is False and results["metrics"]["pfid"]["lower_is_better"] is True


def test_interrupt_resume_and_shards_match_one_process(reference, tmp_path, plugins):
    ref_out, _ = reference
    grid = write_grid(tmp_path)
    out = tmp_path / "out"
    executed_before = []

    def stop_after_first_batch(items):
        executed_before.extend(items)
        raise Interrupt

    with pytest.raises(Interrupt):
        run_bench(grid, plugins, out, shard="0/2", quiet=True, after_batch=stop_after_first_batch)
    first = done_files(out)
    assert len(first) == len(executed_before) == 2

    resumed = run_bench(grid, plugins, out, shard="0/2", quiet=True)
    assert resumed.skipped == 2 and len(resumed.executed) == ITEMS // 2 - 2
    assert not set(resumed.executed) & {i.key for i in executed_before}
    after = done_files(out)
    assert {k: after[k] for k in first} == first  # finished items untouched (mtime and contents)
    assert not resumed.gathered and not (out / "tables.csv").exists()

    other = run_bench(grid, plugins, out, shard="1/2", quiet=True)
    assert len(other.executed) == ITEMS // 2 and other.gathered
    assert (out / "tables.csv").read_bytes() == (ref_out / "tables.csv").read_bytes()
    assert (out / "tables.md").read_bytes() == (ref_out / "tables.md").read_bytes()

    # a batch half-finished when killed: only the missing item is written, restored with its whole batch
    victim = next(iter(sorted(out.glob("cells/msssim/NP-M/seed0/images/*/done.json"))))
    record = json.loads(victim.read_text())
    victim.unlink()
    before = done_files(out)
    again = run_bench(grid, plugins, out, quiet=True)
    assert len(again.executed) == 1 and again.gathered
    assert done_files(out).items() >= before.items()
    assert json.loads(victim.read_text())["metrics"] == record["metrics"]
    assert (out / "tables.csv").read_bytes() == (ref_out / "tables.csv").read_bytes()


def test_rerun_of_finished_grid_restores_nothing(reference, tmp_path, cli):
    ref_out, _ = reference
    out = tmp_path / "copy"
    shutil.copytree(ref_out, out)
    grid = ref_out.parent / "grid.yaml"
    before = done_files(out)
    code, stdout, err = cli("bench", grid, "--output", out, "--quiet")
    assert code == 0, err
    assert f"0 item(s) restored, {ITEMS} already done; {ITEMS}/{ITEMS} done in the grid; tables written." in stdout
    assert done_files(out) == before
    assert (out / "tables.csv").read_bytes() == (ref_out / "tables.csv").read_bytes()


def test_changed_recipe_is_not_mixed_into_old_outputs(reference, tmp_path, plugins):
    ref_out, _ = reference
    root = tmp_path / "g"
    grid = write_grid(root)
    out = tmp_path / "copy"
    shutil.copytree(ref_out, out)
    (root / "l1.yaml").write_text((root / "l1.yaml").read_text().replace("steps: 1, lr: 0.02", "steps: 2, lr: 0.02"))
    with pytest.raises(UserError, match="changed since these outputs were made"):
        run_bench(grid, plugins, out, quiet=True)


BROKEN = [
    ("images: images", "images: images\nseedz: [0]", "seedz", 6),
    ("tasks: [denoising, inpainting, NP]", "tasks: [denoising, inpainting, NPX]", "tasks[2]", 3),
    ("tasks: [denoising, inpainting, NP]", "tasks: [denoising, N]", "tasks", 3),
    ("levels: [L, XS]", "levels: [L, XXL]", "levels[1]", 4),
    ("recipes: [l1, msssim.yaml]", "recipes: [l1, nothere]", "recipes[1]", 2),
    ("metrics: [psnr, ssim, {type: pfid", "metrics: [psnr, psnrr, {type: pfid", "metrics[1].type", 6),
    ("metrics: [psnr, ssim, {type: pfid, params: {crop_size: 16, num_crops: 2}}]", "metrics: [psnr, ssim]\ntables: [{layout: ablation, metrics: [fid]}]",
     "tables[0].metrics[0]", 7),
    ("levels: [L, XS]", "levels: [S, XS]\ntables: [ablation]", "tables[0].level", 5),
]


@pytest.mark.parametrize("old,new,field,line", BROKEN, ids=[b[2] for b in BROKEN])
def test_broken_grid_names_field_and_line(tmp_path, cli, old, new, field, line):
    grid = write_grid(tmp_path)
    text = grid.read_text()
    assert old in text
    grid.write_text(text.replace(old, new))
    code, out, err = cli("bench", grid, "--output", tmp_path / "out")
    assert code == 2, (out, err)
    assert f"{grid}: {field}" in err and f"(line {line})" in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_shard_argument_and_environment(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert parse_shard(None) == (0, 1)
    assert parse_shard("1/3") == (1, 3)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert parse_shard(None) == (2, 4)
    for bad in ("2/2", "1", "a/b", "-1/2"):
        with pytest.raises(UserError):
            parse_shard(bad)


def test_task_names_come_from_the_registered_degradations(plugins):
    vocabulary = Vocabulary(plugins.registry)

    def names(text):
        return [task.name for task in vocabulary.expand(text)]

    assert names("UPA") == ["UAP"] and names("single") == ["upsampling", "denoising", "deartifacting", "inpainting"]
    assert names("combinations") == ["UN", "UA", "UP", "NA", "NP", "AP", "UNA", "UNP", "UAP", "NAP", "UNAP"]
    assert names("all")[:4] == names("single") and len(names("all")) == 15
    assert names("A") == ["deartifacting"] and names("PN") == ["NP"]
    assert [s.name for s in vocabulary.expand("PN")[0].stages] == ["denoising", "inpainting"]
    for bad in ("NN", "UX", "nothing"):
        with pytest.raises(RecipeError):
            vocabulary.expand(bad)


@pytest.mark.slow
def test_set_metric_values_reach_the_tables(tmp_path, plugins):
    """PFID with a random-weight Inception: a real value per cell in results.json, tables.md and tables.csv."""
    from restorefw_plugins.iqa.inception import random_inception_weights

    weights = random_inception_weights(tmp_path / "inception.pth")
    grid = write_grid(tmp_path, f"""\
        recipes: [l1]
        tasks: [denoising]
        levels: [L]
        images: images
        metrics: [psnr, {{type: pfid, params: {{crop_size: 16, num_crops: 2, weights_path: '{weights}'}}}}]
        """)
    outcome = run_bench(grid, plugins, tmp_path / "out", quiet=True)
    assert outcome.gathered and len(outcome.executed) == 2
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["metrics"]["pfid"]["unavailable"] is None
    [cell] = results["cells"]
    assert cell["values"]["pfid"] > 0 and cell["values"]["psnr"] > 0
    rows = [r for r in csv_rows(tmp_path / "out") if r["metric"] == "pfid"]
    assert rows and all(float(r["value"]) == pytest.approx(cell["values"]["pfid"], rel=1e-5) for r in rows)
    assert f"{cell['values']['pfid']:.1f}" in (tmp_path / "out" / "tables.md").read_text()
