"""Statistics: the corrected resampled t-test, intervals, Table 3's columns, compare/leakage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

import fer_bench
from fer_bench.errors import FerBenchError
from fer_bench.reporting import compare_results, leakage_table, table3
from fer_bench.reporting.stats import (
    compare_methods,
    corrected_interval,
    corrected_resampled_ttest,
    pairwise_tests,
    significance_columns,
)
from tests.conftest import cli

# -- a small benchmark with two methods of very different accuracy ----------------------


@fer_bench.register_method
class MajorityClass(fer_bench.Method):
    """Predicts the most frequent training class: a floor every real method must beat."""

    name = "test-majority"
    description = "majority class of the training group"

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        self.majority_ = int(np.bincount(y_train).argmax())
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_, dtype=np.int64)


def make_two_method_results(root, manifest, protocol="paper", cache_dir=None):
    """pca-svm and test-majority on the tiny manifest, 2 runs × 3 folds, through the Python API."""
    return fer_bench.run(
        methods=["pca-svm", "test-majority"], dataset=f"manifest:{manifest}", protocol=protocol,
        runs=2, folds=3, seed=0, out=root / f"two-{protocol}", progress=False, echo=lambda _: None,
        cache_dir=cache_dir,
    )


@pytest.fixture
def two_methods(tmp_path, tiny_manifest):
    return make_two_method_results(tmp_path, tiny_manifest)


# -- the test itself, by hand ---------------------------------------------------------------


def test_two_folds_gives_a_cauchy_p_value_of_one_third():
    # d = (2, 4): mean 3, var 2; n_test/n_train = 1 → se = sqrt((1/2 + 1)·2) = √3, t = √3,
    # df = 1 (Cauchy): two-sided p = 1 − 2·atan(√3)/π = 1 − 2/3 = 1/3.
    res = corrected_resampled_ttest([2.0, 4.0], n_train=10, n_test=10)
    assert res.t == pytest.approx(math.sqrt(3))
    assert res.df == 1
    assert res.corrected_se == pytest.approx(math.sqrt(3))
    assert res.p_value == pytest.approx(1 / 3, abs=1e-12)


def test_three_folds_matches_the_closed_form_for_two_degrees_of_freedom():
    # d = (1, 2, 3): mean 2, var 1, n_test/n_train = 1/2 → t = 2 / sqrt(1/3 + 1/2);
    # Student's t with 2 df: two-sided p = 1 − t / sqrt(2 + t²).
    res = corrected_resampled_ttest([1.0, 2.0, 3.0], n_train=20, n_test=10)
    t = 2 / math.sqrt(1 / 3 + 1 / 2)
    assert res.t == pytest.approx(t)
    assert res.p_value == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-12)
    assert res.test_train_ratio == 0.5 and res.n_pairs == 3 and res.mean_difference == 2.0


def test_correction_is_larger_than_the_naive_paired_test():
    rng = np.random.default_rng(0)
    d = rng.normal(1.0, 2.0, 100)
    corrected = corrected_resampled_ttest(d, n_train=90, n_test=10)
    naive = scipy_stats.ttest_1samp(d, 0.0)
    assert corrected.t == pytest.approx(naive.statistic * math.sqrt((1 / 100) / (1 / 100 + 10 / 90)))
    assert corrected.p_value > naive.pvalue
    # with no overlap correction (n_test/n_train → 0) it is the ordinary paired t-test
    assert corrected_resampled_ttest(d, n_train=1e12, n_test=1).p_value == pytest.approx(naive.pvalue, rel=1e-6)


def test_zero_variance_and_sign():
    assert corrected_resampled_ttest([0.0, 0.0, 0.0], 8, 1).p_value == 1.0
    res = corrected_resampled_ttest([1.5, 1.5, 1.5], 8, 1)
    assert res.p_value == 0.0 and res.t == math.inf
    assert corrected_resampled_ttest([-1.0, -2.0, -4.0], 8, 1).t < 0
    assert math.isnan(corrected_resampled_ttest([3.0], 8, 1).p_value)
    with pytest.raises(FerBenchError):
        corrected_resampled_ttest([], 8, 1)
    with pytest.raises(FerBenchError):
        corrected_resampled_ttest([1.0, 2.0], 0, 1)


def test_corrected_interval_by_hand():
    # values (1, 2, 3): mean 2, var 1; factor 1/3 + 1/2 = 5/6; t_{0.975, 2} = 4.302652729911275
    low, high = corrected_interval([1.0, 2.0, 3.0], n_train=20, n_test=10)
    half = 4.302652729911275 * math.sqrt(5 / 6)
    assert (low, high) == pytest.approx((2 - half, 2 + half))
    low, high = corrected_interval([1.0, 2.0, 3.0], n_train=20, n_test=10, centre=10.0)
    assert (low, high) == pytest.approx((10 - half, 10 + half))


def test_agrees_with_scikit_learns_worked_example():
    """Reproduce scikit-learn's example "Statistical comparison of models using grid search".

    The example compares SVC kernels over 10×10 repeated stratified K-fold on
    make_moons and tests the two best with ``corrected_std``/``compute_corrected_ttest``
    (right-tailed). Their formulas are written out below; our test is two-sided, so its
    p-value is twice their right-tailed one (for a positive t).
    """
    from sklearn.datasets import make_moons
    from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold
    from sklearn.svm import SVC

    X, y = make_moons(noise=0.352, random_state=1, n_samples=100)
    cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=10, random_state=0)
    grid = [{"kernel": ["linear"]}, {"kernel": ["poly"], "degree": [2, 3]}, {"kernel": ["rbf"]}]
    search = GridSearchCV(SVC(random_state=0), grid, scoring="roc_auc", cv=cv).fit(X, y)
    results = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
    scores = results.filter(regex=r"split\d*_test_score").to_numpy()
    differences = scores[0] - scores[1]
    train, test = next(cv.split(X, y))
    n_train, n_test = len(train), len(test)

    # scikit-learn's corrected_std and compute_corrected_ttest, by hand
    kr = len(differences)
    their_std = np.sqrt(np.var(differences, ddof=1) * (1 / kr + n_test / n_train))
    their_t = np.mean(differences) / their_std
    their_p_right = scipy_stats.t.sf(np.abs(their_t), kr - 1)

    ours = corrected_resampled_ttest(differences, n_train, n_test)
    assert (n_train, n_test, kr) == (90, 10, 100)
    assert ours.corrected_se == pytest.approx(their_std)
    assert ours.t == pytest.approx(their_t)
    assert ours.df == 99
    assert ours.p_value == pytest.approx(2 * their_p_right)
    # the example's conclusion: the naive test finds the best kernel significantly
    # better than the second, the corrected one does not
    naive_p_right = scipy_stats.t.sf(np.mean(differences) / np.sqrt(np.var(differences, ddof=1) / kr), kr - 1)
    assert naive_p_right < 0.05 < their_p_right


# -- on a results directory -----------------------------------------------------------------


def test_compare_methods_pairs_the_same_folds(two_methods):
    res = two_methods
    folds = res.folds.set_index(["method", "run", "fold"])["accuracy"]
    a = folds.loc["pca-svm"]
    b = folds.loc["test-majority"]
    d = (a - b).to_numpy()
    sizes = res.folds[res.folds.method == "pca-svm"]
    # refit (the default): the final models were trained on training + validation
    expected = corrected_resampled_ttest(d, (sizes["n_train"] + sizes["n_val"]).mean(), sizes["n_test"].mean())
    got = compare_methods(res, "pca-svm", "test-majority")
    assert got == expected
    assert got.n_pairs == 6 and got.df == 5
    assert got.mean_difference > 30  # pca-svm separates the tiny classes, majority is at chance
    assert compare_methods(res, "test-majority", "pca-svm").t == pytest.approx(-got.t)


def test_table3_has_interval_p_value_and_significance(two_methods):
    t3 = table3(two_methods)
    assert list(t3.columns) == [
        "method", "oa_mean", "oa_sd", "runs", "folds", "protocol", "paper_oa",
        "ci95_low", "ci95_high", "ci95_note", "p_vs_best", "significance",
    ]
    rows = t3.set_index("method")
    assert rows.loc["pca-svm", "significance"] == "best" and math.isnan(rows.loc["pca-svm", "p_vs_best"])
    p = compare_methods(two_methods, "pca-svm", "test-majority").p_value
    assert rows.loc["test-majority", "p_vs_best"] == pytest.approx(p)
    assert rows.loc["test-majority", "significance"] == ("*" if p < 0.05 else "n.s.")
    for method, row in rows.iterrows():
        assert row.ci95_low <= row.oa_mean <= row.ci95_high, method
    # the interval is the corrected one over the 6 folds, centred on the OA mean over runs
    folds = two_methods.folds[two_methods.folds.method == "test-majority"]
    mean = two_methods.oa_summary("test-majority")[0]
    n_train = (folds.n_train + folds.n_val).mean()  # refit: the final models saw training + validation
    low, high = corrected_interval(folds.accuracy, n_train, folds.n_test.mean(), centre=mean)
    assert (rows.loc["test-majority", "ci95_low"], rows.loc["test-majority", "ci95_high"]) == (
        round(max(low, 0.0), 2), round(min(high, 100.0), 2))
    assert rows.loc["test-majority", "ci95_note"] == "uninformative: only 6 folds"
    marks = significance_columns(two_methods, alpha=1.0)
    assert marks.loc["test-majority", "significance"] == "*"


def test_written_tables_carry_the_statistics_and_the_caveat(two_methods):
    out = two_methods.out
    written = pd.read_csv(out / "table3.csv", keep_default_na=False)
    assert list(written.columns[7:]) == ["ci95_low", "ci95_high", "ci95_note", "p_vs_best", "significance"]
    pairs = pd.read_csv(out / "pairwise_tests.csv")
    assert list(pairs[["method_a", "method_b"]].iloc[0]) == ["pca-svm", "test-majority"]
    assert pairs.loc[0, "p_value"] == pytest.approx(pairwise_tests(two_methods).loc[0, "p_value"], rel=1e-5)
    for name in ("leaderboard.md", "table3.md", "pairwise_tests.md"):
        text = (out / name).read_text()
        assert "Nadeau & Bengio" in text and "approximate for grouped, subject-independent folds" in text, name


@pytest.mark.slow
def test_leakage_view_and_compare(tmp_path, tiny_manifest):
    paper = make_two_method_results(tmp_path, tiny_manifest, "paper")
    subject = make_two_method_results(tmp_path, tiny_manifest, "subject")
    leak = leakage_table(paper, subject).set_index("method")
    for method in ("pca-svm", "test-majority"):
        a, b = paper.oa_summary(method)[0], subject.oa_summary(method)[0]
        assert leak.loc[method, "image_level_oa"] == round(a, 2)
        assert leak.loc[method, "subject_independent_oa"] == round(b, 2)
        assert leak.loc[method, "gap"] == round(a - b, 2)
    with pytest.raises(FerBenchError, match="image-level and a subject-independent"):
        leakage_table(subject, paper)

    comparison = compare_results([paper.out, subject.out])
    assert list(comparison.table.columns) == [
        "method", "manifest-labels (image-level, 2×3)", "manifest-labels (subject-independent, 2×3)"]
    assert list(comparison.table["method"]) == ["pca-svm", "test-majority"]
    assert list(comparison.leakage) == ["manifest-labels"]
    assert comparison.leakage["manifest-labels"].equals(leakage_table(paper, subject))

    out_csv = tmp_path / "cmp.csv"
    proc = cli("compare", str(paper.out), str(subject.out), "--out", str(out_csv))
    assert "Leakage view" in proc.stdout and "image-level" in proc.stdout and "subject-independent" in proc.stdout
    written = pd.read_csv(out_csv)
    assert written.shape[0] == 2 and any(c.startswith("gap") for c in written.columns)
    gap_col = next(c for c in written.columns if c.startswith("gap"))
    assert written.set_index("method").loc["pca-svm", gap_col] == pytest.approx(leak.loc["pca-svm", "gap"])
    # a single directory: no leakage view, still a table
    proc = cli("compare", str(paper.out))
    assert "Leakage view" not in proc.stdout and "pca-svm" in proc.stdout
    bad = cli("compare", str(tmp_path / "nowhere"), check=False)
    assert bad.returncode == 2 and "neither results.sqlite nor the exported run.json" in bad.stderr


@pytest.mark.slow
def test_leakage_view_says_what_else_differs(tmp_path, tiny_manifest):
    """A gap between a 1 × 3 and a 2 × 3 run, or between two face preprocessings, is not the
    protocol's alone: compare says so on stderr and in the Markdown (a newcomer compared
    runs of different sizes and got no word of it)."""
    paper = make_two_method_results(tmp_path, tiny_manifest, "paper")
    subject = fer_bench.run(methods=["pca-svm"], dataset=f"manifest:{tiny_manifest}", protocol="subject", runs=1,
                            folds=3, seed=0, face="none", out=tmp_path / "small", progress=False,
                            echo=lambda _: None)
    comparison = compare_results([paper.out, subject.out])
    assert comparison.leakage_caveats == {"manifest-labels": [
        "size 2 runs × 3 folds against 1 run × 3 folds", "face preprocessing each method's default against none"]}
    assert "> Not only the protocol differs: size 2 runs × 3 folds" in comparison.to_markdown()
    proc = cli("compare", str(paper.out), str(subject.out))
    assert "warning: leakage view of manifest-labels: not only the protocol differs" in proc.stderr
    same = cli("compare", str(paper.out), str(make_two_method_results(tmp_path, tiny_manifest, "subject").out))
    assert "warning" not in same.stderr and "Not only" not in same.stdout


def test_leave_one_subject_out_is_named_where_the_protocol_is_shown(tmp_path, tiny_manifest):
    """A newcomer had to work out that 10 folds of 10 people is leave-one-subject-out: the
    protocol line says so when every group is one person, and only then."""
    loso = fer_bench.run(methods=["test-majority"], dataset=f"manifest:{tiny_manifest}", protocol="subject",
                         runs=1, folds=4, seed=0, out=tmp_path / "loso", progress=False, echo=lambda _: None)
    line = "1 run × 4 folds (leave-one-subject-out: 4 people, one per group)"
    assert line in (loso.out / "leaderboard.md").read_text() and line in (loso.out / "report.html").read_text()
    three = make_two_method_results(tmp_path, tiny_manifest, "subject")  # 3 groups of 4 people
    assert "leave-one-subject-out" not in (three.out / "leaderboard.md").read_text()
