"""Train the tier-2 harm head shipped in src/reachwatch/enrich/models/harm_tier2.npz.

Run: .venv/bin/python training/fit_harm_tier2.py [--data ../shared/data/harm] [--model DIR]
(needs the embedding model: `make models`; a few minutes on 2 cores, almost all of it embedding)

Tier 2 reads a post through a sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX) and decides
the posts tier 1 left in its borderline band. Its head is one balanced logistic regression per
class over the normalised 384-dimensional embedding, on the same training sets as tier 1 (see
fit_harm.py), C chosen on the validation split (threat: 5-fold CV), the threshold by
cross-validation on the training data. The head is 3 × 385 numbers: a small .npz, not a pickle.
It is tied to the embedding model's weights: the file records their sha256.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from fit_harm import davidson, pick_threshold, threats, tweeteval
from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR, SentenceEncoder
from reachwatch.enrich.harm import CLASSES, MODEL_DIR
from reachwatch.enrich.normalise import for_classifier

CS = (0.25, 1.0, 4.0, 16.0, 64.0)
VERSION = "harm-tier2-2026.12"
GAB_NEGATIVES = 6000  # of 21,900: call-for-violence positives are rare (131); a sample of the rest suffices


def embed(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    return encoder.encode([for_classifier(text) for text in texts])


def fit_class(features, y, val=None, y_val=None) -> tuple[LogisticRegression, dict[str, object]]:  # type: ignore[no-untyped-def]
    scored = []
    for c in CS:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        if val is not None:
            predicted = model.fit(features, y).predict(val)
            scored.append((f1_score(y_val, predicted, average="macro"), c))
        else:
            folds = StratifiedKFold(5, shuffle=True, random_state=7)
            predicted = cross_val_predict(model, features, y, cv=folds)
            scored.append((f1_score(y, predicted, average="macro"), c))
    f1, c = max(scored)
    threshold, cv_f1 = pick_threshold(features, y, c)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(features, y)
    return model, {
        "C": c,
        "validation_macro_f1": round(f1 if val is not None else cv_f1, 4),
        "threshold": threshold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/harm")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: point --data at the harm data sets (see ../shared/data/README.md)")
    started = time.perf_counter()
    encoder = SentenceEncoder(args.model)
    rng = np.random.default_rng(5)
    off_x, off_y = tweeteval(args.data, "offensive", "train")
    off_vx, off_vy = tweeteval(args.data, "offensive", "val")
    hate_x, hate_y = tweeteval(args.data, "hate", "train")
    hate_vx, hate_vy = tweeteval(args.data, "hate", "val")
    dav_x, dav_y = davidson(args.data)
    thr_x, thr_y = threats(args.data)
    negatives = np.flatnonzero(thr_y == 0)
    keep = np.sort(
        np.concatenate([np.flatnonzero(thr_y == 1), rng.choice(negatives, GAB_NEGATIVES, replace=False)])
    )
    thr_x, thr_y = [thr_x[i] for i in keep], thr_y[keep]
    print(f"embedding {sum(map(len, (off_x, off_vx, hate_x, hate_vx, dav_x, thr_x))):,} texts …")
    cards: dict[str, dict[str, object]] = {}
    heads = {}
    heads["offensive"], cards["offensive"] = fit_class(
        embed(encoder, off_x), off_y, embed(encoder, off_vx), off_vy
    )
    cards["offensive"]["on"] = "TweetEval offensive val"
    both = embed(encoder, hate_x + dav_x)
    heads["hateful"], cards["hateful"] = fit_class(
        both, np.concatenate([hate_y, dav_y]), embed(encoder, hate_vx), hate_vy
    )
    cards["hateful"]["on"] = "TweetEval hate val"
    heads["threat"], cards["threat"] = fit_class(embed(encoder, thr_x), thr_y)
    cards["threat"]["on"] = "5-fold CV (at the chosen threshold), Gab cv + ETHOS violence"
    np.savez(
        MODEL_DIR / "harm_tier2.npz",
        coef=np.vstack([heads[name].coef_[0] for name in CLASSES]).astype(np.float32),
        intercept=np.array([heads[name].intercept_[0] for name in CLASSES], dtype=np.float32),
        thresholds=np.array([cards[name]["threshold"] for name in CLASSES], dtype=np.float32),
        classes=np.array(CLASSES),
        version=np.array(VERSION),
        encoder=np.array(encoder.version),
        encoder_sha256=np.array(encoder.manifest["sha256"]),
    )
    card = {
        "version": VERSION,
        "encoder": encoder.version,
        "classes": cards,
        "trained_in_s": round(time.perf_counter() - started, 1),
    }
    (MODEL_DIR / "harm_tier2.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
