"""Which installed distribution a component comes from, and plugin failures at run time that say so."""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import time
from typing import Any, Callable, TypeVar

from restorefw.errors import RestoreError, WorkError

T = TypeVar("T")
GROUP = "restorefw"
ENV_SLOW = "RESTOREFW_SLOW_PLUGIN_SECONDS"
DEFAULT_SLOW_SECONDS = 60.0
_REPORTED_SLOW: set[str] = set()


def _distributions() -> dict[str, str]:
    """Top-level module of each `restorefw` entry point → "distribution version" (read afresh: only error
    messages ask, and plugins may be installed while the process runs)."""
    found: dict[str, str] = {}
    for entry in md.entry_points(group=GROUP):
        top = entry.value.split(":")[0].split(".")[0]
        if entry.dist is not None:
            found.setdefault(top, f"{entry.dist.metadata['Name']} {entry.dist.version}")
    return found


def distribution_of(obj: Any) -> str | None:
    """The distribution (name and version) whose plugin defines `obj`'s class, if one does."""
    cls = obj if isinstance(obj, type) else type(obj)
    return _distributions().get(cls.__module__.split(".")[0])


def describe(kind: str, obj: Any) -> str:
    """`loss 'my-loss' (class MyLoss, distribution my-plugin 1.0)`: who to blame, for messages."""
    cls = obj if isinstance(obj, type) else type(obj)
    name = getattr(cls, "name", "") or cls.__name__
    where = distribution_of(cls)
    return f"{kind} {name!r} ({cls.__module__}.{cls.__qualname__}" + (f", distribution {where})" if where else ")")


class PluginFailure(WorkError):
    """A plugin raised while restoring: the images it was working on fail, the others go on (exit code 1)."""


def slow_seconds() -> float:
    """How long one call of a plugin may take before it is reported as slow ($RESTOREFW_SLOW_PLUGIN_SECONDS)."""
    try:
        return float(os.environ.get(ENV_SLOW, DEFAULT_SLOW_SECONDS))
    except ValueError:
        return DEFAULT_SLOW_SECONDS


def guarded(kind: str, component: Any, call: Callable[[], T]) -> T:
    """`call()`, with an unexpected exception turned into a PluginFailure naming the component's plugin; a call
    slower than `slow_seconds()` is reported once per component on stderr, by name and distribution."""
    started = time.perf_counter()
    try:
        result = call()
    except RestoreError:
        raise
    except Exception as exc:  # any plugin bug is reported, never a traceback
        raise PluginFailure(f"{describe(kind, component)} raised {type(exc).__name__}: {exc}. This is a bug in "
                            "that plugin (or its parameters); report it to its authors, or remove it from the "
                            "recipe.") from exc
    seconds = time.perf_counter() - started
    if seconds >= slow_seconds():
        who = describe(kind, component)
        if who not in _REPORTED_SLOW:
            _REPORTED_SLOW.add(who)
            print(f"warning: {who} took {seconds:.1f} s for one call (over ${ENV_SLOW} = {slow_seconds():g} s); "
                  "it sets the pace of this run. Check its parameters or report it to its authors.", file=sys.stderr)
    return result
