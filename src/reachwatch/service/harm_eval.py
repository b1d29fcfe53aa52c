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

from reachwatch.enrich.harm import BORDERLINE, CLASSES, MODEL_DIR, HarmModel, HarmTier2, shipped_tier2
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
    data: str, label: str, system: str, truth: Sequence[int], predicted: npt.NDArray[np.bool_], seconds: float
) -> Metrics:
    """Macro-F1 and the harmful class's precision and recall of yes/no predictions."""
    y = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
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


def tier2_for(model_dir: str, wanted: bool | None) -> HarmTier2 | None:
    """Tier 2 when asked for (an error if its model is missing), or by default when its model
    directory exists; None when switched off."""
    if wanted or (wanted is None and (Path(model_dir) / "model.onnx").is_file()):
        return shipped_tier2(model_dir)
    return None


def model_card(tier: int = 1) -> dict[str, object]:
    """What training measured, e.g. the threat class's cross-validation (it has no validation split)."""
    path = MODEL_DIR / f"harm_tier{tier}.json"
    return msgspec.json.decode(path.read_bytes()) if path.is_file() else {}


def _column(
    scores: npt.NDArray[np.float64], cut: npt.NDArray[np.float64], label: str
) -> npt.NDArray[np.bool_]:
    """Yes/no for one class at its threshold, or for "any": some class at its threshold."""
    if label in CLASSES:
        i = CLASSES.index(label)
        return np.asarray(scores[:, i] >= cut[i])
    return np.asarray((scores >= cut).any(axis=1))


def evaluate(
    sets: list[LabelledSet],
    model: HarmModel | None = None,
    with_peer: bool = True,
    tier2: HarmTier2 | None = None,
) -> list[Metrics]:
    """Each set scored by tier 1 (at its per-class thresholds) and, with `tier2`, by tier 2 alone and
    by the two tiers as enrichment runs them (tier 1 decides outside its borderline band, tier 2
    inside it); and by the peer at 0.5."""
    model = model or HarmModel.load()
    other = peer() if with_peer else None
    low, high = BORDERLINE
    found = []
    for labelled in sets:
        started = time.perf_counter()
        scores = model.scores(labelled.texts)
        first_s = time.perf_counter() - started
        first = _column(scores, model.thresholds, labelled.label)
        name, truth = labelled.name, labelled.truth
        found.append(
            metrics(name, labelled.label, f"reachwatch tier 1 ({model.version})", truth, first, first_s)
        )
        if tier2 is not None:
            started = time.perf_counter()
            second_scores = tier2.scores(labelled.texts)
            second_s = time.perf_counter() - started
            second = _column(second_scores, tier2.thresholds, labelled.label)
            found.append(
                metrics(name, labelled.label, f"reachwatch tier 2 ({tier2.version})", truth, second, second_s)
            )
            band = (scores >= low) & (scores < high)
            decided = np.where(band, second_scores >= tier2.thresholds, scores >= high)
            both = (
                decided[:, CLASSES.index(labelled.label)]
                if labelled.label in CLASSES
                else decided.any(axis=1)
            )
            # As deployed, tier 2 reads only the borderline posts: its time is charged for those alone.
            share = float(band.any(axis=1).mean())
            found.append(
                metrics(name, labelled.label, "reachwatch tiers 1+2 (band decided by 2)", truth,
                        np.asarray(both, dtype=bool),
                        first_s + second_s * share)
            )  # fmt: skip
        if other is not None:
            started = time.perf_counter()
            theirs = np.asarray(other(labelled.texts) >= 0.5, dtype=bool)
            found.append(
                metrics(
                    name,
                    labelled.label,
                    "alt-profanity-check 1.9.1",
                    truth,
                    theirs,
                    time.perf_counter() - started,
                )
            )
    return found
