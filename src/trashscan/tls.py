"""Making a requests session trust the account's own CA bundle.

requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's ``verify`` whenever a
request passes none (``Session.merge_environment_settings``). Many CI images and distributions set
those variables, so an account's ``ca_bundle`` (a national cloud's proxy, the sandbox's CA) would
silently lose to the system bundle. Every requests-based provider SDK hits this trap.
"""

from __future__ import annotations

from typing import Any


class PinnedVerifyMixin:
    """Mix into a ``requests.Session`` subclass: its own ``verify`` beats the environment.

    A mixin rather than a session class, so that SDK sessions (pyicloud's) can take it too. It
    adds no state, and keeps the environment's proxies and netrc (unlike ``trust_env = False``).
    """

    verify: Any

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if verify is None and self.verify is not True:
            verify = self.verify
        return super().merge_environment_settings(  # type: ignore[misc]
            url, proxies, stream, verify, cert
        )
