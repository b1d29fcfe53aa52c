"""The shipped harm model (fine-tuned MiniLM, int8 ONNX): its manifest, scores, the model's own
evidence, evasion undone, hostile and odd input, the prior shift, and `reachwatch eval harm`
scoring the deployed rule on the development split, on a user's own file, and leave one source out."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.enrich.harm import CLASSES, MODEL_DIR, HarmModel, estimate_priors, shipped_model
from reachwatch.enrich.normalise import for_classifier, normalise
from reachwatch.errors import UsageError
from reachwatch.service.harm_eval import LabelledSet, deployed_results, evaluate, read_labelled, read_table
from tests.conftest import SHARED_DATA

THREAT = "Dana Whitfield is a traitor and I will kill her"
ABUSE = "you are a pathetic, disgusting idiot"
CALM = "lovely walk by the river this morning"
HARM_DATA = SHARED_DATA / "harm"


def test_the_shipped_model_is_the_file_its_manifest_names() -> None:
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    assert hashlib.sha256((MODEL_DIR / "model.onnx").read_bytes()).hexdigest() == manifest["sha256"]
    assert (MODEL_DIR / "model.onnx").stat().st_size <= 40 * 1024 * 1024
    assert set(manifest["thresholds"]) == set(CLASSES)
    assert all(entry["sha256"] for entry in manifest["data"].values())
    assert manifest["hyper_parameters"]["epochs"] >= 1


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "harm"
    shutil.copytree(MODEL_DIR, copy)
    with (copy / "model.onnx").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(UsageError, match="sha256"):
        HarmModel(copy)
    with pytest.raises(UsageError, match="No harm model"):
        HarmModel(tmp_path / "nowhere")


def test_scores_and_the_models_own_evidence() -> None:
    model = shipped_model()
    scores = model.scores([THREAT, ABUSE, CALM])
    assert scores.shape == (3, len(CLASSES))
    offensive = CLASSES.index("offensive")
    assert scores[1, offensive] > model.thresholds[offensive] > scores[2, offensive]
    (words,) = model.explain([ABUSE], "offensive")
    found = [item.word for item in words]
    assert {"pathetic", "disgusting", "idiot"} & set(found)
    assert not {"you", "are", "a"} & set(found)  # stopwords are never evidence
    assert [item.weight for item in words] == sorted((item.weight for item in words), reverse=True)


@pytest.mark.parametrize(
    "disguised",
    ["you are an id\u200biot", "you are an ＩＤＩＯＴ", "you are an іdіot", "you are an iddddddiot"],
)
def test_evasion_is_undone(disguised: str) -> None:
    assert normalise(disguised) in ("you are an idiot", "you are an iddiot")
    model = shipped_model()
    assert model.scores([disguised])[0, 0] > 0.5


def test_spellings_that_dodge_word_lists_read_as_the_word() -> None:
    assert for_classifier("you stup1d b1tch, sh!t") == "you stupid bitch, shit"
    assert for_classifier("what a c.u.n.t") == "what a cunt"
    assert for_classifier("covid19 and mp3 and 2day") == "covid19 and mp3 and 2day"


def test_odd_and_hostile_text_scores_without_error() -> None:
    texts = ["", "😀😀😀", "ﻣﺮﺣﺒﺎ hello Привет", "<script>alert(1)</script>", "x" * 100_000, "\u200b" * 50]
    scores = shipped_model().scores(texts)
    assert scores.shape == (len(texts), len(CLASSES))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_the_prior_shift_moves_scores_and_em_finds_a_known_prior() -> None:
    model = shipped_model()
    base = model.scores([ABUSE, CALM])
    rarer = model.scores([ABUSE, CALM], {"offensive": 0.05})
    assert (rarer[:, 0] < base[:, 0]).all()
    assert np.allclose(rarer[:, 1:], base[:, 1:])
    # Calibrated posteriors of a feed drawn with prior 0.1 from a model trained at 0.5: EM finds 0.1.
    rng = np.random.default_rng(3)
    truth = rng.random(20_000) < 0.1
    likelihood = np.where(truth, rng.beta(6, 2, truth.size), rng.beta(2, 6, truth.size))
    posterior_at_half = np.where(truth, likelihood, 1 - likelihood)
    # p(y|x) at prior 0.5 from the two class densities
    pos = np.where(truth, likelihood, 1 - likelihood)
    assert 0.0 <= estimate_priors(posterior_at_half, 0.5) <= 1.0
    assert abs(estimate_priors(_posteriors(rng), 0.5) - 0.1) < 0.02
    assert pos.shape == truth.shape


def _posteriors(rng: np.random.Generator) -> np.ndarray:
    """Exact posteriors at training prior 0.5 for scores whose class densities are known."""
    from math import gamma

    def beta_pdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return np.asarray(x ** (a - 1) * (1 - x) ** (b - 1) * gamma(a + b) / (gamma(a) * gamma(b)))

    truth = rng.random(20_000) < 0.1
    x = np.where(truth, rng.beta(5, 2, truth.size), rng.beta(2, 5, truth.size))
    positive, negative = beta_pdf(x, 5, 2), beta_pdf(x, 2, 5)
    return np.asarray(positive / (positive + negative))


def test_deployed_results_are_what_enrichment_records() -> None:
    results = deployed_results([THREAT, CALM, "Questo ministro è un disastro e dovrebbe dimettersi subito"])
    threat, calm, italian = results
    assert threat is not None
    assert "threat" in threat["flagged"]
    assert threat["by"]["threat"] in ("rule", "model and rule")
    assert threat["rules"]
    assert threat["thresholds"]["threat"] == pytest.approx(shipped_model().thresholds[2])
    assert calm is not None
    assert calm["flagged"] == []
    assert italian is not None
    assert italian["not_scored"] == "language: it"


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
    assert result.deployed
    with pytest.raises(UsageError, match="no column 'text'"):
        read_labelled(path, "text", "tag", "bad")
    with pytest.raises(UsageError, match="--positive"):
        read_labelled(path, "body", "tag", None)
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(f'text,label\n"{THREAT}",1\n"{CALM}",0\n')
    runner = CliRunner()
    result = runner.invoke(
        app, ["eval", "harm", "--data", str(csv_path), "--class", "threat", "--no-peer", "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)["results"][0]
    assert found["macro_f1"] == 1.0
    assert found["deployed"] is True
    refused = runner.invoke(app, ["eval", "harm", "--data", str(csv_path), "--class", "threats"])
    # the console entry point turns a UsageError into exit status 2 (cli.main.run)
    assert isinstance(refused.exception, UsageError), refused.output
    assert "Unknown harm class 'threats'" in str(refused.exception)


def test_a_tsv_with_bare_quotes_keeps_one_text_per_line(tmp_path: Path) -> None:
    lines = ['"quoted at the start" and then more\t1', 'a "quote" in the middle\t0', '"unbalanced start\t1',
             'plain\t0', '"properly quoted, with ""inner"" quotes"\t1']  # fmt: skip
    path = tmp_path / "bare.tsv"
    path.write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    texts, truth = read_labelled(path, "text", "label", None)
    assert len(texts) == len(lines) == len(truth)
    assert texts[1] == 'a "quote" in the middle'
    assert texts[2] == '"unbalanced start'
    assert texts[4] == 'properly quoted, with "inner" quotes'
    multiline = tmp_path / "multi.csv"
    multiline.write_text('text,label\n"two\nlines",1\nplain,0\n')
    assert [row["text"] for row in read_table(multiline, ",")] == ["two\nlines", "plain"]
    broken = tmp_path / "broken.tsv"
    broken.write_text("text\tlabel\nno label here\n")
    with pytest.raises(UsageError, match="line 2"):
        read_table(broken, "\t")


@pytest.mark.skipif(not HARM_DATA.is_dir(), reason="the shared harm data sets are absent")
def test_eval_scores_the_deployed_rule_beside_the_peer_and_leave_one_source_out() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "harm", "--harm-data", str(HARM_DATA), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["results"]
    deployed = [row for row in rows if row["deployed"]]
    assert deployed
    assert {row["label"] for row in deployed} == set(CLASSES)
    olid = next(row for row in deployed if row["data"] == "olid development" and row["label"] == "offensive")
    assert olid["macro_f1"] >= 0.72  # measured 0.75 on the held-out 10% of OLID
    result = runner.invoke(app, ["eval", "harm", "--transfer", "--harm-data", str(HARM_DATA), "--json"])
    assert result.exit_code == 0, result.output
    transfer = json.loads(result.output)
    held = {row["data"].split()[0] for row in transfer["results"] if row["deployed"]}
    assert held == {"olid", "hateval", "davidson", "gab", "ethos", "congress"}
    assert transfer["targets"]
