"""`restorefw weights`: list every weight file restorefw can use, where it looks, and its state."""

from __future__ import annotations

import json
import sys

import click

from restorefw_plugins.iqa import weights


@click.command("weights")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option("--verify", is_flag=True, help="Check the sha256 of every file found (reads each file).")
def weights_command(as_json: bool, verify: bool) -> None:
    """List pretrained weight files: name, purpose, directories searched, present, verified.

    With --verify, the exit code is 2 when a file present is not the expected one (missing files are optional)."""
    rows = weights.statuses(verify=verify)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_rows(rows)
    if any(row["verified"] is False for row in rows):
        sys.exit(2)


def _print_rows(rows: list[dict]) -> None:
    for row in rows:
        state = "present" if row["present"] else "MISSING"
        if row["verified"] is not None:
            state += ", sha256 ok" if row["verified"] else ", SHA256 MISMATCH"
        elif row["present"]:
            state += ", not verified (use --verify)"
        click.echo(f"{row['name']}  [{state}]")
        click.echo(f"    {row['purpose']}")
        click.echo(f"    found: {row['path']}" if row["path"] else f"    searched: {', '.join(row['searched'])}")
        if row["problem"]:
            click.echo(f"    {row['problem']}")
        if not row["present"]:
            click.echo(f"    get it: {row['url']} ({row['size_bytes']} bytes, sha256 {row['sha256']})")
