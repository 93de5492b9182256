"""CLI commands `restorefw check` (the conformance kit) and `restorefw new-plugin` (a scaffold), registered on
the root group by core/cli.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from restorefw.cli_context import get_plugins
from restorefw.errors import UserError
from restorefw.registry import Entry


def _targets(target: str, plugins: Any) -> list[tuple[str, str, Entry]]:
    """The checkable components `target` names: a plugin (entry point or distribution), `plugin:name`, or a name."""
    from restorefw.testing import CHECKS

    components = [(kind, name, entry) for kind, name, entry in plugins.registry.components() if kind in CHECKS]
    owner = {info.name for info in plugins.plugins if target in (info.name, info.distribution)}
    if owner:
        return [c for c in components if c[2].plugin in owner]
    plugin, _, name = target.rpartition(":")
    found = [c for c in components if c[1] == name and (not plugin or c[2].plugin == plugin)]
    if not found:
        known = sorted({info.name for info in plugins.plugins} | {c[1] for c in components})
        failed = "".join(f" The plugin {p.name!r} failed to load: {p.error}." for p in plugins.failures)
        raise UserError(f"`restorefw check {target}`: no installed plugin or component of a checkable kind "
                        f"({', '.join(CHECKS)}) has that name. Installed: {', '.join(known)}.{failed} "
                        "Run `restorefw plugins` to see what is installed.")
    return found


@click.command()
@click.argument("target")
@click.option("--params", "params_json", default="{}", help='Component parameters as JSON, e.g. \'{"alpha": 2}\'.')
@click.option("--image-size", type=int, default=None, help="Side of the test images (default 64).")
def check(target: str, params_json: str, image_size: int | None) -> None:
    """Run a plugin's components (or one component) through restorefw.testing's conformance checks.

    TARGET is a plugin (its entry-point or distribution name), a component name, or PLUGIN:NAME.
    Exit 0 when every component conforms (or could not be exercised: missing weights, required
    parameters), 1 when one breaks a rule (the rule and its docs section are named), 2 on bad usage."""
    from restorefw.testing import CHECKS, ConformanceError

    try:
        params = json.loads(params_json)
    except json.JSONDecodeError as exc:
        raise UserError(f"--params is not valid JSON ({exc}); write e.g. --params '{{\"alpha\": 2}}'.") from None
    plugins = get_plugins()
    failed = 0
    for info in plugins.failures:
        if target in (info.name, info.distribution):
            failed += 1
            click.echo(f"FAILED   plugin {info.name!r} ({info.distribution} {info.version}) did not load: {info.error}")
    targets = _targets(target, plugins)
    if not targets and not failed:
        click.echo(f"{target}: no component of a checkable kind ({', '.join(CHECKS)}) to check")
    for kind, name, entry in targets:
        label = f"{kind} {name!r} ({entry.plugin})"
        try:
            entry.cls.Params.model_validate(params)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(map(str, error["loc"]))
            click.echo(f"skipped  {label}: needs parameters ({where + ': ' if where else ''}{error['msg']}); "
                       "pass them with --params")
            continue
        sized = {"image_size": image_size} if image_size and kind in ("loss", "degradation", "metric") else {}
        try:
            report = CHECKS[kind](entry.cls, **sized, **params)
        except ConformanceError as exc:
            failed += 1
            click.echo(f"FAILED   {label}\n  " + str(exc).replace("\n", "\n  "))
            continue
        status = f"skipped  {label}: {report.skipped}" if report.skipped else \
            f"ok       {label}: {len(report.passed)} rules"
        click.echo(status)
    if failed:
        sys.exit(1)


@click.command(name="new-plugin")
@click.argument("kind", type=click.Choice(["loss", "degradation", "latent-space", "metric", "generator"]))
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=".",
              help="Folder to create the package folder restorefw-NAME in (default: here).")
def new_plugin(kind: str, name: str, directory: str) -> None:
    """Write an installable plugin package: pyproject with the entry point, the component, tests, a README."""
    from restorefw.scaffold import write_plugin

    root = write_plugin(kind, name, Path(directory))
    click.echo(f"wrote {root}\n  pip install -e {root}\n  pytest {root / 'tests'}\n  restorefw check {name}")
