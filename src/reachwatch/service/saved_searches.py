"""Saved searches: a query in the search language kept under a name for the team to rerun, and
the alert rule that watches for new posts matching it (`query:` in a rule, service/alerts)."""

from __future__ import annotations

import re
import time

import yaml

from reachwatch.errors import NotFoundError, PermissionDeniedError, UsageError
from reachwatch.service import audit, explore, privacy
from reachwatch.service.explore import AccountResolver
from reachwatch.service.users import Permission, Principal
from reachwatch.store import searches as rows
from reachwatch.store.database import Store
from reachwatch.store.searches import SavedSearchRow as SavedSearch

__all__ = ["SavedSearch", "delete", "get", "listed", "rule_yaml", "save", "with_rule"]

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")  # as a rule id: the rule made from it is named after it


def save(
    store: Store,
    who: Principal,
    name: str,
    query: str,
    account: AccountResolver | None = None,
    names: privacy.Pseudonyms | None = None,
) -> SavedSearch:
    """Keep `query` under `name` (the same name again changes it); the query must parse and its
    fields resolve, as a search would; audited as a change. With the viewer's `names`, an
    ordinary account must be named by its pseudonym: the saved text is read by others."""
    who.require(Permission.INVESTIGATE)
    name = name.strip().lower()
    if not NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} cannot name a saved search: use lower-case letters, digits, '-', '_' or '.', "
            "up to 64, e.g. threats-to-whitfield."
        )
    if names is not None:
        account = _by_pseudonym(account, names)
    if explore.parse(store, query, account) is None:
        raise UsageError("The search is empty: save a query with at least one word or field.")
    saved = rows.save(store, name, query.strip(), who.name, time.time_ns() // 1000)
    audit.record(
        store, who.name, "change", f"search:{name}", case_id=who.case_id, detail={"query": saved.query}
    )
    return saved


def _by_pseudonym(account: AccountResolver | None, names: privacy.Pseudonyms) -> AccountResolver:
    def resolve(given: str) -> str:
        found = account(given) if account is not None else given.strip()
        if not privacy.ALIAS.fullmatch(given.strip()) and not names.is_public(found):
            raise UsageError(
                f"from:{given} is an ordinary account: save the query with its pseudonym, "
                f"from:{names.mask(found)}."
            )
        return found

    return resolve


def listed(store: Store) -> list[SavedSearch]:
    return rows.listed(store)


def get(store: Store, name: str) -> SavedSearch:
    found = rows.by_name(store, name)
    if found is None:
        names = ", ".join(s.name for s in rows.listed(store)) or "none yet"
        raise NotFoundError(f"No saved search {name!r}: there is {names}.")
    return found


def delete(store: Store, who: Principal, name: str) -> None:
    """Delete a saved search, asked for by the one who saved it or an administrator; audited."""
    found = get(store, name)
    if found.owner != who.name and not who.can(Permission.ADMINISTER):
        raise PermissionDeniedError(
            f"{name!r} was saved by {found.owner}: only they or an administrator delete it."
        )
    rows.remove(store, name)
    audit.record(
        store, who.name, "delete", f"search:{name}", case_id=who.case_id, detail={"query": found.query}
    )


def rule_yaml(search: SavedSearch, severity: str = "medium") -> str:
    """An alert rule, as YAML for the rules editor, raised for each new post the search matches."""
    rule = {
        "id": f"search-{search.name}",
        "title": f"New post matching the saved search {search.name}",
        "severity": severity,
        "query": search.query,
        "dedup": ["post"],
    }
    return yaml.safe_dump([rule], sort_keys=False, allow_unicode=True)


def with_rule(rules_text: str, search: SavedSearch) -> str:
    """The rules text with the search's rule added at the end of `rules:` (comments and the rest
    kept as written), for the editor to check and save."""
    lines = rules_text.rstrip("\n").splitlines() if rules_text.strip() else []
    tops = [i for i, line in enumerate(lines) if re.match(r"[A-Za-z_][\w-]*:", line)]
    start = next((i for i in tops if lines[i].split(":")[0] == "rules"), None)
    if start is None:
        return "\n".join([*lines, "rules:", *_indented(rule_yaml(search), "  ")]) + "\n"
    end = next((i for i in tops if i > start), len(lines))
    items = [line for line in lines[start + 1 : end] if line.lstrip().startswith("- ")]
    indent = items[0][: len(items[0]) - len(items[0].lstrip())] if items else "  "
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join([*lines[:end], *_indented(rule_yaml(search), indent), *lines[end:]]) + "\n"


def _indented(text: str, indent: str) -> list[str]:
    return [indent + line if line else line for line in text.rstrip("\n").splitlines()]
