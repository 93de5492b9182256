"""`restorefw report DIR [--open]`, and the report that `run` and `bench` write when they end."""

from __future__ import annotations

import os
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from restorefw.errors import WorkError
from restorefw.report.render import write_report

NO_REPORT_HELP = "Do not write report.html at the end."


def announce_report(folder: Path) -> Path:
    """Write `folder`'s report and print where it is (the last line a run or bench prints)."""
    path = write_report(folder)
    click.echo(f"Report: {os.path.normpath(path)}")  # runs/quickstart/..., not examples/../runs/quickstart/...
    return path


@contextmanager
def report_at_end(folder: Path, enabled: bool = True) -> Iterator[None]:
    """Write `folder`'s report after the block, also when some images failed (the report lists them)."""
    try:
        yield
    except WorkError:
        if enabled:
            report_or_warn(folder)
        raise
    if enabled:
        report_or_warn(folder)


def report_or_warn(folder: Path) -> None:
    """Write and announce the report; when it cannot be made, say why and carry on."""
    try:
        announce_report(folder)
    except Exception as exc:  # noqa: BLE001  (the results are on disk: a failed report must not fail the run)
        click.echo(f"warning: no report written ({type(exc).__name__}: {exc}); "
                   f"`restorefw report {os.path.normpath(folder)}` makes it once the cause is fixed.", err=True)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--open", "open_browser", is_flag=True, help="Open the report in the default web browser.")
def report(folder: Path, open_browser: bool) -> None:
    """Write FOLDER/report.html for a run or bench folder: one offline page of metrics, images and loss curves."""
    path = announce_report(folder)
    if open_browser and not webbrowser.open(path.resolve().as_uri()):
        click.echo("No web browser found to open it; open the file above in one.", err=True)
