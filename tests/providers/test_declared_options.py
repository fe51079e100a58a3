"""Each plugin's declared options are exactly what its code reads: grep-free.

For every plugin: each declared option, given a valid value of its declared type (checked by the
core against the declaration), changes what the plugin makes of the account (its options object,
or what it would scan): nothing is declared and then ignored. And the plugin's own modules read
no key of ``account.options`` that is not declared (:class:`~trashscan.testing.RecordingOptions`
notes who reads what): nothing is read that the core would refuse in a config.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trashscan.models import Account
from trashscan.options import (
    BOOL,
    INT,
    NUMBER,
    PATH,
    PATHS,
    TEXT,
    WORDS,
    OptionSpec,
    from_config,
)
from trashscan.plugins import declared_options, load_provider_class
from trashscan.provider import ProviderContext
from trashscan.testing import RecordingOptions

Observe = Callable[[Account], Any]


def _sample(spec: OptionSpec, tmp_path: Path) -> Any:
    """A valid value of the declared type that differs from the default."""
    if spec.type is BOOL:
        return not spec.default if spec.default is not None else True
    if spec.type is INT:
        return (spec.default or 0) + 3
    if spec.type is NUMBER:
        return (spec.default or 0) + 2.5
    if spec.type is TEXT:
        return f"sample-{spec.name}"
    if spec.type is PATH:
        return str(tmp_path / spec.name)
    if spec.type is PATHS:
        return [str(tmp_path / spec.name)]
    if spec.type is WORDS:
        return ["tiff"]
    raise AssertionError(f"no sample for {spec.type}")


def _context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(
        secrets=None,  # type: ignore[arg-type]  # never reached: nothing signs in here
        retry=None,  # type: ignore[arg-type]
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        data_dir=tmp_path / "data",
    )


# --------------------------------------------------------------------- how each plugin reads them


def _local_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, Observe]:
    from trashscan_local_trash import trashinfo

    volume = tmp_path / "usb" / ".Trash-1000"
    monkeypatch.setattr(trashinfo, "volume_trashes", lambda uid: iter([str(volume)]))
    for trash in (volume, tmp_path / "trash_dirs", tmp_path / "share" / "Trash"):
        trash.mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty"))
    provider = load_provider_class("local-trash")(_context(tmp_path))

    def observe(account: Account) -> Any:
        scanned = provider.scan(account, None)
        try:
            while True:
                next(scanned)
        except StopIteration as done:
            outcome = done.value
        return (provider.trash_dirs(account), provider._purge_days(account), outcome.state)

    samples = {
        "trash_dirs": [str(tmp_path / "trash_dirs")],
        "xdg_data_home": str(tmp_path / "share"),
    }
    return {}, samples, observe


def _google_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, Observe]:
    from trashscan_google_drive import auth

    client = tmp_path / "client.json"
    client.write_text(json.dumps({"installed": {"client_id": "sample"}}))

    def observe(account: Account) -> Any:
        try:
            client_config: Any = auth._client_config(account)
        except Exception as exc:
            client_config = type(exc).__name__
        return (
            auth.activity_enabled(account.options),
            auth.scopes_for(account.options),
            client_config,
        )

    return {}, {"client_secrets": str(client)}, observe


def _settings(module: str, required: dict) -> Callable[..., tuple[dict, dict, Observe]]:
    def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, Observe]:
        import importlib

        settings = importlib.import_module(module).Settings
        samples = {
            "authority": "https://login.example.test/sample-tenant",
            "drive_type": "business",
        }
        return required, samples, settings.from_account

    return build


def _google_photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, Observe]:
    provider = load_provider_class("google-photos")(_context(tmp_path))

    def observe(account: Account) -> Any:
        list(provider.scan(account, None))
        return provider.check_auth(account)

    return {}, {}, observe


PLUGINS = {
    "local-trash": _local_trash,
    "google-drive": _google_drive,
    "google-photos": _google_photos,
    "dropbox": _settings("trashscan_dropbox.options", {"app_key": "key"}),
    "onedrive": _settings("trashscan_onedrive.options", {"client_id": "id"}),
    "icloud": _settings("trashscan_icloud.options", {"apple_id": "a@b.c"}),
}


@pytest.mark.parametrize("provider", sorted(PLUGINS))
def test_declared_options_are_what_the_plugin_reads(provider, tmp_path, monkeypatch):
    specs = declared_options(provider)
    assert specs is not None, f"{provider} declares no options"
    assert specs == load_provider_class(provider).options  # one declaration, two ways to it
    required, overrides, observe = PLUGINS[provider](tmp_path, monkeypatch)
    package = load_provider_class(provider).__module__.split(".")[0]

    base_options = RecordingOptions(required)
    base = observe(Account("sample", provider, base_options))
    read = base_options.read_by(package)
    for spec in specs:
        value = overrides.get(spec.name, _sample(spec, tmp_path))
        from_config(specs, {spec.name: value}, provider)  # a value the declaration accepts
        options = RecordingOptions({**required, spec.name: value})
        seen = observe(Account("sample", provider, options))
        assert seen != base, f"{provider} ignores its declared option {spec.name}"
        read |= options.read_by(package)

    assert read <= {spec.name for spec in specs}, f"{provider} reads undeclared options"
