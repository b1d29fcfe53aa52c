"""The oversight report: the answer to "how many of this account's posts were investigated, for
what reason, by how many officers and at what cost" for a period, from cases, time and the audit
log. Printable HTML and the downloads come from the same figures (web/templates/oversight.html,
`tables`: one table per file)."""

from __future__ import annotations

import time
from collections import defaultdict

import msgspec

from reachwatch.errors import UsageError
from reachwatch.service import audit
from reachwatch.store import audit as audit_rows
from reachwatch.store import cases as case_rows
from reachwatch.store import queries
from reachwatch.store.database import Store


class Reason(msgspec.Struct, kw_only=True):
    legal_basis: str
    cases: int
    case_ids: list[str]
    justifications: list[str]


class OfficerHours(msgspec.Struct, kw_only=True):
    officer: str
    hours: float
    cases: int


class OversightReport(msgspec.Struct, kw_only=True):
    since_us: int
    until_us: int
    account: str | None
    cases: int  # cases open at some time in the period (and touching the account, if named)
    posts_investigated: int
    accounts_investigated: int
    officers: int
    hours: float
    hourly_rate: float
    currency: str
    cost: float
    reveals: int
    views: int  # audited looks at posts, accounts and people in the period
    exports: int
    reasons: list[Reason]
    by_officer: list[OfficerHours]
    made_at_us: int
    audit_checkpoint: str  # SEQ:HASH of the newest audit entry when the report was made


def _clip(start: int, stop: int | None, since: int, until: int, now: int) -> float:
    end = min(stop if stop is not None else now, until)
    return max(0, end - max(start, since)) / 3.6e9


def report(
    store: Store,
    since_us: int,
    until_us: int,
    *,
    account: str | None = None,
    hourly_rate: float = 0.0,
    currency: str = "GBP",
) -> OversightReport:
    now = time.time_ns() // 1000
    chosen = [
        case
        for case in case_rows.list_cases(store)
        if case.opened_at_us < until_us and (case.closed_at_us is None or case.closed_at_us >= since_us)
    ]
    ids = [case.id for case in chosen]
    targets = case_rows.targets(store, ids) if ids else []
    if account is not None:
        posts_of = queries.post_ids_by(store, account)
        touching = {t.case_id for t in targets if t.target_id == account or t.target_id in posts_of}
        chosen = [case for case in chosen if case.id in touching]
        ids = [case.id for case in chosen]
        targets = [t for t in targets if t.case_id in touching]
    entries = case_rows.time_entries(store, ids) if ids else []
    hours_by: dict[str, float] = defaultdict(float)
    cases_by: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        hours_by[entry.user_name] += _clip(entry.started_at_us, entry.stopped_at_us, since_us, until_us, now)
        cases_by[entry.user_name].add(entry.case_id)
    officers = {name for case_id in ids for name in case_rows.members(store, case_id)} | set(hours_by)
    grouped: dict[str, list[str]] = defaultdict(list)
    for case in chosen:
        grouped[case.legal_basis].append(case.id)
    by_id = {case.id: case for case in chosen}
    reasons = [
        Reason(
            legal_basis=basis,
            cases=len(case_ids),
            case_ids=case_ids,
            justifications=[by_id[c].justification for c in case_ids],
        )
        for basis, case_ids in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    counts = defaultdict(
        int, audit_rows.action_counts(store, since_us, until_us, None if account is None else ids)
    )
    hours = sum(hours_by.values())
    return OversightReport(
        since_us=since_us,
        until_us=until_us,
        account=account,
        cases=len(chosen),
        posts_investigated=len({t.target_id for t in targets if t.kind == "post"}),
        accounts_investigated=len({t.target_id for t in targets if t.kind == "account"}),
        officers=len(officers),
        hours=round(hours, 2),
        hourly_rate=hourly_rate,
        currency=currency,
        cost=round(hours * hourly_rate, 2),
        reveals=counts["reveal"],
        views=counts["view-post"] + counts["view-account"] + counts["view-person"],
        exports=counts["export"],
        reasons=reasons,
        by_officer=[
            OfficerHours(
                officer=name, hours=round(hours_by.get(name, 0.0), 2), cases=len(cases_by.get(name, set()))
            )
            for name in sorted(officers)
        ],
        made_at_us=now,
        audit_checkpoint=str(audit.head(store)),
    )


# The figures table is the report itself, one row, without its two nested tables; the download
# encoder writes its `_us` times as ISO 8601 and an open end (2**62) as empty.
FIGURES = tuple(name for name in OversightReport.__struct_fields__ if name not in ("reasons", "by_officer"))


class Basis(msgspec.Struct, kw_only=True):
    """One legal basis: how many cases gave it, which, and their justifications (` | ` between)."""

    legal_basis: str
    cases: int
    case_ids: str
    justifications: str


TABLES = ("figures", "legal_bases", "officers")


def tables(found: OversightReport) -> dict[str, tuple[list[msgspec.Struct], tuple[str, ...]]]:
    """The report as its three tables, one per file (`downloads.encode`): each table's rows and
    columns. Times are microseconds until encoded (ISO 8601 UTC; an open end is empty)."""
    bases = [
        Basis(legal_basis=r.legal_basis, cases=r.cases, case_ids=" ".join(r.case_ids),
              justifications=" | ".join(r.justifications))
        for r in found.reasons
    ]  # fmt: skip
    return {
        "figures": ([found], FIGURES),
        "legal_bases": (list(bases), Basis.__struct_fields__),
        "officers": (list(found.by_officer), OfficerHours.__struct_fields__),
    }


def table(found: OversightReport, name: str) -> tuple[list[msgspec.Struct], tuple[str, ...]]:
    """One of the tables by name; an unknown name is refused, saying which there are."""
    if name not in TABLES:
        raise UsageError(f"No oversight table {name!r}: there is {', '.join(TABLES)}.")
    return tables(found)[name]
