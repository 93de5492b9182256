"""The command `restorefw bench` (added to the root group by `restorefw.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from restorefw.cli_context import get_plugins


@click.command()
@click.argument("grid", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Output folder (default: bench/<grid name> next to the grid file).")
@click.option("--shard", default=None, metavar="I/N",
              help="Run shard I of N (from 0); default: RANK/WORLD_SIZE (torchrun) or the whole grid.")
@click.option("--force", is_flag=True, help="Redo this shard's items even when a previous run finished them.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--no-report", is_flag=True, help="Do not write report.html when the tables are written.")
@click.option("--threads", default=None, metavar="N|auto",
              help="CPU threads (overrides the grid's and the recipes' `threads`).")
@click.option("--dry-run", is_flag=True, help="Validate the grid and list its cells and work items; run nothing.")
def bench(grid: str, output: str | None, shard: str | None, force: bool, quiet: bool, no_report: bool,
          threads: str | None, dry_run: bool) -> None:
    """Run a benchmark grid (recipes × tasks × levels × seeds) and write the paper's tables."""
    from restorefw.bench import run_bench
    from restorefw.threads import parse_option

    outcome = run_bench(grid, get_plugins(), Path(output) if output else None, shard, force, quiet,
                        threads=parse_option(threads), dry_run=dry_run)
    if dry_run:
        return
    click.echo(f"{len(outcome.executed)} item(s) restored, {outcome.skipped} already done; "
               f"{outcome.done}/{outcome.total} done in the grid" + ("; tables written." if outcome.gathered else "."))
    if outcome.gathered and outcome.folder is not None and not no_report:
        from restorefw.report.command import report_or_warn

        report_or_warn(outcome.folder)

