"""What a command needs from the invocation that runs it: the plugins, loaded once per invocation."""

from __future__ import annotations

import click

from restorefw.plugins import PluginSet, load_plugins


def get_plugins(ctx: click.Context | None = None) -> PluginSet:
    """The plugins of this invocation, loaded once (strict when `--strict-plugins` was given)."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "plugins" not in obj:
        strict = bool(root.params.get("strict_plugins")) or None
        obj["plugins"] = load_plugins(strict=strict)
    return obj["plugins"]
