"""Every installed enricher keeps the Enricher contract: it is found by its entry point under its
own name, reads only enrichers that are installed, gives one result per post for real Jetstream
posts, and every result it gives decodes into its declared result type (what its readers get
back from the store)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import msgspec
import pytest

from reachwatch.connectors.jsonl import normalise_line
from reachwatch.enrich import stage
from reachwatch.enrich.normalise import normalise
from reachwatch.model import Enrichment, IngestedEvent, Person, Post, RawEvent, WriteBatch

INSTALLED = sorted(stage.registered())
GOLDEN = Path(__file__).parent / "fixtures" / "jetstream_golden_v1.jsonl"
PERSON = Person(id="jo-minister", name="Jo Minister", aliases=["the minister"])


def _posts() -> list[Post]:
    """The real posts of the golden Jetstream capture, and one that names the person."""
    posts = [
        record
        for line in GOLDEN.read_bytes().splitlines()
        for record in normalise_line(line).records
        if isinstance(record, Post)
    ]
    assert posts
    named = msgspec.structs.replace(
        posts[0], id=posts[0].id + "-named", text="Jo Minister should resign today"
    )
    return [*posts, named]


def test_every_entry_point_is_an_enricher_of_that_name() -> None:
    assert {point.name for point in entry_points(group=stage.GROUP)} == set(INSTALLED)
    assert {"language", "mentions", "harm"} <= set(INSTALLED)
    context = stage.EnricherContext(people=[PERSON])
    for name, factory in stage.registered().items():
        enricher = factory(context)
        assert enricher.name == name
        assert enricher.version
        assert set(enricher.after) <= set(INSTALLED), (name, enricher.after)
        assert issubclass(enricher.result_type, msgspec.Struct)


@pytest.mark.parametrize("name", INSTALLED)
def test_results_are_one_per_post_and_decode_into_the_result_type(name: str) -> None:
    context = stage.EnricherContext(people=[PERSON])
    enrichers = stage.in_order([factory(context) for factory in stage.registered().values()])
    posts = _posts()
    normalised = [normalise(post.text) for post in posts]
    earlier: dict[str, list[stage.Result]] = {}
    for enricher in enrichers:
        earlier[enricher.name] = enricher.results(posts, normalised, earlier)
        if enricher.name == name:
            break
    found = earlier[name]
    assert len(found) == len(posts)
    given = [result for result in found if result is not None]
    assert given, f"{name} recorded nothing for {len(posts)} real posts"
    for result in given:
        msgspec.convert(result, enricher.result_type)  # raises where a result breaks its type
        msgspec.json.encode(result)  # stored as JSON


def test_the_stage_orders_by_after_and_refuses_what_is_missing() -> None:
    context = stage.EnricherContext(people=[PERSON])
    built = {name: factory(context) for name, factory in stage.registered().items()}
    ordered = [
        enricher.name for enricher in stage.in_order([built["harm"], built["mentions"], built["language"]])
    ]
    assert ordered.index("harm") > max(ordered.index("language"), ordered.index("mentions"))
    with pytest.raises(ValueError, match="reads 'language', which is not installed"):
        stage.in_order([built["harm"], built["mentions"]])


def test_people_that_arrive_in_the_stream_are_matched_in_the_same_batch() -> None:
    staged = stage.default_stage([])
    post = _posts()[-1]
    raw = RawEvent(source="test", event_key="k", received_at_us=1, payload=b"{}")
    batch = WriteBatch(events=[IngestedEvent(raw=raw, records=[PERSON, post])])
    staged.apply(batch, now_us=1)
    kinds = {
        record.enricher: record.result for record in batch.events[0].records if isinstance(record, Enrichment)
    }
    assert kinds["mentions"] == {"people": ["jo-minister"], "hits": kinds["mentions"]["hits"]}
    assert kinds["mentions"]["hits"]
