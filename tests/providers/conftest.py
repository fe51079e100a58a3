"""Fixtures the providers' fake tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests


@pytest.fixture
def browser(ca_bundle: Path) -> requests.Session:
    """What a person's browser is to a fake's sign-in pages: HTTPS trusting the sandbox's CA
    only, no proxy or netrc from the environment."""
    session = requests.Session()
    session.verify = str(ca_bundle)
    session.trust_env = False
    return session
