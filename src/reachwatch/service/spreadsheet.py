"""Cells for CSV files people open in a spreadsheet: one rule for every CSV the product writes
(pages, API, oversight reports, network exports), so no cell can run as a formula."""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula, prefixed with ' so it stays text; numbers
    and empty cells as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(cell) for cell in row]
