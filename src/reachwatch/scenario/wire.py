"""Bluesky identifiers (DID, TID, CID) and wire payloads (Jetstream v1 events, AppView captures).

The scenario speaks the same formats as the live network, so the demo runs the real parsers.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import msgspec

from reachwatch.model import EPOCH

B32 = "abcdefghijklmnopqrstuvwxyz234567"
B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_ENCODE = msgspec.json.Encoder()


def new_did(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choices(B32, k=24))


def new_cid(rng: random.Random) -> str:
    return "bafyrei" + "".join(rng.choices(B32, k=52))


def tid(time_us: int, clock_id: int) -> str:
    """A record key as the AT Protocol makes them: 53 bits of µs time, 10 of clock id, base32-sortable."""
    value = ((time_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(B32_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def iso(time_us: int) -> str:
    """The millisecond ISO form Bluesky clients write in createdAt."""
    moment = EPOCH + timedelta(microseconds=time_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def facets_for(text: str, mentions: dict[str, str], links: list[str]) -> list[dict[str, Any]]:
    """Rich-text facets with UTF-8 byte ranges, as the Bluesky app writes them."""
    data = text.encode()
    facets: list[dict[str, Any]] = []

    def add(fragment: str, feature: dict[str, Any]) -> None:
        start = data.find(fragment.encode())
        if start >= 0:
            facets.append(
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {"byteStart": start, "byteEnd": start + len(fragment.encode())},
                    "features": [feature],
                }
            )

    for handle, did in mentions.items():
        add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
    for link in links:
        add(link, {"$type": "app.bsky.richtext.facet#link", "uri": link})
    for word in text.split():
        if word.startswith("#") and len(word) > 1:
            add(word, {"$type": "app.bsky.richtext.facet#tag", "tag": word[1:].rstrip(".,!?")})
    return facets


def commit_event(
    did: str, time_us: int, collection: str, rkey: str, record: dict[str, Any] | None, rng: random.Random
) -> tuple[bytes, str]:
    """One Jetstream v1 commit event and the new record's CID; a None record makes it a delete."""
    commit: dict[str, Any] = {
        "rev": tid(time_us, rng.getrandbits(10)),
        "operation": "create" if record else "delete",
        "collection": collection,
        "rkey": rkey,
    }
    cid = ""
    if record is not None:
        cid = new_cid(rng)
        commit["record"] = {"$type": collection, **record}
        commit["cid"] = cid
    return _ENCODE.encode({"did": did, "time_us": time_us, "kind": "commit", "commit": commit}), cid


def identity_event(did: str, handle: str, time_us: int, seq: int) -> bytes:
    return _ENCODE.encode(
        {
            "did": did,
            "time_us": time_us,
            "kind": "identity",
            "identity": {"did": did, "handle": handle, "seq": seq, "time": iso(time_us)},
        }
    )


def capture(nsid: str, body: dict[str, Any], time_us: int) -> bytes:
    """An AppView response wrapped with its provenance, as the backfill connector stores them."""
    return _ENCODE.encode(
        {
            "__reachwatch": {
                "source": "bluesky.appview",
                "nsid": nsid,
                "retrieved_at": iso(time_us),
                "url": f"https://public.api.bsky.app/xrpc/{nsid}",
            },
            **body,
        }
    )


def canonical(record: msgspec.Struct) -> bytes:
    return _ENCODE.encode(record)
