"""Imports run one way: cli → web → service → config → connectors | enrich | scenario | store →
model, errors (config reads the platform registry to know each platform's settings section);
query (the search language: a parser beside model) is read by store, alerts, service and web."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "reachwatch"

# What each layer may import from reachwatch (besides itself).
ALLOWED = {
    "model": set(),
    "errors": set(),
    "query": {"model", "errors"},
    "config": {"errors", "connectors", "model"},
    "connectors": {"model", "errors"},
    "enrich": {"model", "errors"},
    "analysis": {"model", "errors"},
    "alerts": {"model", "errors", "query"},
    "scenario": {"model"},
    "store": {"model", "errors", "query"},
    "service": {
        "alerts",
        "analysis",
        "connectors",
        "enrich",
        "scenario",
        "store",
        "model",
        "errors",
        "config",
        "query",
    },
    "cli": {"service", "model", "errors", "config", "scenario", "web"},
    "web": {"service", "model", "errors", "config", "query"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported(path: Path) -> list[str]:
    """The absolute module names a file imports."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_imports_follow_the_layers() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        layer = _layer(path)
        for name in _imported(path):
            parts = name.split(".")
            if parts[0] != "reachwatch" or len(parts) < 2:
                continue
            target = parts[1]
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert problems == []


def test_no_catch_all_module_names() -> None:
    banned = {"utils", "helpers", "common", "misc"}
    assert [p for p in PACKAGE.rglob("*.py") if p.stem in banned] == []


# Only the store speaks SQL: SQLAlchemy, Alembic and the database drivers are imported under store/.
SQL_LIBRARIES = {"sqlalchemy", "alembic", "psycopg", "psycopg2", "sqlite3"}


def test_only_the_store_imports_sql_libraries() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        if _layer(path) == "store":
            continue
        problems += [
            f"{path.relative_to(PACKAGE)} imports {name}"
            for name in _imported(path)
            if name.split(".")[0] in SQL_LIBRARIES
        ]
    assert problems == []


def test_only_the_store_opens_connections() -> None:
    """No module outside store/ runs statements on a connection of the store's."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _layer(path) != "store" and ".connect()" in path.read_text()
    ]
    assert offenders == []


def test_web_routes_share_helpers_through_context_not_each_other() -> None:
    routes = {"api", "pages", "accountability", "alerts", "printable"}
    problems = []
    for path in (PACKAGE / "web").glob("*.py"):
        for name in _imported(path):
            parts = name.split(".")
            route = parts[2] if parts[:2] == ["reachwatch", "web"] and len(parts) > 2 else None
            if route in routes and route != path.stem and path.stem != "app":
                problems.append(f"web/{path.name} imports {name}")
    assert problems == []
