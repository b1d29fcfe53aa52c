"""Tables people download: the rows a page shows as CSV or Parquet, one definition for both.

Times are ISO 8601 in UTC: a column `created_at_us` of microseconds becomes `created_at` (text
like 2026-10-13T17:59:00.000000Z in CSV, a timestamp[us, UTC] in Parquet); an open end ("until
now") and a missing time are empty, never a sentinel number. Lists and nested records are JSON
text. CSV cells that a spreadsheet would run as a formula are quoted (service/spreadsheet.py).
The rows arrive already masked and audited by the caller's viewer: this module only encodes.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from reachwatch.errors import UsageError
from reachwatch.model import iso_from_micros
from reachwatch.service.spreadsheet import safe_row

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
OPEN_END = 2**61  # "until" left open (2**62 µs) and other far-future markers: shown as empty
TIME_SUFFIX = "_us"
MAX_ROWS = 50_000  # rows in one download of a table (page=N: the Nth so many)


class Download(msgspec.Struct, frozen=True):
    filename: str
    media_type: str
    body: bytes


def _record(row: Any) -> dict[str, Any]:
    if isinstance(row, msgspec.Struct):
        return {field: getattr(row, field) for field in row.__struct_fields__}
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"cannot tabulate {type(row).__name__}")


def _column(name: str) -> str:
    return name.removesuffix(TIME_SUFFIX) if name.endswith(TIME_SUFFIX) else name


def _time(value: Any) -> int | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or value >= OPEN_END:
        return None
    return value


def _plain(value: Any) -> Any:
    """A cell: numbers, text and booleans as they are; anything nested as JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    return msgspec.json.encode(value).decode()


def columns(rows: Sequence[Any], only: Sequence[str] | None = None) -> list[tuple[str, list[Any]]]:
    """Each column's source name (`created_at_us`) and values (times as microseconds or None)."""
    records = [_record(row) for row in rows]
    names = list(only) if only is not None else (list(records[0]) if records else [])
    return [
        (name, [(_time if name.endswith(TIME_SUFFIX) else _plain)(record.get(name)) for record in records])
        for name in names
    ]


def to_arrow(rows: Sequence[Any], only: Sequence[str] | None = None) -> pa.Table:
    arrays, names = [], []
    for name, values in columns(rows, only):
        names.append(_column(name))
        if name.endswith(TIME_SUFFIX):
            arrays.append(pa.array(values, type=pa.timestamp("us", tz="UTC")))
            continue
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds in one column: text
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=names)


def encode(rows: Sequence[Any], fmt: str, name: str, only: Sequence[str] | None = None) -> Download:
    """The rows as a file `name.csv` or `name.parquet`; an unknown format is refused."""
    if fmt not in FORMATS:
        raise UsageError(f"Unknown download format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(to_arrow(rows, only), sink, compression="zstd")
        return Download(filename=f"{name}.parquet", media_type=MEDIA_TYPES["parquet"], body=sink.getvalue())
    found = columns(rows, only)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([_column(column) for column, _ in found])
    shown = [
        [("" if v is None else iso_from_micros(v)) for v in values]
        if column.endswith(TIME_SUFFIX)
        else values
        for column, values in found
    ]
    for cells in zip(*shown, strict=True):
        writer.writerow(safe_row(cells))
    return Download(filename=f"{name}.csv", media_type=MEDIA_TYPES["csv"], body=text.getvalue().encode())
