"""docs/imports.md stays true: every mapping written out in it loads (and the presets' equal the
presets), and its canonical JSONL example ingests."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import msgspec

from reachwatch.connectors.files.mapping import PRESETS, ColumnMapping
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store.database import Store

DOC = (Path(__file__).resolve().parents[1] / "docs" / "imports.md").read_text(encoding="utf-8")


def test_every_mapping_in_the_doc_loads_and_the_presets_match() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        mapping = msgspec.convert(tomllib.loads(block), ColumnMapping)
        if mapping.name in PRESETS:
            assert mapping.text_columns() == PRESETS[mapping.name].text_columns()
            assert msgspec.structs.replace(mapping, text=[], urls=[]) == msgspec.structs.replace(
                PRESETS[mapping.name], text=[], urls=[]
            ), mapping.name
    assert {m for m in PRESETS if f'name = "{m}"' in DOC} == set(PRESETS)  # every preset written out


def test_the_canonical_example_ingests(store: Store) -> None:
    (block,) = [b for b in re.findall(r"```json\n(.*?)```", DOC, re.S) if '"type":"post"' in b]
    report = ingest_stream(store, io.BytesIO(block.encode()), "doc", IngestOptions(enrich=False))
    assert (report.events, report.quarantined) == (3, 0)
