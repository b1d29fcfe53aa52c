"""The shipped tier-1 harm model: scores, explanations, evasion undone, hostile and odd input,
and `reachwatch eval harm` on the validation splits and on a user's own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.enrich.harm import CLASSES, shipped_model
from reachwatch.enrich.normalise import normalise
from reachwatch.errors import UsageError
from reachwatch.service.harm_eval import LabelledSet, evaluate, read_labelled, validation_sets
from tests.conftest import SHARED_DATA, shared_file

THREAT = "she is a traitor and should be hanged"
CALM = "lovely walk by the river this morning"
SHARED_TWEETS = SHARED_DATA / "harm" / "tweeteval" / "offensive" / "train_text.txt"


def test_scores_and_the_words_that_drove_them() -> None:
    model = shipped_model()
    scores = model.scores([THREAT, CALM])
    assert scores.shape == (2, len(CLASSES))
    threat = CLASSES.index("threat")
    assert scores[0, threat] > 0.5 > scores[1, threat]
    words = [item.word for item in model.explain(THREAT, "threat")]
    assert "hanged" in words
    weights = [item.weight for item in model.explain(THREAT, "threat")]
    assert weights == sorted(weights, reverse=True)


@pytest.mark.parametrize(
    "disguised",
    [
        "you are an id\u200biot",  # zero-width space
        "you are an ＩＤＩＯＴ",  # full-width
        "you are an іdіot",  # Cyrillic і
        "you are an iddddddiot".replace("dddddd", "d"),
    ],
)
def test_evasion_is_undone(disguised: str) -> None:
    assert normalise(disguised) == "you are an idiot"
    model = shipped_model()
    assert model.scores([disguised])[0] == pytest.approx(model.scores(["you are an idiot"])[0])


def test_odd_and_hostile_text_scores_without_error() -> None:
    texts = ["", "😀😀😀", "ﻣﺮﺣﺒﺎ hello Привет", "<script>alert(1)</script>", "x" * 100_000, "\u200b" * 50]
    scores = shipped_model().scores(texts)
    assert scores.shape == (len(texts), len(CLASSES))
    assert ((scores >= 0) & (scores <= 1)).all()
    assert normalise("Привет мир") == "привет мир"  # Cyrillic words stay Cyrillic


def test_a_users_own_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"body": THREAT, "tag": "bad"}, {"body": CALM, "tag": "ok"}] * 5
    path.write_text("\n".join(json.dumps(row) for row in rows))
    texts, truth = read_labelled(path, "body", "tag", "bad")
    assert truth[:2] == [1, 0]
    (result,) = evaluate(
        [LabelledSet(name="mine", label="threat", texts=texts, truth=truth)], with_peer=False
    )
    assert result.macro_f1 == 1.0
    with pytest.raises(UsageError, match="no column 'text'"):
        read_labelled(path, "text", "tag", "bad")
    with pytest.raises(UsageError, match="--positive"):
        read_labelled(path, "body", "tag", None)
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(f'text,label\n"{THREAT}",1\n"{CALM}",0\n')
    result = CliRunner().invoke(
        app, ["eval", "harm", "--data", str(csv_path), "--class", "threat", "--no-peer", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["macro_f1"] == 1.0


def test_validation_splits_beat_the_peer() -> None:
    root = shared_file("harm", "tweeteval").parent
    results = evaluate(validation_sets(root))
    by = {(row.label, row.system.split()[0]): row for row in results}
    for label in ("offensive", "hateful"):
        ours = by[(label, "reachwatch")]
        assert ours.macro_f1 >= 0.70
        if (label, "alt-profanity-check") in by:
            assert ours.macro_f1 > by[(label, "alt-profanity-check")].macro_f1


def test_bulk_tfidf_equals_scikit_learn() -> None:
    """The Arrow transform reproduces the fitted vectorizer exactly, odd tokens included."""
    from reachwatch.enrich.normalise import for_classifier
    from reachwatch.enrich.tfidf import BulkTfidf

    vectorizer = shipped_model().vectorizer
    texts = [
        THREAT, CALM, "", "😀😀", "don't 'quoted' dogs' rock'n'roll '' x'", "Привет мир straße ǅ ٣٤ x² _a_",
        "<script>alert('x')</script>", "word " * 5_000, "@someone http://x.y/z #Tag 12,5 3.14",
    ]  # fmt: skip
    tweets = SHARED_TWEETS.read_text(encoding="utf-8").splitlines() if SHARED_TWEETS.is_file() else []
    texts += tweets
    expected = vectorizer.transform(texts)
    found = BulkTfidf(vectorizer).transform([for_classifier(text) for text in texts])
    assert found.shape == expected.shape
    assert (found != expected).nnz == 0 or abs(found - expected).max() < 1e-12
    assert found.nnz == expected.nnz
