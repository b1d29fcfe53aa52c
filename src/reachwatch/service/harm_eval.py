"""`reachwatch eval harm`: the shipped harm model, and the peer alt-profanity-check, scored on
labelled data — the validation splits of the sets it was tuned on, or any file a user brings."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.enrich.harm import CLASSES, MODEL_DIR, HarmModel
from reachwatch.errors import UsageError

Scorer = Callable[[Sequence[str]], npt.NDArray[np.float64]]


class Metrics(msgspec.Struct, kw_only=True):
    data: str
    label: str
    system: str
    texts: int
    positives: int
    macro_f1: float
    precision: float  # of the positive class
    recall: float
    texts_per_s: float


class LabelledSet(msgspec.Struct, kw_only=True):
    name: str
    label: str  # which of our classes it measures
    texts: list[str]
    truth: list[int]


def metrics(
    data: str, label: str, system: str, truth: Sequence[int], scores: npt.NDArray[np.float64], seconds: float
) -> Metrics:
    y = np.asarray(truth, dtype=bool)
    predicted = np.asarray(scores) >= 0.5
    f1s = []
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
        data=data, label=label, system=system, texts=len(y), positives=int(y.sum()),
        macro_f1=float(np.mean(f1s)), precision=positive_precision, recall=positive_recall,
        texts_per_s=len(y) / seconds if seconds > 0 else 0.0,
    )  # fmt: skip


def validation_sets(root: Path) -> list[LabelledSet]:
    """The validation splits present under `root` (../shared/data/harm)."""
    found = []
    for task, label in (("offensive", "offensive"), ("hate", "hateful")):
        folder = root / "tweeteval" / task
        if (folder / "val_text.txt").is_file():
            texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
            truth = [int(x) for x in (folder / "val_labels.txt").read_text().split()]
            found.append(LabelledSet(name=f"TweetEval {task} val", label=label, texts=texts, truth=truth))
    return found


def read_labelled(
    path: Path, text_column: str, label_column: str, positive: str | None
) -> tuple[list[str], list[int]]:
    """A CSV, TSV or JSONL file with a text and a label column; a label counts as positive when
    it equals `positive`, or (without it) when it is a number above 0 or true/yes."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist.")
    rows: list[dict[str, object]]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            rows = [msgspec.json.decode(line) for line in path.read_bytes().splitlines() if line.strip()]
        except msgspec.DecodeError as exc:
            raise UsageError(f"{path} is not JSON Lines: {exc}") from exc
    else:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=delimiter))
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


def model_card() -> dict[str, object]:
    """What training measured, e.g. the threat class's cross-validation (it has no validation split)."""
    path = MODEL_DIR / "harm_tier1.json"
    return msgspec.json.decode(path.read_bytes()) if path.is_file() else {}


def evaluate(
    sets: list[LabelledSet], model: HarmModel | None = None, with_peer: bool = True
) -> list[Metrics]:
    model = model or HarmModel.load()
    other = peer() if with_peer else None
    found = []
    for labelled in sets:
        started = time.perf_counter()
        scores = model.scores(labelled.texts)
        seconds = time.perf_counter() - started
        column = scores[:, CLASSES.index(labelled.label)] if labelled.label in CLASSES else scores.max(axis=1)
        found.append(
            metrics(
                labelled.name,
                labelled.label,
                f"reachwatch tier 1 ({model.version})",
                labelled.truth,
                column,
                seconds,
            )
        )
        if other is not None:
            started = time.perf_counter()
            theirs = other(labelled.texts)
            found.append(
                metrics(
                    labelled.name,
                    labelled.label,
                    "alt-profanity-check 1.9.1",
                    labelled.truth,
                    theirs,
                    time.perf_counter() - started,
                )
            )
    return found
