"""Where a post's engagement count will end up, from its early history, with a prediction interval.

A self-exciting point process in the spirit of SEISMIC (Zhao, Erdogdu, He, Rajaraman & Leskovec,
KDD 2015): each engagement exposes new people, who respond after a delay drawn from a power-law
memory kernel φ (flat for s0 seconds, then decaying as s^-(1+θ)). The post itself is the one
special node (its author's audience is far larger than anyone's), so it gets its own multiplier:
m0 = (its direct engagements so far) / Φ(t), Φ the kernel's CDF. Every other engagement is
expected to bring p more, p estimated as (their children so far) / Σ Φ(t − t_i). What remains is
[(m0 − c0) + p Σ (1 − Φ(t − t_i))] / (1 − p): the direct engagements still to come and the
unfinished offspring of those seen, each growing a branching tree of mean size 1 / (1 − p).

Where the platform does not say who an engagement came through, all hang from the post and p = 0.
The raw estimate is then corrected, per age, by a calibration fitted on finished cascades (the
median and the 5th/95th percentiles of log(final / raw estimate)), which also gives the interval.
Calibration file: models/forecast.json, made by training/fit_forecast.py.
"""

from __future__ import annotations

import functools
from importlib import resources

import msgspec
import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
MAX_BRANCHING = 0.95  # beyond this a cascade is supercritical; the estimate is capped, not infinite


class Kernel(msgspec.Struct, frozen=True):
    """SEISMIC's memory kernel: flat for `s0` seconds, then a power law with exponent 1 + θ."""

    s0: float = 300.0
    theta: float = 0.242

    def cdf(self, seconds: Floats) -> Floats:
        s = np.maximum(seconds, 0.0)
        flat = s / self.s0
        tail = 1.0 + (1.0 - np.power(np.maximum(s, self.s0) / self.s0, -self.theta)) / self.theta
        return np.where(s <= self.s0, flat, tail) / (1.0 + 1.0 / self.theta)


class Correction(msgspec.Struct, frozen=True):
    """log(final) ≈ log(raw) + w · (log(prior) − log(raw)) + median, with w = 0 when no prior.

    The prior is the author's median final count over earlier posts; early on it knows more than
    the few engagements seen, later the model takes over (w is fitted per age)."""

    age_s: float
    median: float  # of the log residual
    low: float  # its 5th percentile
    high: float  # its 95th percentile
    cascades: int
    prior_weight: float = 0.0


class AgeCorrections(msgspec.Struct, frozen=True):
    age_s: float
    alone: Correction  # when the author has no earlier finished posts
    with_prior: Correction | None = None


class Calibration(msgspec.Struct, frozen=True):
    kernel: Kernel
    corrections: list[AgeCorrections]
    trained_on: str = ""

    def at(self, age_s: float, has_prior: bool) -> Correction | None:
        """The correction fitted at the age nearest (in log time) to `age_s`."""
        if not self.corrections:
            return None
        ages = np.log([c.age_s for c in self.corrections])
        found = self.corrections[int(np.argmin(np.abs(ages - np.log(max(age_s, 1.0)))))]
        return found.with_prior if has_prior and found.with_prior is not None else found.alone


class Forecast(msgspec.Struct, kw_only=True):
    age_s: float
    observed: int
    raw: float  # the model's estimate before calibration
    predicted: float
    low: float  # the 90% interval
    high: float
    branching: float
    prior: float | None  # the author's median final count, when known
    calibrated: bool
    calibration: str = ""  # what the calibration was fitted on
    source: str = "events"  # what the early history came from: events or the platform's counts


def load_calibration(platform: str | None = None) -> Calibration:
    """The calibration shipped with reachwatch for this platform (models/forecast-PLATFORM.json),
    else the general one (models/forecast.json, fitted on real finished Twitter cascades)."""
    shipped = _shipped(f"forecast-{platform}.json") if platform is not None else None
    return msgspec.json.decode(shipped or _shipped("forecast.json") or b"", type=Calibration)


@functools.cache
def _shipped(name: str) -> bytes | None:
    """A shipped model file's bytes, read once per process (they change only with a release);
    decoded per call, so no caller shares a mutable calibration."""
    found = resources.files("reachwatch.analysis").joinpath("models", name)
    return found.read_bytes() if found.is_file() else None


class Early(msgspec.Struct, kw_only=True, frozen=True):
    """A post's engagements seen so far, as groups: when (seconds after the post), how many, and
    how many of those came through another engagement rather than straight from the post.
    One group per engagement, or one per time bucket: the arithmetic is the same."""

    times_s: Floats
    counts: Floats
    indirect: Floats

    def upto(self, age_s: float) -> Early:
        seen = self.times_s <= age_s
        return Early(times_s=self.times_s[seen], counts=self.counts[seen], indirect=self.indirect[seen])

    @property
    def total(self) -> int:
        return round(float(self.counts.sum()))


def raw_estimate(early: Early, age_s: float, kernel: Kernel) -> tuple[float, float]:
    """(final engagement count, branching ratio) from what was seen by `age_s`."""
    seen = early.upto(age_s)
    observed = float(seen.counts.sum())
    if observed == 0:
        return 0.0, 0.0
    exposure = kernel.cdf(age_s - seen.times_s)
    direct = observed - float(seen.indirect.sum())
    m0 = direct / max(float(kernel.cdf(np.array([age_s]))[0]), 1e-9)
    exposed = float((seen.counts * exposure).sum())
    offspring = float(seen.indirect.sum())
    branching = min(offspring / exposed, MAX_BRANCHING) if exposed > 0 else 0.0
    unfinished = float((seen.counts * (1.0 - exposure)).sum())
    remaining = (max(m0 - direct, 0.0) + branching * unfinished) / (1.0 - branching)
    return observed + remaining, branching


def forecast(early: Early, age_s: float, calibration: Calibration, prior: float | None = None) -> Forecast:
    """The calibrated forecast at `age_s`; `prior` is the author's median final count, if known."""
    raw, branching = raw_estimate(early, age_s, calibration.kernel)
    observed = early.upto(age_s).total
    correction = calibration.at(age_s, prior is not None)
    if correction is None:
        return Forecast(
            age_s=age_s, observed=observed, raw=raw, predicted=raw, low=float(observed), high=raw,
            branching=branching, prior=prior, calibrated=False,
        )  # fmt: skip
    centre = blend(raw, prior, correction.prior_weight) + correction.median
    return Forecast(
        age_s=age_s,
        observed=observed,
        raw=raw,
        predicted=max(float(np.exp(centre)), observed),
        low=max(float(np.exp(centre + correction.low - correction.median)), observed),
        high=max(float(np.exp(centre + correction.high - correction.median)), observed),
        branching=branching,
        prior=prior,
        calibrated=True,
        calibration=calibration.trained_on,
    )


def blend(raw: float, prior: float | None, weight: float) -> float:
    """log(raw) moved `weight` of the way to log(prior)."""
    log_raw = float(np.log(max(raw, 1.0)))
    if prior is None:
        return log_raw
    return log_raw + weight * (float(np.log(max(prior, 1.0))) - log_raw)


def fit_correction(
    raws: Floats, priors: Floats | None, finals: Floats, observed: Floats, age_s: float
) -> Correction:
    """The correction at one age: the prior weight (from a grid) and offset that minimise the
    median absolute percentage error, and the 5th/95th percentiles of what is left."""
    log_raw = np.log(np.maximum(raws, 1.0))
    log_final = np.log(np.maximum(finals, 1.0))
    weights = np.linspace(0.0, 1.0, 21) if priors is not None else np.zeros(1)
    best: tuple[float, float, float] | None = None
    for weight in weights:
        centre = log_raw if priors is None else log_raw + weight * (np.log(np.maximum(priors, 1.0)) - log_raw)
        offset = float(np.median(log_final - centre))
        predicted = np.maximum(np.exp(centre + offset), observed)
        error = float(np.median(np.abs(predicted - finals) / np.maximum(finals, 1.0)))
        if best is None or error < best[0]:
            best = (error, float(weight), offset)
    assert best is not None
    _, weight, offset = best
    centre = log_raw if priors is None else log_raw + weight * (np.log(np.maximum(priors, 1.0)) - log_raw)
    low, high = np.percentile(log_final - centre, [5.0, 95.0])
    return Correction(
        age_s=age_s, median=offset, low=float(low), high=float(high), cascades=len(raws), prior_weight=weight
    )
