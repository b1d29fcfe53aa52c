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

from reachwatch.enrich.embedding import SentenceEncoder, load_encoder
from reachwatch.enrich.normalise import classifier_form, for_classifier
from reachwatch.enrich.tfidf import BulkTfidf
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
        self._bulk = BulkTfidf(self.vectorizer)

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
        return self._bulk.transform([for_classifier(text) for text in texts])

    def features_normalised(self, normalised: Sequence[str]) -> Any:
        """`features` of texts already through `normalise`."""
        return self._bulk.transform([classifier_form(text) for text in normalised])

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
        """`explain` for many rows of one transformed batch at once."""
        return [
            [WordWeight(word, weight) for word, weight in found]
            for found in self.explain_rows(features, label, rows, top)
        ]

    def explain_rows(
        self, features: Any, label: str, rows: Sequence[int], top: int = 5
    ) -> list[list[tuple[str, float]]]:
        """The top words per row as (word, weight) pairs, for many rows at once: one sparse product,
        one sort of all the rows' positive contributions, no per-row NumPy calls."""
        if not rows:
            return []
        chosen = features[np.asarray(rows)].multiply(self._coef[CLASSES.index(label)]).tocsr()
        owner = np.repeat(np.arange(len(rows)), np.diff(chosen.indptr))
        values, columns = chosen.data, chosen.indices
        positive = values > 0
        owner, values, columns = owner[positive], values[positive], columns[positive]
        order = np.lexsort((-values, owner))
        owner, values, columns = owner[order], values[order], columns[order]
        starts = np.searchsorted(owner, np.arange(len(rows)))
        rank = np.arange(len(owner)) - starts[owner]
        keep = rank < top
        pairs = list(
            zip(self._words[columns[keep]].tolist(), np.round(values[keep], 3).tolist(), strict=True)
        )
        ends = np.cumsum(np.bincount(owner[keep], minlength=len(rows))).tolist()
        return [pairs[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


@cache
def shipped_model() -> HarmModel:
    return HarmModel.load()


class HarmTier2:
    """The second tier: a sentence-embedding model and one logistic head per class (trained by
    training/fit_harm_tier2.py). It reads meaning rather than words, so it decides the posts
    whose tier-1 score fell in the borderline band; it is optional and loaded only when asked."""

    def __init__(self, encoder: SentenceEncoder, path: Path | None = None) -> None:
        where = path or MODEL_DIR / "harm_tier2.npz"
        if not where.is_file():
            raise UsageError(f"No tier-2 harm head at {where}: run training/fit_harm_tier2.py to train one.")
        with np.load(where) as head:
            if str(head["encoder_sha256"]) != encoder.manifest["sha256"]:
                raise UsageError(
                    f"The tier-2 harm head was trained on another embedding model than {encoder.version}: "
                    "export the model with `make models` (the same script and package versions) or retrain "
                    "the head with training/fit_harm_tier2.py."
                )
            self._coef = head["coef"].astype(np.float32)
            self._intercept = head["intercept"].astype(np.float32)
            self.thresholds = head["thresholds"].astype(np.float64)
            self.version = f"{head['version']}+{encoder.version}"
        self.encoder = encoder

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Probabilities, one row per text, one column per class in CLASSES."""
        if not texts:
            return np.zeros((0, len(CLASSES)))
        vectors = self.encoder.encode([for_classifier(text) for text in texts])
        return np.asarray(1 / (1 + np.exp(-(vectors @ self._coef.T + self._intercept))), dtype=np.float64)


@cache
def shipped_tier2(model_dir: str) -> HarmTier2:
    return HarmTier2(load_encoder(model_dir))
