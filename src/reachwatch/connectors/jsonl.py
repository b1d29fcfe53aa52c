"""One JSONL line in any format reachwatch reads, turned into canonical records or a PayloadError.

Formats, told apart per line by their top-level keys:
- Jetstream v1 events (`did`, `time_us`, `kind`), as the live stream and the demo emit them;
- responses our collectors captured, wrapped with provenance (`__reachwatch`: source, nsid,
  retrieved_at, ...; the response itself under `body`), in the manner of twarc's `__twarc`:
  Bluesky AppView, Mastodon REST and streaming, X API v2, and rows of imported tables;
- twarc2 output (`__twarc`: one X API v2 page per line, or one flattened tweet);
- legacy v1.1 tweets (`id_str`, `user`, `created_at`);
- canonical records (`type`: post, engagement, account, ...), the format of our own exports.
"""

from __future__ import annotations

import hashlib

import msgspec

from reachwatch.connectors import platform
from reachwatch.connectors.base import Provenance
from reachwatch.connectors.bluesky import jetstream
from reachwatch.connectors.files import mapping as table_mapping
from reachwatch.connectors.x import entities as x_v2
from reachwatch.connectors.x import legacy as x_v1
from reachwatch.errors import PayloadError
from reachwatch.model import MAX_INT64, CanonicalRecord, micros_from_iso

FORMATS = ("jetstream", "capture", "twarc2", "x-v1", "canonical")


class TwarcProvenance(msgspec.Struct):
    url: str = ""
    retrieved_at: str | None = None


class Line(msgspec.Struct):
    """The top-level keys that tell the formats apart, plus the Jetstream event in full (the hot path)."""

    did: str | None = None
    time_us: int | None = None
    kind: str | None = None
    commit: jetstream.Commit | None = None
    identity: jetstream.Identity | None = None
    account: jetstream.AccountInfo | None = None
    type: str | None = None
    provenance: Provenance | None = msgspec.field(default=None, name="__reachwatch")
    body: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty when absent
    twarc: TwarcProvenance | None = msgspec.field(default=None, name="__twarc")
    id_str: str | None = None


class Normalised(msgspec.Struct):
    """What one payload became: its replay-stable key, its records, and the stream cursor it carries."""

    format: str
    event_key: str
    records: list[CanonicalRecord]
    cursor: str | None = None


_LINE = msgspec.json.Decoder(Line)
_CANONICAL = msgspec.json.Decoder(CanonicalRecord)
_ANY = msgspec.json.Decoder()


def _content_key(prefix: str, line: bytes) -> str:
    return f"{prefix}:{hashlib.blake2b(line, digest_size=16).hexdigest()}"


def normalise_line(line: bytes, *, max_bytes: int = 1_048_576) -> Normalised:
    """Decode and normalise one payload; every failure is a PayloadError that says why."""
    if len(line) > max_bytes:
        raise PayloadError("too-large", f"payload is {len(line):,} bytes, over the limit of {max_bytes:,}")
    try:
        head = _LINE.decode(line)
        if head.type is not None:
            record = _CANONICAL.decode(line)
            return Normalised("canonical", _content_key("canonical", line), [record])
        if head.provenance is not None:
            return _normalise_capture(head.provenance, head.body, line)
        if head.twarc is not None:
            return _normalise_twarc(head.twarc, line)
        if head.id_str is not None and head.did is None:
            records = x_v1.normalise_tweet(_ANY.decode(line))
            return Normalised("x-v1", _content_key("x.v1", line), records)
        return _normalise_jetstream(head)
    except PayloadError:
        raise
    except UnicodeDecodeError as exc:
        raise PayloadError(
            "invalid-utf8", f"payload is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from exc
    except msgspec.ValidationError as exc:
        raise PayloadError("wrong-type", str(exc)) from exc
    except msgspec.DecodeError as exc:
        code = "truncated" if "truncated" in str(exc) else "invalid-json"
        raise PayloadError(code, f"not valid JSON: {exc}") from exc
    except ValueError as exc:
        raise PayloadError("invalid-value", str(exc)) from exc
    except RecursionError as exc:
        raise PayloadError("too-deep", "payload is nested too deeply to read") from exc
    except Exception as exc:  # a normaliser that trips on an odd payload: quarantined, never a crash
        raise PayloadError(
            "unreadable", f"the normaliser could not read it ({type(exc).__name__}: {exc})"
        ) from exc


def _normalise_jetstream(head: Line) -> Normalised:
    if head.did is None or head.time_us is None or head.kind is None:
        raise PayloadError(
            "unknown-format",
            "not a Jetstream event (did, time_us, kind), a canonical record (type) "
            "or a captured response (__reachwatch)",
        )
    if not 0 <= head.time_us <= MAX_INT64:
        raise PayloadError("invalid-value", f"time_us {head.time_us} is out of range")
    did, time_us = head.did, head.time_us
    if head.kind == "commit":
        if head.commit is None:
            raise PayloadError("missing-field", "a commit event without its 'commit' object")
        records = jetstream.normalise_commit(did, time_us, head.commit)
        key = jetstream.event_key(did, "commit", head.commit, None)
    elif head.kind == "identity":
        if head.identity is None:
            raise PayloadError("missing-field", "an identity event without its 'identity' object")
        records = jetstream.normalise_identity(head.identity)
        key = jetstream.event_key(did, "identity", None, head.identity.seq)
    elif head.kind == "account":
        if head.account is None:
            raise PayloadError("missing-field", "an account event without its 'account' object")
        records = jetstream.normalise_account(head.account)
        key = jetstream.event_key(did, "account", None, head.account.seq)
    else:
        raise PayloadError("unknown-kind", f"unknown Jetstream event kind {head.kind[:50]!r}")
    return Normalised("jetstream", key, records, cursor=str(time_us))


def _normalise_capture(provenance: Provenance, body: msgspec.Raw, line: bytes) -> Normalised:
    """A captured response: the platform whose capture sources include its source reads the body
    (the older form of AppView captures has the response's keys beside `__reachwatch`, not under
    `body`); imported table rows are read with the column mapping they carry."""
    content = bytes(body) if body else line
    decoded = _ANY.decode(content)
    observed = micros_from_iso(provenance.retrieved_at)
    source = provenance.source
    records: list[CanonicalRecord]
    reader = platform.of_source(source)
    if reader is not None:
        records = reader.normalise_capture(provenance, decoded, observed)
    elif source.startswith("file"):
        if provenance.mapping is None:
            raise PayloadError("missing-field", "an imported row without the column mapping it was read with")
        try:
            mapping = msgspec.convert(provenance.mapping, table_mapping.ColumnMapping)
        except msgspec.ValidationError as exc:
            raise PayloadError("wrong-type", f"column mapping: {exc}") from exc
        records = table_mapping.normalise_row(mapping, decoded, observed)
    else:
        raise PayloadError("unknown-kind", f"no reader for captured responses from {source[:100]!r}")
    # Keyed by what was asked and what came back, not by when: polling an unchanged response adds
    # nothing, while the same list of likers of two different posts stays two events.
    about = msgspec.json.encode([provenance.nsid, provenance.instance, sorted(provenance.params.items())])
    return Normalised("capture", _content_key(source, about + b"\n" + content), records)


def _normalise_twarc(twarc: TwarcProvenance, line: bytes) -> Normalised:
    if twarc.retrieved_at is None:
        raise PayloadError("missing-field", "a twarc2 line without __twarc.retrieved_at")
    observed = micros_from_iso(twarc.retrieved_at)
    records = x_v2.normalise_page(_ANY.decode(line), observed, twarc.url)
    return Normalised("twarc2", _content_key("x.twarc2", line), records)
