"""The base rates of harm in this deployment's own feed. The model is trained on keyword-sampled
sets where a third of the texts are offensive; a real feed has far fewer, so at the training
priors it flags too much. `fit` estimates this store's priors by EM from the model's own
probabilities on its unlabelled posts (enrich/harm.estimate_priors) and keeps them in the store;
enrichment then scores every new post at these priors (audited, like every change)."""

from __future__ import annotations

import time

import msgspec
import numpy as np

from reachwatch.enrich.harm import CLASSES, HarmModel, estimate_priors, shipped_model
from reachwatch.errors import UsageError
from reachwatch.service import audit
from reachwatch.store import accounts, enrichments
from reachwatch.store.database import Store

KEY = "harm-priors"
MIN_POSTS = 300  # fewer scored posts than this give priors too uncertain to move decisions by
SAMPLE = 50_000


class Priors(msgspec.Struct, kw_only=True):
    model: str  # the model version whose outputs they were fitted on
    posts: int
    priors: dict[str, float]
    training_priors: dict[str, float]
    fitted: str


def stored(store: Store, model: HarmModel | None = None) -> Priors | None:
    """This store's fitted priors, when it has some for the shipped model (priors fitted on another
    model's outputs do not carry over)."""
    value = accounts.stored_value(store, KEY)
    if value is None:
        return None
    found = msgspec.json.decode(value, type=Priors)
    return found if found.model == (model or shipped_model()).version else None


def stored_priors(store: Store) -> dict[str, float] | None:
    found = stored(store)
    return dict(found.priors) if found else None


def estimate(raw: list[dict[str, float]], model: HarmModel) -> dict[str, float]:
    """Each class's prior in a feed, from the model's probabilities (at training priors) on its posts."""
    return {
        name: round(estimate_priors(np.array([row[name] for row in raw]), model.training_priors[name]), 5)
        for name in CLASSES
    }


def fit(store: Store, by: str, model: HarmModel | None = None) -> Priors:
    """Fit this store's priors on its scored posts (newest first, up to SAMPLE) and keep them."""
    model = model or shipped_model()
    raw = [
        result["raw"]
        for result in enrichments.sample(store, "harm", SAMPLE)
        if isinstance(result.get("raw"), dict) and str(result.get("model")) == model.version
    ]
    if len(raw) < MIN_POSTS:
        raise UsageError(
            f"Only {len(raw)} posts in this store were scored by {model.version}: fitting priors needs "
            f"{MIN_POSTS}. Ingest more of the feed first."
        )
    found = Priors(
        model=model.version, posts=len(raw), priors=estimate(raw, model),
        training_priors=model.training_priors, fitted=time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    )  # fmt: skip
    accounts.store_value(store, KEY, msgspec.json.encode(found).decode())
    audit.record(store, by, "change", "harm-priors", detail={"posts": len(raw), **found.priors})
    return found
