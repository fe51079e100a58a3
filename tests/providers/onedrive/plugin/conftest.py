"""Fixtures of the plugin tests: a ``responses`` mock and the :class:`Harness` around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from .harness import Harness


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    # Each test asserts the exact sequence it expects, so unfired registrations are checked there.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def od(tmp_path: Path, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return Harness(tmp_path, rsps)
