"""Error overlap: do two methods fail on the same test images? From the stored predictions only.

fer-bench stores every test prediction of every method on the same splits
(:attr:`Results.predictions <fer_bench.results.Results>`: method, run, fold, idx, y_true,
y_pred; read from the store or from an exported ``predictions.csv.gz``, so results made before
this module existed are covered too). Nothing here retrains anything.

Per pair of methods, on the test predictions both made **in their complete common runs** (a run
counts only when every fold of both methods finished; an image enters once per such run):

- ``kappa``: Cohen's kappa of their *correctness* (each prediction right or wrong: the 2 × 2
  table of right/wrong, the "agreement of correctness" form; Kuncheva & Whitaker 2003, "Measures
  of diversity in classifier ensembles", Machine Learning 51:181-207), computed by
  :func:`sklearn.metrics.cohen_kappa_score` on the two boolean vectors. 1: they are right and wrong
  on the same images; 0: no more overlap than chance given their accuracies; < 0: one tends to be
  right where the other is wrong. Undefined (NaN) when both are right on every image, or both
  wrong on every image.
- ``double_fault``: % of those predictions both got wrong (Giacinto & Roli 2001, "Design of
  effective neural network ensembles for image classification purposes", Image and Vision
  Computing 19:699-707). On the diagonal of :attr:`ErrorOverlap.double_fault`, a method's own
  error rate.

Low kappa and low double fault mean complementary errors: combining the two methods can pay.

The oracle accuracy (%) of a set of methods is the share of test predictions, per run and then
averaged over runs, where at least one method of the set is right: an upper bound for any
combination of them, never a result. It is given for every method with a complete run (on the
runs complete for all of them) and for the best classical + best deep pair, "best" meaning the
highest mean OA in the leaderboard (:func:`~fer_bench.reporting.stats.ranked_methods`, complete
methods only). Which methods are deep: :func:`method_family`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Columns of :attr:`ErrorOverlap.pairs` (``error_overlap.csv``).
PAIR_COLUMNS = ["method_a", "method_b", "kappa", "double_fault", "n_images", "runs", "protocol"]

#: What the numbers mean, in one sentence (Markdown and HTML).
MEANING = ("Low kappa and low double fault mean complementary errors: the two methods tend to fail on different "
           "images, so combining them can pay; high kappa and high double fault mean they fail on the same images. "
           "The oracle is an upper bound for any combination (some method right), not an achievable accuracy.")


def method_family(results, method: str) -> str:
    """``"deep"`` or ``"classical"``: whether ``method`` is one of :mod:`fer_bench.deep`'s networks.

    The rule, in order: the ``family`` recorded with the method at run time
    (:func:`fer_bench.runner.method_record`: ``deep`` when the method's class is a
    :class:`fer_bench.deep.strategies.DeepMethod`); for results recorded before that field
    existed, ``deep`` when the method's recorded parameters include both ``weights`` and
    ``device`` (every :class:`~fer_bench.deep.strategies.DeepMethod` declares both, through
    :meth:`~fer_bench.deep.strategies.DeepMethod.declare`; no classical baseline declares
    either). Read from the record, so reports never import a method plugin; ``pretraining``
    is not used since a network trained from scratch has none.
    """
    record = results.method_records.get(method, {}) or {}
    if record.get("family") in ("deep", "classical"):
        return record["family"]
    params = results.method_params.get(method, {}) or {}
    return "deep" if "weights" in params and "device" in params else "classical"


def correctness_kappa(a, b) -> float:
    """Cohen's kappa of two boolean correctness vectors (same length n; True = right).

    From the 2 × 2 table of right/wrong: (p_o − p_e) / (1 − p_e), with p_o the share of images
    where both are right or both wrong and p_e the same share expected from their accuracies
    alone (Kuncheva & Whitaker 2003). NaN when undefined (p_e = 1: both right, or both wrong, on
    every image) or n = 0."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if not len(a):
        return float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # sklearn warns on the undefined case, which is NaN here
        value = float(cohen_kappa_score(a, b, labels=[False, True]))
    return value


def double_fault(a, b) -> float:
    """% of images both methods got wrong (Giacinto & Roli 2001); ``a``, ``b``: boolean
    correctness vectors of the same length n (True = right). NaN for n = 0."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    return 100.0 * float(np.mean(~a & ~b)) if len(a) else float("nan")


def oracle_accuracy(correct, runs) -> float:
    """Oracle accuracy (%): the share of predictions where some method is right, per run, then
    the mean over runs. ``correct``: boolean array n × m (n test predictions, m methods);
    ``runs``: length n, the run of each prediction. NaN for n = 0."""
    correct = np.asarray(correct, dtype=bool).reshape(len(runs), -1)
    if not len(correct):
        return float("nan")
    per_run = pd.Series(correct.any(axis=1)).groupby(np.asarray(runs)).mean()
    return 100.0 * float(per_run.mean())


def correctness_table(results, methods: list[str] | None = None) -> pd.DataFrame:
    """Which stored test predictions were right: index (run, idx) (0-based run, the image's
    index), one column per method (``methods``, default every method with a complete run),
    values 1.0 (right), 0.0 (wrong) or NaN (the method has no prediction there in a complete
    run). Only complete runs' predictions enter."""
    methods = [m for m in (results.methods if methods is None else methods) if results.complete_runs(m)]
    if not methods:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["run", "idx"]))
    p = results.predictions
    keep = np.zeros(len(p), dtype=bool)
    for method in methods:
        keep |= ((p["method"] == method) & p["run"].isin(results.complete_runs(method))).to_numpy()
    rows = p[keep]
    wide = rows.assign(correct=(rows["y_true"] == rows["y_pred"]).astype(float)).pivot(
        index=["run", "idx"], columns="method", values="correct")
    return wide.reindex(columns=methods)


def _shared(table: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Rows where every one of ``methods`` has a prediction (their complete common runs), as bool."""
    return table[methods].dropna().astype(bool)


def _oracle(table: pd.DataFrame, methods: list[str]) -> tuple[float, int]:
    shared = _shared(table, methods)
    runs = shared.index.get_level_values("run")
    return oracle_accuracy(shared.to_numpy(), runs), len(set(runs))


@dataclass
class ErrorOverlap:
    """The error overlap of a results directory (see the module's docstring)."""

    methods: list[str]  #: methods with a complete run, in run order
    pairs: pd.DataFrame  #: long form, one row per pair (a before b in run order): :data:`PAIR_COLUMNS`
    kappa: pd.DataFrame  #: methods × methods, symmetric, 1 on the diagonal
    double_fault: pd.DataFrame  #: methods × methods (%), symmetric; diagonal: each method's error rate
    oracle: float  #: oracle accuracy (%) of all ``methods`` on their complete common runs
    oracle_runs: int  #: how many runs the oracle is averaged over (0: no run common to all)
    best_classical: str | None  #: best complete classical method in the leaderboard
    best_deep: str | None  #: best complete deep method in the leaderboard
    pair_oracle: float  #: oracle accuracy (%) of best classical + best deep (NaN without both)
    pair_oracle_runs: int

    def oracle_lines(self) -> list[str]:
        """The oracle accuracies in words, one line each (Markdown)."""
        if self.oracle_runs:
            lines = [f"Oracle accuracy of all {len(self.methods)} methods (some method right): {self.oracle:.2f} %, "
                     f"mean over {self.oracle_runs} run{'s' if self.oracle_runs != 1 else ''} complete for all."]
        else:
            lines = [f"Oracle accuracy of all {len(self.methods)} methods: no run is complete for all of them."]
        if self.best_classical and self.best_deep:
            if self.pair_oracle_runs:
                lines.append(f"Oracle accuracy of the best classical (`{self.best_classical}`) + best deep "
                             f"(`{self.best_deep}`) method: {self.pair_oracle:.2f} %, mean over "
                             f"{self.pair_oracle_runs} run{'s' if self.pair_oracle_runs != 1 else ''}.")
            else:
                lines.append(f"Best classical (`{self.best_classical}`) + best deep (`{self.best_deep}`): "
                             "no run complete for both.")
        else:
            missing = "deep" if self.best_classical else "classical"
            lines.append(f"Best classical + best deep pair: no complete {missing} method in these results.")
        return lines


def _best(results, family: str, ranked: list[str]) -> str | None:
    return next((m for m in ranked if method_family(results, m) == family), None)


def error_overlap(results) -> ErrorOverlap | None:
    """The error overlap of ``results`` (:class:`~fer_bench.results.Results`), or None when
    fewer than two methods have a complete run."""
    from .stats import ranked_methods

    table = correctness_table(results)
    methods = list(table.columns)
    if len(methods) < 2:
        return None
    rows = []
    kappa = pd.DataFrame(np.eye(len(methods)), index=methods, columns=methods)
    fault = pd.DataFrame(np.nan, index=methods, columns=methods)
    for i, a in enumerate(methods):
        own = table[a].dropna().astype(bool)
        fault.loc[a, a] = 100.0 * float((~own).mean()) if len(own) else float("nan")
        for b in methods[i + 1:]:
            shared = _shared(table, [a, b])
            k, df = correctness_kappa(shared[a], shared[b]), double_fault(shared[a], shared[b])
            kappa.loc[a, b] = kappa.loc[b, a] = k
            fault.loc[a, b] = fault.loc[b, a] = df
            rows.append({"method_a": a, "method_b": b, "kappa": k, "double_fault": df, "n_images": len(shared),
                         "runs": shared.index.get_level_values("run").nunique(), "protocol": results.protocol_short})
    oracle, oracle_runs = _oracle(table, methods)
    ranked = [m for m, _ in ranked_methods(results, complete_only=True)]  # Table 3's order, complete methods
    classical, deep = _best(results, "classical", ranked), _best(results, "deep", ranked)
    pair_oracle, pair_runs = _oracle(table, [classical, deep]) if classical and deep else (float("nan"), 0)
    for frame in (kappa, fault):
        frame.index.name = "method"
    return ErrorOverlap(methods, pd.DataFrame(rows, columns=PAIR_COLUMNS), kappa, fault, oracle, oracle_runs,
                        classical, deep, pair_oracle, pair_runs)


def number_text(value, digits: int) -> str:
    """``value`` with ``digits`` decimals; NaN as empty, and no "-0.00"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{round(float(value), digits) + 0.0:.{digits}f}"


def _matrix_text(frame: pd.DataFrame, digits: int) -> pd.DataFrame:
    return frame.map(lambda v: number_text(v, digits))


def overlap_markdown(results, overlap: ErrorOverlap) -> str:
    """``error_overlap.md``: heading, the kappa and double-fault matrices, the oracle lines and
    what the numbers mean."""
    from .markdown import heading, markdown_table

    runs = sorted(set(overlap.pairs["runs"]))
    runs_text = "/".join(map(str, runs)) + (" run" if runs == [1] else " runs")
    return (
        heading(results, "Error overlap — do the methods fail on the same images?")
        + "Computed from the stored test predictions, per pair on the images both methods predicted in their "
        f"complete common runs ({runs_text} per pair; `error_overlap.csv` has the counts).\n\n"
        + "## Agreement of correctness (Cohen's kappa; Kuncheva & Whitaker 2003)\n\n"
        + markdown_table(_matrix_text(overlap.kappa, 2))
        + "\n## Double fault (% of test images both got wrong; Giacinto & Roli 2001)\n\n"
        + "The diagonal is each method's own error rate.\n\n"
        + markdown_table(_matrix_text(overlap.double_fault, 1))
        + "\n" + "".join(f"- {line}\n" for line in overlap.oracle_lines())
        + "\n" + MEANING + "\n"
    )


def overlap_csv(overlap: ErrorOverlap) -> str:
    """``error_overlap.csv``: :attr:`ErrorOverlap.pairs` (kappa to 4 decimals, double fault in %)."""
    return overlap.pairs.to_csv(index=False, lineterminator="\n", float_format="%.4f")


#: Files written by :func:`write_overlap_tables` (and removed when no overlap can be computed).
TABLE_FILES = ("error_overlap.csv", "error_overlap.md")


def write_overlap_tables(results, out, overlap: ErrorOverlap | None | str = "compute") -> list:
    """Write ``error_overlap.csv`` and ``.md`` into ``out`` when at least two methods have a
    complete run; otherwise write nothing (and remove such files left by an earlier report).
    ``overlap``: :func:`error_overlap` of ``results`` when already computed."""
    from pathlib import Path

    from ..files import write_atomic

    out = Path(out)
    overlap = error_overlap(results) if isinstance(overlap, str) else overlap
    if overlap is None:
        for name in TABLE_FILES:
            if (out / name).exists():
                (out / name).unlink()
        return []
    return [write_atomic(out / "error_overlap.csv", overlap_csv(overlap)),
            write_atomic(out / "error_overlap.md", overlap_markdown(results, overlap))]
