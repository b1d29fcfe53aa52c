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
