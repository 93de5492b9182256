"""`restorefw report`: the HTML page of a run or a bench folder, checked as files and (marked `browser`)
loaded from file:// in a headless Chromium."""

from __future__ import annotations

import json
import shutil
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from bench_helpers import RECIPE, write_grid, write_images
from chromium import Chromium, find_chromium, headless

from restorefw.plugins import load_plugins
from restorefw.recipe import load_recipe
from restorefw.report import write_report
from restorefw.report.plots import split_log, write_loss_plot
from restorefw.run import run_recipe

RUN_RECIPE = RECIPE.format(name="tiny", loss="l1").replace("inputs: {path: unused}", textwrap.dedent("""\
    degradation: {task: inpainting, level: M}
    inputs: {path: images, mode: benchmark}
    outputs: {dir: out, save_phases: true}""")).replace("schedule:\n", "schedule:\n  ensemble: {samples: 2}\n")
SMALL_GRID = """\
name: tiny
recipes: [l1, msssim.yaml]
tasks: [denoising, NP]
levels: [XS]
images: images
metrics: [psnr, ssim]
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished tiny run: 3 images, inpainting, 2 phases, an ensemble of 2, phase images kept."""
    root = tmp_path_factory.mktemp("run")
    write_images(root / "images", count=3)
    (root / "recipe.yaml").write_text(RUN_RECIPE)
    plugins = load_plugins()
    recipe = load_recipe(root / "recipe.yaml", plugins.registry)
    run_recipe(recipe, plugins, recipe_path=root / "recipe.yaml", quiet=True)
    return root / "out"


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    """A finished tiny bench: 2 recipes × (denoising XS, NP M) × 2 images, tables written."""
    from restorefw.bench import run_bench

    root = tmp_path_factory.mktemp("bench")
    grid = write_grid(root, SMALL_GRID)
    run_bench(grid, load_plugins(), quiet=True)
    return root / "bench" / "tiny"


def copy_of(folder: Path, tmp_path: Path) -> Path:
    """A private copy of a fixture folder (tests that change files must not change the shared one)."""
    return Path(shutil.copytree(folder, tmp_path / folder.name))


class Page(HTMLParser):
    """What a test needs from a report: links and sources, metric cells, element ids."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.cells: list[dict[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        if tag in ("img", "script", "iframe") and found.get("src"):
            self.sources.append(found["src"])
        if tag in ("a", "link") and found.get("href"):
            self.links.append(found["href"])
        if tag == "td" and "data-value" in found:
            self.cells.append(found)


def page_of(folder: Path) -> Page:
    return Page((folder / "report.html").read_text())


def test_report_command_writes_one_offline_page_with_relative_links(run_dir, cli, tmp_path):
    code, out, _ = cli("report", run_dir / "images" / "..")
    assert code == 0 and out.strip() == f"Report: {run_dir / 'report.html'}"  # the path as the user reads it
    moved = Path(shutil.copytree(run_dir, tmp_path / "elsewhere"))  # a copied folder keeps working
    page = page_of(moved)
    assert page.sources and all(not s.startswith(("http:", "https:", "//", "/", "file:")) for s in page.sources)
    for link in page.sources + page.links:
        if link.startswith("#"):
            assert link[1:] in page.ids, link
        elif not link.startswith("data:"):
            assert (moved / unquote(link)).is_file(), link
    images = json.loads((run_dir / "results.json").read_text())["per_image"]
    for image in images:
        for name in ("target", "restored", "ground_truth", "spread", "phase_1_w", "phase_2_w+"):
            assert f"images/{image}/{name}.png".replace("+", "%2B") in page.sources
            assert f"report_files/{image}-loss.svg" in page.sources


def test_open_hands_the_report_to_the_web_browser(run_dir, cli, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    code, _, _ = cli("report", run_dir, "--open")
    assert code == 0 and opened == [(run_dir / "report.html").resolve().as_uri()]


def test_metric_cells_hold_results_json_values_and_the_better_of_restored_and_baseline_is_bold(run_dir):
    write_report(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    page = page_of(run_dir)
    values = [float(c["data-value"]) for c in page.cells]
    expected = [results["mean"][g][m] for m in ("psnr", "ssim") for g in ("restored", "baseline", "fidelity")]
    for metrics in results["per_image"].values():
        expected += [metrics[g][m] for m in ("psnr", "ssim") for g in ("restored", "baseline", "fidelity")]
    assert values == expected
    for row in range(len(values) // 6):
        cells = page.cells[row * 6:(row + 1) * 6]
        for k in (0, 3):  # restored psnr, restored ssim; baseline next to each
            restored, baseline = float(cells[k]["data-value"]), float(cells[k + 1]["data-value"])
            winner = cells[k] if restored > baseline else cells[k + 1]
            assert winner.get("class") == "best" and cells[k + 2].get("class") is None


def test_failed_and_missing_images_are_listed_with_their_message(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    done = folder / "images" / "img1" / "done.json"
    record = json.loads(done.read_text())
    done.write_text(json.dumps({**record, "failed": "the loss became nan at phase 2:w+, step 1"}))
    results = json.loads((folder / "results.json").read_text())
    del results["per_image"]["img2"]
    (folder / "results.json").write_text(json.dumps(results))
    text = write_report(folder).read_text()
    problems = text[text.index('id="problems"'):text.index('id="metrics"')]
    assert "img1</a>: the loss became nan at phase 2:w+, step 1" in problems
    assert "img2: not restored" in problems and "img0" not in problems


def test_large_runs_are_paginated_and_later_pages_lazy_load(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    results = json.loads((folder / "results.json").read_text())
    first = results["per_image"]["img0"]
    results["per_image"] = {f"many{i:03d}": first for i in range(120)}
    (folder / "results.json").write_text(json.dumps(results))
    for i in range(120):  # pictures only: 120 loss plots would only cost time here
        shutil.copytree(folder / "images" / "img0", folder / "images" / f"many{i:03d}",
                        ignore=shutil.ignore_patterns("log.json"))
    text = write_report(folder).read_text()
    assert 'data-pages="3"' in text
    cards = text.split('<article class="card"')[1:]
    pages = [int(card.split('data-page="')[1].split('"')[0]) for card in cards]
    assert pages == [i // 50 for i in range(120)]
    assert all(("loading=\"lazy\"" in card) == (page > 0) for card, page in zip(cards, pages))


def test_a_run_of_several_tasks_gets_one_summary_row_and_section_per_task(run_dir, tmp_path):
    root = tmp_path / "tasks"
    for name in ("inpainting-M", "denoising-M"):
        shutil.copytree(run_dir, root / name, ignore=shutil.ignore_patterns("report*"))
    single = json.loads((run_dir / "results.json").read_text())
    marked = {**single["metrics"]["psnr"], "random_backbone": True, "not_measured": {"baseline": "too small"}}
    with_fid = {**single, "metrics": {**single["metrics"], "psnr": marked,
                                      "fid": {"lower_is_better": True, "unavailable": None}},
                "set": {"fid": 31.25}}
    (root / "denoising-M" / "results.json").write_text(json.dumps(with_fid))
    (root / "results.json").write_text(json.dumps({"recipe": "tiny", "tasks": {"inpainting-M": single,
                                                                             "denoising-M": with_fid}}))
    page = page_of(write_report(root).parent)
    summary = [float(c["data-value"]) if c["data-value"] else None for c in page.cells[:14]]
    assert summary[6] is None and summary[13] == 31.25  # the set metric: a column of the summary only
    assert len(page.cells) == 14 + 2 * 3 * 6
    text = (root / "report.html").read_text()
    assert "(random backbone)" in text and "<b>psnr n/a</b> (denoising-M, baseline): too small" in text
    assert {"task-inpainting-m", "task-denoising-m"} <= page.ids
    assert (root / "report_files" / "denoising-M" / "img0-loss.svg").is_file()
    assert "denoising-M/images/img0/restored.png" in page.sources


def test_bench_report_holds_the_tables_values_and_best_marks_and_links_to_the_strips(bench_dir):
    write_report(bench_dir)
    text = (bench_dir / "report.html").read_text()
    page = Page(text)
    results = json.loads((bench_dir / "results.json").read_text())
    values = {(c["recipe"], c["task"], c["level"], m): v for c in results["cells"] for m, v in c["values"].items()}
    rows = (bench_dir / "tables.csv").read_text().splitlines()[1:]
    assert len(page.cells) == len(rows) > 0
    for cell, row in zip(page.cells, rows):
        _, task, level, recipe, metric, _, best = row.split(",")[:7]
        assert float(cell["data-value"]) == values[(recipe, task, level, metric)]
        assert (cell.get("class") == "best") == (best == "1")
    assert {"strip-denoising-XS", "strip-NP-M"} <= page.ids
    for link in page.links:
        if not link.startswith("data:"):
            assert link[1:] in page.ids if link.startswith("#") else (bench_dir / unquote(link)).is_file(), link
    assert "cells/msssim/NP-M/seed0/images/img1/restored.png" in page.sources


def test_the_end_of_a_run_writes_the_report_also_when_images_failed_and_only_warns_when_it_cannot(
        run_dir, tmp_path, capsys):
    from restorefw.errors import WorkError
    from restorefw.report.command import report_at_end

    folder = copy_of(run_dir, tmp_path)
    (folder / "report.html").unlink(missing_ok=True)
    with report_at_end(folder, enabled=False):
        pass
    assert not (folder / "report.html").exists()
    with pytest.raises(WorkError), report_at_end(folder):
        raise WorkError("1 image(s) could not be restored")
    assert (folder / "report.html").is_file() and f"Report: {folder / 'report.html'}" in capsys.readouterr().out
    with report_at_end(tmp_path / "empty"):
        (tmp_path / "empty").mkdir()
    assert "warning: no report written" in capsys.readouterr().err


def test_run_ends_by_printing_its_report_path_and_no_report_skips_it(run_dir, cli):
    recipe = run_dir.parent / "recipe.yaml"
    (run_dir / "report.html").unlink(missing_ok=True)
    code, out, _ = cli("run", recipe, "--no-report")  # every image is finished: a quick resume
    assert code == 0 and not (run_dir / "report.html").exists() and "Report:" not in out
    code, out, _ = cli("run", recipe)
    assert code == 0 and out.strip().splitlines()[-1] == f"Report: {run_dir / 'report.html'}"
    assert "images/img0/baseline.png" in page_of(run_dir).sources


def test_bench_ends_by_printing_its_report_path(bench_dir, cli):
    (bench_dir / "report.html").unlink(missing_ok=True)
    grid = bench_dir.parents[1] / "grid.yaml"
    code, out, _ = cli("bench", grid, "--no-report", "-q")
    assert code == 0 and not (bench_dir / "report.html").exists()
    code, out, _ = cli("bench", grid, "-q")
    assert code == 0 and out.strip().splitlines()[-1] == f"Report: {bench_dir / 'report.html'}"


def test_report_of_a_folder_that_is_not_a_run_says_why(cli, tmp_path):
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "has no results.json" in err and "Traceback" not in err


def test_loss_plot_orders_phases_and_is_only_redrawn_when_the_log_changes(tmp_path):
    log = {"1:w/total": [3.0, 2.0], "1:w/l1": [1.0, 0.5], "2:w+/l1": [0.4], "2:w+/total": [1.5]}
    assert split_log(log) == (["1:w", "2:w+"], ["total", "l1"])
    log_file, plot = tmp_path / "log.json", tmp_path / "plot.svg"
    log_file.write_text(json.dumps(log))
    write_loss_plot(log_file, plot, log)
    svg = ElementTree.fromstring(plot.read_bytes())
    assert svg.tag.endswith("svg")
    plot.write_text("kept")
    write_loss_plot(log_file, plot, log)
    assert plot.read_text() == "kept"


# ---- in a real browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no headless Chromium on PATH (chromium, chromium-browser, google-chrome): install Debian's "
                    "`chromium` package to run the browser tests (.ci/run does when it runs as root)")
    with headless(executable) as chromium:
        yield chromium


ALL_IMAGES_LOADED = "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
COLUMN_VALUES = "Array.from(document.getElementById('%s').tBodies[0].rows, r => r.cells[%d].dataset.value)"


def open_checked(browser: Chromium, report: Path, screenshot: Path) -> None:
    """Load a report, screenshot it, and check that every image loaded and nothing was reported as an error."""
    browser.events.clear()
    browser.open(report)
    assert browser.screenshot(screenshot).startswith(b"\x89PNG")
    assert screenshot.stat().st_size > 10_000
    assert browser.evaluate("document.images.length") > 0
    assert browser.evaluate(ALL_IMAGES_LOADED) == []
    assert browser.console_errors() == []


@pytest.mark.browser
def test_run_report_in_a_browser(browser, run_dir, tmp_path):
    report = write_report(run_dir)
    open_checked(browser, report, tmp_path / "run.png")
    results = json.loads((run_dir / "results.json").read_text())
    table = "task-inpainting-m-table"
    column = [float(v) for v in browser.evaluate(COLUMN_VALUES % (table, 1))]
    assert column == [results["per_image"][i]["restored"]["psnr"] for i in results["per_image"]]
    summary = browser.evaluate("Array.from(document.querySelectorAll('#summary-table tbody td[data-value]'),"
                               " c => Number(c.dataset.value))")
    assert summary == [results["mean"][g][m] for m in ("psnr", "ssim") for g in ("restored", "baseline", "fidelity")]
    header = f"document.querySelector('#{table} thead tr').cells[1]"
    browser.evaluate(f"{header}.click()")
    assert [float(v) for v in browser.evaluate(COLUMN_VALUES % (table, 1))] == sorted(column)
    assert browser.evaluate(f"{header}.getAttribute('aria-sort')") == "ascending"
    browser.evaluate(f"{header}.click()")
    assert [float(v) for v in browser.evaluate(COLUMN_VALUES % (table, 1))] == sorted(column, reverse=True)
    names = browser.evaluate(f"Array.from(document.querySelectorAll('#{table} tbody tr'), r => r.cells[0].innerText)")
    assert sorted(names) == sorted(results["per_image"])
    assert browser.console_errors() == []


@pytest.mark.browser
def test_bench_report_in_a_browser(browser, bench_dir, tmp_path):
    report = write_report(bench_dir)
    open_checked(browser, report, tmp_path / "bench.png")
    shown = browser.evaluate("Array.from(document.querySelectorAll('table.bench-table td[data-value]'),"
                             " c => [c.dataset.value, c.classList.contains('best')])")
    rows = (bench_dir / "tables.csv").read_text().splitlines()[1:]
    results = json.loads((bench_dir / "results.json").read_text())
    values = {(c["recipe"], c["task"], c["level"], m): v for c in results["cells"] for m, v in c["values"].items()}
    expected = []
    for row in rows:
        _, task, level, recipe, metric, _, best = row.split(",")[:7]
        expected.append([repr(values[(recipe, task, level, metric)]), best == "1"])
    assert shown == expected
    browser.evaluate("document.querySelector('table.bench-table td a').click()")
    assert browser.evaluate("location.hash") == "#strip-denoising-XS"
    assert browser.evaluate("document.querySelectorAll('#strip-denoising-XS img').length") == 2 * 4


@pytest.mark.browser
def test_paginated_report_in_a_browser(browser, run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    results = json.loads((folder / "results.json").read_text())
    results["per_image"] = {f"many{i:03d}": results["per_image"]["img0"] for i in range(120)}
    (folder / "results.json").write_text(json.dumps(results))
    browser.events.clear()
    browser.open(write_report(folder))
    visible = "Array.from(document.querySelectorAll('.card'), c => c.offsetParent !== null).filter(Boolean).length"
    assert browser.evaluate(visible) == 50
    browser.evaluate("document.querySelector('.pager button:nth-child(3)').click()")
    assert browser.evaluate(visible) == 20
    browser.evaluate("location.hash = '#task-inpainting-m-img-many007'; new Promise(r => setTimeout(r, 200, 1))")
    assert browser.evaluate("document.getElementById('task-inpainting-m-img-many007').offsetParent !== null")
    assert browser.console_errors() == []
