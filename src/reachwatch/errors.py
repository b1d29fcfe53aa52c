"""The one exception tree: every error a user can see says what happened and what to do.

Usage errors make the CLI exit with 2, every other ReachwatchError with 1.
"""

from __future__ import annotations


class ReachwatchError(Exception):
    """Base of every error reachwatch raises on purpose."""

    exit_code = 1


class UsageError(ReachwatchError):
    """The user asked for something that cannot be done as asked (bad flag, bad value)."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting is missing or invalid; the message names every way to set it."""


class NotFoundError(ReachwatchError):
    """A record the user named does not exist."""


class StoreError(ReachwatchError):
    """The store could not be opened, migrated or written."""


class StoreUnavailableError(StoreError):
    """The database server could not be reached."""


class StoreDataError(StoreError):
    """A write was refused by the database because of the data in it (one bad row in a batch)."""


class PayloadError(ReachwatchError):
    """A payload could not be turned into canonical records; it goes to quarantine with this reason.

    `code` is a short stable slug (invalid-json, wrong-type, too-large, unknown-kind, ...) that
    analysts can filter on; the message says what was wrong in words.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def reason(self) -> str:
        return f"{self.code}: {self}"


class ConnectorError(ReachwatchError):
    """A platform refused a request in a way waiting will not fix (bad token, unknown account)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StoppedError(ReachwatchError):
    """The collector was asked to stop while a connector was waiting."""


class AuthenticationError(ReachwatchError):
    """No valid session or token: the user must log in (pages redirect, the API answers 401)."""


class PermissionDeniedError(ReachwatchError):
    """The user is logged in, but the role or the case does not allow this (403)."""


class RateLimitedError(ReachwatchError):
    """Too many attempts in a short time (429); the message says when to try again."""
