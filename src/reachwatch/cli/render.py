"""Drawing for the terminal: untrusted text made safe, tables, times."""

from __future__ import annotations

import unicodedata

from rich.console import Console
from rich.text import Text

from reachwatch.model import iso_from_micros

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def safe(value: str | None, width: int | None = None) -> Text:
    """Post text as inert terminal text: no Rich markup, no escape sequences, no line breaks.

    Post text is hostile input; a control character could move the cursor or recolour the terminal.
    """
    if not value:
        return Text("")
    cleaned = "".join(
        " "
        if ch in "\n\r\t"
        else ("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\u200d" else ch)
        for ch in value
    )
    if width is not None and len(cleaned) > width:
        cleaned = cleaned[: width - 1] + "…"
    return Text(cleaned)


def when(micros: int | None) -> str:
    return iso_from_micros(micros)[:19].replace("T", " ") if micros else "-"


PLURALS = {"like": "likes", "repost": "reposts", "quote": "quotes", "reply": "replies"}


def plural(kind: str) -> str:
    """The plural of an engagement kind, for people."""
    return PLURALS.get(kind, kind + "s")
