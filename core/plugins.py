"""Plugin discovery through the `restorefw` entry-point group, tolerant of broken plugins.

Every plugin is registered with a pluggy manager that validates its hook implementations against
`restorefw.hookspecs`; components are collected by calling each plugin's hooks through the manager.
A plugin that fails at any step (import, hook validation, a hook raising, a returned class that is
not a component) is recorded with the reason and contributes nothing; the others keep working.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from restorefw import hookspecs
from restorefw.errors import PluginError
from restorefw.registry import KINDS, Registry, check_component

GROUP = "restorefw"
BUILTIN_DISTRIBUTION = "restorefw"
ENV_ALLOW = "RESTOREFW_PLUGINS"
ENV_DENY = "RESTOREFW_DISABLE_PLUGINS"
ENV_NO_AUTOLOAD = "RESTOREFW_DISABLE_PLUGIN_AUTOLOAD"
ENV_STRICT = "RESTOREFW_STRICT_PLUGINS"
HOOK_PREFIX = "restorefw_"


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
    skipped_because: str | None = None

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "module": self.value, "builtin": self.builtin, "error": self.error,
                "components": self.components}


class HookManager(pluggy.PluginManager):
    """pluggy's manager; like pytest's, it also takes unmarked `restorefw_*` functions as hook
    implementations, so that a misspelt or unmarked hook is validated instead of silently ignored."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(HOOK_PREFIX) and callable(getattr(plugin, name, None)):
            return {}
        return opts


def _names(value: str | None) -> set[str] | None:
    return {s.strip() for s in value.split(",") if s.strip()} if value else None


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

    def conflict_messages(self) -> list[str]:
        """One line per name registered by several plugins, with the way out."""
        return [f"the {kind.replace('_', ' ')} {name!r} is registered by {', '.join(map(repr, plugins))}: "
                f"write {' or '.join(f'{p}:{name}' for p in plugins)} in recipes, or disable one with "
                f"{ENV_DENY}=<plugin>" for kind, name, plugins in self.registry.conflicts()]


def _entry_points() -> list[md.EntryPoint]:
    unique: dict[tuple[str, str], md.EntryPoint] = {}
    for ep in md.entry_points(group=GROUP):
        unique.setdefault((ep.name, ep.value), ep)
    return sorted(unique.values(), key=lambda e: (e.dist.name if e.dist else "", e.name))


def _skip_reason(info: PluginInfo, allow: set[str] | None, deny: set[str], autoload: bool) -> str | None:
    if deny & {info.name, info.distribution}:
        return f"disabled by {ENV_DENY}"
    if allow is not None:
        return None if allow & {info.name, info.distribution} else f"not listed in {ENV_ALLOW}"
    return None if autoload or info.builtin else f"{ENV_NO_AUTOLOAD} is set"


def _register(manager: HookManager, info: PluginInfo, module: Any, registry: Registry) -> None:
    """Register one plugin and its components, all or nothing; raise on any problem."""
    manager.register(module, name=info.name)
    try:
        manager.check_pending()
        others = [p for p in manager.get_plugins() if p is not module]
        collected: list[tuple[str, Any]] = []
        for kind, hook_name in KINDS.items():
            caller = manager.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                results = caller()
            except Exception as exc:
                raise PluginError(f"{hook_name} raised {type(exc).__name__}: {exc}") from exc
            for result in results:
                if not isinstance(result, (list, tuple)):
                    raise PluginError(f"{hook_name} returned {result!r}; a component hook returns a list of classes.")
                for cls in result:
                    check_component(kind, cls, info.name)
                    collected.append((kind, cls))
        trial = Registry()
        for kind, cls in collected:
            trial.add(kind, cls, info.name)
    except Exception:
        manager.unregister(module)
        raise
    for kind, cls in collected:
        registry.add(kind, cls, info.name)
        names = info.components.setdefault(kind, [])
        if cls.name not in names:
            names.append(cls.name)


def load_plugins(strict: bool | None = None, extra: list[tuple[str, Any]] | None = None) -> PluginSet:
    """Discover, import and register every plugin of the `restorefw` entry-point group.

    A plugin that fails to import or to register is recorded with its error and the others keep
    working; `strict` (or RESTOREFW_STRICT_PLUGINS=1) makes such a failure, or a name that two plugins
    register, fatal. RESTOREFW_PLUGINS=a,b loads only the named plugins or distributions;
    RESTOREFW_DISABLE_PLUGINS=a,b skips them; RESTOREFW_DISABLE_PLUGIN_AUTOLOAD=1 loads only the
    built-ins. `extra` registers in-process plugins (name, module-or-object), as tests do.
    """
    strict = _truthy(os.environ.get(ENV_STRICT)) if strict is None else strict
    allow = _names(os.environ.get(ENV_ALLOW))
    deny = _names(os.environ.get(ENV_DENY)) or set()
    autoload = not _truthy(os.environ.get(ENV_NO_AUTOLOAD))

    manager = HookManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins: list[PluginInfo] = []
    skipped: list[PluginInfo] = []
    sources: list[tuple[PluginInfo, Any]] = []
    for ep in _entry_points():
        info = PluginInfo(ep.name, ep.dist.name if ep.dist else "?", ep.dist.version if ep.dist else "?", ep.value)
        info.skipped_because = _skip_reason(info, allow, deny, autoload)
        if info.skipped_because:
            skipped.append(info)
            continue
        plugins.append(info)
        try:
            sources.append((info, ep.load()))
        except Exception as exc:  # a broken plugin must not break the others
            info.error = f"{type(exc).__name__}: {exc}"
            info.traceback = traceback.format_exc()
    for name, module in extra or []:
        info = PluginInfo(name, "(in-process)", "-", getattr(module, "__name__", repr(module)))
        plugins.append(info)
        sources.append((info, module))

    registry = Registry()
    for info, module in sources:
        try:
            _register(manager, info, module, registry)
        except Exception as exc:  # registration problems are isolated exactly like import errors
            info.error = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            info.traceback = traceback.format_exc()

    result = PluginSet(manager, registry, plugins, skipped)
    problems = [f"plugin {f.name!r} (distribution {f.distribution} {f.version}) failed to load: {f.error}"
                for f in result.failures] + result.conflict_messages()
    if strict and problems:
        raise PluginError(f"{problems[0]}. Strict plugin mode is on (--strict-plugins or {ENV_STRICT}=1); "
                          f"fix or uninstall the plugin, disable it with {ENV_DENY}, or turn strict mode off.")
    return result
