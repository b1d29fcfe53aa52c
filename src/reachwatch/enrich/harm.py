"""The harm classifier: all-MiniLM-L6-v2 fine-tuned end to end with four heads (offensive,
hateful, threat, and whom the abuse targets: an individual, a group or nobody), trained by
training/train_harm.py and shipped as int8 ONNX in models/harm-v2 with its manifest (training
data and hashes, hyper-parameters, thresholds, metrics, the sha256 of the export).

Probabilities can be moved to another feed's base rates (prior shift, Saerens et al. 2002):
`estimate_priors` finds a feed's class priors by EM from the model's own outputs on unlabelled
posts, and `HarmModel.probabilities` shifts each logit by the change in prior log-odds.
Explanations are the model's own: the words whose removal lowers a class's score most
(occlusion), stopwords left out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.enrich.normalise import for_classifier
from reachwatch.enrich.transformer import OnnxText
from reachwatch.errors import UsageError

CLASSES = ("offensive", "hateful", "threat")
TARGETS = ("individual", "group", "untargeted")
MODEL_DIR = Path(__file__).parent / "models" / "harm-v2"
BORDER = 0.15  # a score this far below its class's threshold is borderline: shown, not flagged
_WORD = re.compile(r"[^\W\d_][\w'’*-]*", re.UNICODE)


class WordWeight(msgspec.Struct, array_like=True):
    word: str
    weight: float


@cache
def stopwords() -> frozenset[str]:
    """scikit-learn's English stopwords and the tokens the labelled tweets use for handles and links."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"user", "http", "rt", "amp", "i'm", "it's", "don't", "you're"}


def _logit(p: npt.NDArray[np.float64] | float) -> Any:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class HarmModel:
    """Scores batches of texts: one transformer pass per text gives every head."""

    def __init__(self, directory: Path = MODEL_DIR, threads: int | None = None) -> None:
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise UsageError(
                f"No harm model in {directory}: it ships with the repository (git checkout it), "
                "or train one with `make train-harm`."
            )
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        self.version = f"{self.manifest['version']}-{str(self.manifest['sha256'])[:12]}"
        self.languages = frozenset(self.manifest.get("languages", ["en"]))
        self.thresholds = np.array([float(self.manifest["thresholds"][name]) for name in CLASSES])
        self.training_priors = {name: float(self.manifest["training_priors"][name]) for name in CLASSES}
        self._model = OnnxText(directory, int(self.manifest["max_length"]), threads, self.manifest["sha256"])

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The six raw outputs per text: offensive, hateful, threat, then the three targets."""
        found = np.zeros((len(texts), len(CLASSES) + len(TARGETS)), dtype=np.float32)
        if not texts:
            return found
        for rows, ids, mask in self._model.batches([for_classifier(text) for text in texts]):
            found[rows] = self._model.run(ids, mask)
        return found

    def probabilities(
        self, logits: npt.NDArray[np.float32], priors: Mapping[str, float] | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per text, each class's probability (moved to `priors` when given: a feed's own base
        rates) and the target distribution (individual, group, untargeted)."""
        binary = logits[:, : len(CLASSES)].astype(np.float64)
        if priors:
            binary = binary + self.prior_shift(priors)
        target = logits[:, len(CLASSES) :].astype(np.float64)
        target = np.exp(target - target.max(axis=1, keepdims=True))
        return 1 / (1 + np.exp(-binary)), target / target.sum(axis=1, keepdims=True)

    def prior_shift(self, priors: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """The change in prior log-odds per class, from the training data's to `priors`."""
        return np.array(
            [
                _logit(priors[name]) - _logit(self.training_priors[name]) if name in priors else 0.0
                for name in CLASSES
            ]
        )

    def scores(
        self, texts: Sequence[str], priors: Mapping[str, float] | None = None
    ) -> npt.NDArray[np.float64]:
        """Probabilities, one row per text, one column per class in CLASSES."""
        return self.probabilities(self.logits(texts), priors)[0]

    def explain(
        self, texts: Sequence[str], label: str, priors: Mapping[str, float] | None = None, top: int = 5
    ) -> list[list[WordWeight]]:
        """Per text, the words whose removal lowers `label`'s score most, with the drop (occlusion:
        each content word taken out in turn, all variants scored in one batch). Stopwords, handles
        and links are not candidates; words whose removal lowers the score by under 0.01 are left out."""
        column = CLASSES.index(label)
        variants: list[str] = []
        owners: list[tuple[int, str]] = []
        for row, text in enumerate(texts):
            seen: set[str] = set()
            for match in _WORD.finditer(text):
                word = match.group(0)
                key = word.casefold().strip("'’*-")
                if (
                    key in stopwords()
                    or key in seen
                    or len(key) < 2
                    or text[max(0, match.start() - 1)] == "@"
                ):
                    continue
                seen.add(key)
                pattern = re.compile(rf"(?<![\w@]){re.escape(word)}(?!\w)")
                variants.append(pattern.sub(" ", text))
                owners.append((row, word))
                if len(seen) >= 40:
                    break
        base = self.scores(texts, priors)[:, column]
        without = self.scores(variants, priors)[:, column] if variants else np.zeros(0)
        found: list[list[tuple[float, str]]] = [[] for _ in texts]
        for (row, word), score in zip(owners, without.tolist(), strict=True):
            drop = float(base[row] - score)
            if drop >= 0.01:
                found[row].append((drop, word))
        return [
            [WordWeight(word, round(drop, 3)) for drop, word in sorted(words, reverse=True)[:top]]
            for words in found
        ]


def estimate_priors(
    probabilities: npt.NDArray[np.float64], training_prior: float, rounds: int = 100
) -> float:
    """A feed's prior of one class by EM on the model's probabilities for its unlabelled posts
    (Saerens, Latinne & Decaestecker 2002): re-weight each posterior by the new prior over the
    old, renormalise, and take the mean as the next prior, until it settles."""
    if len(probabilities) == 0:
        return training_prior
    old = np.clip(training_prior, 1e-6, 1 - 1e-6)
    prior = old
    for _ in range(rounds):
        up = probabilities * prior / old
        down = (1 - probabilities) * (1 - prior) / (1 - old)
        following = float(np.mean(up / (up + down)))
        if abs(following - prior) < 1e-6:
            return following
        prior = following
    return float(prior)


@cache
def shipped_model() -> HarmModel:
    return HarmModel()
