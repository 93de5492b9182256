"""The commands `restorefw bench` and `restorefw evaluate` (added to the root group by `restorefw.cli`)."""

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
def bench(grid: str, output: str | None, shard: str | None, force: bool, quiet: bool, no_report: bool) -> None:
    """Run a benchmark grid (recipes × tasks × levels × seeds) and write the paper's tables."""
    from restorefw.bench import run_bench

    outcome = run_bench(grid, get_plugins(), Path(output) if output else None, shard, force, quiet)
    click.echo(f"{len(outcome.executed)} item(s) restored, {outcome.skipped} already done; "
               f"{outcome.done}/{outcome.total} done in the grid" + ("; tables written." if outcome.gathered else "."))
    if outcome.gathered and outcome.folder is not None and not no_report:
        from restorefw.report.command import report_or_warn

        report_or_warn(outcome.folder)


@click.command()
@click.option("--pred", type=click.Path(file_okay=False), help="Folder of predictions (restored images).")
@click.option("--gt", type=click.Path(file_okay=False), help="Folder of ground truths, matched to --pred by file stem.")
@click.option("--generator", "generator", default=None, metavar="CKPT",
              help="Generator checkpoint to sample from (generator mode).")
@click.option("--generator-type", default=None,
              help="Registered generator name (default: the installed generator that loads checkpoint files).")
@click.option("--generator-param", "generator_params", multiple=True, metavar="KEY=VALUE",
              help="Extra generator parameter (YAML value), repeatable; e.g. init=random.")
@click.option("--real", type=click.Path(file_okay=False), help="Folder of real images (generator mode).")
@click.option("--num", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Number of samples (generator mode).")
@click.option("--truncation-psi", type=float, default=1.0, show_default=True, help="Truncation ψ (1 = none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampled latents.")
@click.option("--metric", "-m", "metrics", multiple=True,
              help="Metric name, repeatable or comma-separated (default: the metrics in group \"folders\", or "
                   "\"generator\" for a generator; see `restorefw plugins`).")
@click.option("--metric-param", "metric_params", multiple=True, metavar="METRIC.KEY=VALUE",
              help="Metric parameter (YAML value), repeatable; e.g. fid.weights_path=/w/inception.pth.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the JSON report (default: evaluation.json in --pred, or ./evaluation.json).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
def evaluate(pred, gt, generator, generator_type, generator_params, real, num, truncation_psi, seed, metrics,
             metric_params, json_path, device, batch_size) -> None:
    """Metrics on folders (--pred/--gt) or on a generator's samples (--generator/--real/--num)."""
    from restorefw.evaluate import evaluate_command

    evaluate_command(get_plugins(), pred=pred, gt=gt, generator=generator, generator_type=generator_type,
                     generator_params=generator_params, real=real, num=num, truncation_psi=truncation_psi,
                     seed=seed, metrics=metrics, metric_params=metric_params, json_path=json_path,
                     device=device, batch_size=batch_size)
