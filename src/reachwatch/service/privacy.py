"""Pseudonyms for ordinary engagers: privacy by default, identity by justified, audited reveal.

An account that is not watched, not a protected person's own, and not a public figure (an audience
of at least `public_followers`) is shown as `anon-` + the first 16 base32 characters of
HMAC-SHA256(deployment key, account id): stable across pages, API and exports, so one engager can
be followed through the tool without being named, and not reversible without the key. Revealing
one needs an open case the officer works on, and leaves an audit entry under it.

`mask` walks any response (msgspec structs, lists, dicts) and replaces the account fields it
knows by name, so a view written tomorrow is masked too; a handle beside a masked id goes with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select

from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service import audit, cases
from reachwatch.service.users import Principal
from reachwatch.store import accounts as account_rows
from reachwatch.store import schema
from reachwatch.store.database import Store

PREFIX = "anon-"
ID_FIELDS = frozenset({"account_id", "account", "author_id", "post_author_id", "actor_id"})
LIST_FIELDS = frozenset({"accounts"})
HANDLE_FIELDS = ("handle", "author_handle")
T = TypeVar("T")


def deployment_key(store: Store, configured: str | None = None) -> bytes:
    """The configured secret, else one made for this deployment at first use and kept in the store."""
    return (
        configured or account_rows.deployment_value(store, "pseudonym-key", secrets.token_hex(32))
    ).encode()


def alias(key: bytes, account_id: str) -> str:
    digest = hmac.new(key, account_id.encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode()[:16].lower()


class Pseudonyms:
    """Decides who is ordinary and names them by alias; one per request (it caches lookups)."""

    def __init__(self, store: Store, key: bytes, public_followers: int = 100_000) -> None:
        self.store, self.key, self.public_followers = store, key, public_followers
        self._public: dict[str, bool] = {}
        self._known: set[str] | None = None

    def _known_public(self) -> set[str]:
        if self._known is None:
            self._known = self._read_known_public()
        return self._known

    def _read_known_public(self) -> set[str]:
        people_handles: set[str] = set()
        a, p = schema.accounts, schema.people
        with self.store.connect() as conn:
            for (handles,) in conn.execute(select(p.c.handles)):  # platform → the person's handles
                for listed_handles in (handles or {}).values():
                    people_handles.update(str(h).lower().lstrip("@") for h in listed_handles)
            watched = set(conn.execute(select(a.c.id).where(a.c.watched)).scalars())
            listed = set(conn.execute(select(schema.watchlist.c.account_id)).scalars())
        return watched | listed | {f"handle:{h}" for h in people_handles}

    def decide(self, ids: Iterable[str]) -> None:
        todo = [i for i in set(ids) if i not in self._public and not i.startswith(PREFIX)]
        if not todo:
            return
        known = self._known_public()
        a = schema.accounts
        with self.store.connect() as conn:
            for start in range(0, len(todo), 5_000):
                chunk = todo[start : start + 5_000]
                rows = conn.execute(select(a.c.id, a.c.handle, a.c.followers).where(a.c.id.in_(chunk)))
                found = {row.id: row for row in rows}
                for account in chunk:
                    row = found.get(account)
                    self._public[account] = account in known or (
                        row is not None
                        and (
                            (row.followers or 0) >= self.public_followers
                            or f"handle:{(row.handle or '').lower()}" in known
                        )
                    )

    def is_public(self, account_id: str) -> bool:
        self.decide([account_id])
        return self._public.get(account_id, True)

    def show(self, account_id: str) -> None:
        """Name this account in this request's responses (it is opened under a case)."""
        self._public[account_id] = True

    def name(self, account_id: str) -> str:
        return account_id if self.is_public(account_id) else alias(self.key, account_id)

    def mask(self, value: T) -> T:
        """`value` with every ordinary account named by its alias (a copy where anything changed)."""
        self.decide(_ids(value))
        return _masked(value, self)  # type: ignore[no-any-return]


def _nested(value: Any) -> bool:
    return isinstance(value, msgspec.Struct | list | tuple | dict)


def _ids(value: Any) -> Iterable[str]:
    if isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            item = getattr(value, field)
            if field in ID_FIELDS and isinstance(item, str):
                yield item
            elif field in LIST_FIELDS and isinstance(item, list):
                yield from (x for x in item if isinstance(x, str))
            else:
                yield from _ids(item)
    elif isinstance(value, list | tuple):
        if isinstance(value, tuple) or (value and _nested(value[0])):  # a list of numbers needs no walk
            for item in value:
                yield from _ids(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ids(item)


def _masked(value: Any, names: Pseudonyms) -> Any:
    if isinstance(value, msgspec.Struct):
        changes: dict[str, Any] = {}
        hide_handle = False
        for field in value.__struct_fields__:
            item = getattr(value, field)
            if field in ID_FIELDS and isinstance(item, str):
                if not names._public.get(item, True):
                    changes[field] = alias(names.key, item)
                    hide_handle = True
            elif field in LIST_FIELDS and isinstance(item, list) and item and isinstance(item[0], str):
                changed = [names.name(x) for x in item]
                if changed != item:
                    changes[field] = changed
            else:
                inner = _masked(item, names)
                if inner is not item:
                    changes[field] = inner
        if hide_handle:
            for field in HANDLE_FIELDS:
                if field in value.__struct_fields__ and getattr(value, field):
                    changes[field] = None
        return msgspec.structs.replace(value, **changes) if changes else value
    if isinstance(value, list | tuple):
        if isinstance(value, list) and (not value or not _nested(value[0])):
            return value
        items = [_masked(item, names) for item in value]
        differs = any(a is not b for a, b in zip(items, value, strict=True))
        return (type(value)(items) if isinstance(value, tuple) else items) if differs else value
    if isinstance(value, dict):
        masked = {k: _masked(v, names) for k, v in value.items()}
        return masked if any(masked[k] is not value[k] for k in value) else value
    return value


class Revealed(msgspec.Struct, kw_only=True):
    alias: str
    identity: str  # the account id (a field name the masks leave alone: this is the reveal)
    name: str | None  # its handle
    case_id: str


def _candidates(store: Store) -> Iterable[str]:
    with store.connect() as conn:
        yield from conn.execute(select(schema.accounts.c.id)).scalars()
        yield from conn.execute(select(schema.engagements.c.actor_id).distinct()).scalars()
        yield from conn.execute(select(schema.posts.c.author_id).distinct()).scalars()


def reveal(store: Store, who: Principal, key: bytes, pseudonym: str, reason: str) -> Revealed:
    """The account behind a pseudonym, for an officer working on an open case, with a reason."""
    case = cases.require_open_case(store, who)
    if len(reason.strip()) < 10:
        raise UsageError("Say why this engager must be named (at least 10 characters): it is audited.")
    pseudonym = pseudonym.strip()
    if not pseudonym.startswith(PREFIX):
        raise UsageError(f"{pseudonym!r} is not a pseudonym (they start with {PREFIX!r}).")
    found = next((a for a in _candidates(store) if hmac.compare_digest(alias(key, a), pseudonym)), None)
    if found is None:
        raise NotFoundError(f"No account in the store has the pseudonym {pseudonym!r}.")
    with store.connect() as conn:
        handle = conn.execute(select(schema.accounts.c.handle).where(schema.accounts.c.id == found)).scalar()
    audit.record(
        store,
        who.name,
        "reveal",
        found,
        case_id=case.id,
        detail={"pseudonym": pseudonym, "reason": reason.strip()[:1000]},
    )
    cases.note_target(store, who, "account", found)
    return Revealed(alias=pseudonym, identity=found, name=handle, case_id=case.id)


def for_settings(store: Store, settings: Any) -> Pseudonyms:
    """The deployment's pseudonyms, as configured in `[privacy]`."""
    configured = settings.privacy.secret_key
    key = deployment_key(store, configured.get_secret_value() if configured else None)
    return Pseudonyms(store, key, settings.privacy.public_followers)


def named_under_case(store: Store, case_id: str, what: str, target: str) -> None:
    """A command-line output that names ordinary engagers: only under an open case, and audited
    as a reveal by the operating-system user who ran it."""
    import getpass

    case = cases.get(store, case_id)
    if case.status != "open":
        raise UsageError(f"{case_id} is closed: naming engagers needs an open case.")
    audit.record(store, f"cli:{getpass.getuser()}", "reveal", target, case_id=case.id, detail={"what": what})


def shown(store: Store, settings: Any, case_id: str | None, value: T, what: str, target: str) -> T:
    """A command's output with ordinary engagers by pseudonym, or named under an open case."""
    if case_id:
        named_under_case(store, case_id, what, target)
        return value
    return for_settings(store, settings).mask(value)
