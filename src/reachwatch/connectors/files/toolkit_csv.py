"""The coordination-network-toolkit's CSV input (message_id, user_id, username, repost_id,
reply_id, message, timestamp in seconds, space-separated urls) read column-wise with Arrow, as
integer codes ready for vectorised co-action networks."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from reachwatch.errors import PayloadError

Ints = npt.NDArray[np.int64]


class ActionTable(msgspec.Struct, kw_only=True):
    """Actions as codes: account and item codes index `account_ids` / `item_ids`."""

    account_ids: list[str]
    accounts: Ints
    items: Ints
    times_ms: Ints
    messages: Ints
    item_ids: list[str]


def _codes(column: pa.ChunkedArray) -> tuple[Ints, list[str]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def read_toolkit_csv(path: Path) -> pa.Table:
    options = pa_csv.ConvertOptions(
        column_types={
            name: pa.string() for name in ("message_id", "user_id", "repost_id", "reply_id", "urls")
        }
        | {"timestamp": pa.float64()},
        strings_can_be_null=False,
    )
    try:
        table = pa_csv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PayloadError("invalid-csv", f"{path} is not a toolkit CSV: {exc}") from exc
    names = table.column_names
    if len(names) < 8:
        raise PayloadError("missing-field", f"{path} has {len(names)} columns; the toolkit format has 8")
    # The toolkit reads columns by position, not by name.
    return table.rename_columns(
        [
            "message_id",
            "user_id",
            "username",
            "repost_id",
            "reply_id",
            "message",
            "timestamp",
            "urls",
            *names[8:],
        ]
    )


def reposts(table: pa.Table) -> ActionTable:
    """Each repost: its author, the reposted message, its time (one message each: a repost has
    no links, so its row is its only action)."""
    needed = table.select(["user_id", "repost_id", "timestamp"])  # filter three columns, not eight
    rows = needed.filter(pc.not_equal(needed["repost_id"], ""))
    accounts, account_ids = _codes(rows["user_id"])
    items, item_ids = _codes(rows["repost_id"])
    messages = np.arange(len(rows), dtype=np.int64)
    times = np.round(rows["timestamp"].to_numpy() * 1000).astype(np.int64)
    return ActionTable(
        account_ids=account_ids,
        accounts=accounts,
        items=items,
        times_ms=times,
        messages=messages,
        item_ids=item_ids,
    )


def links(table: pa.Table) -> ActionTable:
    """Each (message, url) of a message that is not a repost (the toolkit ignores links in reposts)."""
    rows = table.filter(pc.and_(pc.equal(table["repost_id"], ""), pc.not_equal(table["urls"], "")))
    split = pc.split_pattern(rows["urls"], " ")
    lengths = pc.list_value_length(split).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(split)
    owner = np.repeat(np.arange(len(rows)), lengths)
    pairs = (
        pa.table({"row": owner, "url": flat}).group_by(["row", "url"]).aggregate([])
    )  # a url once per message
    owner = pairs["row"].to_numpy()
    accounts, account_ids = _codes(rows["user_id"].take(owner))
    items, item_ids = _codes(pairs["url"])
    messages, _ = _codes(rows["message_id"].take(owner))
    times = np.round(rows["timestamp"].take(owner).to_numpy() * 1000).astype(np.int64)
    return ActionTable(
        account_ids=account_ids,
        accounts=accounts,
        items=items,
        times_ms=times,
        messages=messages,
        item_ids=item_ids,
    )


class MessageTable(msgspec.Struct, kw_only=True):
    """Messages that are not reposts, with their text: the input of near-duplicate networks."""

    account_ids: list[str]
    accounts: Ints
    texts: list[str]
    times_ms: Ints


def messages(table: pa.Table) -> MessageTable:
    """Each message that is not a repost (the toolkit's co-similar-tweet input)."""
    needed = table.select(["user_id", "repost_id", "message", "timestamp"])
    rows = needed.filter(pc.and_(pc.equal(needed["repost_id"], ""), pc.not_equal(needed["message"], "")))
    accounts, account_ids = _codes(rows["user_id"])
    return MessageTable(
        account_ids=account_ids,
        accounts=accounts,
        texts=rows["message"].to_pylist(),
        times_ms=np.round(rows["timestamp"].to_numpy() * 1000).astype(np.int64),
    )
