"""Users, their sessions, failed logins and the deployment's own secrets: rows in, rows out."""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from reachwatch.errors import StoreDataError, UsageError
from reachwatch.store import schema
from reachwatch.store.database import Store, as_struct


class UserRow(msgspec.Struct, kw_only=True):
    name: str
    password_hash: str
    role: str
    disabled: bool
    created_at_us: int


class SessionRow(msgspec.Struct, kw_only=True):
    token_hash: str
    user_name: str
    kind: str
    csrf: str
    created_at_us: int
    expires_at_us: int
    case_id: str | None


def add_user(store: Store, row: UserRow) -> None:
    try:
        with store.transaction() as conn:
            conn.execute(insert(schema.users), [msgspec.structs.asdict(row)])
    except (IntegrityError, StoreDataError) as exc:
        raise UsageError(f"A user named {row.name!r} already exists.") from exc


def get_user(store: Store, name: str) -> UserRow | None:
    with store.connect() as conn:
        row = conn.execute(select(schema.users).where(schema.users.c.name == name)).first()
    return as_struct(row, UserRow) if row else None


def list_users(store: Store) -> list[UserRow]:
    with store.connect() as conn:
        rows = conn.execute(select(schema.users).order_by(schema.users.c.name)).all()
    return [as_struct(row, UserRow) for row in rows]


def update_user(store: Store, name: str, **values: object) -> bool:
    with store.transaction() as conn:
        done = conn.execute(update(schema.users).where(schema.users.c.name == name).values(**values))
    return bool(done.rowcount)


def add_session(store: Store, row: SessionRow) -> None:
    with store.transaction() as conn:
        conn.execute(insert(schema.sessions), [msgspec.structs.asdict(row)])


def get_session(store: Store, token_hash: str) -> tuple[SessionRow, UserRow] | None:
    s, u = schema.sessions, schema.users
    stmt = select(s, u.c.password_hash, u.c.role, u.c.disabled, u.c.created_at_us.label("user_created"))
    stmt = stmt.join(u, u.c.name == s.c.user_name).where(s.c.token_hash == token_hash)
    with store.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    values = {str(key): value for key, value in row._asdict().items()}
    user = UserRow(
        name=values["user_name"],
        password_hash=values["password_hash"],
        role=values["role"],
        disabled=bool(values["disabled"]),
        created_at_us=values["user_created"],
    )
    names = [str(column.name) for column in schema.sessions.c]
    session = msgspec.convert({name: values[name] for name in names}, SessionRow)
    return session, user


def set_session_case(store: Store, token_hash: str, case_id: str | None) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(schema.sessions).where(schema.sessions.c.token_hash == token_hash).values(case_id=case_id)
        )


def delete_sessions(store: Store, *, token_hash: str | None = None, user_name: str | None = None) -> int:
    stmt = delete(schema.sessions)
    if token_hash is not None:
        stmt = stmt.where(schema.sessions.c.token_hash == token_hash)
    if user_name is not None:
        stmt = stmt.where(schema.sessions.c.user_name == user_name)
    with store.transaction() as conn:
        return int(conn.execute(stmt).rowcount or 0)


def delete_expired_sessions(store: Store, now_us: int) -> int:
    with store.transaction() as conn:
        done = conn.execute(delete(schema.sessions).where(schema.sessions.c.expires_at_us < now_us))
    return int(done.rowcount or 0)


def add_login_failure(store: Store, user_name: str, client: str, at_us: int) -> None:
    with store.transaction() as conn:
        conn.execute(
            insert(schema.login_failures), [{"user_name": user_name, "client": client, "at_us": at_us}]
        )


def login_failures_since(store: Store, user_name: str, client: str, since_us: int) -> int:
    """Failures for this name, or from this client, since then (either one limits)."""
    f = schema.login_failures
    stmt = select(func.count()).where(
        f.c.at_us >= since_us, (f.c.user_name == user_name) | (f.c.client == client)
    )
    with store.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def clear_login_failures(store: Store, user_name: str) -> None:
    with store.transaction() as conn:
        conn.execute(delete(schema.login_failures).where(schema.login_failures.c.user_name == user_name))


def stored_value(store: Store, name: str) -> str | None:
    """The deployment's value under `name`, if one was stored."""
    d = schema.deployment
    with store.connect() as conn:
        found = conn.execute(select(d.c.value).where(d.c.name == name)).scalar_one_or_none()
    return None if found is None else str(found)


def store_value(store: Store, name: str, value: str) -> None:
    """Store (or replace) the deployment's value under `name`."""
    d = schema.deployment
    with store.transaction() as conn:
        conn.execute(delete(d).where(d.c.name == name))
        conn.execute(insert(d), [{"name": name, "value": value}])


def deployment_value(store: Store, name: str, make: str) -> str:
    """The deployment's value under `name`, storing `make` the first time (first writer wins)."""
    d = schema.deployment
    with store.connect() as conn:
        found = conn.execute(select(d.c.value).where(d.c.name == name)).scalar_one_or_none()
    if found is not None:
        return str(found)
    try:
        with store.transaction() as conn:
            conn.execute(insert(d), [{"name": name, "value": make}])
    except (IntegrityError, StoreDataError):
        pass
    with store.connect() as conn:
        return str(conn.execute(select(d.c.value).where(d.c.name == name)).scalar_one())
