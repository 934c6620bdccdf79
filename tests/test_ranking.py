"""Rankings over datasets (Friedman, Nemenyi, CD diagram) and the Bayesian correlated t-test."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import pytest

from fer_bench.errors import FerBenchError
from fer_bench.reporting.ranking import (
    add_cli,
    bayesian_correlated_ttest,
    build_rankings,
    critical_difference,
    friedman_test,
    mean_ranks,
    nemenyi_test,
    pairwise_bayesian,
    write_ranking,
)

PROTOCOL_SHORT = {"paper": "image-level", "subject": "subject-independent"}


class FakeResults:
    """The part of fer_bench.results.Results a ranking reads: OA per method and per-fold accuracies."""

    def __init__(self, name, oa, protocol="paper", fingerprint=None, runs=2, folds=5, n_train=80, n_test=20, seed=0):
        self.out = f"results/{name}-{protocol}"
        self.protocol = protocol
        self.protocol_short = PROTOCOL_SHORT[protocol]
        self.n_runs, self.n_folds = runs, folds
        self.dataset = {"name": name, "fingerprint": fingerprint or f"fp-{name}"}
        self.config = {"dataset_fingerprint": fingerprint or f"fp-{name}", "protocol": protocol}
        self.methods = list(oa)
        self._oa = oa
        rng = np.random.default_rng(seed)
        rows = []
        for method, mean in oa.items():
            for run in range(runs):
                for fold in range(folds):
                    rows.append((method, run, fold, mean + rng.normal(0, 2), n_train, 0, n_test))
        self.folds = pd.DataFrame(rows, columns=["method", "run", "fold", "accuracy", "n_train", "n_val", "n_test"])
        self.refit = False  # n_train is what the final models were trained on

    def is_complete(self, method):
        return method in self._oa

    def complete_runs(self, method):
        return list(range(self.n_runs)) if method in self._oa else []

    def oa_summary(self, method):
        return (self._oa[method], 1.0, self.n_runs) if method in self._oa else (float("nan"), float("nan"), 0)


# -- statistics ----------------------------------------------------------------------------


def test_mean_ranks_best_first_with_average_ties():
    oa = pd.DataFrame({"a": [90.0, 80.0, 70.0], "b": [85.0, 80.0, 75.0], "c": [60.0, 50.0, 80.0]}, index=["d1", "d2", "d3"])
    ranks, mean = mean_ranks(oa)
    assert ranks.loc["d2", "a"] == ranks.loc["d2", "b"] == 1.5  # tie shares the average rank
    assert ranks.loc["d1"].to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert list(mean.index) == ["a", "b", "c"] and mean["a"] == mean["b"]  # equal mean ranks: by name
    assert mean.to_dict() == pytest.approx({"a": (1 + 1.5 + 3) / 3, "b": (2 + 1.5 + 2) / 3, "c": (3 + 3 + 1) / 3})


def test_friedman_matches_demsar_equations_1_and_2():
    rng = np.random.default_rng(0)
    n, k = 9, 4
    oa = pd.DataFrame(rng.normal(70, 5, (n, k)) + np.arange(k) * 2, columns=list("abcd"))  # no ties
    res = friedman_test(oa)
    r = oa.rank(axis=1, ascending=False).mean().to_numpy()
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4)  # Demšar eq. 1
    assert res.statistic == pytest.approx(chi2)
    assert res.iman_davenport_f == pytest.approx((n - 1) * chi2 / (n * (k - 1) - chi2))  # eq. 2
    with pytest.raises(FerBenchError, match="at least 3 methods"):
        friedman_test(oa[["a", "b"]])


def test_critical_difference_reproduces_demsar_table_5a_and_example():
    # q_0.05 (Demšar 2006, Table 5a) = CD / sqrt(k(k+1)/(6N)).
    for k, q in {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 10: 3.164}.items():
        assert critical_difference(k, 1) / math.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)
    assert critical_difference(4, 14) == pytest.approx(1.25, abs=5e-3)  # the paper's example, §3.2.2


def test_nemenyi_pairs_differ_exactly_beyond_the_critical_difference():
    rng = np.random.default_rng(1)
    oa = pd.DataFrame(rng.normal(70, 3, (12, 5)) + np.array([0, 1, 3, 6, 6.5]), columns=list("abcde"))
    p = nemenyi_test(oa)
    _, mean = mean_ranks(oa)
    cd = critical_difference(5, 12)
    for a in oa.columns:
        for b in oa.columns:
            if a != b:
                assert (p.at[a, b] < 0.05) == (abs(mean[a] - mean[b]) > cd), (a, b)


# -- rankings ------------------------------------------------------------------------------


def fake_set():
    return [
        FakeResults("d1", {"m1": 90, "m2": 80, "m3": 70}),
        FakeResults("d2", {"m1": 85, "m2": 84, "m3": 60, "m4": 99}),
        FakeResults("d3", {"m1": 70, "m2": 75, "m3": 65}),
        FakeResults("d1", {"m1": 60, "m2": 55, "m3": 50}, protocol="subject"),
    ]


def test_protocols_are_ranked_separately_unless_mixed_on_request():
    rankings = build_rankings(fake_set())
    assert [r.key for r in rankings] == ["paper", "subject"]
    paper, subject = rankings
    assert [e.name for e in paper.datasets] == ["d1", "d2", "d3"]
    assert all(e.protocol == "subject" for e in subject.datasets)
    assert paper.ranked_methods == ["m1", "m2", "m3"]
    assert paper.friedman is not None and paper.cd is not None
    # d1 appears under both protocols: allowed in separate rankings, refused in a mixed one.
    with pytest.raises(FerBenchError, match="same dataset .*counts each dataset once"):
        build_rankings(fake_set(), mix_protocols=True)
    mixed = build_rankings(fake_set()[1:], mix_protocols=True)
    assert len(mixed) == 1 and mixed[0].key == "mixed" and "mixed" in mixed[0].title
    assert "mixes protocols" in mixed[0].notes[0]
    assert "d1 (subject-independent, 2×5)" in mixed[0].table().columns


def test_missing_methods_policies():
    results = fake_set()[:3]
    (r,) = build_rankings(results)
    assert "m4" not in r.ranked_methods and r.left_out["m4"] == "no complete run on d1, d3"
    assert r.table().set_index("method").at["m4", "mean rank"] == ""  # still in the OA table
    assert r.table().set_index("method").at["m4", "d2 (image-level, 2×5)"] == "99.00"
    (r,) = build_rankings(results, missing="drop-datasets")
    assert r.used_datasets == ["d2 (image-level, 2×5)"] and "m4" in r.ranked_methods
    assert set(r.left_out) == {"d1 (image-level, 2×5)", "d3 (image-level, 2×5)"}
    assert r.friedman is None and any("one dataset" in n for n in r.notes)
    with pytest.raises(FerBenchError, match="missing-method policy"):
        build_rankings(results, missing="impute")


def test_non_significant_friedman_is_said():
    # Each method wins on one dataset: a balanced design, no evidence of a difference.
    results = [FakeResults(f"d{i}", {"a": 70 + i % 3, "b": 70 + (i + 1) % 3, "c": 70 + (i + 2) % 3}) for i in range(3)]
    (r,) = build_rankings(results)
    assert r.friedman.iman_davenport_p > 0.05
    assert any("not findings" in n for n in r.notes)


# -- Bayesian correlated t-test ---------------------------------------------------------------


def test_bayesian_test_matches_baycomp_when_training_is_all_but_the_test_fold():
    from baycomp import CorrelatedTTest

    # 10-fold CV without a validation group: n_train = 9 · n_test, so ρ = 1/10 = baycomp's 1/K.
    res = FakeResults("d", {"a": 80, "b": 79}, runs=3, folds=10, n_train=180, n_test=20, seed=4)
    got = bayesian_correlated_ttest(res, "a", "b", rope=1.0)
    acc = res.folds.set_index(["method", "run", "fold"])["accuracy"]
    x, y = acc["b"].to_numpy(), acc["a"].to_numpy()
    p_left, p_rope, p_right = CorrelatedTTest.probs(x, y, rope=1.0, runs=3)  # difference y − x = a − b
    assert got.rho == pytest.approx(0.1)
    assert (got.p_b_better, got.p_rope, got.p_a_better) == pytest.approx((p_left, p_rope, p_right))
    assert got.p_a_better + got.p_rope + got.p_b_better == pytest.approx(1.0)


def test_bayesian_test_uses_fer_bench_rho_and_rope_zero():
    # fer-bench's folds hold out a validation group: n_train = (K−2)·n_test, ρ = n_test/(n_test + n_train).
    res = FakeResults("d", {"a": 75, "b": 70}, runs=2, folds=5, n_train=60, n_test=20, seed=5)
    got = bayesian_correlated_ttest(res, "a", "b", rope=0.0)
    assert got.rho == pytest.approx(0.25) and got.p_rope == 0.0
    assert got.p_a_better > 0.9 and got.p_a_better + got.p_b_better == pytest.approx(1.0)
    table = pairwise_bayesian(res)
    assert list(table[["method_a", "method_b"]].iloc[0]) == ["a", "b"]
    assert 0 <= table.at[0, "p_corrected_t"] <= 1
    with pytest.raises(FerBenchError, match="rope"):
        bayesian_correlated_ttest(res, "a", "b", rope=-1)


# -- files and the command line ------------------------------------------------------------------


def test_write_ranking_files_and_report(tmp_path):
    written = write_ranking(fake_set(), tmp_path / "rank")
    names = {p.relative_to(tmp_path / "rank").as_posix() for p in written}
    assert {"ranking.md", "pairwise_bayesian.csv", "paper/oa.csv", "paper/nemenyi.csv", "paper/cd_diagram.png",
            "paper/cd_diagram.svg", "subject/oa.csv"} <= names
    assert "subject/cd_diagram.png" not in names  # one dataset: no tests, no diagram
    md = (tmp_path / "rank" / "ranking.md").read_text()
    assert "each protocol is ranked separately" in md
    assert "## Ranking — image-level protocol" in md and "## Ranking — subject-independent protocol" in md
    assert "Friedman test" in md and "![Critical-difference diagram](paper/cd_diagram.svg)" in md
    assert "m4: no complete run on d1, d3" in md
    assert (tmp_path / "rank" / "paper" / "cd_diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    oa = pd.read_csv(tmp_path / "rank" / "paper" / "oa.csv")
    assert list(oa["method"][:3]) == ["m1", "m2", "m3"]
    pairs = pd.read_csv(tmp_path / "rank" / "pairwise_bayesian.csv")
    assert set(pairs["dataset"]) == {"d1 (image-level, 2×5)", "d2 (image-level, 2×5)", "d3 (image-level, 2×5)",
                                     "d1 (subject-independent, 2×5)"}


def _parser():
    parser = argparse.ArgumentParser(prog="fer-bench")
    add_cli(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.slow
def test_rank_command_on_real_runs(tmp_path, capsys):
    from fer_bench.runner import run

    dirs = []
    for seed in (0, 1):
        out = tmp_path / f"syn{seed}"
        run(methods=["pca-svm", "lbp-svm"], dataset=f"synthetic?subjects=4&per_expression=2&size=64&seed={seed}",
            runs=1, folds=3, out=out, progress=False, echo=lambda _: None)
        dirs.append(str(out))
    args = _parser().parse_args(["rank", *dirs, "--out", str(tmp_path / "rank")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "## Ranking — image-level protocol" in printed and "Nemenyi" in printed
    assert (tmp_path / "rank" / "paper" / "cd_diagram.svg").exists()
    pairs = pd.read_csv(tmp_path / "rank" / "pairwise_bayesian.csv")
    # 3 folds, refit on train + validation: the test part is 1 group, the training part 2, so
    # rho = n_test / (n_test + n_train) = 1/3 (Nadeau & Bengio 2003; Benavoli et al. 2017).
    assert len(pairs) == 2 and np.allclose(pairs["rho"], 1 / 3, atol=0.02)
    # A directory that holds no results is a FerBenchError (the CLI prints one line, exit 2).
    args = _parser().parse_args(["rank", str(tmp_path / "nothing"), "--out", str(tmp_path / "r2")])
    with pytest.raises(FerBenchError, match="no results in"):
        args.func(args)
