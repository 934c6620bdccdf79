"""Statistics on a benchmark: corrected resampled t-tests, intervals, the leakage view.

Every method of a results directory is evaluated on the *same* splits (same runs, same
folds), so two methods are compared fold by fold. The folds of repeated K-fold cross
validation overlap in their training groups, so the per-fold accuracy differences are
correlated and the ordinary paired t-test is far too optimistic. We use the corrected
resampled t-test of Nadeau & Bengio (2003, "Inference for the generalization error",
Machine Learning 52:239-281), in the repeated-K-fold form of Bouckaert & Frank (2004)
and of scikit-learn's example "Statistical comparison of models using grid search"::

    t = mean(d) / sqrt((1/(k·r) + n_test/n_train) · var(d, ddof=1)),   df = k·r − 1

on the k·r per-fold differences d_j, with a *two-sided* p-value from Student's t.

Choices where the references are silent:

- ``n_train`` is what the final model was trained on: the fit group, plus the
  validation group when the results were refit (the default, Li 2021 §3.6).
  Group sizes vary from fold to fold (always under the subject-independent protocol),
  so the ratio is mean(n_test) / mean(n_train) over the paired folds.
- Only complete runs count (as in Tables 1-3); two methods are paired on the
  (run, fold) pairs both have.
- The correction was derived for random (image-level) resampling. Under the
  subject-independent protocol the folds are groups of people, whose sizes and
  difficulty vary, so the correction is only approximate there; reports say so.
- No correction for multiple comparisons is applied to ``p_vs_best``; with many
  methods, read "*" as a screening mark, not a proof.
- The 95 % interval of a method's OA (``ci95_low``/``ci95_high`` in Table 3) is the
  *corrected-variance* interval, centred on the OA mean over runs:
  ``oa_mean ± t_{0.975, k·r−1} · sqrt((1/(k·r) + n_test/n_train) · var(fold accuracies))``.
  The naive interval over runs (mean ± t·SD/√r) ignores that every run reuses the same
  images, and is much narrower than the uncertainty about accuracy on new data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from ..errors import FerBenchError
from ..files import write_atomic
from .markdown import counted, heading, markdown_table

#: Significance level of the "*" mark in Table 3.
ALPHA = 0.05

#: Shown wherever p-values appear.
CORRECTION_NOTE = (
    "p-values: two-sided corrected resampled t-test (Nadeau & Bengio 2003) on the per-fold accuracy "
    "differences over the same splits, df = k·r − 1, no multiple-comparison correction; 95 % intervals use "
    "the same corrected variance of the per-fold accuracies. The correction assumes random (image-level) "
    "resampling and is only approximate for grouped, subject-independent folds."
)


@dataclass(frozen=True)
class TTestResult:
    """A corrected resampled t-test of ``mean(d) = 0``."""

    mean_difference: float  #: mean of the per-fold differences (A − B, percentage points)
    t: float  #: corrected t statistic
    df: int  #: degrees of freedom, k·r − 1
    p_value: float  #: two-sided p-value
    corrected_se: float  #: sqrt((1/(k·r) + n_test/n_train) · var(d))
    n_pairs: int  #: k·r, the number of paired folds
    test_train_ratio: float  #: n_test / n_train used in the correction

    def as_dict(self) -> dict:
        return asdict(self)


def corrected_variance_factor(n_pairs: int, n_train: float, n_test: float) -> float:
    """The factor ``1/(k·r) + n_test/n_train`` that replaces ``1/(k·r)`` of the naive test."""
    if n_pairs < 1:
        raise FerBenchError("the corrected t-test needs at least one fold")
    if not (n_train > 0 and n_test > 0):
        raise FerBenchError(f"the corrected t-test needs positive set sizes (n_train={n_train}, n_test={n_test})")
    return 1.0 / n_pairs + float(n_test) / float(n_train)


def corrected_resampled_ttest(differences: Iterable[float], n_train: float, n_test: float) -> TTestResult:
    """Nadeau & Bengio's corrected resampled t-test on per-fold score differences.

    ``differences`` are the k·r per-fold differences A − B (same folds for both);
    ``n_train``/``n_test`` the sizes of a fold's training and test sets. Returns a
    :class:`TTestResult` with a two-sided p-value. With zero variance the p-value is 1
    when every difference is 0 and 0 otherwise (t = ±inf); with a single fold it is NaN.
    """
    d = np.asarray(list(differences), dtype=float)
    if d.ndim != 1 or len(d) == 0:
        raise FerBenchError("the corrected t-test needs a non-empty vector of differences")
    if np.isnan(d).any():
        raise FerBenchError("the differences contain NaN")
    n = len(d)
    ratio = float(n_test) / float(n_train) if n_train else float("nan")
    factor = corrected_variance_factor(n, n_train, n_test)
    mean = float(d.mean())
    df = n - 1
    if n < 2:
        return TTestResult(mean, float("nan"), df, float("nan"), float("nan"), n, ratio)
    var = float(np.var(d, ddof=1))
    se = math.sqrt(factor * var)
    if se == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0.0 else 0.0
    else:
        t = mean / se
        p = float(2.0 * _scipy_stats.t.sf(abs(t), df))
    return TTestResult(mean, t, df, min(p, 1.0), se, n, ratio)


def corrected_interval(
    values: Iterable[float], n_train: float, n_test: float, confidence: float = 0.95, centre: float | None = None
) -> tuple[float, float]:
    """Corrected-variance interval for the mean of per-fold scores.

    ``centre ± t_{(1+confidence)/2, n−1} · sqrt((1/n + n_test/n_train) · var(values, ddof=1))``;
    ``centre`` defaults to the mean of ``values`` (Table 3 passes the OA mean over runs).
    NaN bounds with fewer than two values.
    """
    v = np.asarray(list(values), dtype=float)
    centre = float(v.mean()) if centre is None and len(v) else centre
    if len(v) < 2 or centre is None:
        return float("nan"), float("nan")
    half = float(_scipy_stats.t.ppf(0.5 + confidence / 2.0, len(v) - 1)) * math.sqrt(
        corrected_variance_factor(len(v), n_train, n_test) * float(np.var(v, ddof=1))
    )
    return centre - half, centre + half


# -- on a results directory -----------------------------------------------------------


def complete_folds(results, method: str) -> pd.DataFrame:
    """The folds of ``method``'s complete runs: run, fold, accuracy, n_train, n_test.

    ``n_train`` is the number of images the final model was trained on: the training
    group, plus the validation group when the results were refit (Li 2021, §3.6).
    """
    runs = results.complete_runs(method)
    rows = results.folds[(results.folds["method"] == method) & results.folds["run"].isin(runs)]
    rows = rows[["run", "fold", "accuracy", "n_train", "n_val", "n_test"]].reset_index(drop=True)
    if results.refit:
        rows["n_train"] = rows["n_train"] + rows["n_val"].fillna(0).astype(int)
    return rows.drop(columns="n_val")


def paired_folds(results, method_a: str, method_b: str) -> pd.DataFrame:
    """Per-fold accuracies of two methods on the folds both completed, with ``diff = a − b``."""
    a = complete_folds(results, method_a)
    b = complete_folds(results, method_b)
    pairs = a.merge(b, on=["run", "fold"], suffixes=("_a", "_b"))
    if pairs.empty:
        raise FerBenchError(f"{method_a!r} and {method_b!r} have no complete run in common")
    pairs["diff"] = pairs["accuracy_a"] - pairs["accuracy_b"]
    return pairs


def compare_methods(results, method_a: str, method_b: str) -> TTestResult:
    """``method_a`` against ``method_b`` (positive: A better): the corrected resampled
    t-test over cross-validation folds, or, for a fixed holdout split, McNemar's exact test
    on the first common run's test predictions (:func:`mcnemar_test`)."""
    if _is_holdout(results):
        return mcnemar_test(results, method_a, method_b)
    pairs = paired_folds(results, method_a, method_b)
    return corrected_resampled_ttest(pairs["diff"], pairs["n_train_a"].mean(), pairs["n_test_a"].mean())


def _is_holdout(results) -> bool:
    from ..model_selection import PROTOCOLS

    protocol = PROTOCOLS.get(results.protocol) if results.protocol in PROTOCOLS else None
    return protocol is not None and not protocol.rotating


def mcnemar_test(results, method_a: str, method_b: str) -> TTestResult:
    """McNemar's exact test (McNemar 1947; Dietterich 1998 recommends it for one fixed test
    set) of two methods' predictions on the same test images, in the first run both
    completed: a two-sided binomial test (:func:`scipy.stats.binomtest`) of the images only
    A got right against those only B got right. ``mean_difference`` is OA(A) − OA(B) in
    that run (points); ``t`` is NaN and ``df`` the number of discordant images."""
    runs = sorted(set(results.complete_runs(method_a)) & set(results.complete_runs(method_b)))
    if not runs:
        raise FerBenchError(f"{method_a!r} and {method_b!r} have no complete run in common")
    p = results.predictions
    a = p[(p["method"] == method_a) & (p["run"] == runs[0])].set_index("idx")
    b = p[(p["method"] == method_b) & (p["run"] == runs[0])].set_index("idx")
    joined = a.join(b, lsuffix="_a", rsuffix="_b", how="inner")
    right_a = joined["y_pred_a"] == joined["y_true_a"]
    right_b = joined["y_pred_b"] == joined["y_true_b"]
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    n = len(joined)
    difference = 100.0 * (int(right_a.sum()) - int(right_b.sum())) / n if n else float("nan")
    pvalue = float(_scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue) if only_a + only_b else 1.0
    return TTestResult(difference, float("nan"), only_a + only_b, pvalue, float("nan"), n, float("nan"))


def oa_interval(results, method: str, confidence: float = 0.95) -> tuple[float, float]:
    """The 95 % interval of ``method``'s OA (centred on the OA mean over runs): the
    corrected-variance interval over cross-validation folds, or, for a holdout split, the
    Wilson score interval of a proportion on the test set's size."""
    if _is_holdout(results):
        mean, _, n_runs = results.oa_summary(method)
        folds = complete_folds(results, method)
        if not n_runs or not len(folds):
            return float("nan"), float("nan")
        n_test = int(folds["n_test"].iloc[0])
        interval = _scipy_stats.binomtest(int(round(mean / 100.0 * n_test)), n_test).proportion_ci(
            confidence_level=confidence, method="wilson")
        return 100.0 * interval.low, 100.0 * interval.high
    folds = complete_folds(results, method)
    if len(folds) < 2:
        return float("nan"), float("nan")
    mean, _, _ = results.oa_summary(method)
    return corrected_interval(folds["accuracy"], folds["n_train"].mean(), folds["n_test"].mean(), confidence, mean)


def ranked_methods(results, complete_only: bool = False) -> list[tuple[str, float]]:
    """Methods with at least one complete run (``complete_only``: every run complete),
    best mean OA first (ties by name)."""
    means = []
    for method in results.methods:
        if complete_only and not results.is_complete(method):
            continue
        mean, _, n = results.oa_summary(method)
        if n:
            means.append((method, mean))
    return sorted(means, key=lambda item: (-item[1], item[0]))


def significance_columns(results, alpha: float = ALPHA) -> pd.DataFrame:
    """Table 3's statistics, indexed by method: ci95_low, ci95_high, ci95_note, p_vs_best,
    significance.

    The best method is the one with the highest mean OA among those with every run
    complete. ``significance`` is ``"best"`` for it, ``"*"`` when a method's difference
    from it has p < ``alpha``, ``"n.s."`` otherwise, ``"incomplete"`` for a method with
    unfinished runs (its p-value uses only the folds it shares with the best), and empty
    when the test cannot be computed (a single fold in common). Intervals are clipped to
    [0, 100] and ``ci95_note`` says when one is uninformative (:func:`interval_note`).
    """
    ranked = ranked_methods(results, complete_only=True)
    best = ranked[0][0] if ranked else None
    rows = {}
    for method, _ in ranked_methods(results):
        low, high = oa_interval(results, method)
        note = interval_note(low, high, len(complete_folds(results, method)), _is_holdout(results))
        if method == best:
            p, mark = float("nan"), "best"
        else:
            p = compare_methods(results, best, method).p_value if best else float("nan")
            mark = "" if math.isnan(p) else ("*" if p < alpha else "n.s.")
            if not results.is_complete(method):
                mark = "incomplete"
        rows[method] = {"ci95_low": _clip(low), "ci95_high": _clip(high), "ci95_note": note, "p_vs_best": p,
                        "significance": mark}
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["ci95_low", "ci95_high", "ci95_note", "p_vs_best", "significance"]
    )


#: Fewest per-fold values for which a 95 % interval is shown as informative.
MIN_FOLDS_FOR_INTERVAL = 10


def interval_note(low: float, high: float, n_folds: int, holdout: bool = False) -> str:
    """Why an OA interval is uninformative (empty when it is not): fewer than
    :data:`MIN_FOLDS_FOR_INTERVAL` fold values (the t quantile explodes with few degrees of
    freedom), or bounds beyond 0-100 % before clipping."""
    if math.isnan(low) or math.isnan(high):
        return ""
    if n_folds < MIN_FOLDS_FOR_INTERVAL and not holdout:
        return f"uninformative: only {counted(n_folds, 'fold')}"
    if low < 0 or high > 100:
        return "uninformative: clipped to 0-100"
    return ""


def _clip(value: float) -> float:
    return value if math.isnan(value) else min(100.0, max(0.0, value))


def pairwise_tests(results) -> pd.DataFrame:
    """Every pair of methods (better mean OA first): mean difference, t, df, p, correction ratio."""
    ranked = [m for m, _ in ranked_methods(results)]
    rows = []
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            res = compare_methods(results, a, b)
            rows.append(
                {
                    "method_a": a,
                    "method_b": b,
                    "mean_difference": res.mean_difference,
                    "t": res.t,
                    "df": res.df,
                    "p_value": res.p_value,
                    "significant": bool(res.p_value < ALPHA) if not math.isnan(res.p_value) else False,
                    "n_test_over_n_train": res.test_train_ratio,
                }
            )
    return pd.DataFrame(
        rows, columns=["method_a", "method_b", "mean_difference", "t", "df", "p_value", "significant", "n_test_over_n_train"]
    )


def format_p(p: float) -> str:
    """A p-value for tables: ``0.0312``, ``<0.0001``, empty for NaN."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


#: Shown instead of :data:`CORRECTION_NOTE` for a holdout split.
HOLDOUT_NOTE = (
    "p-values: McNemar's exact test on the first common run's test predictions (one fixed test set; "
    "Dietterich 1998), no multiple-comparison correction; 95 % intervals: Wilson score interval of the OA on "
    "the test set's size."
)


def stats_note(results=None) -> str:
    """The note printed under every table with intervals or p-values."""
    if results is not None and _is_holdout(results):
        return (
            "ci95_low/ci95_high: 95 % interval of the OA; p_vs_best: p-value against the best mean OA among "
            "complete methods; significance: `best`, `*` (p < 0.05), `n.s.` or `incomplete`. " + HOLDOUT_NOTE + "\n"
        )
    return (
        "ci95_low/ci95_high: 95 % interval of the OA, clipped to 0-100 (ci95_note says when it is "
        "uninformative); p_vs_best: p-value against the best mean OA among complete methods, on the folds both "
        "share; significance: `best`, `*` (p < 0.05), `n.s.` or `incomplete`. " + CORRECTION_NOTE + "\n"
    )


def write_statistics(results, out: Path) -> list[Path]:
    """Write ``pairwise_tests.csv`` and ``.md`` (every pair of methods) into ``out``."""

    table = pairwise_tests(results)
    csv = out / "pairwise_tests.csv"
    write_atomic(csv, table.to_csv(index=False, lineterminator="\n", float_format="%.6g"))
    shown = table.copy()
    shown["p_value"] = shown["p_value"].map(format_p)
    shown["t"] = shown["t"].map(lambda v: f"{v:.3f}")
    shown["n_test_over_n_train"] = shown["n_test_over_n_train"].map(lambda v: f"{v:.4f}")
    md = out / "pairwise_tests.md"
    write_atomic(
        md,
        heading(results, "Pairwise comparison — corrected resampled t-test")
        + "mean_difference = OA(method_a) − OA(method_b) over the paired folds, percentage points.\n\n"
        + markdown_table(shown, index=False)
        + f"\n{HOLDOUT_NOTE if _is_holdout(results) else CORRECTION_NOTE}\n",
    )
    return [csv, md]
