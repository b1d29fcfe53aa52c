"""Rule sets, alerts, their notes and the deliveries owed: rows in, rows out."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import case, desc, func, insert, select, update

from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct
from reachwatch.store.writer import dialect_insert


class AlertRow(msgspec.Struct, kw_only=True):
    id: int
    rule_id: str
    dedup_key: str
    severity: str
    level: int
    status: str
    title: str
    post_id: str | None
    author_id: str | None
    features: dict[str, Any]
    assignee: str | None
    event_at_us: int
    raised_at_us: int
    updated_at_us: int
    # The lead post as stored (read with the alert for the inbox; None where it is not stored).
    post_text: str | None = None
    post_at_us: int | None = None
    reason: str = ""  # the rule's conditions in words (service/alerts.py fills it; not stored)


class AlertPostRow(msgspec.Struct, kw_only=True):
    """One post an alert covers, with its own author, level and features."""

    alert_id: int
    post_id: str
    author_id: str | None
    level: int
    severity: str
    features: dict[str, Any]
    first_at_us: int
    updated_at_us: int


class NoteRow(msgspec.Struct, kw_only=True):
    id: int
    alert_id: int
    at_us: int
    user_name: str
    kind: str
    text: str


class DeliveryRow(msgspec.Struct, kw_only=True):
    id: int
    alert_id: int
    channel: str
    level: int
    status: str
    attempts: int
    next_at_us: int
    last_error: str | None
    created_at_us: int
    sent_at_us: int | None


def save_rule_set(store: Store, text: str, by: str, at_us: int) -> int:
    with store.transaction() as conn:
        result = conn.execute(
            insert(schema.rule_sets).returning(schema.rule_sets.c.id),
            [{"text": text, "saved_by": by, "saved_at_us": at_us}],
        )
        return int(result.scalar_one())


def latest_rule_set(store: Store) -> tuple[int, str, str, int] | None:
    r = schema.rule_sets
    with store.connect() as conn:
        row = conn.execute(select(r).order_by(desc(r.c.id)).limit(1)).first()
    return (int(row.id), str(row.text), str(row.saved_by), int(row.saved_at_us)) if row else None


def alerts_by_keys(store: Store, keys: list[str]) -> dict[str, AlertRow]:
    a = schema.alerts
    found: dict[str, AlertRow] = {}
    with store.connect() as conn:
        for start in range(0, len(keys), 500):
            for row in conn.execute(select(a).where(a.c.dedup_key.in_(keys[start : start + 500]))):
                alert = as_struct(row, AlertRow)
                found[alert.dedup_key] = alert
    return found


def insert_alert(conn: Any, values: dict[str, Any]) -> int:
    stored = {key: value for key, value in values.items() if key in schema.alerts.c}
    result = conn.execute(insert(schema.alerts).returning(schema.alerts.c.id), [stored])
    return int(result.scalar_one())


def update_alert(conn: Any, alert_id: int, **values: Any) -> None:
    conn.execute(update(schema.alerts).where(schema.alerts.c.id == alert_id).values(**values))


def save_alert_post(conn: Any, row: AlertPostRow) -> None:
    """Insert or refresh one covered post (its first time kept)."""
    t = schema.alert_posts
    stmt = dialect_insert(conn.dialect.name, t)
    values = msgspec.structs.asdict(row)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["alert_id", "post_id"],
            set_={
                k: stmt.excluded[k] for k in ("author_id", "level", "severity", "features", "updated_at_us")
            },
        ),
        [values],
    )


def alert_posts(store: Store, alert_id: int) -> list[AlertPostRow]:
    t = schema.alert_posts
    with store.connect() as conn:
        rows = conn.execute(select(t).where(t.c.alert_id == alert_id).order_by(t.c.first_at_us, t.c.post_id))
        return [as_struct(row, AlertPostRow) for row in rows]


def add_note(conn: Any, alert_id: int, at_us: int, user_name: str, kind: str, text: str = "") -> None:
    conn.execute(
        insert(schema.alert_notes),
        [{"alert_id": alert_id, "at_us": at_us, "user_name": user_name, "kind": kind, "text": text}],
    )


def add_deliveries(conn: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(schema.deliveries), rows)


def _with_post() -> Any:
    """Alerts with their lead post's text and time (an outer join: a post may not be stored)."""
    a, p = schema.alerts, schema.posts
    return select(a, p.c.text.label("post_text"), p.c.created_at_us.label("post_at_us")).select_from(
        a.outerjoin(p, p.c.id == a.c.post_id)
    )


# The inbox's order: the most severe first, then the most recently changed.
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


def get_alert(store: Store, alert_id: int) -> AlertRow | None:
    with store.connect() as conn:
        row = conn.execute(_with_post().where(schema.alerts.c.id == alert_id)).first()
    return as_struct(row, AlertRow) if row else None


def list_alerts(
    store: Store, *, status: str | None = None, severity: str | None = None, rule_id: str | None = None,
    assignee: str | None = None, limit: int = 100, offset: int = 0,
) -> tuple[list[AlertRow], int]:  # fmt: skip
    a = schema.alerts
    where = []
    if status:
        where.append(a.c.status == status)
    if severity:
        where.append(a.c.severity == severity)
    if rule_id:
        where.append(a.c.rule_id == rule_id)
    if assignee:
        where.append(a.c.assignee == assignee)
    rank = case(SEVERITY_RANK, value=a.c.severity, else_=0)
    stmt = (
        _with_post()
        .where(*where)
        .order_by(desc(rank), desc(a.c.updated_at_us), desc(a.c.id))
        .limit(limit)
        .offset(offset)
    )
    with store.connect() as conn:
        rows = [as_struct(row, AlertRow) for row in conn.execute(stmt)]
        total = int(conn.execute(select(func.count()).select_from(a).where(*where)).scalar_one())
    return rows, total


def notes(store: Store, alert_id: int) -> list[NoteRow]:
    n = schema.alert_notes
    with store.connect() as conn:
        rows = conn.execute(select(n).where(n.c.alert_id == alert_id).order_by(n.c.at_us, n.c.id))
        return [as_struct(row, NoteRow) for row in rows]


def deliveries(store: Store, *, alert_id: int | None = None, status: str | None = None,
               limit: int = 500) -> list[DeliveryRow]:  # fmt: skip
    d = schema.deliveries
    stmt = select(d).order_by(d.c.id).limit(limit)
    if alert_id is not None:
        stmt = stmt.where(d.c.alert_id == alert_id)
    if status is not None:
        stmt = stmt.where(d.c.status == status)
    with store.connect() as conn:
        return [as_struct(row, DeliveryRow) for row in conn.execute(stmt)]


def due_deliveries(store: Store, now_us: int, limit: int = 100) -> list[DeliveryRow]:
    d = schema.deliveries
    stmt = (
        select(d)
        .where(d.c.status == "pending", d.c.next_at_us <= now_us)
        .order_by(d.c.next_at_us)
        .limit(limit)
    )
    with store.connect() as conn:
        return [as_struct(row, DeliveryRow) for row in conn.execute(stmt)]


def next_due_us(store: Store) -> int | None:
    d = schema.deliveries
    with store.connect() as conn:
        found = conn.execute(select(func.min(d.c.next_at_us)).where(d.c.status == "pending")).scalar()
    return int(found) if found is not None else None


def update_delivery(store: Store, delivery_id: int, **values: Any) -> None:
    d = schema.deliveries
    with store.transaction() as conn:
        conn.execute(update(d).where(d.c.id == delivery_id).values(**values))
