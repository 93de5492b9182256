"""Plugin discovery through the `restorefw` entry-point group, tolerant of broken plugins."""

from __future__ import annotations

import importlib.metadata as md
import os
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from restorefw import hookspecs
from restorefw.errors import PluginError
from restorefw.registry import KINDS, Registry

GROUP = "restorefw"
BUILTIN_DISTRIBUTION = "restorefw"
ENV_ALLOW = "RESTOREFW_PLUGINS"
ENV_NO_AUTOLOAD = "RESTOREFW_DISABLE_PLUGIN_AUTOLOAD"
ENV_STRICT = "RESTOREFW_STRICT_PLUGINS"


@dataclass
class PluginInfo:
    """One entry point of the `restorefw` group: where it comes from and what it provided."""

    name: str
    distribution: str
    version: str
    value: str
    error: str | None = None
    traceback: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "module": self.value, "builtin": self.builtin, "error": self.error,
                "components": self.components}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class PluginSet:
    """The plugin manager, the registry it fills and the record of every plugin's fate."""

    manager: pluggy.PluginManager
    registry: Registry
    plugins: list[PluginInfo]
    skipped: list[PluginInfo]

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]


def _entry_points() -> list[md.EntryPoint]:
    eps = md.entry_points(group=GROUP)
    unique: dict[tuple[str, str], md.EntryPoint] = {}
    for ep in eps:
        unique.setdefault((ep.name, ep.value), ep)
    return sorted(unique.values(), key=lambda e: (e.dist.name if e.dist else "", e.name))


def _is_wanted(info: PluginInfo, allow: set[str] | None, autoload: bool) -> bool:
    if allow is not None:
        return info.name in allow or info.distribution in allow
    return autoload or info.builtin


def _unknown_hooks(module: Any) -> list[str]:
    known = {n for n in dir(hookspecs) if n.startswith("restorefw_")}
    return sorted(n for n in dir(module) if n.startswith("restorefw_") and n not in known
                  and callable(getattr(module, n)))


def load_plugins(strict: bool | None = None, extra: list[tuple[str, Any]] | None = None) -> PluginSet:
    """Discover, import and register every plugin of the `restorefw` entry-point group.

    A plugin that fails to import (or registers a misspelt hook) is recorded with its error and the
    others keep working; `strict` (or RESTOREFW_STRICT_PLUGINS=1) makes such a failure fatal.
    RESTOREFW_PLUGINS=a,b loads only the named plugins or distributions;
    RESTOREFW_DISABLE_PLUGIN_AUTOLOAD=1 loads only the built-ins. `extra` registers in-process
    plugins (name, module-or-object), as tests do.
    """
    strict = _truthy(os.environ.get(ENV_STRICT)) if strict is None else strict
    allow_env = os.environ.get(ENV_ALLOW)
    allow = {s.strip() for s in allow_env.split(",") if s.strip()} if allow_env else None
    autoload = not _truthy(os.environ.get(ENV_NO_AUTOLOAD))

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins: list[PluginInfo] = []
    skipped: list[PluginInfo] = []
    sources: list[tuple[PluginInfo, Any]] = []

    for ep in _entry_points():
        info = PluginInfo(ep.name, ep.dist.name if ep.dist else "?", ep.dist.version if ep.dist else "?", ep.value)
        if not _is_wanted(info, allow, autoload):
            skipped.append(info)
            continue
        plugins.append(info)
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not break the others
            info.error = f"{type(exc).__name__}: {exc}"
            info.traceback = traceback.format_exc()
            continue
        sources.append((info, module))
    for name, module in extra or []:
        info = PluginInfo(name, "(in-process)", "-", getattr(module, "__name__", repr(module)))
        plugins.append(info)
        sources.append((info, module))

    registry = Registry()
    for info, module in sources:
        bad = _unknown_hooks(module)
        if bad:
            info.error = (f"defines {', '.join(bad)}, which is not a restorefw hook; "
                          f"known hooks: {', '.join(KINDS.values())}, restorefw_commands")
            continue
        try:
            manager.register(module, name=info.name)
        except Exception as exc:
            info.error = f"{type(exc).__name__}: {exc}"
            continue
        for kind, hook_name in KINDS.items():
            impl = getattr(module, hook_name, None)
            if impl is None:
                continue
            try:
                classes = list(impl() or [])
            except Exception as exc:
                info.error = f"{hook_name} raised {type(exc).__name__}: {exc}"
                break
            for cls in classes:
                registry.add(kind, cls, info.name)
                info.components.setdefault(kind, []).append(cls.name)

    failures = [p for p in plugins if p.error]
    if strict and failures:
        f = failures[0]
        raise PluginError(f"plugin {f.name!r} (distribution {f.distribution} {f.version}) failed to load: "
                          f"{f.error}. Strict plugin mode is on (--strict-plugins or {ENV_STRICT}=1); "
                          f"fix or uninstall the plugin, or turn strict mode off.")
    return PluginSet(manager, registry, plugins, skipped)
