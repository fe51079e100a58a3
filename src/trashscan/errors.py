"""Errors that the CLI turns into one line and an exit code, never a traceback."""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_DECLINED = 4  # the person answered no at a confirmation prompt: nothing was changed


class TrashscanError(Exception):
    """Base: ``str(error)`` is the one line shown to the user; ``hint`` says what to do next."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def one_line(self) -> str:
        return f"{self}" + (f" ({self.hint})" if self.hint else "")


class ConfigError(TrashscanError):
    """Missing or malformed configuration; the message names the file (and line when known)."""


class UsageError(TrashscanError):
    """A bad argument: unknown account, bad duration, unknown ref, bad filter."""


class IndexStoreError(TrashscanError):
    """The index cannot be opened or is corrupt."""


class SecretStoreError(TrashscanError):
    """The keyring is unusable or refused (e.g. an insecure backend without opt-in)."""


class NotSupportedError(TrashscanError):
    """The provider lacks a capability; reported, not a crash."""


class AccountError(TrashscanError):
    """One account failed (auth, outage, throttling). Other accounts carry on."""

    exit_code = 1


class AuthError(AccountError):
    """Credentials are missing, expired or revoked; ``hint`` names the command that fixes it."""


class ProviderUnavailableError(AccountError):
    """The provider answered with errors (or not at all) after the retry budget was spent."""
