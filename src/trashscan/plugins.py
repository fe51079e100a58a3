"""Finding provider plugins through entry points.

Built-in providers are registered exactly as a third-party package would register one (the group
``trashscan.providers`` in its pyproject), so there is no privileged path. A plugin that fails to
import is kept as a :class:`BrokenPlugin` with its error, the way httpie warns about a bad plugin
instead of dying: `trashscan providers` shows it, and every other provider keeps working.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from trashscan.errors import UsageError
from trashscan.options import OptionSpec
from trashscan.provider import Provider

PROVIDER_GROUP = "trashscan.providers"
OPTIONS_GROUP = "trashscan.options"  # provider name -> its option declaration (no SDK import)
SANDBOX_GROUP = "trashscan.sandbox"


@dataclass(frozen=True, slots=True)
class BrokenPlugin:
    name: str
    target: str
    error: str


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """An entry point, loaded only when first used so `--help` never imports a provider SDK."""

    name: str
    entry_point: EntryPoint

    def load(self) -> type[Provider]:
        return _load_provider(self.entry_point)


@functools.cache
def _load_provider(entry_point: EntryPoint) -> type[Provider]:
    cls = entry_point.load()
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise TypeError(f"{entry_point.value} is not a trashscan Provider subclass")
    return cls


def provider_entries() -> dict[str, PluginEntry]:
    return {ep.name: PluginEntry(ep.name, ep) for ep in entry_points(group=PROVIDER_GROUP)}


def load_provider_class(name: str) -> type[Provider]:
    """The provider class for ``name``; an unknown or broken provider is one clear error."""
    entries = provider_entries()
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(sorted(entries)) or "none installed"
        raise UsageError(f"unknown provider {name!r}", hint=f"known providers: {known}")
    try:
        return entry.load()
    except Exception as exc:  # a broken plugin must never take the CLI down with it
        raise UsageError(
            f"provider {name!r} failed to load: {type(exc).__name__}: {exc}",
            hint="see `trashscan providers`",
        ) from exc


@functools.cache
def declared_options(name: str) -> tuple[OptionSpec, ...] | None:
    """The options provider ``name`` declares, for checking a config before any scan.

    Read from its ``trashscan.options`` entry point, which imports no SDK (loading the config
    must stay fast), else from its provider class. None when it declares none, or is unknown or
    broken: the scan reports that account, and the rest of the config stays usable.
    """
    option_entries = {ep.name: ep for ep in entry_points(group=OPTIONS_GROUP)}
    try:
        if name in option_entries:
            return tuple(option_entries[name].load())
        entry = provider_entries().get(name)
        options = entry.load().options if entry is not None else None
    except Exception:  # a broken plugin must never take the CLI down with it
        return None
    return tuple(options) if options is not None else None


def all_providers() -> tuple[dict[str, type[Provider]], list[BrokenPlugin]]:
    """Load every installed provider, separating the ones that fail to import."""
    loaded: dict[str, type[Provider]] = {}
    broken: list[BrokenPlugin] = []
    for name, entry in sorted(provider_entries().items()):
        try:
            loaded[name] = entry.load()
        except Exception as exc:
            broken.append(
                BrokenPlugin(name, entry.entry_point.value, f"{type(exc).__name__}: {exc}")
            )
    return loaded, broken


def sandbox_fakes() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=SANDBOX_GROUP)}
