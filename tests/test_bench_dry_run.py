"""A grid can be checked before any compute: `restorefw validate GRID` and `restorefw bench --dry-run GRID`."""

from __future__ import annotations

from bench_helpers import ITEMS, write_grid


def test_validate_recognises_a_grid_and_counts_its_work(tmp_path, cli):
    grid = write_grid(tmp_path)
    code, out, err = cli("validate", grid)
    assert code == 0, err
    assert f"{grid}: valid grid (2 recipe(s)): 10 batches, {ITEMS} items in 10 cells" in out
    assert not (tmp_path / "bench").exists()


def test_validate_reports_a_broken_grid_as_a_grid(tmp_path, cli):
    grid = write_grid(tmp_path, "recipes: [l1, nosuch]\ntasks: [denoising]\nimagse: images\n")
    code, _, err = cli("validate", grid)
    assert code == 2 and "Did you mean 'images'" in err and "generator" not in err


def test_bench_dry_run_lists_the_cells_and_runs_nothing(tmp_path, cli):
    grid = write_grid(tmp_path)
    code, out, err = cli("bench", grid, "--dry-run", "--shard", "1/2")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 6 and all(line.endswith("2 image(s) in 1 batch(es), 0 done") for line in lines[:5])
    assert f"10 batches, {ITEMS} items in 10 cells; shard 1/2: 5 cells, 10 item(s) to do" in lines[-1]
    assert not (tmp_path / "bench").exists()
