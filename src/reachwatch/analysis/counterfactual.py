"""Spillover against a counterfactual: did harm toward a person rise after a post by more than it
rose, over the same windows, toward comparable people the post did not target (the donor pool)?
A news cycle that raises abuse toward every politician that week moves the pool too; a post's
own effect moves only its target. Pure statistics over counts per bin; the service gathers them.

Difference in differences (`did`): the ratio of the target's after/before rate ratio to the
pool's (pooled counts). Conditioning on the target's total, its after count is Binomial with the
share the pool's rate ratio predicts, so the exact interval of `spillover.rate_ratio` applies with
the after window's exposure scaled by the pool's ratio. The interval is widened by the day-to-day
dispersion of the target's counts before (quasi-Poisson, as the plain rate ratio) and by the pool's
own sampling variance. Assumption: without the post, the target's harm would have changed by the
same factor as the pool's (parallel trends on the log scale).

Synthetic control (`synthetic_control`): each series is divided by its mean before the post, and
non-negative donor weights summing to one are fitted to the target's before-window (Abadie et
al.); the effect is the target's after mean over the synthetic's. Inference is by placebos, not by
a formula: in space, each donor in turn is treated as the target and fitted from the others, and
the target's rise over its synthetic control (in units of its pre-fit error; one-sided) is ranked
among theirs (exact p-value, at best 1/(donors+1)); in time, the same statistic at fake post dates
inside the before-window. Not identified, with the
reason and no number, when the pool is too small, the target had no harm before, or the pre-fit
is worse than the target's own counting noise explains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from reachwatch.analysis.spillover import dispersion, rate_ratio

MIN_DONORS = 4  # a placebo p-value below 0.2 needs at least this many donors
POOR_FIT = 2.0  # pre-fit error this many times the target's counting noise: not identified


class DiD(msgspec.Struct, kw_only=True):
    ratio: float  # (target after/before rate ratio) / (pool after/before rate ratio)
    low: float
    high: float
    p_value: float  # two-sided, of "the target changed by the pool's factor"
    target_before: int
    target_after: int
    pool_before: int
    pool_after: int
    pool_ratio: float  # the pool's own after/before rate ratio (what the target "would have" done)
    donors: int
    dispersion: float
    alpha: float


def did(
    target_before: Sequence[int],
    target_after: Sequence[int],
    pool_before: Sequence[Sequence[int]],
    pool_after: Sequence[Sequence[int]],
    bin_hours: float,
    alpha: float = 0.05,
) -> DiD | None:
    """None when the pool had no harm in one of the windows (its ratio is not defined)."""
    tb, ta = int(sum(target_before)), int(sum(target_after))
    pb = int(sum(sum(row) for row in pool_before))
    pa = int(sum(sum(row) for row in pool_after))
    if pb == 0 or pa == 0 or not target_before or not target_after:
        return None
    before_hours, after_hours = len(target_before) * bin_hours, len(target_after) * bin_hours
    pool_ratio = (pa / after_hours) / (pb / before_hours)
    phi = dispersion(list(target_before))
    # The pool's ratio is estimated too: its variance (on the log scale) is added to the target's.
    target_var = 1 / max(tb, 0.5) + 1 / max(ta, 0.5)
    pool_var = 1 / pb + 1 / pa
    widened = phi * (1 + pool_var / target_var)
    found = rate_ratio(tb, before_hours, ta, after_hours * pool_ratio, alpha, widened)
    return DiD(
        ratio=found.ratio, low=found.low, high=found.high, p_value=found.p_value, target_before=tb,
        target_after=ta, pool_before=pb, pool_after=pa, pool_ratio=pool_ratio, donors=len(pool_before),
        dispersion=widened, alpha=alpha,
    )  # fmt: skip


class Placebo(msgspec.Struct, array_like=True):
    who: str  # a donor's id, or "day -k" for a fake post date k bins before the real one
    statistic: float  # mean excess over its synthetic control after the (fake) date, per pre-fit error


class SyntheticControl(msgspec.Struct, kw_only=True):
    identified: bool
    reason: str  # why not, when not identified; else what the numbers are
    weights: dict[str, float]  # donor → weight (non-zero ones)
    effect: float  # target after mean / synthetic after mean (normalised series); nan if not identified
    pre_error: float  # root mean squared error of the fit before (normalised units)
    noise: float  # the target's counting noise before, in the same units (1/√mean count per bin)
    post_error: float
    statistic: float  # the target's own rise over its synthetic control (÷ fit error), as placebos'
    p_space: float  # rank of the target's rise among the donors' placebos (one-sided)
    p_time: float  # rank of the real date's among fake post dates in the before-window
    placebos: list[Placebo]
    target: list[float]  # the target's normalised series, before then after
    synthetic: list[float]  # the synthetic control's


def _weights(target: npt.NDArray[np.float64], donors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Non-negative weights summing to one minimising ‖target − weightsᵀ·donors‖ (donors: rows)."""
    # NNLS with the sum constraint as a heavily weighted extra row.
    heavy = 1e3 * max(1.0, float(np.abs(target).max()))
    a = np.vstack([donors.T, np.full((1, donors.shape[0]), heavy)])
    b = np.concatenate([target, [heavy]])
    from scipy import optimize  # loaded when a control is fitted, not at start-up

    weights, _ = optimize.nnls(a, b, maxiter=50 * donors.shape[0] + 100)
    total = weights.sum()
    return weights / total if total > 0 else np.full(donors.shape[0], 1 / donors.shape[0])


def _fit(
    target: npt.NDArray[np.float64], donors: npt.NDArray[np.float64], split: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, float]:
    """Weights, synthetic series, pre and post RMSE, fitting on bins [0, split)."""
    weights = _weights(target[:split], donors[:, :split])
    synthetic = weights @ donors
    pre = float(np.sqrt(np.mean((target[:split] - synthetic[:split]) ** 2)))
    post = float(np.sqrt(np.mean((target[split:] - synthetic[split:]) ** 2)))
    return weights, synthetic, pre, post


def _ratio(pre: float, post: float) -> float:
    return post / pre if pre > 0 else math.inf


def _rise(
    series: npt.NDArray[np.float64], synthetic: npt.NDArray[np.float64], split: int, pre: float
) -> float:
    """The mean excess after the split over the synthetic, in units of the pre-fit error: a
    one-sided statistic (a rise), scaled so that a series fitted loosely does not dominate."""
    excess = float(np.mean(series[split:] - synthetic[split:]))
    return excess / pre if pre > 0 else math.copysign(math.inf, excess)


def synthetic_control(
    target_before: Sequence[int],
    target_after: Sequence[int],
    donors_before: Mapping[str, Sequence[int]],
    donors_after: Mapping[str, Sequence[int]],
) -> SyntheticControl:
    def refused(reason: str) -> SyntheticControl:
        return SyntheticControl(
            identified=False, reason=reason, weights={}, effect=math.nan, pre_error=math.nan,
            noise=math.nan, post_error=math.nan, statistic=math.nan, p_space=math.nan, p_time=math.nan,
            placebos=[], target=[], synthetic=[],
        )  # fmt: skip

    split = len(target_before)
    target_mean = float(np.mean(target_before)) if split else 0.0
    if target_mean == 0:
        return refused("not identified: no harm toward the person before the post, nothing to scale by")
    usable = [key for key in donors_before if np.mean(donors_before[key]) > 0]
    if len(usable) < MIN_DONORS:
        return refused(
            f"not identified: {len(usable)} donors with harm before the post; a placebo test needs at "
            f"least {MIN_DONORS} (add protected people or a comparison pool)"
        )
    series = np.array([*target_before, *target_after], dtype=np.float64) / target_mean
    pool = np.array(
        [[*donors_before[key], *donors_after[key]] for key in usable], dtype=np.float64
    ) / np.array([[np.mean(donors_before[key])] for key in usable])
    weights, synthetic, pre, post = _fit(series, pool, split)
    noise = 1 / math.sqrt(target_mean)
    statistic = _rise(series, synthetic, split, pre)
    placebos = []
    for i, key in enumerate(usable):
        others = np.delete(pool, i, axis=0)
        _, placebo_synthetic, placebo_pre, _ = _fit(pool[i], others, split)
        placebos.append(Placebo(key, _rise(pool[i], placebo_synthetic, split, placebo_pre)))
    p_space = (1 + sum(p.statistic >= statistic for p in placebos)) / (1 + len(placebos))
    # Fake post dates in the second half of the before-window, each fitted on what precedes it and
    # scored over as many bins after it as the real after-window has (or as the before-window allows).
    in_time = []
    width = len(target_after)
    for fake in range(max(2, split // 2), split - 1):
        end = min(split, fake + width)
        _, fake_synthetic, fake_pre, _ = _fit(series[:end], pool[:, :end], fake)
        in_time.append(Placebo(f"bin -{split - fake}", _rise(series[:end], fake_synthetic, fake, fake_pre)))
    p_time = (
        (1 + sum(p.statistic >= statistic for p in in_time)) / (1 + len(in_time)) if in_time else math.nan
    )
    effect = (
        float(series[split:].mean() / synthetic[split:].mean()) if synthetic[split:].mean() > 0 else math.inf
    )
    shown = {key: round(float(w), 4) for key, w in zip(usable, weights, strict=True) if w > 1e-4}
    if pre > POOR_FIT * noise:
        return SyntheticControl(
            identified=False,
            reason=(
                f"not identified: the synthetic control fits the before-window poorly (error {pre:.2f} "
                f"against counting noise {noise:.2f})"
            ),
            weights=shown, effect=math.nan, pre_error=pre, noise=noise, post_error=post, statistic=statistic,
            p_space=math.nan,
            p_time=math.nan, placebos=placebos + in_time, target=series.tolist(),
            synthetic=synthetic.tolist(),
        )  # fmt: skip
    return SyntheticControl(
        identified=True,
        reason=f"{len(usable)} donors; p-values are exact ranks among placebos (smallest possible "
        f"{1 / (1 + len(placebos)):.3f} in space)",
        weights=shown, effect=effect, pre_error=pre, noise=noise, post_error=post, statistic=statistic,
        p_space=p_space,
        p_time=p_time, placebos=placebos + in_time, target=series.tolist(), synthetic=synthetic.tolist(),
    )  # fmt: skip
