"""Rankings over many datasets, and Bayesian comparisons on one dataset.

**Over datasets** (Demšar 2006, "Statistical comparisons of classifiers over multiple data
sets", JMLR 7:1-30). Given several results directories, each one dataset's benchmark:

1. the OA table: one row per method, one column per dataset, the mean OA over complete
   runs (as in Tables 2-3), each column naming the dataset's protocol;
2. ranks: on each dataset the methods are ranked by OA, 1 = best, ties sharing the average
   rank (Demšar §3.2.2); the *mean rank* of each method over datasets orders the table;
3. the Friedman test of "all methods are equivalent" (``scipy.stats.friedmanchisquare``,
   with its tie correction) and the Iman-Davenport F statistic derived from it, which
   Demšar recommends as less conservative (§3.2.2, eq. 2:
   ``F_F = (N−1)·χ²_F / (N·(k−1) − χ²_F)`` with (k−1, (k−1)(N−1)) degrees of freedom);
4. the Nemenyi post-hoc test of every pair (``scikit_posthocs.posthoc_nemenyi_friedman``)
   and its critical difference ``CD = q_α·sqrt(k(k+1)/(6N))``, q_α the studentized range
   quantile over √2 (``scipy.stats.studentized_range``; Demšar §3.2.2 and Table 5a);
5. the critical-difference diagram (Demšar §3.2.4, Fig. 1), drawn by
   ``scikit_posthocs.critical_difference_diagram``: mean ranks on an axis, methods not
   significantly different under Nemenyi joined by a bar, the CD shown above.

Demšar's tests assume N independent datasets. With few datasets (the Friedman
chi-square approximation wants roughly N > 10 and k > 5, §3.2.2) the p-values are
rough, and a non-significant Friedman test means the post-hoc differences should not be
read as findings; the report says both where they apply.

**Protocols are not mixed.** Image-level and subject-independent accuracies measure
different things (the former lets a person's images sit in training and test groups), so
:func:`build_rankings` makes one ranking per protocol, each section saying which, and
says so at the top when the inputs used several; ``mix_protocols=True``
(``--mix-protocols``) makes a single ranking over all of them, titled as mixed, with
each column's protocol named.

**Methods missing on some datasets.** A method is *present* on a dataset when it has at
least one complete run there. The Friedman test needs every method on every dataset (a
complete block design), so by default (``missing="drop-methods"``) a method missing on
any dataset of the ranking is left out of the ranks, the tests and the diagram; it stays in
the OA table (blank where missing) and the report lists it with the datasets it lacks.
``missing="drop-datasets"`` instead keeps every method and leaves out the datasets on
which any of them is missing. Each dataset may appear once per ranking (identified by its
fingerprint): two directories of the same dataset and protocol are refused.

**On one dataset** (pairs of methods over the same cross-validation folds): the
Bayesian correlated t-test of Benavoli, Corani, Demšar & Zaffalon (2017, "Time for a
change: a tutorial for comparing multiple classifiers through Bayesian analysis", JMLR
18(77):1-36, §3.1), beside the corrected resampled t-test of :mod:`fer_bench.stats`. The
posterior of the mean accuracy difference is Student's t with n−1 degrees of freedom,
location the mean per-fold difference and scale² ``(1/n + ρ/(1−ρ))·s²``, with the
correlation ``ρ = n_test/(n_test + n_train)`` (mean fold sizes; ``n_train`` the fit group,
as in :mod:`fer_bench.stats`, so ``ρ/(1−ρ) = n_test/n_train`` is the same correction).
Its probabilities come from ``baycomp.single.Posterior`` (the library's own
``CorrelatedTTest`` fixes ρ = 1/K, which holds only when the fit group is all but the test
fold; fer-bench also holds out a validation group). The region of practical equivalence
(rope) defaults to 1 percentage point (Benavoli et al. use 0.01 on the [0, 1] scale).
The test needs several folds; a results directory with one fold per run has none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FerBenchError
from ..files import user_path

#: Significance level of the Friedman and Nemenyi tests.
ALPHA = 0.05
#: Half-width of the region of practical equivalence, in accuracy percentage points.
DEFAULT_ROPE = 1.0
MISSING_POLICIES = ("drop-methods", "drop-datasets")


# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetEntry:
    """One results directory as a column of a ranking."""

    label: str  #: column label, "<dataset> (<protocol>, <runs>×<folds>)"
    name: str  #: the dataset's name
    fingerprint: str  #: the dataset's fingerprint (with a test dataset's, when there is one)
    protocol: str  #: the protocol key stored in the results (``paper``, ``subject``, …)
    protocol_label: str  #: its short name (``image-level``, ``subject-independent``, …)
    runs: int
    folds: int
    directory: str


def protocol_of(results) -> tuple[str, str]:
    """(key, short name) of the protocol of a results directory's numbers."""
    return results.protocol, results.protocol_short


def _identity(results) -> str:
    config = results.config
    fp = str(config.get("dataset_fingerprint") or results.dataset.get("fingerprint") or results.out)
    test_fp = config.get("test_dataset_fingerprint")
    return f"{fp}→{test_fp}" if test_fp else fp


def _load(item):
    from ..results import Results

    return item if isinstance(item, Results) or hasattr(item, "oa_summary") else Results(item)


def _entries(loaded) -> list[DatasetEntry]:
    labels: set[str] = set()
    out = []
    for res in loaded:
        key, short = protocol_of(res)
        name = str(res.dataset.get("name", "?"))
        label = f"{name} ({short}, {res.n_runs}×{res.n_folds})"
        base, i = label, 2
        while label in labels:
            label, i = f"{base} #{i}", i + 1
        labels.add(label)
        out.append(DatasetEntry(label, name, _identity(res), key, short, res.n_runs, res.n_folds, str(res.out)))
    return out


# -- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test over N datasets and k methods, and Iman-Davenport's F (Demšar 2006 eq. 2)."""

    statistic: float  #: χ²_F (scipy, with tie correction)
    p_value: float  #: p of χ²_F with k−1 degrees of freedom
    iman_davenport_f: float  #: F_F = (N−1)χ²_F / (N(k−1) − χ²_F)
    iman_davenport_p: float  #: p of F_F with (k−1, (k−1)(N−1)) degrees of freedom
    n_datasets: int
    n_methods: int

    def as_dict(self) -> dict:
        return asdict(self)


def friedman_test(oa: pd.DataFrame) -> FriedmanResult:
    """Friedman test on a complete table ``oa`` (rows: datasets, columns: methods; no NaN).

    Needs k ≥ 3 methods and N ≥ 2 datasets (raises :class:`FerBenchError` otherwise).
    """
    from scipy import stats

    n, k = oa.shape
    if k < 3 or n < 2:
        raise FerBenchError(f"the Friedman test needs at least 3 methods and 2 datasets (have {k} and {n})")
    if oa.isna().any().any():
        raise FerBenchError("the Friedman test needs every method on every dataset")
    chi2, p = stats.friedmanchisquare(*[oa[c].to_numpy(float) for c in oa.columns])
    chi2, p = float(chi2), float(p)
    denominator = n * (k - 1) - chi2
    if math.isnan(chi2):  # every dataset ranks all methods equal
        f, p_f = float("nan"), float("nan")
    elif denominator <= 0:  # identical rankings on every dataset
        f, p_f = math.inf, 0.0
    else:
        f = (n - 1) * chi2 / denominator
        p_f = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return FriedmanResult(chi2, p, f, p_f, n, k)


def critical_difference(n_methods: int, n_datasets: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks, ``q_α·sqrt(k(k+1)/(6N))`` (Demšar 2006 §3.2.2).

    ``q_α`` is the studentized range quantile (k groups, infinite df) divided by √2;
    for α = 0.05 it gives Demšar's Table 5a (1.960 for k = 2, 2.343 for k = 3, …).
    """
    from scipy import stats

    if n_methods < 2 or n_datasets < 1:
        raise FerBenchError("a critical difference needs at least 2 methods and 1 dataset")
    q = float(stats.studentized_range.ppf(1.0 - alpha, n_methods, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(n_methods * (n_methods + 1) / (6.0 * n_datasets))


def nemenyi_test(oa: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Nemenyi p-values (methods × methods) on a complete table (rows: datasets)."""
    import scikit_posthocs as sp

    p = sp.posthoc_nemenyi_friedman(oa.to_numpy(float))
    p.index = list(oa.columns)
    p.columns = list(oa.columns)
    return p


def mean_ranks(oa: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Per-dataset ranks (1 = highest OA, ties averaged) and their mean per method, best first."""
    ranks = oa.rank(axis=1, ascending=False, method="average")
    mean = ranks.mean(axis=0)
    order = sorted(mean.index, key=lambda m: (mean[m], m))
    return ranks[order], mean[order]


# -- the ranking ----------------------------------------------------------------------------


@dataclass
class Ranking:
    """One ranking: a protocol's datasets (or all, when mixed on request) and its statistics."""

    key: str  #: the protocol key, or ``"mixed"``
    title: str
    datasets: list[DatasetEntry]
    oa: pd.DataFrame  #: methods × dataset labels, mean OA (%), NaN where missing
    used_datasets: list[str] = field(default_factory=list)  #: dataset labels in the ranks and tests
    ranks: pd.DataFrame | None = None  #: used datasets × ranked methods
    mean_rank: pd.Series | None = None  #: ranked methods, best (lowest) first
    friedman: FriedmanResult | None = None
    nemenyi: pd.DataFrame | None = None  #: Nemenyi p-values
    cd: float | None = None  #: critical difference of mean ranks at ``alpha``
    alpha: float = ALPHA
    left_out: dict[str, str] = field(default_factory=dict)  #: method or dataset → why it is not ranked
    notes: list[str] = field(default_factory=list)

    @property
    def ranked_methods(self) -> list[str]:
        return [] if self.mean_rank is None else list(self.mean_rank.index)

    def table(self) -> pd.DataFrame:
        """The OA table with the mean rank, ranked methods first (best first), then the others."""
        rows = []
        rest = sorted(m for m in self.oa.index if m not in self.ranked_methods)
        for method in [*self.ranked_methods, *rest]:
            row = {"method": method}
            for entry in self.datasets:
                v = self.oa.at[method, entry.label]
                row[entry.label] = "" if pd.isna(v) else f"{v:.2f}"
            row["mean rank"] = "" if method not in self.ranked_methods else f"{self.mean_rank[method]:.2f}"
            rows.append(row)
        return pd.DataFrame(rows, columns=["method", *[e.label for e in self.datasets], "mean rank"])


def _oa_table(loaded, entries) -> pd.DataFrame:
    methods: list[str] = []
    values: dict[tuple[str, str], float] = {}
    for res, entry in zip(loaded, entries):
        for method in res.methods:
            mean, _, n = res.oa_summary(method)
            if n:
                values[(method, entry.label)] = mean
                if method not in methods:
                    methods.append(method)
    frame = pd.DataFrame(np.nan, index=methods, columns=[e.label for e in entries], dtype=float)
    for (method, label), v in values.items():
        frame.at[method, label] = v
    return frame


def _rank_group(key: str, title: str, loaded, entries, missing: str, alpha: float) -> Ranking:
    oa = _oa_table(loaded, entries)
    ranking = Ranking(key=key, title=title, datasets=list(entries), oa=oa, alpha=alpha)
    present = oa.notna()
    if missing == "drop-methods":
        keep_m = [m for m in oa.index if present.loc[m].all()]
        keep_d = [e.label for e in entries]
        for m in oa.index:
            if m not in keep_m:
                lacking = [e.name for e in entries if not present.at[m, e.label]]
                ranking.left_out[m] = "no complete run on " + ", ".join(lacking)
    else:
        keep_m = list(oa.index)
        keep_d = [e.label for e in entries if present[e.label].all()]
        for e in entries:
            if e.label not in keep_d:
                lacking = [m for m in oa.index if not present.at[m, e.label]]
                ranking.left_out[e.label] = "lacks " + ", ".join(lacking)
    table = oa.loc[keep_m, keep_d].T  # rows: datasets, columns: methods
    ranking.used_datasets = keep_d
    n, k = table.shape
    if k < 2 or n < 1:
        ranking.notes.append(
            f"nothing to rank: {k} method(s) on {n} dataset(s) with results for every method ({missing})"
        )
        return ranking
    ranking.ranks, ranking.mean_rank = mean_ranks(table)
    table = table[list(ranking.mean_rank.index)]
    if n < 2:
        ranking.notes.append("one dataset: mean ranks are that dataset's ranks; the tests need at least 2 datasets")
        return ranking
    if k >= 3:
        ranking.friedman = friedman_test(table)
    else:
        ranking.notes.append("two methods: no Friedman test (it needs 3); the Nemenyi test compares the pair")
    ranking.nemenyi = nemenyi_test(table)
    ranking.cd = critical_difference(k, n, alpha)
    if ranking.friedman is not None and (n <= 10 or k <= 5):
        ranking.notes.append(
            f"N = {n} datasets, k = {k} methods: the Friedman chi-square approximation is rough below about "
            "N > 10 and k > 5 (Demšar 2006 §3.2.2); read the p-values as indicative"
        )
    fr = ranking.friedman
    if fr is not None and not (fr.iman_davenport_p < alpha):
        ranking.notes.append(
            f"the Friedman test does not reject equivalence at α = {alpha:g} (Iman-Davenport "
            f"{_p_is(fr.iman_davenport_p)}): the post-hoc differences below are not findings"
        )
    return ranking


def build_rankings(
    results: Sequence,
    *,
    mix_protocols: bool = False,
    missing: str = "drop-methods",
    alpha: float = ALPHA,
) -> list[Ranking]:
    """Rank methods over the datasets of several results directories (see the module docstring).

    ``results``: :class:`~fer_bench.results.Results` objects or directories. Returns one
    :class:`Ranking` per protocol found, in order of first appearance (or one ``"mixed"``
    ranking with ``mix_protocols``). Raises :class:`FerBenchError` for an unknown
    ``missing`` policy, an empty input, or one dataset twice in a ranking.
    """
    if missing not in MISSING_POLICIES:
        raise FerBenchError(f"unknown missing-method policy {missing!r}; use one of {', '.join(MISSING_POLICIES)}")
    if not 0 < alpha < 1:
        raise FerBenchError(f"alpha must be between 0 and 1, got {alpha}")
    if not results:
        raise FerBenchError("a ranking needs at least one results directory")
    loaded = [_load(r) for r in results]
    entries = _entries(loaded)
    if mix_protocols:
        groups = {"mixed": list(range(len(loaded)))}
    else:
        groups = {}
        for i, e in enumerate(entries):
            groups.setdefault(e.protocol, []).append(i)
    rankings = []
    for key, idx in groups.items():
        seen: dict[str, DatasetEntry] = {}
        for i in idx:
            e = entries[i]
            if e.fingerprint in seen:
                other = seen[e.fingerprint]
                raise FerBenchError(
                    f"{other.directory} and {e.directory} hold the same dataset ({e.name}, same fingerprint) in one "
                    "ranking; a ranking counts each dataset once: pass only one of them"
                )
            seen[e.fingerprint] = e
        group_entries = [entries[i] for i in idx]
        if key == "mixed":
            protocols = sorted({e.protocol_label for e in group_entries})
            title = "all protocols mixed (" + ", ".join(protocols) + "), as asked with --mix-protocols"
        else:
            title = f"{group_entries[0].protocol_label} protocol"
        ranking = _rank_group(key, title, [loaded[i] for i in idx], group_entries, missing, alpha)
        if key == "mixed" and len({e.protocol for e in group_entries}) > 1:
            ranking.notes.insert(
                0,
                "this ranking mixes protocols (" + "; ".join(f"{e.name}: {e.protocol_label}" for e in group_entries)
                + "): image-level accuracies are optimistic next to subject-independent ones, so ranks across them "
                "compare unlike numbers",
            )
        rankings.append(ranking)
    return rankings


# -- one dataset: Bayesian correlated t-test -------------------------------------------------


@dataclass(frozen=True)
class BayesianResult:
    """Posterior of the mean OA difference A − B on one dataset (Benavoli et al. 2017 §3.1)."""

    method_a: str
    method_b: str
    mean_difference: float  #: mean per-fold difference A − B (percentage points)
    scale: float  #: posterior scale, sqrt((1/n + ρ/(1−ρ))·s²)
    df: int  #: n − 1
    rho: float  #: n_test / (n_test + n_train)
    rope: float  #: half-width of the region of practical equivalence (points)
    p_a_better: float  #: P(difference > rope)
    p_rope: float  #: P(|difference| ≤ rope)
    p_b_better: float  #: P(difference < −rope)
    n_pairs: int  #: paired folds

    def as_dict(self) -> dict:
        return asdict(self)


def bayesian_correlated_ttest(results, method_a: str, method_b: str, rope: float = DEFAULT_ROPE) -> BayesianResult:
    """Bayesian correlated t-test of ``method_a`` vs ``method_b`` over their paired folds.

    Uses the folds of complete runs both methods have (as :func:`fer_bench.stats.paired_folds`).
    With a single paired fold the probabilities are NaN. Raises :class:`FerBenchError`
    when the methods share no complete run or ``rope`` is negative.
    """
    from baycomp.single import Posterior

    from .stats import corrected_resampled_ttest, paired_folds

    if rope < 0:
        raise FerBenchError(f"rope must be non-negative, got {rope}")
    pairs = paired_folds(results, method_a, method_b)
    n_train, n_test = float(pairs["n_train_a"].mean()), float(pairs["n_test_a"].mean())
    rho = n_test / (n_test + n_train)
    test = corrected_resampled_ttest(pairs["diff"], n_train, n_test)
    n = len(pairs)
    if n < 2:
        nan = float("nan")
        return BayesianResult(method_a, method_b, test.mean_difference, nan, n - 1, rho, rope, nan, nan, nan, n)
    # scale² = (1/n + ρ/(1−ρ))·s² is the corrected variance of stats.corrected_resampled_ttest.
    posterior = Posterior(test.mean_difference, test.corrected_se**2, n - 1, rope)
    probs = [float(v) for v in posterior.probs()]  # (P(A−B < −rope), [P(rope),] P(A−B > rope))
    if rope > 0:
        p_b, p_rope, p_a = probs
    else:
        (p_b, p_a), p_rope = probs, 0.0
    return BayesianResult(method_a, method_b, test.mean_difference, test.corrected_se, n - 1, rho, rope,
                          p_a, p_rope, p_b, n)


def pairwise_bayesian(results, rope: float = DEFAULT_ROPE) -> pd.DataFrame:
    """Every pair of methods on one dataset (better mean OA first): the corrected resampled
    t-test and the Bayesian correlated t-test side by side. Empty with fewer than 2 folds."""
    from .stats import compare_methods, ranked_methods

    columns = ["method_a", "method_b", "mean_difference", "p_corrected_t", "p_a_better", "p_rope", "p_b_better",
               "rho", "n_pairs"]
    if results.n_folds < 2:
        return pd.DataFrame(columns=columns)
    ranked = [m for m, _ in ranked_methods(results)]
    rows = []
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            bayes = bayesian_correlated_ttest(results, a, b, rope)
            rows.append(
                {
                    "method_a": a,
                    "method_b": b,
                    "mean_difference": bayes.mean_difference,
                    "p_corrected_t": compare_methods(results, a, b).p_value,
                    "p_a_better": bayes.p_a_better,
                    "p_rope": bayes.p_rope,
                    "p_b_better": bayes.p_b_better,
                    "rho": bayes.rho,
                    "n_pairs": bayes.n_pairs,
                }
            )
    return pd.DataFrame(rows, columns=columns)


# -- output ---------------------------------------------------------------------------------


def _p(p: float | None) -> str:
    from .stats import format_p

    return format_p(p) or "–"


def _p_is(p: float | None) -> str:
    """``p = 0.0312``, ``p < 0.0001`` or ``p = –``."""
    text = _p(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def cd_diagram(ranking: Ranking):
    """The critical-difference diagram of ``ranking`` as a matplotlib Figure (needs tests)."""
    import scikit_posthocs as sp

    from .plots import _figure

    if ranking.nemenyi is None or ranking.mean_rank is None:
        raise FerBenchError(f"no critical-difference diagram for {ranking.title}: the tests were not computed")
    k = len(ranking.mean_rank)
    fig = _figure(7.5, 1.9 + 0.3 * k)
    ax = fig.add_subplot()
    sp.critical_difference_diagram(
        ranking.mean_rank.to_dict(), ranking.nemenyi, ax=ax, alpha=ranking.alpha,
        label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}",
    )
    # Demšar's layout: the rank axis spans 1..k, the CD bar sits above it, from the best rank.
    best = float(ranking.mean_rank.iloc[0])
    low, high = min(1.0, best), max(float(k), best + ranking.cd)
    pad = 0.08 * (high - low)
    ax.set_xlim(low - pad, high + pad)
    bottom, _ = ax.get_ylim()
    ax.set_ylim(bottom, 2.4)
    ax.plot([best, best + ranking.cd], [1.7, 1.7], color="k", linewidth=2)
    for x in (best, best + ranking.cd):
        ax.plot([x, x], [1.55, 1.85], color="k", linewidth=1)
    ax.text(best + ranking.cd / 2, 2.0, f"CD = {ranking.cd:.2f}", ha="center", va="bottom")
    fr = ranking.friedman
    test = f"; Friedman {_p_is(fr.p_value)}, Iman-Davenport {_p_is(fr.iman_davenport_p)}" if fr else ""
    fig.suptitle(
        f"Mean rank (1 = best) — {ranking.title}\nN = {len(ranking.used_datasets)} datasets{test}\n"
        f"Nemenyi test, α = {ranking.alpha:g}: a bar joins methods not significantly different",
        fontsize=9,
    )
    return fig


def _diagram_bytes(fig, fmt: str) -> bytes:
    """``fig`` as reproducible png/svg bytes (fer_bench.plots' settings), cropped to its
    content: the method labels stand outside the axes, where the layout engine does not look."""
    import io

    import matplotlib

    from .plots import _METADATA, _RC

    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format=fmt, metadata=_METADATA[fmt], bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()


def ranking_markdown(rankings: list[Ranking], pairwise: dict[str, pd.DataFrame] | None = None,
                     files: dict[str, str] | None = None, rope: float = DEFAULT_ROPE) -> str:
    """The Markdown report of :func:`build_rankings` (and, optionally, the per-dataset pairwise tests).

    ``files`` maps a ranking key to the relative path of its diagram (without suffix).
    """
    from .markdown import markdown_table

    text = "# fer-bench ranking over datasets\n\n"
    keys = {r.key for r in rankings}
    if len(rankings) > 1:
        text += (
            "These results use several protocols; each protocol is ranked separately (image-level and "
            "subject-independent accuracies are not comparable). Use `--mix-protocols` to rank them together.\n\n"
        )
    elif keys == {"mixed"}:
        text += "**Protocols mixed on request (`--mix-protocols`)**: each column names its protocol.\n\n"
    for r in rankings:
        text += f"## Ranking — {r.title}\n\n"
        text += "".join(
            f"- `{e.label}`: {e.directory} (protocol {e.protocol_label}, fingerprint `{e.fingerprint[:16]}`)\n"
            for e in r.datasets
        ) + "\n"
        text += "OA (%) = mean over complete runs; mean rank over the datasets ranked (1 = best; ties share the average rank).\n\n"
        text += markdown_table(r.table(), index=False) + "\n"
        for note in r.notes:
            text += f"> Note: {note}.\n\n"
        if r.left_out:
            text += "Left out of the ranks and tests:\n\n" + "".join(f"- {k}: {v}\n" for k, v in r.left_out.items()) + "\n"
        if r.friedman is not None:
            fr = r.friedman
            text += (
                f"**Friedman test** (N = {fr.n_datasets} datasets, k = {fr.n_methods} methods): χ²_F = {fr.statistic:.3f}, "
                f"{_p_is(fr.p_value)}; Iman-Davenport F_F = {fr.iman_davenport_f:.3f} with "
                f"({fr.n_methods - 1}, {(fr.n_methods - 1) * (fr.n_datasets - 1)}) df, {_p_is(fr.iman_davenport_p)}.\n\n"
            )
        if r.nemenyi is not None:
            shown = r.nemenyi.map(_p)
            shown.index.name = "method"
            text += (
                f"**Nemenyi post-hoc test**: p-values of every pair; critical difference of mean ranks "
                f"CD = {r.cd:.3f} at α = {r.alpha:g}.\n\n" + markdown_table(shown) + "\n"
            )
        if files and r.key in files:
            text += f"![Critical-difference diagram]({files[r.key]}.svg)\n\n"
    if pairwise:
        text += (
            "## Pairs of methods on one dataset\n\n"
            f"Over the same folds: `p_corrected_t` is the corrected resampled t-test (two-sided); `P(A better)`, "
            f"`P(rope)`, `P(B better)` are the Bayesian correlated t-test's posterior probabilities that the OA "
            f"difference A − B is above {rope:g} point(s), within ±{rope:g}, or below −{rope:g} "
            "(Benavoli et al. 2017; ρ = n_test/(n_test + n_train)).\n\n"
        )
        for label, table in pairwise.items():
            text += f"### {label}\n\n"
            if table.empty:
                text += "No cross-validation folds to pair (fewer than 2 folds per run or fewer than 2 methods).\n\n"
                continue
            shown = table.copy()
            shown["mean_difference"] = shown["mean_difference"].map(lambda v: f"{v:.2f}")
            shown["p_corrected_t"] = shown["p_corrected_t"].map(_p)
            for col in ("p_a_better", "p_rope", "p_b_better"):
                shown[col] = shown[col].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
            shown["rho"] = shown["rho"].map(lambda v: f"{v:.3f}")
            shown = shown.rename(columns={"p_a_better": "P(A better)", "p_rope": "P(rope)", "p_b_better": "P(B better)"})
            text += markdown_table(shown, index=False) + "\n"
    return text


def write_ranking(results: Sequence, out: str | Path, *, mix_protocols: bool = False, missing: str = "drop-methods",
                  alpha: float = ALPHA, rope: float = DEFAULT_ROPE) -> list[Path]:
    """Build the rankings and write them into ``out``; return the files written.

    Files: ``ranking.md`` (everything), and per ranking key (``paper``, ``subject``, …,
    or ``mixed``): ``<key>/oa.csv`` (OA table with mean ranks), ``<key>/ranks.csv``
    (per-dataset ranks), ``<key>/tests.csv`` (Friedman and Iman-Davenport statistics,
    CD), ``<key>/nemenyi.csv`` and ``<key>/cd_diagram.png`` / ``.svg`` when the tests
    were computed; ``pairwise_bayesian.csv`` (every dataset's pairs of methods).
    """
    from ..files import expand_user, writable_directory, write_atomic

    out = writable_directory(expand_user(out), "--out")  # refused before any work when it cannot be written
    loaded = [_load(r) for r in results]
    rankings = build_rankings(loaded, mix_protocols=mix_protocols, missing=missing, alpha=alpha)
    written: list[Path] = []
    files: dict[str, str] = {}

    def put(path: Path, data) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        written.append(path)

    for r in rankings:
        sub = out / r.key
        put(sub / "oa.csv", r.table().to_csv(index=False, lineterminator="\n"))
        if r.ranks is not None:
            put(sub / "ranks.csv", r.ranks.to_csv(lineterminator="\n", float_format="%.4g"))
        tests = {"ranking": r.title, "datasets": len(r.used_datasets), "methods": len(r.ranked_methods),
                 "alpha": r.alpha, "critical_difference": r.cd}
        tests.update(r.friedman.as_dict() if r.friedman else {})
        put(sub / "tests.csv", pd.DataFrame([tests]).to_csv(index=False, lineterminator="\n", float_format="%.6g"))
        if r.nemenyi is not None:
            put(sub / "nemenyi.csv", r.nemenyi.to_csv(lineterminator="\n", float_format="%.6g"))
            fig = cd_diagram(r)
            for fmt in ("png", "svg"):
                put(sub / f"cd_diagram.{fmt}", _diagram_bytes(fig, fmt))
            files[r.key] = f"{r.key}/cd_diagram"
    entries = _entries(loaded)
    pairwise = {e.label: pairwise_bayesian(res, rope) for res, e in zip(loaded, entries)}
    frames = [t.assign(dataset=label) for label, t in pairwise.items() if not t.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dataset"])
    table = table[["dataset", *[c for c in table.columns if c != "dataset"]]]
    put(out / "pairwise_bayesian.csv", table.to_csv(index=False, lineterminator="\n", float_format="%.6g"))
    put(out / "ranking.md", ranking_markdown(rankings, pairwise, files, rope))
    return written


# -- command line ---------------------------------------------------------------------------


def _cmd_rank(args) -> int:
    written = write_ranking(args.dirs, args.out, mix_protocols=args.mix_protocols, missing=args.missing,
                            alpha=args.alpha, rope=args.rope)
    md = next(p for p in written if p.name == "ranking.md")
    print(md.read_text(encoding="utf-8"))
    print(f"ranking written to {Path(args.out)}")
    return 0


def add_cli(subparsers) -> None:
    """Add ``fer-bench rank DIR... [--out DIR]`` (see the module docstring)."""
    p = subparsers.add_parser(
        "rank",
        help="rank methods over several datasets' results (Friedman, Nemenyi, CD diagram, Bayesian pairs)",
        description=(
            "Rank the methods of several results directories (one per dataset): OA table, mean ranks, Friedman "
            "and Nemenyi tests with a critical-difference diagram (Demsar 2006), and for each dataset the "
            "Bayesian correlated t-test of every pair beside the corrected resampled t-test. Each protocol is "
            "ranked separately unless --mix-protocols. Writes ranking.md, CSV files and cd_diagram.png/.svg."
        ),
    )
    p.add_argument("dirs", nargs="+", type=user_path, help="results directories (one dataset each)")
    p.add_argument("--out", type=user_path, default="fer-bench-results/ranking",
                   help="output directory (default fer-bench-results/ranking, beside the runs' own directories)")
    p.add_argument("--mix-protocols", action="store_true",
                   help="rank image-level and subject-independent results together (said so in the report)")
    p.add_argument("--missing", default="drop-methods", choices=list(MISSING_POLICIES),
                   help="methods missing on a dataset: leave the method out of the ranks (default) or the dataset")
    p.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    p.add_argument("--rope", type=float, default=DEFAULT_ROPE,
                   help=f"region of practical equivalence, OA points (default {DEFAULT_ROPE})")
    p.set_defaults(func=_cmd_rank)
