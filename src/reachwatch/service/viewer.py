"""The one access layer: every read that reaches a person — page, API, export, CLI table or JSON,
alert inbox — goes through a `Viewer`, which knows who is looking and under which case, returns the
result with ordinary engagers pseudonymised, and writes the look to the audit log. Shells only
construct one (the web per request, the CLI per command) and hand their results through it.
"""

from __future__ import annotations

import getpass
from typing import Any, TypeVar

from reachwatch.config import Settings
from reachwatch.connectors.platform import namespaces
from reachwatch.errors import NotFoundError, UsageError
from reachwatch.service import audit, cases, privacy
from reachwatch.service.users import Principal, Role
from reachwatch.store import pseudonyms as pseudonym_rows
from reachwatch.store.database import Store

T = TypeVar("T")
TARGET_KINDS = {"view-post": "post", "view-account": "account"}


def cli_principal(settings: Settings, case_id: str | None = None) -> Principal:
    """The command line acts as a named local user: `cli_user` (default `cli:<login name>`) with
    the `cli_role` role (default analyst), so its looks are audited like the web's."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Principal(
        name=settings.cli_user or f"cli:{login}",
        role=Role(settings.cli_role),
        token_hash="",
        csrf="",
        case_id=case_id,
        kind="cli",
    )


class Viewer:
    """Who is looking (a principal, maybe under a case), the deployment's pseudonyms, and the
    audit sink: `show` masks and audits in one step."""

    def __init__(
        self, store: Store, settings: Settings, who: Principal | None, *, names_shown: bool = False
    ) -> None:
        self.store, self.settings, self.who = store, settings, who
        self.names = privacy.for_settings(store, settings)
        # Naming ordinary engagers in a whole output (CLI --names-under-case): checked and audited
        # as a reveal once, by `for_cli`.
        self.names_shown = names_shown

    @classmethod
    def for_cli(cls, store: Store, settings: Settings, names_under_case: str | None = None) -> Viewer:
        who = cli_principal(settings, names_under_case)
        if names_under_case:
            case = cases.get(store, names_under_case)
            if case.status != "open":
                raise UsageError(f"{case.id} is closed: naming engagers needs an open case.")
        return cls(store, settings, who, names_shown=bool(names_under_case))

    @property
    def actor(self) -> str:
        return self.who.name if self.who else "anonymous"

    @property
    def case_id(self) -> str | None:
        return self.who.case_id if self.who else None

    def look(self, action: str, target: str, **detail: Any) -> None:
        """Audit a look (view-post, search, export, view-alerts, …) under the viewer's case; a post or
        account looked at under a case becomes one of its targets."""
        shown = {k: v for k, v in detail.items() if v not in (None, "", [], {})}
        if self.names_shown:  # the output names ordinary engagers: audited as a reveal under the case
            shown["look"] = action
            action = "reveal"
        audit.record(self.store, self.actor, action, target, case_id=self.case_id, detail=shown)
        if self.who is not None and self.who.kind != "cli" and action in TARGET_KINDS:
            cases.note_target(self.store, self.who, TARGET_KINDS[action], target)

    def mask(self, value: T) -> T:
        """`value` as this viewer may see it (no audit entry: for parts of a look already audited)."""
        return value if self.names_shown else self.names.mask(value)

    def show(self, value: T, action: str, target: str, **detail: Any) -> T:
        """Audit the look and return `value` masked."""
        self.look(action, target, **detail)
        return self.mask(value)

    def account(self, given: str) -> str:
        """The account a person named: its id, a pseudonym they were shown, or a handle (with or
        without @, on any platform). An unknown one is refused, saying what would work."""
        text = given.strip()
        if privacy.ALIAS.fullmatch(text):
            return self.resolve(text)
        platform, sep, native = text.partition(":")
        if sep and platform in namespaces() and native:
            return text
        found = pseudonym_rows.accounts_by_handle(self.store, text)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            ids = ", ".join(sorted(self.mask(found)))
            raise UsageError(
                f"{given!r} is the handle of {len(found)} accounts; give one of their ids: {ids}."
            )
        raise NotFoundError(
            f"No account {given!r} in the store: give an account id (e.g. bluesky:did:plc:…), "
            "its handle, or the pseudonym shown (anon-…)."
        )

    def resolve(self, reference: str) -> str:
        """The real id behind what the user typed or was shown: a pseudonym, or a post id holding
        one in place of its author's DID."""
        return self.names.resolve(reference.strip())
