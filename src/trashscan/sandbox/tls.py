"""A throwaway certificate authority for the fake servers.

Real SDK clients verify TLS, and trashscan must never ship a "disable verification" switch just
for testing. Instead the sandbox mints its own CA per run and points clients at its PEM bundle
(``Account.ca_bundle``), exercising exactly the verification path used against real clouds.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["SandboxCA"]


class SandboxCA:
    """A trustme CA whose key lives only in memory for the life of this object."""

    def __init__(self) -> None:
        import trustme  # deferred: only the sandbox needs it, and it pulls in cryptography

        self._ca: Any = trustme.CA(organization_name="trashscan sandbox")

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, for clients that take PEM data rather than a path."""
        return self._ca.cert_pem.bytes()

    def issue_server_context(
        self, hosts: Sequence[str] = ("127.0.0.1", "localhost")
    ) -> ssl.SSLContext:
        """A server-side context with a fresh leaf certificate valid for ``hosts``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ca.issue_cert(*hosts).configure_cert(context)
        return context

    def write_ca_bundle(self, path: str | Path) -> Path:
        """Write the CA as PEM: what requests' ``verify`` and httplib2's ``ca_certs`` take."""
        target = Path(path)
        target.write_bytes(self.cert_pem)
        return target
