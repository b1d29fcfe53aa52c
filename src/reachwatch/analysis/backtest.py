"""Backtesting reach forecasts on finished cascades: fit the calibration on one half, score the
other half against two naive baselines (the count so far; the author's median final count)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.forecast import (
    AgeCorrections,
    Calibration,
    Early,
    Kernel,
    fit_correction,
    forecast,
    raw_estimate,
)

EVAL_HORIZONS_S = (600.0, 3_600.0, 21_600.0)
# Ages the shipped calibration covers, so a live post of any age finds a correction near it.
CALIBRATION_AGES_S = (60.0, 300.0, 600.0, 1_800.0, 3_600.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0, 259_200.0)
KERNEL_GRID = [Kernel(s0=s0, theta=theta) for s0 in (60.0, 300.0, 900.0) for theta in (0.1, 0.242, 0.5, 1.0)]


class FinishedCascade(msgspec.Struct, kw_only=True):
    id: str
    author: str
    early: Early  # every engagement, with its time and whether it came through another
    final: int  # engagements when it finished


class BacktestRow(msgspec.Struct, kw_only=True):
    horizon_s: float
    cascades: int
    model_mape: float  # median absolute percentage error of the calibrated forecast
    model_coverage: float  # share of finals inside the 90% interval
    current_mape: float  # baseline: the count so far is the final count
    author_median_mape: float  # baseline: the author's median final count (or the count so far, if higher)


def cascade_from_tree(
    ident: str, author: str, delays_s: Sequence[float], parents: Sequence[int]
) -> FinishedCascade:
    times = np.asarray(delays_s[1:], dtype=np.float64)
    indirect = (np.asarray(parents[1:], dtype=np.int64) != 0).astype(np.float64)
    early = Early(times_s=times, counts=np.ones_like(times), indirect=indirect)
    return FinishedCascade(id=ident, author=author, early=early, final=len(times))


def half_of(ident: str) -> str:
    """A fixed split by id: 'fit' or 'eval' (about half each), the same on every machine."""
    return "fit" if hashlib.blake2b(ident.encode(), digest_size=2).digest()[0] < 128 else "eval"


def _errors(predicted: npt.NDArray[np.float64], finals: npt.NDArray[np.float64]) -> float:
    return float(np.median(np.abs(predicted - finals) / finals) * 100.0)


def author_priors(
    cascades: Sequence[FinishedCascade], reference: Sequence[FinishedCascade]
) -> list[float | None]:
    """Each cascade's author's median final count over the *other* reference cascades (None: none)."""
    by_author: dict[str, list[tuple[str, int]]] = {}
    for cascade in reference:
        by_author.setdefault(cascade.author, []).append((cascade.id, cascade.final))
    priors: list[float | None] = []
    for cascade in cascades:
        others = [final for ident, final in by_author.get(cascade.author, []) if ident != cascade.id]
        priors.append(float(np.median(others)) if others else None)
    return priors


def _age_corrections(
    cascades: Sequence[FinishedCascade], priors: list[float | None], kernel: Kernel, age: float
) -> AgeCorrections:
    raws = np.array([raw_estimate(c.early, age, kernel)[0] for c in cascades])
    finals = np.array([c.final for c in cascades], dtype=np.float64)
    observed = np.array([c.early.upto(age).total for c in cascades], dtype=np.float64)
    alone = fit_correction(raws, None, finals, observed, age)
    known = np.array([prior is not None for prior in priors])
    with_prior = None
    if known.sum() >= 30:
        prior_values = np.array([prior for prior in priors if prior is not None], dtype=np.float64)
        with_prior = fit_correction(raws[known], prior_values, finals[known], observed[known], age)
    return AgeCorrections(age_s=age, alone=alone, with_prior=with_prior)


def fit_calibration(
    cascades: Sequence[FinishedCascade], ages: Sequence[float] = CALIBRATION_AGES_S
) -> Calibration:
    """The kernel (from a small grid) and per-age corrections that best fit these cascades."""
    priors = author_priors(cascades, cascades)
    best: tuple[float, Kernel] | None = None
    for kernel in KERNEL_GRID:
        score = 0.0
        for age in EVAL_HORIZONS_S:
            fitted = _age_corrections(cascades, priors, kernel, age)
            score += _score(cascades, priors, kernel, age, fitted)
        if best is None or score < best[0]:
            best = (score, kernel)
    assert best is not None
    kernel = best[1]
    every_age = [_age_corrections(cascades, priors, kernel, age) for age in ages]
    return Calibration(kernel=kernel, corrections=every_age, trained_on=f"{len(cascades)} cascades")


def _score(
    cascades: Sequence[FinishedCascade],
    priors: list[float | None],
    kernel: Kernel,
    age: float,
    fitted: AgeCorrections,
) -> float:
    calibration = Calibration(kernel=kernel, corrections=[fitted])
    predicted = np.array(
        [forecast(c.early, age, calibration, p).predicted for c, p in zip(cascades, priors, strict=True)]
    )
    finals = np.array([c.final for c in cascades], dtype=np.float64)
    return _errors(predicted, finals)


def backtest(
    cascades: Sequence[FinishedCascade],
    calibration: Calibration,
    reference: Sequence[FinishedCascade] = (),
    horizons: Sequence[float] = EVAL_HORIZONS_S,
) -> list[BacktestRow]:
    """Score forecasts at each horizon; `reference` cascades give each author's median."""
    priors = author_priors(cascades, reference)
    overall = float(np.median([c.final for c in reference])) if reference else 0.0
    finals = np.array([c.final for c in cascades], dtype=np.float64)
    rows = []
    for horizon in horizons:
        results = [forecast(c.early, horizon, calibration, p) for c, p in zip(cascades, priors, strict=True)]
        predicted = np.array([r.predicted for r in results])
        low = np.array([r.low for r in results])
        high = np.array([r.high for r in results])
        observed = np.array([r.observed for r in results], dtype=np.float64)
        medians = np.array([overall if p is None else p for p in priors])
        rows.append(
            BacktestRow(
                horizon_s=horizon,
                cascades=len(cascades),
                model_mape=_errors(predicted, finals),
                model_coverage=float(np.mean((finals >= low) & (finals <= high))),
                current_mape=_errors(np.maximum(observed, 1.0), finals),
                author_median_mape=_errors(np.maximum(medians, observed), finals),
            )
        )
    return rows
