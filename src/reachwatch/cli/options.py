"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store: a SQLite file path or a postgresql:// URL. Default: $REACHWATCH_DB, reachwatch.toml, "
        "then reachwatch.db.",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

Names = Annotated[
    str | None,
    typer.Option(
        "--names-under-case",
        help="Show ordinary engagers' account ids instead of pseudonyms, under this open case "
        "(recorded in the audit log as a reveal).",
        show_default=False,
    ),
]
