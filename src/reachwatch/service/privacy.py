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
import re
import secrets
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from reachwatch.connectors.platform import namespaces
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service import audit, cases
from reachwatch.service.users import Principal
from reachwatch.store import accounts as account_rows
from reachwatch.store import pseudonyms as rows
from reachwatch.store.database import Store

PREFIX = "anon-"
ID_FIELDS = frozenset({"account_id", "account", "author_id", "post_author_id", "actor_id", "author"})
LIST_FIELDS = frozenset({"accounts"})
# Fields that name the account beside a masked id: they go with it.
HANDLE_FIELDS = ("handle", "author_handle", "display_name", "author_name", "author_display_name")
# Native ids that platforms embed in other ids and links (a Bluesky post's AT-URI holds its
# author's DID): an ordinary author's is replaced by the pseudonym wherever it appears.
EMBEDDED = re.compile(r"did:(?:plc|web):[A-Za-z0-9._:%-]+")
ALIAS = re.compile(r"anon-[a-z2-7]{16}")
EMBEDDED_PLATFORM = "bluesky"
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
        self._known: tuple[set[str], set[str]] | None = None
        self._remembered: set[str] = set()

    def _known_public(self) -> tuple[set[str], set[str]]:
        if self._known is None:
            self._known = rows.known_public(self.store)
        return self._known

    def decide(self, ids: Iterable[str]) -> None:
        todo = [i for i in set(ids) if i not in self._public and not i.startswith(PREFIX)]
        if not todo:
            return
        listed, people_handles = self._known_public()
        found = rows.audience(self.store, todo)
        hidden: list[tuple[str, str]] = []
        for account in todo:
            row = found.get(account)
            public = account in listed or (
                row is not None
                and (row[1] >= self.public_followers or (row[0] or "").lower().lstrip("@") in people_handles)
            )
            # An id the store does not describe is not an account (a narrative id, a person id…),
            # except a platform account id, which is ordinary until known otherwise.
            if row is None and not _looks_like_account(account):
                public = True
            self._public[account] = public
            if not public:
                hidden.append((alias(self.key, account), account))
        self._remember(hidden)

    def _remember(self, pairs: list[tuple[str, str]]) -> None:
        new = [(a, i) for a, i in pairs if a not in self._remembered]
        if new:
            rows.save_aliases(self.store, new)
            self._remembered.update(a for a, _ in new)

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

    def mask_text(self, text: str) -> str:
        """A string with every embedded native id of an ordinary account (a DID in an AT-URI) and
        every ordinary account id replaced by the pseudonym."""
        if text in self._public:
            return text if self._public[text] else alias(self.key, text)
        dids = EMBEDDED.findall(text)
        if not dids:
            return text
        ids = {f"{EMBEDDED_PLATFORM}:{did}" for did in dids}
        self.decide(ids)
        for did in sorted(set(dids), key=len, reverse=True):
            account = f"{EMBEDDED_PLATFORM}:{did}"
            if not self._public.get(account, True):
                text = text.replace(account, alias(self.key, account)).replace(did, alias(self.key, account))
        return text

    def resolve(self, text: str) -> str:
        """The real id behind a reference the user was shown: a pseudonym, or a post id with one
        in place of its author's DID. Anything else is returned as it is."""
        for found in set(ALIAS.findall(text)):
            account = rows.account_of_alias(self.store, found) or _scan(self.store, self.key, found)
            if account is None:
                raise NotFoundError(f"No account in the store has the pseudonym {found!r}.")
            native = account.partition(":")[2]
            text = account if text == found else text.replace(found, native)
        return text


def _looks_like_account(value: str) -> bool:
    platform, sep, native = value.partition(":")
    return bool(sep and native) and platform in namespaces() and "/" not in native


def _scan(store: Store, key: bytes, pseudonym: str) -> str | None:
    """A pseudonym not remembered yet: looked for among every account the store knows."""
    found = next((a for a in rows.candidates(store) if hmac.compare_digest(alias(key, a), pseudonym)), None)
    if found is not None:
        rows.save_aliases(store, [(pseudonym, found)])
    return found


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
        elif value and isinstance(value[0], str):
            yield from (x for x in value if isinstance(x, str) and _looks_like_account(x))
    elif isinstance(value, dict):
        for field, item in value.items():
            if field in ID_FIELDS and isinstance(item, str):
                yield item
            else:
                yield from _ids(item)


def _masked(value: Any, names: Pseudonyms) -> Any:
    if isinstance(value, str):
        return names.mask_text(value) if ("did:" in value or value in names._public) else value
    if isinstance(value, msgspec.Struct):
        changes: dict[str, Any] = {}
        hide_handle = False
        for field in value.__struct_fields__:
            item = getattr(value, field)
            if field in ID_FIELDS and isinstance(item, str):
                if not names._public.get(item, True):
                    changes[field] = alias(names.key, item)
                    hide_handle = True
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
        if isinstance(value, list) and (not value or not (_nested(value[0]) or isinstance(value[0], str))):
            return value
        items = [_masked(item, names) for item in value]
        differs = any(a is not b for a, b in zip(items, value, strict=True))
        return (type(value)(items) if isinstance(value, tuple) else items) if differs else value
    if isinstance(value, dict):
        masked: dict[Any, Any] = {}
        hide_handle = False
        for field, item in value.items():
            if field in ID_FIELDS and isinstance(item, str) and not names._public.get(item, True):
                masked[field] = alias(names.key, item)
                hide_handle = True
            else:
                masked[field] = _masked(item, names)
        if hide_handle:
            for field in HANDLE_FIELDS:
                if masked.get(field):
                    masked[field] = None
        return masked if any(masked[k] is not value[k] for k in value) else value
    return value


class Revealed(msgspec.Struct, kw_only=True):
    alias: str
    identity: str  # the account id (a field name the masks leave alone: this is the reveal)
    name: str | None  # its handle
    case_id: str


def reveal(store: Store, who: Principal, key: bytes, pseudonym: str, reason: str) -> Revealed:
    """The account behind a pseudonym, for an officer working on an open case, with a reason."""
    case = cases.require_open_case(store, who)
    if len(reason.strip()) < 10:
        raise UsageError("Say why this engager must be named (at least 10 characters): it is audited.")
    pseudonym = pseudonym.strip()
    if not pseudonym.startswith(PREFIX):
        raise UsageError(f"{pseudonym!r} is not a pseudonym (they start with {PREFIX!r}).")
    found = rows.account_of_alias(store, pseudonym) or _scan(store, key, pseudonym)
    if found is None or not hmac.compare_digest(alias(key, found), pseudonym):
        raise NotFoundError(f"No account in the store has the pseudonym {pseudonym!r}.")
    handle = rows.handle_of(store, found)
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
