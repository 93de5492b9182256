"""The `restorefw` command line: core commands plus whatever plugins add through `restorefw_commands`."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

import restorefw
from restorefw.bench_cli import bench
from restorefw.cli_context import get_plugins
from restorefw.errors import RestoreError
from restorefw.evaluate_cli import evaluate
from restorefw.generate import generate
from restorefw.plugin_cli import check, new_plugin
from restorefw.plugins import ENV_STRICT
from restorefw.recipe import load_recipe, read_yaml
from restorefw.recipe_files import check_recipe_files
from restorefw.report.command import report

ENV_DEBUG = "RESTOREFW_DEBUG"
PLUGIN_COMMANDS = "restorefw.plugin_commands"


class RestoreGroup(click.Group):
    """The root group: core commands, plus the commands plugins add through `restorefw_commands`, collected
    once per invocation (kept on the invocation's context, never on this module-level group)."""

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        root = ctx.find_root()
        if PLUGIN_COMMANDS not in root.meta:
            holder = click.Group()
            get_plugins(root).manager.hook.restorefw_commands(cli=holder)
            root.meta[PLUGIN_COMMANDS] = dict(holder.commands)
        return root.meta[PLUGIN_COMMANDS]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name) or self.plugin_commands(ctx).get(name)


@click.group(cls=RestoreGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(restorefw.__version__, "--version", prog_name="restorefw")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("--strict-plugins", is_flag=True, help=f"A plugin that fails to load is fatal (also {ENV_STRICT}=1).")
def cli(debug: bool, strict_plugins: bool) -> None:
    """restorefw: unsupervised image restoration with a StyleGAN prior."""


@cli.command()
@click.argument("recipes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--no-files", is_flag=True, help="Do not check that the inputs, masks and checkpoints named exist.")
def validate(recipes: tuple[str, ...], no_files: bool) -> None:
    """Check recipes and bench grids (schema, component names, their parameters, requirements, the files they
    name; a grid with every recipe it names and the work it plans): exit 0 valid, 2 invalid."""
    registry = get_plugins().registry
    failed = 0
    for path in recipes:
        try:
            if is_grid_file(Path(path)):
                click.echo(validate_grid(Path(path), no_files))
                continue
            recipe = load_recipe(path, registry)
            if not no_files:
                check_recipe_files(recipe, registry, Path(path))
            click.echo(f"{path}: valid")
        except RestoreError as exc:
            failed += 1
            click.echo(str(exc), err=True)
    if failed:
        sys.exit(2)


def is_grid_file(path: Path) -> bool:
    """A bench grid names `recipes:` and no `generator:` (a recipe always has one)."""
    data, _ = read_yaml(path)
    return isinstance(data, dict) and "recipes" in data and "generator" not in data


def validate_grid(path: Path, no_files: bool) -> str:
    """Validate a grid and its recipes; with files, also resolve its images and plan its work (nothing runs)."""
    from restorefw.bench.execute import Bench
    from restorefw.bench.grid import load_grid

    plugins = get_plugins()
    grid, recipes = load_grid(path, plugins.registry)
    if no_files:
        return f"{path}: valid grid ({len(recipes)} recipe(s))"
    totals = Bench(grid, recipes, plugins, path).dry_run()[-1].split(": ", 1)[1]
    return f"{path}: valid grid ({len(recipes)} recipe(s)): {totals} (`restorefw bench --dry-run` lists the cells)"


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Output folder (overrides outputs.dir).")
@click.option("--force", is_flag=True, help="Redo images that a previous run finished.")
@click.option("--limit", type=int, default=None, help="Restore at most this many images.")
@click.option("--no-report", is_flag=True, help="Do not write report.html at the end.")
@click.option("--threads", default=None, metavar="N|auto", help="CPU threads (overrides the recipe's `threads`).")
def run(recipe: str, output: str | None, force: bool, limit: int | None, no_report: bool, threads: str | None) -> None:
    """Restore the images a recipe names and write results, grids, metrics and report.html."""
    from restorefw.threads import parse_option

    plugins = get_plugins()
    parsed = load_recipe(recipe, plugins.registry)
    if threads is not None:
        parsed = parsed.model_copy(update={"threads": parse_option(threads)})
    from restorefw.report.command import report_at_end
    from restorefw.run import output_root, run_recipe

    with report_at_end(output_root(parsed, Path(recipe), Path(output) if output else None), not no_report):
        run_recipe(parsed, plugins, recipe_path=Path(recipe), output=Path(output) if output else None,
                   force=force, limit=limit)


@cli.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True,
              help="Also list plugins skipped by RESTOREFW_PLUGINS / autoload settings.")
def plugins_command(as_json: bool, show_all: bool) -> None:
    """List plugins: distribution, version, components by kind, and load errors."""
    plugins = get_plugins()
    shown = plugins.plugins + (plugins.skipped if show_all else [])
    if as_json:
        rows = []
        for info in shown:
            row = info.as_dict()
            row["loaded"] = info in plugins.plugins and not info.error
            row["skipped"] = info.skipped_because
            rows.append(row)
        click.echo(json.dumps({"version": restorefw.__version__, "plugins": rows,
                               "conflicts": plugins.conflict_messages()}, indent=2))
        return
    for info in shown:
        state = "FAILED" if info.error else ("skipped" if info not in plugins.plugins else "ok")
        click.echo(f"{info.name}  ({info.distribution} {info.version}, {info.value})  [{state}]")
        for kind, names in sorted(info.components.items()):
            click.echo(f"    {kind}: {', '.join(sorted(names))}")
        if info.error:
            click.echo(f"    error: {info.error}")
        if info.skipped_because:
            click.echo(f"    skipped: {info.skipped_because}")
    for message in plugins.conflict_messages():
        click.echo(f"conflict: {message}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; user errors print one paragraph (no traceback unless --debug)."""
    args = list(sys.argv[1:] if argv is None else argv)
    ctx: click.Context | None = None
    try:
        ctx = cli.make_context("restorefw", args)
        with ctx:
            cli.invoke(ctx)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RestoreError as exc:
        if (ctx is not None and ctx.params.get("debug")) or os.environ.get(ENV_DEBUG, "") not in ("", "0"):
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted; finished outputs are kept and a rerun resumes.", err=True)
        sys.exit(130)
    sys.exit(0)


for command in (bench, evaluate, generate, report, check, new_plugin):
    cli.add_command(command)
