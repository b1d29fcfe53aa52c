"""Tier-1 harm scores: a word TF-IDF and one logistic regression per class, trained by
training/fit_harm.py on the labelled sets in ../shared/data/harm. Its explanation is the words
that pushed a score up: each word's TF-IDF weight times the class coefficient."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.errors import UsageError

CLASSES = ("offensive", "hateful", "threat")
MODEL_DIR = Path(__file__).parent / "models"
MODEL_VERSION = "harm-tier1-2026.11"
BORDERLINE = (0.35, 0.65)  # scores here go to tier 2 when it is switched on


class WordWeight(msgspec.Struct, array_like=True):
    word: str
    weight: float


class HarmModel:
    """Scores a batch of texts at once: one sparse transform, one matrix product per class."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.vectorizer = bundle["vectorizer"]
        self.models = [bundle["models"][name] for name in CLASSES]
        self.version: str = bundle["version"]
        thresholds = bundle.get("thresholds", {})
        self.thresholds = np.array([thresholds.get(name, 0.5) for name in CLASSES])
        self._coef = np.vstack([model.coef_[0] for model in self.models])
        self._intercept = np.array([model.intercept_[0] for model in self.models])
        self._words = self.vectorizer.get_feature_names_out()

    @classmethod
    def load(cls, path: Path | None = None) -> HarmModel:
        import joblib
        import sklearn

        where = path or MODEL_DIR / "harm_tier1.joblib"
        if not where.is_file():
            raise UsageError(f"No harm model at {where}: run training/fit_harm.py to train one.")
        bundle = joblib.load(where)
        if bundle.get("sklearn") != sklearn.__version__:
            raise UsageError(
                f"The harm model was saved with scikit-learn {bundle.get('sklearn')}, this is "
                f"{sklearn.__version__}: install the pinned version (make setup) or retrain."
            )
        return cls(bundle)

    def features(self, texts: Sequence[str]) -> Any:
        """The sparse TF-IDF rows of a batch: one transform, reused for scores and explanations."""
        return self.vectorizer.transform(texts)

    def scores(self, texts: Sequence[str], features: Any = None) -> npt.NDArray[np.float64]:
        """Probabilities, one row per text, one column per class in CLASSES."""
        if not texts:
            return np.zeros((0, len(CLASSES)))
        rows = self.features(texts) if features is None else features
        logits = rows @ self._coef.T + self._intercept
        return np.asarray(1 / (1 + np.exp(-logits)))

    def flags(self, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which scores cross their class's threshold (chosen by cross-validation in training)."""
        return np.asarray(scores >= self.thresholds)

    def explain(self, text: str, label: str, top: int = 5) -> list[WordWeight]:
        """The words (and word pairs) that raised this class's score most, with their share."""
        return self.explain_batch(self.features([text]), label, [0], top)[0]

    def explain_batch(
        self, features: Any, label: str, rows: Sequence[int], top: int = 5
    ) -> list[list[WordWeight]]:
        """`explain` for many rows of one transformed batch at once: one sparse product per class,
        then a few NumPy operations per row."""
        contribution = features.multiply(self._coef[CLASSES.index(label)]).tocsr()
        found = []
        for row in rows:
            start, end = contribution.indptr[row], contribution.indptr[row + 1]
            values, columns = contribution.data[start:end], contribution.indices[start:end]
            order = np.argsort(-values)[:top]
            found.append(
                [
                    WordWeight(str(self._words[columns[i]]), round(float(values[i]), 3))
                    for i in order
                    if values[i] > 0
                ]
            )
        return found


@cache
def shipped_model() -> HarmModel:
    return HarmModel.load()
