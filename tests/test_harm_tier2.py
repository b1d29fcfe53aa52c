"""Harm tier 2: the int8 ONNX sentence encoder against torch's own embeddings, odd input, a
missing or mismatched model, and the borderline posts it decides in enrichment and in eval.

The model directory is made by `make models` (part of `make test`); run alone, these tests skip
with that instruction when it is absent."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR, SentenceEncoder
from reachwatch.enrich.harm import BORDERLINE, CLASSES, HarmTier2, shipped_model
from reachwatch.errors import UsageError
from reachwatch.model import Post
from reachwatch.service.enrichment import HarmEnricher
from reachwatch.service.harm_eval import evaluate, validation_sets
from reachwatch.service.ingest import IngestOptions, ingest_stream
from reachwatch.store import enrichments
from reachwatch.store.database import Store
from tests.conftest import shared_file

MODEL = Path(__file__).resolve().parents[1] / DEFAULT_MODEL_DIR
# Texts tier 1 finds borderline in at least one class (checked below, so a retrained tier 1
# that moves them out of the band fails loudly rather than leaving tier 2 untested).
BORDERLINE_TEXTS = [
    "what a stupid thing to say",
    "go back to where you came from",
    "I swear I will get you for this",
    "shut up already",
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    if not (MODEL / "model.onnx").is_file():
        pytest.skip(f"no embedding model in {MODEL}: run `make models`")
    return SentenceEncoder(MODEL)


def post(n: int, text: str) -> Post:
    return Post(
        id=f"bluesky:at://did:plc:someone/app.bsky.feed.post/t{n}", platform="bluesky",
        author_id="bluesky:did:plc:someone", created_at_us=1_790_000_000_000_000 + n, text=text, lang="en",
    )  # fmt: skip


def test_int8_encoder_agrees_with_torch(encoder: SentenceEncoder) -> None:
    check = encoder.manifest["check"]
    reference = np.load(MODEL / "reference.npy")  # torch fp32 sentence-transformers pooling
    cosine = (encoder.encode(check["sentences"]) * reference).sum(axis=1)
    assert cosine.min() >= 0.97
    assert cosine.mean() >= 0.985
    # Dynamic int8 quantises activations with one scale per batch, so a text's vector moves a
    # little with its batch-mates: by about as much as quantisation itself, no more.
    alone = np.vstack([encoder.encode([text]) for text in check["sentences"]])
    assert (alone * encoder.encode(check["sentences"])).sum(axis=1).min() >= 0.96


def test_odd_input_gives_unit_vectors(encoder: SentenceEncoder) -> None:
    texts = ["", "😀😀😀", "ﻣﺮﺣﺒﺎ hello Привет", "<img src=x onerror=alert(1)>", "word " * 20_000]
    texts.append("\u200b" * 50)
    vectors = encoder.encode(texts)
    assert vectors.shape == (len(texts), encoder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_missing_or_mismatched_model_says_what_to_do(tmp_path: Path, encoder: SentenceEncoder) -> None:
    with pytest.raises(UsageError, match="make models"):
        SentenceEncoder(tmp_path / "nowhere")
    other = tmp_path / "other"
    shutil.copytree(MODEL, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UsageError, match="another embedding model"):
        HarmTier2(SentenceEncoder(other))


def test_tier2_decides_the_borderline_posts(encoder: SentenceEncoder) -> None:
    low, high = BORDERLINE
    first = shipped_model().scores(BORDERLINE_TEXTS)
    in_band = ((first >= low) & (first < high)).any(axis=1)
    assert in_band.all(), first
    tier2 = HarmTier2(encoder)
    plain, staged = HarmEnricher(), HarmEnricher(tier2=tier2)
    calm = "Congratulations to the team on the new library opening"
    assert (shipped_model().scores([calm]) < low).all()
    posts = [post(n, text) for n, text in enumerate([*BORDERLINE_TEXTS, calm])]
    before, after = plain.results(posts), staged.results(posts)
    second = tier2.scores([p.text for p in posts])
    for row in range(len(BORDERLINE_TEXTS)):
        was, now = before[row], after[row]
        assert was is not None
        assert now is not None
        assert was["borderline"]
        assert not now["borderline"]
        decided = now["tier2"]["decided"]
        assert set(decided) == set(was["borderline"])
        for name, outcome in decided.items():
            i = CLASSES.index(name)
            assert outcome == ("flagged" if second[row, i] >= tier2.thresholds[i] else "cleared")
            assert (name in now["flagged"]) == (outcome == "flagged")
    assert "tier2" not in (after[-1] or {})  # a calm post is never read by tier 2
    assert "harm-tier2" in staged.version


def test_ingest_with_tier2(sqlite_store: Store, encoder: SentenceEncoder) -> None:
    lines = b"".join(
        msgspec.json.encode(msgspec.structs.asdict(post(n, text)) | {"type": "post"}) + b"\n"
        for n, text in enumerate(BORDERLINE_TEXTS)
    )
    ingest_stream(sqlite_store, io.BytesIO(lines), "t2", IngestOptions(harm_tier2_model=str(MODEL)))
    ids = [post(n, text).id for n, text in enumerate(BORDERLINE_TEXTS)]
    harm = enrichments.results(sqlite_store, "harm", ids)
    assert all("tier2" in harm[i] for i in ids)


def test_eval_shows_both_tiers_on_the_validation_splits(encoder: SentenceEncoder) -> None:
    root = shared_file("harm", "tweeteval").parent
    results = evaluate(validation_sets(root), with_peer=False, tier2=HarmTier2(encoder))
    systems = {(row.label, row.system.split(" (")[0]): row for row in results}
    for label in ("offensive", "hateful"):
        assert systems[(label, "reachwatch tier 2")].macro_f1 >= 0.6
        assert systems[(label, "reachwatch tiers 1+2")].macro_f1 >= 0.7
