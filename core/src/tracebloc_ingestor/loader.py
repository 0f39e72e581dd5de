"""Find, load and register plugins by entry-point name.

A plugin distribution declares its categories in the entry-point group
``tracebloc_ingestor`` (entry name == category name). Nothing is loaded automatically:
``load_plugins(pm, ["x"])`` imports exactly the entry point ``x``, so a broken plugin the
run did not ask for can never break it, while a broken plugin it did ask for fails at
start, named together with its distribution. Listing (:func:`installed_plugins`) reads
package metadata only and never imports plugin code.

Each manager remembers which distribution provided each plugin (see
:class:`IngestorPluginManager`), so conflicts and errors name distributions, not objects.
A loaded plugin is registered under ``"<distribution>:<entry point>"``; an in-process
plugin (a core built-in, a ``BaseIngestor`` instance, a test's inline class) under the
name its caller gives it.
"""

from __future__ import annotations

import difflib
import importlib.metadata as metadata
import logging
import re
import sys
from typing import Iterable, Sequence

import attrs
import pluggy

from . import hookspecs
from .categories import CategoryError, CategorySpec
from .markers import ENTRY_POINT_GROUP, PROJECT_NAME

__all__ = [
    "PluginError",
    "UnknownPluginError",
    "BrokenPluginError",
    "DuplicatePluginError",
    "PluginInfo",
    "IngestorPluginManager",
    "installed_plugins",
    "new_plugin_manager",
    "load_plugins",
    "register_builtin",
    "category_table",
    "check_hooks",
    "provider_of",
]

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin could not be found, loaded or combined with the others."""


class UnknownPluginError(PluginError):
    """No installed distribution provides the requested entry point."""


class BrokenPluginError(PluginError):
    """A requested plugin failed to import, instantiate or register."""


class DuplicatePluginError(PluginError):
    """Two providers claim one entry-point name or one category."""


@attrs.frozen
class PluginInfo:
    """One entry point of the group ``tracebloc_ingestor``, read from package metadata."""

    name: str  # entry-point name == category name
    distribution: str
    version: str
    value: str  # "module:attr"

    @property
    def plugin_name(self) -> str:
        """The name the plugin is registered under in a plugin manager."""
        return f"{self.distribution}:{self.name}"

    def describe(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"


class IngestorPluginManager(pluggy.PluginManager):
    """A pluggy manager with the host's hook specs that knows who provided each plugin."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self._providers: dict[str, str] = {}  # registered plugin name -> distribution
        # Two entry points may name one class (one plugin, two categories): it is
        # instantiated and registered once.
        self._instances: dict[type, object] = {}

    def provider_of(self, plugin: object) -> str:
        """Distribution that provided ``plugin``, else its registered name."""
        name = self.get_name(plugin) or repr(plugin)
        return self._providers.get(name, name)


def new_plugin_manager() -> IngestorPluginManager:
    """Return a fresh manager with the host's hook specs and no plugins."""
    return IngestorPluginManager()


# -- discovery -----------------------------------------------------------------------


def _normalize(dist_name: str) -> str:
    # The same form importlib.metadata derives from a metadata folder's name.
    return re.sub(r"[-_.]+", "_", dist_name).lower()


def _dist_label(dist: metadata.Distribution) -> str:
    # No public API names a distribution's metadata folder; it is the only name a
    # distribution with unreadable metadata has.
    return str(getattr(dist, "_path", dist))


def _scan(path: Sequence[str] | None) -> list[tuple[PluginInfo, metadata.EntryPoint]]:
    """Entry points of our group on ``path`` with their infos, sorted, without imports."""
    search = list(sys.path if path is None else path)
    seen: set[str] = set()
    found: list[tuple[PluginInfo, metadata.EntryPoint]] = []
    for dist in metadata.distributions(path=search):
        # The first distribution of a name on the path shadows later ones, as for
        # imports; the folder-derived name avoids parsing every METADATA file.
        key = getattr(dist, "_normalized_name", None)
        if key is not None and key in seen:
            continue
        try:
            eps = dist.entry_points.select(group=ENTRY_POINT_GROUP)
            if not eps:
                if key is not None:
                    seen.add(key)
                continue
            name = dist.metadata["Name"]
            if not name:
                raise ValueError("METADATA has no Name")
            version = dist.version or "unknown"
        except Exception as exc:  # noqa: BLE001 - any unreadable metadata is skipped
            log.warning(
                "skipping distribution at %s: unreadable metadata (%s: %s)",
                _dist_label(dist),
                type(exc).__name__,
                exc,
            )
            continue
        key = key or _normalize(name)
        if key in seen:
            continue
        seen.add(key)
        for ep in eps:
            found.append((PluginInfo(ep.name, name, version, ep.value), ep))
    found.sort(key=lambda pair: (pair[0].name, pair[0].distribution))
    return found


def installed_plugins(path: Sequence[str] | None = None) -> list[PluginInfo]:
    """List the plugins installed on ``path`` (default ``sys.path``) from metadata only.

    Sorted by (name, distribution). Two distributions offering one name are both listed.
    A distribution with unreadable metadata is skipped with a warning naming it.
    """
    return [info for info, _ in _scan(path)]


def _installed_summary(infos: Iterable[PluginInfo]) -> str:
    listed = ", ".join(info.describe() for info in infos)
    return f"installed: {listed}" if listed else "none installed"


def _unknown(name: str, infos: Sequence[PluginInfo]) -> str:
    """Why ``name`` cannot be loaded, with the nearest installed names and how to install one."""
    close = difflib.get_close_matches(name, sorted({i.name for i in infos}), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return (
        f"no plugin named {name!r}; {hint}{_installed_summary(infos)}. A category comes with the distribution "
        "that provides it: pip install tracebloc-ingestor-<name> of that distribution (the README's table "
        "of categories lists them), then tb-ingest plugins shows it"
    )


# -- loading -------------------------------------------------------------------------


def _remember(pm: pluggy.PluginManager, plugin_name: str, provider: str) -> None:
    providers = getattr(pm, "_providers", None)
    if providers is not None:
        providers[plugin_name] = provider


def _register(pm: pluggy.PluginManager, plugin: object, plugin_name: str, what: str) -> None:
    try:
        pm.register(plugin, name=plugin_name)
    except pluggy.PluginValidationError as exc:
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise BrokenPluginError(f"{what} has an invalid hook implementation: {detail}") from exc
    except ValueError as exc:
        raise PluginError(f"{what} cannot be registered: the name or the object is already in use") from exc


def _instantiate(pm: pluggy.PluginManager, cls: type) -> object:
    instances = getattr(pm, "_instances", None)
    if instances is None:
        return cls()
    if cls not in instances:
        instances[cls] = cls()
    return instances[cls]


def load_plugins(
    pm: pluggy.PluginManager, names: Sequence[str], *, path: Sequence[str] | None = None
) -> list[PluginInfo]:
    """Import and register exactly the named entry points, in order; return their infos.

    ``path`` restricts where distributions are looked for (default ``sys.path``); the
    modules are imported through ``sys.path``, which the caller keeps consistent with it.
    A class is instantiated without arguments; anything else is registered as it is.
    Loading a name that is already registered is a no-op.
    """
    names = list(dict.fromkeys(names))
    if not names:
        return []
    scanned = _scan(path)
    infos = [info for info, _ in scanned]
    loaded: list[PluginInfo] = []
    for name in names:
        candidates = [(info, ep) for info, ep in scanned if info.name == name]
        if not candidates:
            raise UnknownPluginError(_unknown(name, infos))
        if len(candidates) > 1:
            providers = " and ".join(f"{i.distribution} {i.version} ({i.value})" for i, _ in candidates)
            raise DuplicatePluginError(
                f"plugin name {name!r} is provided by more than one distribution: {providers}; "
                "uninstall one of them"
            )
        info, ep = candidates[0]
        what = f"plugin {name!r} (entry point {name} = {info.value} in {info.distribution} {info.version})"
        if pm.is_blocked(info.plugin_name):
            log.info("%s is blocked; not loaded", what)
            continue
        if pm.get_plugin(info.plugin_name) is None:
            try:
                obj = ep.load()
                plugin = _instantiate(pm, obj) if isinstance(obj, type) else obj
            except Exception as exc:
                raise BrokenPluginError(f"{what} failed to load: {type(exc).__name__}: {exc}") from exc
            # One module or class may stand behind several entry points (one plugin, several
            # categories); it is registered once, under the first name loaded.
            if not pm.is_registered(plugin):
                _register(pm, plugin, info.plugin_name, what)
                _remember(pm, info.plugin_name, info.distribution)
        loaded.append(info)
    return loaded


def register_builtin(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register an in-process plugin (core built-in, ``BaseIngestor`` instance, test plugin)."""
    _register(pm, plugin, name, f"plugin {name!r}")
    _remember(pm, name, name)


# -- checks ----------------------------------------------------------------------------


def provider_of(pm: pluggy.PluginManager, plugin: object) -> str:
    """The distribution (or registered name) behind ``plugin``, for messages."""
    if isinstance(pm, IngestorPluginManager):
        return pm.provider_of(plugin)
    return pm.get_name(plugin) or repr(plugin)


def category_table(pm: pluggy.PluginManager) -> dict[str, tuple[CategorySpec, str]]:
    """Map each declared category name to ``(spec, provider)``, sorted by name.

    Each ``tb_categories`` implementation is called on its own so that every spec can be
    attributed to the plugin that declared it (wrappers do not apply to this hook). Two
    declarations of one name raise :class:`DuplicatePluginError` naming both providers.
    """
    table: dict[str, tuple[CategorySpec, str]] = {}
    for impl in pm.hook.tb_categories.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:
            continue
        provider = provider_of(pm, impl.plugin)
        try:
            result = impl.function()
        except CategoryError as exc:
            raise PluginError(f"plugin {impl.plugin_name!r} ({provider}) declares a category the host cannot accept: {exc}") from exc
        except Exception as exc:
            raise BrokenPluginError(
                f"plugin {impl.plugin_name!r} ({provider}) failed in tb_categories: {type(exc).__name__}: {exc}"
            ) from exc
        if result is None:
            continue
        if isinstance(result, (CategorySpec, str, bytes)):
            raise PluginError(
                f"plugin {impl.plugin_name!r} ({provider}): tb_categories must return an iterable "
                f"of CategorySpec, got {type(result).__name__}"
            )
        for spec in result:
            if not isinstance(spec, CategorySpec):
                raise PluginError(
                    f"plugin {impl.plugin_name!r} ({provider}): tb_categories returned a "
                    f"{type(spec).__name__}, expected CategorySpec"
                )
            if spec.name in table:
                raise DuplicatePluginError(
                    f"category {spec.name!r} is declared by both {table[spec.name][1]} and {provider}"
                )
            table[spec.name] = (spec, provider)
    return dict(sorted(table.items()))


# Hooks of version 1.0 that became stages of the category object.
CATEGORY_STAGE_HOOKS = {
    "tb_discover": "discovering is a stage of the category now: define discover(ctx) on its Category",
    "tb_table_schema": "the table schema is a stage of the category now: define table_schema(ctx) on its Category",
}


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Fail when a registered plugin implements a hook that has no spec (a typo, say).

    Like ``pm.check_pending()``, but names the plugin, its distribution and the nearest
    known hook, and reports every unknown hook at once.
    """
    callers = vars(pm.hook)
    known = sorted(name for name, caller in callers.items() if caller.has_spec())
    problems = []
    for hook_name, caller in sorted(callers.items()):
        if caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            hint = difflib.get_close_matches(hook_name, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            if hook_name in CATEGORY_STAGE_HOOKS:
                suggestion = f" ({CATEGORY_STAGE_HOOKS[hook_name]})"
            problems.append(
                f"plugin {impl.plugin_name!r} ({provider_of(pm, impl.plugin)}) implements "
                f"unknown hook {hook_name!r}{suggestion}"
            )
    if problems:
        raise PluginError("; ".join(problems) + f"; known hooks: {', '.join(known)}")
