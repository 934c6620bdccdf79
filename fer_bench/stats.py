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

- ``n_train`` is the fit group only (``n_train`` in the store), not training +
  validation: the smaller value gives the larger, more conservative correction.
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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from .errors import FerBenchError
from .files import write_atomic

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
    """The folds of ``method``'s complete runs: run, fold, accuracy, n_train, n_test."""
    runs = results.complete_runs(method)
    rows = results.folds[(results.folds["method"] == method) & results.folds["run"].isin(runs)]
    return rows[["run", "fold", "accuracy", "n_train", "n_test"]].reset_index(drop=True)


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
    """Corrected resampled t-test of ``method_a`` against ``method_b`` (positive: A better)."""
    pairs = paired_folds(results, method_a, method_b)
    return corrected_resampled_ttest(pairs["diff"], pairs["n_train_a"].mean(), pairs["n_test_a"].mean())


def oa_interval(results, method: str, confidence: float = 0.95) -> tuple[float, float]:
    """The corrected-variance interval of ``method``'s OA (centred on the OA mean over runs)."""
    folds = complete_folds(results, method)
    if len(folds) < 2:
        return float("nan"), float("nan")
    mean, _, _ = results.oa_summary(method)
    return corrected_interval(folds["accuracy"], folds["n_train"].mean(), folds["n_test"].mean(), confidence, mean)


def ranked_methods(results) -> list[tuple[str, float]]:
    """Methods with at least one complete run, best mean OA first (ties by name)."""
    means = []
    for method in results.methods:
        mean, _, n = results.oa_summary(method)
        if n:
            means.append((method, mean))
    return sorted(means, key=lambda item: (-item[1], item[0]))


def significance_columns(results, alpha: float = ALPHA) -> pd.DataFrame:
    """Table 3's statistics, indexed by method: ci95_low, ci95_high, p_vs_best, significance.

    ``significance`` is ``"best"`` for the method with the highest mean OA, ``"*"`` when
    its difference from the best has p < ``alpha``, ``"n.s."`` otherwise, and empty when
    the test cannot be computed (a single fold in common).
    """
    ranked = ranked_methods(results)
    rows = {}
    best = ranked[0][0] if ranked else None
    for method, _ in ranked:
        low, high = oa_interval(results, method)
        if method == best:
            p, mark = float("nan"), "best"
        else:
            p = compare_methods(results, best, method).p_value
            mark = "" if math.isnan(p) else ("*" if p < alpha else "n.s.")
        rows[method] = {"ci95_low": low, "ci95_high": high, "p_vs_best": p, "significance": mark}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["ci95_low", "ci95_high", "p_vs_best", "significance"])


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


# -- several results directories ---------------------------------------------------------


def _as_results(item):
    from .results import Results

    return item if isinstance(item, Results) else Results(item)


def leakage_table(image_level, subject_independent) -> pd.DataFrame:
    """Image-level vs subject-independent OA of the methods run under both protocols.

    Both arguments are results (or directories) of the *same dataset* (same
    fingerprint), the first under ``--protocol paper``, the second under ``subject``.
    ``gap`` = image-level − subject-independent OA, in percentage points: how much the
    image-level protocol overstates accuracy on people not seen in training.
    """
    paper, subject = _as_results(image_level), _as_results(subject_independent)
    if paper.protocol != "paper" or subject.protocol != "subject":
        raise FerBenchError(
            f"leakage view needs an image-level and a subject-independent run; got {paper.protocol!r} "
            f"({paper.out}) and {subject.protocol!r} ({subject.out})"
        )
    fp_a, fp_b = paper.config.get("dataset_fingerprint"), subject.config.get("dataset_fingerprint")
    if fp_a != fp_b:
        raise FerBenchError(f"{paper.out} and {subject.out} are runs on different datasets (fingerprints differ)")
    rows = []
    for method in paper.methods:
        if method not in subject.methods:
            continue
        m_a, _, n_a = paper.oa_summary(method)
        m_b, _, n_b = subject.oa_summary(method)
        if n_a and n_b:
            rows.append(
                {
                    "method": method,
                    "image_level_oa": round(m_a, 2),
                    "subject_independent_oa": round(m_b, 2),
                    "gap": round(m_a - m_b, 2),
                }
            )
    return pd.DataFrame(rows, columns=["method", "image_level_oa", "subject_independent_oa", "gap"])


@dataclass
class Comparison:
    """Several results directories side by side (see :func:`compare_results`)."""

    table: pd.DataFrame  #: one row per method, one "mean ± SD" column per directory
    columns: dict[str, str]  #: column label → directory
    leakage: dict[str, pd.DataFrame]  #: dataset name → leakage table, where both protocols were run

    def to_markdown(self) -> str:
        from .report import markdown_table

        text = "# fer-bench comparison\n\nOA (%) mean ± SD over runs; columns are results directories:\n\n"
        text += "".join(f"- `{label}`: {path}\n" for label, path in self.columns.items()) + "\n"
        text += markdown_table(self.table, index=False)
        for name, table in self.leakage.items():
            text += (
                f"\n## Leakage view — {name}\n\nThe same dataset under both protocols; gap = image-level − "
                "subject-independent OA (percentage points), the optimism of letting one person's images "
                "fall in both training and test groups.\n\n"
            )
            text += markdown_table(table, index=False)
        return text


def compare_results(directories: Sequence[str | Path]) -> Comparison:
    """Put several results directories (datasets, protocols) side by side.

    Columns are labelled ``<dataset> (<protocol>, <runs>×<folds>)``; when two
    directories hold the same dataset (same fingerprint) under the image-level and the
    subject-independent protocol, their :func:`leakage_table` is added.
    """
    from .metrics import format_mean_sd

    if not directories:
        raise FerBenchError("compare needs at least one results directory")
    loaded = [_as_results(d) for d in directories]
    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    methods: list[str] = []
    for res in loaded:
        label = f"{res.dataset.get('name', '?')} ({res.protocol_short}, {res.n_runs}×{res.n_folds})"
        base, i = label, 2
        while label in columns:
            label, i = f"{base} #{i}", i + 1
        columns[label] = str(res.out)
        for method in res.methods:
            mean, sd, n = res.oa_summary(method)
            if not n:
                continue
            if method not in methods:
                methods.append(method)
            values.setdefault(method, {})[label] = format_mean_sd(mean, sd)
    table = pd.DataFrame(
        [{"method": m, **{c: values[m].get(c, "") for c in columns}} for m in methods], columns=["method", *columns]
    )
    leakage: dict[str, pd.DataFrame] = {}
    for paper in (r for r in loaded if r.protocol == "paper"):
        for subject in (r for r in loaded if r.protocol == "subject"):
            if paper.config.get("dataset_fingerprint") == subject.config.get("dataset_fingerprint"):
                name = paper.dataset.get("name", "?")
                key, i = name, 2
                while key in leakage:
                    key, i = f"{name} #{i}", i + 1
                leakage[key] = leakage_table(paper, subject)
    return Comparison(table, columns, leakage)


def write_statistics(results, out: Path) -> list[Path]:
    """Write ``pairwise_tests.csv`` and ``.md`` (every pair of methods) into ``out``."""
    from .report import _heading, markdown_table

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
        _heading(results, "Pairwise comparison — corrected resampled t-test")
        + "mean_difference = OA(method_a) − OA(method_b) over the paired folds, percentage points.\n\n"
        + markdown_table(shown, index=False)
        + f"\n{CORRECTION_NOTE}\n",
    )
    return [csv, md]
