"""`reachwatch eval harm`: the deployed harm rule — exactly what enrichment flags (language
gating, the model at its thresholds and priors, the poster's own words, the threat rules) —
scored on labelled data beside the peer alt-profanity-check: the development split held out of
training (by default), any file a user brings, or (`--transfer`) each source held out of
training altogether (leave one source out)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.enrich.harm import CLASSES, MODEL_DIR, TARGETS, shipped_model
from reachwatch.enrich.normalise import normalise
from reachwatch.enrich.rules import rule_hits_normalised
from reachwatch.enrich.stage import HarmEnricher, LanguageEnricher, Result, unscored_language
from reachwatch.errors import UsageError
from reachwatch.model import Post
from reachwatch.service import harm_sets

Scorer = Callable[[Sequence[str]], npt.NDArray[np.float64]]
LABELS = (*CLASSES, "any")
PEER = "alt-profanity-check 1.9.1 (at 0.5)"


class Metrics(msgspec.Struct, kw_only=True):
    data: str
    label: str
    system: str
    deployed: bool  # the rule enrichment applies, as it applies it
    texts: int
    positives: int
    flagged_share: float
    macro_f1: float
    precision: float  # of the positive class
    recall: float
    not_scored: int = 0  # texts in a language the model was not trained on: counted as not flagged
    texts_per_s: float = 0.0
    note: str = ""


class LabelledSet(msgspec.Struct, kw_only=True):
    name: str
    label: str  # which of our classes it measures, or "any"
    texts: list[str]
    truth: list[int]


def check_label(label: str) -> str:
    if label not in LABELS:
        raise UsageError(f"Unknown harm class {label!r}: use one of {', '.join(LABELS)}.")
    return label


def metrics(
    data: str, label: str, system: str, truth: Sequence[int], predicted: npt.NDArray[np.bool_],
    seconds: float,
    *, deployed: bool, not_scored: int = 0, note: str = "",
) -> Metrics:  # fmt: skip
    """Macro-F1 and the harmful class's precision and recall of yes/no predictions."""
    y = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    f1s = []
    positive_precision = positive_recall = 0.0
    for positive in (True, False):
        tp = int(np.sum((predicted == positive) & (y == positive)))
        fp = int(np.sum((predicted == positive) & (y != positive)))
        fn = int(np.sum((predicted != positive) & (y == positive)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        if positive:
            positive_precision, positive_recall = precision, recall
    return Metrics(
        data=data, label=label, system=system, deployed=deployed, texts=len(y), positives=int(y.sum()),
        flagged_share=float(predicted.mean()) if len(y) else 0.0, macro_f1=float(np.mean(f1s)),
        precision=positive_precision, recall=positive_recall, not_scored=not_scored,
        texts_per_s=len(y) / seconds if seconds > 0 else 0.0, note=note,
    )  # fmt: skip


def deployed_results(texts: Sequence[str], priors: Mapping[str, float] | None = None) -> list[Result]:
    """What enrichment records for each text: the language enricher, then the harm enricher, the
    same classes and calls as the ingest and live pipelines make."""
    posts = [
        Post(id=f"file:eval-{i}", platform="file", author_id="file:eval", created_at_us=0, text=text)
        for i, text in enumerate(texts)
    ]
    normalised = [normalise(text) for text in texts]
    languages = LanguageEnricher().results(posts, normalised)
    return HarmEnricher(priors=priors).results(posts, normalised, {"language": languages})


def flagged_as(results: Sequence[Result], label: str) -> npt.NDArray[np.bool_]:
    """Per result, whether it flags `label` (or any class, for "any")."""
    return np.array(
        [bool(r and (r["flagged"] if label == "any" else label in r["flagged"])) for r in results], dtype=bool
    )


def development_sets(root: Path) -> list[LabelledSet]:
    """The development split that training kept out (10% of each source), per source and head."""
    if not root.is_dir():
        return []
    _, _, _, dev = harm_sets.training_split(root)
    return _per_head(dev, "development")


def _per_head(records: Sequence[harm_sets.Labelled], split: str) -> list[LabelledSet]:
    found = []
    for source in sorted({r.source for r in records}):
        mine = [r for r in records if r.source == source]
        for head in CLASSES:
            known = [r for r in mine if r.label(head) != harm_sets.UNKNOWN]
            # a head is scored on a source only where it has both classes (hate implies offensive,
            # so HatEval's offensive labels are all positive: no macro-F1 to speak of)
            if len({r.label(head) for r in known}) == 2:
                found.append(
                    LabelledSet(
                        name=f"{source} {split}", label=head, texts=[r.text for r in known],
                        truth=[r.label(head) for r in known],
                    )
                )  # fmt: skip
    return found


def _unquoted(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"' and '"' not in field[1:-1].replace('""', ""):
        return field[1:-1].replace('""', '"')
    return field


def read_table(path: Path, delimiter: str) -> list[dict[str, str]]:
    """A CSV or TSV file's rows. A file with quoted multi-line fields is read as CSV; a file with
    one record per line is read line by line, so a bare quote character inside a text (common in
    TSV exports of tweets) never merges lines; a line with the wrong number of fields is an
    error naming it."""
    raw = path.read_text(encoding="utf-8-sig")
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        return []
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    quoted = list(csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter))
    if len(quoted) == len(lines) - 1 and all(None not in row and None not in row.values() for row in quoted):
        return quoted
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(delimiter)
        if len(fields) != len(header):
            fields = next(csv.reader([line], delimiter=delimiter))
        if len(fields) != len(header):
            multi = [row for row in quoted if None not in row and None not in row.values()]
            if len(multi) == len(quoted):
                return quoted  # a genuine CSV with quoted line breaks
            raise UsageError(
                f"{path}, line {number}: {len(fields)} fields where the header has {len(header)}; "
                "fix the line or quote its text field."
            )
        rows.append(dict(zip(header, (_unquoted(field) for field in fields), strict=True)))
    return rows


def read_labelled(
    path: Path, text_column: str, label_column: str, positive: str | None
) -> tuple[list[str], list[int]]:
    """A CSV, TSV or JSONL file with a text and a label column; a label counts as positive when
    it equals `positive`, or (without it) when it is a number above 0 or true/yes."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist.")
    rows: list[dict[str, Any]]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            rows = [msgspec.json.decode(line) for line in path.read_bytes().splitlines() if line.strip()]
        except msgspec.DecodeError as exc:
            raise UsageError(f"{path} is not JSON Lines: {exc}") from exc
    else:
        rows = read_table(path, "\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    if not rows:
        raise UsageError(f"{path} has no rows.")
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise UsageError(f"{path} has no column {column!r}; it has {', '.join(map(str, rows[0]))}.")

    def is_positive(value: object) -> int:
        text = str(value).strip().lower()
        if positive is not None:
            return int(text == positive.strip().lower())
        if text in ("true", "yes"):
            return 1
        try:
            return int(float(text) > 0)
        except ValueError as exc:
            raise UsageError(
                f"Label {value!r} is not a number: say which value is positive with --positive."
            ) from exc

    return [str(row[text_column] or "") for row in rows], [is_positive(row[label_column]) for row in rows]


def peer() -> Scorer | None:
    """alt-profanity-check's offensive probability, when it is installed (the dev extra)."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return lambda texts: np.asarray(predict_prob(list(texts)), dtype=np.float64)


def model_card() -> dict[str, Any]:
    """The shipped model's manifest: training data, hyper-parameters, thresholds, metrics."""
    path = MODEL_DIR / "manifest.json"
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def evaluate(
    sets: list[LabelledSet], with_peer: bool = True, priors: Mapping[str, float] | None = None
) -> list[Metrics]:
    """Each set scored by the deployed rule and, beside it, by the peer at 0.5."""
    other = peer() if with_peer else None
    model = shipped_model()
    found = []
    for labelled in sets:
        check_label(labelled.label)
        started = time.perf_counter()
        results = deployed_results(labelled.texts, priors)
        seconds = time.perf_counter() - started
        not_scored = sum(1 for r in results if r and "not_scored" in r)
        found.append(
            metrics(
                labelled.name, labelled.label, f"reachwatch {model.version} (deployed rule)", labelled.truth,
                flagged_as(results, labelled.label), seconds, deployed=True, not_scored=not_scored,
            )
        )  # fmt: skip
        if other is not None:
            started = time.perf_counter()
            theirs = np.asarray(other(labelled.texts) >= 0.5, dtype=bool)
            found.append(
                metrics(labelled.name, labelled.label, PEER, labelled.truth, theirs,
                        time.perf_counter() - started, deployed=False)
            )  # fmt: skip
    return found


class TargetMetrics(msgspec.Struct, kw_only=True):
    data: str
    texts: int
    accuracy: float
    macro_f1: float
    per_target: dict[str, float]  # F1 per target


def target_metrics(name: str, truth: Sequence[int], predicted: Sequence[int]) -> TargetMetrics:
    y, p = np.asarray(truth), np.asarray(predicted)
    per = {}
    for i, target in enumerate(TARGETS):
        tp = int(np.sum((p == i) & (y == i)))
        fp, fn = int(np.sum((p == i) & (y != i))), int(np.sum((p != i) & (y == i)))
        per[target] = round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 0.0
    present = [per[t] for i, t in enumerate(TARGETS) if (y == i).any()]
    return TargetMetrics(
        data=name, texts=len(y), accuracy=float(np.mean(y == p)) if len(y) else 0.0,
        macro_f1=float(np.mean(present)) if present else 0.0, per_target=per,
    )  # fmt: skip


def development_targets(root: Path) -> list[TargetMetrics]:
    """The target head on the development split's abusive texts that say whom they target."""
    if not root.is_dir():
        return []
    _, _, _, dev = harm_sets.training_split(root)
    found = []
    for source in sorted({r.source for r in dev if r.target != harm_sets.UNKNOWN}):
        mine = [r for r in dev if r.source == source and r.target != harm_sets.UNKNOWN]
        results = deployed_results([r.text for r in mine])
        predicted = [TARGETS.index(str(r["target"])) if r and "target" in r else 2 for r in results]
        found.append(target_metrics(f"{source} development", [r.target for r in mine], predicted))
    return found


def _sha(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def transfer(root: Path, with_peer: bool = True) -> tuple[list[Metrics], list[TargetMetrics], str]:
    """Leave one source out: each source scored by the model trained without it (its stored
    held-out probabilities, from training/train_harm.py --transfer), with the deployed rule on
    top (language gating, its fold's thresholds, the threat rules), beside the peer."""
    card = model_card()
    folds = (card.get("transfer") or {}).get("folds") or {}
    path = MODEL_DIR / "transfer.npz"
    if not folds or not path.is_file():
        raise UsageError(f"No leave-one-source-out runs in {MODEL_DIR}: train them with `make train-harm`.")
    if not root.is_dir():
        raise UsageError(f"{root} not found: pass --harm-data (the folder of the labelled harm sets).")
    other = peer() if with_peer else None
    found: list[Metrics] = []
    targets: list[TargetMetrics] = []
    language = LanguageEnricher()
    with np.load(path) as arrays:
        for source, fold in folds.items():
            try:
                records = harm_sets.load(root, (source,))
            except UsageError:
                continue
            texts = [r.text for r in records]
            if _sha(texts) != fold["texts_sha256"]:
                raise UsageError(
                    f"The {source} texts under {root} are not the ones the transfer runs held out: "
                    "rerun `make train-harm` on this data."
                )
            scores = arrays[source].astype(np.float64)
            cut = np.array([fold["thresholds"][name] for name in CLASSES])
            posts = [Post(id=f"file:t-{i}", platform="file", author_id="file:t", created_at_us=0, text=t)
                     for i, t in enumerate(texts)]  # fmt: skip
            languages = shipped_model().languages
            scored = np.array([unscored_language(r, languages) is None for r in language.results(posts)])
            ruled = np.array([any(not h.reported for h in rule_hits_normalised(normalise(t))) for t in texts])
            name = f"{source} (held out of training)"
            for c, head in enumerate(CLASSES):
                known = np.array([r.label(head) != harm_sets.UNKNOWN for r in records])
                truth = np.array([r.label(head) for r in records])[known]
                if not known.any() or truth.min() == truth.max():
                    continue
                flags = (scores[:, c] >= cut[c]) | (ruled if head == "threat" else False)
                flags &= scored
                found.append(
                    metrics(name, head, f"reachwatch {card['version']} without {source} (deployed rule)",
                            truth.tolist(), flags[known], 0.0, deployed=True,
                            not_scored=int((~scored[known]).sum()),
                            note="the fold's model; no own-words rescoring (it needs the fold's weights)")
                )  # fmt: skip
                if other is not None:
                    kept = [t for t, k in zip(texts, known.tolist(), strict=True) if k]
                    started = time.perf_counter()
                    theirs = np.asarray(other(kept) >= 0.5, dtype=bool)
                    found.append(
                        metrics(name, head, PEER, truth.tolist(), theirs, time.perf_counter() - started,
                                deployed=False)
                    )  # fmt: skip
            aimed = [i for i, r in enumerate(records) if r.target != harm_sets.UNKNOWN]
            if aimed:
                predicted = scores[aimed, len(CLASSES) :].argmax(axis=1).tolist()
                targets.append(target_metrics(name, [records[i].target for i in aimed], predicted))
    return found, targets, str(card["transfer"].get("recipe", ""))
