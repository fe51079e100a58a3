"""Google Photos: registered, honest about what its API cannot do, and never a failure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trashscan.cli import run
from trashscan.errors import NotSupportedError
from trashscan.index import Index
from trashscan.models import Account, ScanOutcome
from trashscan.plugins import load_provider_class, sandbox_fakes
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.sandbox.session import Sandbox
from trashscan.scanner import Scanner
from trashscan_google_photos.plugin import GooglePhotosProvider
from trashscan_google_photos.sandbox.fake import GooglePhotosFake

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
REASON = (
    "the Google Photos API cannot list or restore the trash; "
    "check https://photos.google.com/trash (items kept 60 days)"
)
ACCOUNT = Account("photos-alice", "google-photos")


@pytest.fixture
def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(
        secrets=None,  # type: ignore[arg-type]  # nothing to sign in to
        retry=RetryPolicy(sleep=lambda _s: None),
        clock=lambda: NOW,
        data_dir=tmp_path / "data",
    )


def test_registered_with_list_and_restore_unsupported() -> None:
    cls = load_provider_class("google-photos")

    assert cls is GooglePhotosProvider
    caps = cls.capabilities
    assert (caps.list, caps.restore, caps.unsupported_reason) == (False, False, REASON)


def test_scan_is_a_generator_with_no_pages(context: ProviderContext) -> None:
    gen = GooglePhotosProvider(context).scan(ACCOUNT, None)

    with pytest.raises(StopIteration) as stop:
        next(gen)

    assert stop.value.value == ScanOutcome(None, False)


def test_restore_says_why_not(context: ProviderContext) -> None:
    with pytest.raises(NotSupportedError, match=r"photos\.google\.com/trash"):
        GooglePhotosProvider(context).restore(ACCOUNT, [])


def test_scanner_reports_one_notice_and_no_failure(
    context: ProviderContext, tmp_path: Path
) -> None:
    with Index.open(f"sqlite:///{tmp_path / 'index.db'}") as index:
        [result] = Scanner(index, context).scan([ACCOUNT])

    assert (result.ok, result.items, result.error, result.notice) == (True, 0, None, REASON)


def test_fake_seeds_one_account_without_a_server(tmp_path: Path) -> None:
    fake = sandbox_fakes()["google-photos"].load()()

    assert isinstance(fake, GooglePhotosFake)
    assert (fake.name, fake.needs_server) == ("google-photos", False)
    assert fake.seed(tmp_path, NOW) == [{"name": "photos-alice", "provider": "google-photos"}]


def test_list_prints_the_notice_on_stderr_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"google-photos"})) as box:
        code = run(["--config", str(box.config_path), "list", "--all-accounts"])

    err = capsys.readouterr().err
    assert code == 0
    assert err.count(REASON) == 1
    assert "photos-alice (google-photos)" in err
