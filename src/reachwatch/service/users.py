"""Local accounts, roles and sessions.

Passwords are kept as Argon2id hashes. A session token is 256 random bits handed to the browser
(or API client) once; the store keeps only its SHA-256, so a copy of the database logs no one in.
Each session has its own CSRF token. Logins fail slowly: after `MAX_FAILURES` failures for a name
or from a client within `FAILURE_WINDOW_S`, further attempts are refused until the window passes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from enum import StrEnum
from functools import cache

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reachwatch.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UsageError,
)
from reachwatch.store import accounts
from reachwatch.store.accounts import SessionRow, UserRow
from reachwatch.store.database import Store

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
BROWSER_SESSION_S = 12 * 3600  # a working day: officers log in again each shift
MIN_PASSWORD = 12
HASHER = PasswordHasher()


@cache
def _unknown_user_hash() -> str:
    """A hash of a password no one has, checked when the name is unknown so the answer takes as long;
    made on first use, not at import, so commands that never log in do not pay for it."""
    return HASHER.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"  # the floor, dossiers, people, narratives, search, the alert inbox
    INVESTIGATE = "investigate"  # cases, time, reveals, exports, alert triage, narrative edits
    CONFIGURE = "configure"  # alert rules
    OVERSEE = "oversee"  # the oversight report, every case
    AUDIT = "audit"  # the audit log
    ADMINISTER = "administer"  # users


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.ANALYST: frozenset({Permission.READ, Permission.INVESTIGATE}),
    Role.SUPERVISOR: frozenset(
        {Permission.READ, Permission.INVESTIGATE, Permission.CONFIGURE, Permission.OVERSEE}
    ),
    # Auditors see how the tool was used, not the monitored posts themselves.
    Role.AUDITOR: frozenset({Permission.OVERSEE, Permission.AUDIT}),
    Role.ADMIN: frozenset(Permission),
}


class Principal(msgspec.Struct, kw_only=True):
    """Who is asking: the user, the session's CSRF token, and the case being worked on."""

    name: str
    role: Role
    token_hash: str
    csrf: str
    case_id: str | None
    kind: str

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDeniedError(
                f"The {self.role.value} role may not do this (it needs the {permission.value!r} permission)."
            )


class UserInfo(msgspec.Struct, kw_only=True):
    name: str
    role: str
    disabled: bool
    created_at_us: int


class NewSession(msgspec.Struct, kw_only=True):
    token: str  # shown once: the cookie value or the API bearer token
    principal: Principal


def _now_us() -> int:
    return time.time_ns() // 1000


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise UsageError(f"Unknown role {text!r}: use one of {', '.join(r.value for r in Role)}.") from None


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UsageError("A user name is 1 to 64 letters, digits, '.', '_', '-' or '@'.")
    return name


def add_user(store: Store, name: str, role: str, password: str) -> UserInfo:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"A password needs at least {MIN_PASSWORD} characters.")
    row = UserRow(
        name=check_name(name),
        password_hash=HASHER.hash(password),
        role=parse_role(role).value,
        disabled=False,
        created_at_us=_now_us(),
    )
    accounts.add_user(store, row)
    return UserInfo(name=row.name, role=row.role, disabled=False, created_at_us=row.created_at_us)


def list_users(store: Store) -> list[UserInfo]:
    return [
        UserInfo(name=u.name, role=u.role, disabled=u.disabled, created_at_us=u.created_at_us)
        for u in accounts.list_users(store)
    ]


def set_disabled(store: Store, name: str, disabled: bool = True) -> None:
    """Disable (or enable) a user; disabling also ends every session the user has."""
    if not accounts.update_user(store, name, disabled=disabled):
        raise NotFoundError(f"No user named {name!r}; see `reachwatch users list`.")
    if disabled:
        accounts.delete_sessions(store, user_name=name)


def set_role(store: Store, name: str, role: str) -> None:
    if not accounts.update_user(store, name, role=parse_role(role).value):
        raise NotFoundError(f"No user named {name!r}; see `reachwatch users list`.")


def login(
    store: Store,
    name: str,
    password: str,
    client: str,
    *,
    kind: str = "browser",
    lifetime_s: float = BROWSER_SESSION_S,
) -> NewSession:
    """A new session for a correct name and password (always a new token: no fixation)."""
    now = _now_us()
    since = now - FAILURE_WINDOW_S * 1_000_000
    if accounts.login_failures_since(store, name, client, since) >= MAX_FAILURES:
        raise RateLimitedError(
            f"Too many failed logins: try again in {FAILURE_WINDOW_S // 60} minutes, or ask an admin."
        )
    user = accounts.get_user(store, name)
    try:
        HASHER.verify(user.password_hash if user else _unknown_user_hash(), password)
        ok = user is not None and not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        accounts.add_login_failure(store, name[:64], client[:64], now)
        raise AuthenticationError("Wrong user name or password, or the account is disabled.")
    accounts.clear_login_failures(store, name)
    if HASHER.check_needs_rehash(user.password_hash):
        accounts.update_user(store, name, password_hash=HASHER.hash(password))
    return open_session(store, user, kind=kind, lifetime_s=lifetime_s)


def open_session(store: Store, user: UserRow, *, kind: str, lifetime_s: float) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = _now_us()
    row = SessionRow(
        token_hash=_token_hash(token),
        user_name=user.name,
        kind=kind,
        csrf=secrets.token_urlsafe(32),
        created_at_us=now,
        expires_at_us=now + int(lifetime_s * 1e6),
        case_id=None,
    )
    accounts.add_session(store, row)
    return NewSession(token=token, principal=_principal(row, user))


def api_token(store: Store, name: str, days: float) -> str:
    """A bearer token for scripts calling the API as this user (`reachwatch users token`)."""
    user = accounts.get_user(store, name)
    if user is None or user.disabled:
        raise NotFoundError(f"No enabled user named {name!r}; see `reachwatch users list`.")
    return open_session(store, user, kind="api", lifetime_s=days * 86_400).token


def _principal(session: SessionRow, user: UserRow) -> Principal:
    return Principal(
        name=user.name,
        role=Role(user.role),
        token_hash=session.token_hash,
        csrf=session.csrf,
        case_id=session.case_id,
        kind=session.kind,
    )


def authenticate(store: Store, token: str) -> Principal:
    """The principal behind a session token, or AuthenticationError if it is unknown or expired."""
    found = accounts.get_session(store, _token_hash(token)) if token else None
    if found is None:
        raise AuthenticationError("Please log in.")
    session, user = found
    if user.disabled or session.expires_at_us < _now_us():
        accounts.delete_sessions(store, token_hash=session.token_hash)
        raise AuthenticationError("The session has ended: please log in again.")
    return _principal(session, user)


def logout(store: Store, principal: Principal) -> None:
    accounts.delete_sessions(store, token_hash=principal.token_hash)


def work_on_case(store: Store, principal: Principal, case_id: str | None) -> None:
    """Every later look in this session is recorded under this case (None: under no case)."""
    accounts.set_session_case(store, principal.token_hash, case_id)
    principal.case_id = case_id


def csrf_ok(principal: Principal, sent: str | None) -> bool:
    return bool(sent) and secrets.compare_digest(principal.csrf, sent or "")


def set_password(store: Store, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"A password needs at least {MIN_PASSWORD} characters.")
    if not accounts.update_user(store, name, password_hash=HASHER.hash(password)):
        raise NotFoundError(f"No user named {name!r}; see `reachwatch users list`.")


def demo_admin(store: Store, name: str = "demo") -> str:
    """The demo's admin account with a new random password each run (printed by `reachwatch demo`)."""
    password = secrets.token_urlsafe(12)
    if accounts.get_user(store, name) is None:
        add_user(store, name, Role.ADMIN.value, password)
    else:
        set_password(store, name, password)
        accounts.update_user(store, name, disabled=False)
    return password
