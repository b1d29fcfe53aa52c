"""`reachwatch automation`: which accounts act like software, and which features say so."""

from __future__ import annotations

import time

import msgspec
import numpy as np

from reachwatch.analysis.automation import AutomationScore, Profile, score_account
from reachwatch.errors import UsageError
from reachwatch.store import automation as reads
from reachwatch.store.database import Store


class ScoredAccount(msgspec.Struct, kw_only=True):
    account: str
    handle: str | None
    result: AutomationScore


def score_accounts(
    store: Store,
    account_ids: list[str] | None = None,
    *,
    since_us: int = 0,
    until_us: int = 2**62,
    min_actions: int = 5,
    top: int = 50,
    now_us: int | None = None,
) -> list[ScoredAccount]:
    """The named accounts, or every account with at least `min_actions` in the window, highest
    score first."""
    if until_us <= since_us:
        raise UsageError("--until must be after --since.")
    found = reads.actions(store, since_us, until_us, account_ids)
    now = now_us if now_us is not None else min(until_us, int(time.time() * 1_000_000))
    order = np.argsort(np.asarray(found.accounts, dtype=object), kind="stable")
    grouped: dict[str, list[int]] = {}
    for i in order.tolist():
        grouped.setdefault(found.accounts[i], []).append(i)
    wanted = (
        account_ids
        if account_ids is not None
        else [a for a, rows in grouped.items() if len(rows) >= min_actions]
    )
    profiles = reads.profiles(store, wanted)
    scored = []
    for account in wanted:
        rows = grouped.get(account, [])
        row = profiles.get(account)
        profile = Profile(**msgspec.structs.asdict(row)) if row is not None else Profile()
        result = score_account(
            np.asarray([found.times_us[i] for i in rows], dtype=np.int64),
            [found.kinds[i] for i in rows],
            profile,
            now,
        )
        scored.append(ScoredAccount(account=account, handle=profile.handle, result=result))
    scored.sort(key=lambda item: -item.result.score)
    return scored if account_ids is not None else scored[:top]
