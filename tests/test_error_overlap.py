"""Error overlap (issue 25, item 1): kappa of correctness, double fault and the oracle, from the
stored predictions; its tables, heat map and report section; ``fer-bench compare``; old results."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fer_bench.reporting.overlap import (
    correctness_kappa,
    correctness_table,
    double_fault,
    error_overlap,
    method_family,
    oracle_accuracy,
)
from fer_bench.results import Results
from tests.conftest import cli

TWO = ["--methods", "pca-svm,hog-svm", "--dataset", "synthetic?subjects=4&per_expression=2&size=48", "--runs", "1",
       "--folds", "3", "-q", "--jobs", "1"]


def _from_counts(both_right: int, only_a: int, only_b: int, both_wrong: int) -> tuple[np.ndarray, np.ndarray]:
    """Correctness vectors with the given 2 × 2 table of right/wrong."""
    a = [True] * both_right + [True] * only_a + [False] * only_b + [False] * both_wrong
    b = [True] * both_right + [False] * only_a + [True] * only_b + [False] * both_wrong
    return np.array(a), np.array(b)


def test_kappa_and_double_fault_match_hand_computed_two_by_two_tables():
    # 10 images: 5 both right, 2 only A right, 1 only B right, 2 both wrong.
    # p_o = (5 + 2) / 10 = 0.7; A right 7/10, B right 6/10: p_e = 0.7·0.6 + 0.3·0.4 = 0.54;
    # kappa = (0.7 − 0.54) / (1 − 0.54) = 0.16 / 0.46; double fault = 2 / 10 = 20 %.
    a, b = _from_counts(5, 2, 1, 2)
    assert correctness_kappa(a, b) == pytest.approx(0.16 / 0.46)
    assert double_fault(a, b) == pytest.approx(20.0)
    # Always opposite: p_o = 0, p_e = 0.5 → kappa = −1; never both wrong → double fault 0.
    a, b = _from_counts(0, 3, 3, 0)
    assert correctness_kappa(a, b) == pytest.approx(-1.0)
    assert double_fault(a, b) == 0.0
    # Identical correctness: kappa 1, double fault = the shared error rate (1 of 4).
    a, b = _from_counts(3, 0, 0, 1)
    assert correctness_kappa(a, b) == pytest.approx(1.0)
    assert double_fault(a, b) == pytest.approx(25.0)
    # Both right everywhere: p_e = 1, kappa undefined.
    assert math.isnan(correctness_kappa(*_from_counts(4, 0, 0, 0)))
    assert math.isnan(double_fault([], []))


def test_oracle_is_the_share_of_images_some_method_gets_right_per_run_then_averaged():
    correct = np.array([
        # run 0: images 1, 2 and 4 have some method right → 3 / 4
        [True, False], [False, True], [False, False], [True, True],
        # run 1: only image 3 → 1 / 4
        [False, False], [False, False], [True, False], [False, False],
    ])
    runs = [0] * 4 + [1] * 4
    assert oracle_accuracy(correct, runs) == pytest.approx(50.0)
    # one method: its own accuracy, (2/4 + 1/4) / 2
    assert oracle_accuracy(correct[:, :1], runs) == pytest.approx(37.5)


def _fake_results(predictions: list[tuple], complete: dict[str, list[int]]):
    frame = pd.DataFrame(predictions, columns=["method", "run", "fold", "idx", "y_true", "y_pred"])
    return SimpleNamespace(methods=list(complete), predictions=frame, complete_runs=lambda m: complete[m])


def test_correctness_table_keeps_only_complete_runs_and_pairs_compare_common_images():
    rows = [("a", 0, 0, i, 0, 0 if i < 3 else 1) for i in range(4)]        # a: right on 0-2 in run 0
    rows += [("b", 0, 0, i, 0, 0 if i % 2 else 1) for i in range(4)]       # b: right on 1, 3 in run 0
    rows += [("a", 1, 0, 0, 0, 0), ("b", 1, 0, 0, 0, 1)]                  # run 1: incomplete for b
    table = correctness_table(_fake_results(rows, {"a": [0, 1], "b": [0]}))
    assert list(table.columns) == ["a", "b"]
    shared = table.dropna()
    assert list(shared.index) == [(0, 0), (0, 1), (0, 2), (0, 3)]   # run 1 is not common: left out
    assert table.loc[(1, 0), "a"] == 1.0 and math.isnan(table.loc[(1, 0), "b"])
    # 2 × 2 table on run 0: both right {1}, only a {0, 2}, only b {3}, both wrong {} → double fault 0
    assert double_fault(shared["a"].astype(bool), shared["b"].astype(bool)) == 0.0


def test_method_family_from_the_record_or_from_older_records_parameters():
    results = SimpleNamespace(
        method_records={"new-deep": {"family": "deep"}, "new-classical": {"family": "classical", "pretraining": "x"},
                        "old-probe": {"pretraining": ""}, "old-svm": {}},
        method_params={"old-probe": {"weights": "none", "device": "cpu"}, "old-svm": {"C_grid": [1.0]},
                       "new-deep": {}, "new-classical": {"weights": 1, "device": "cpu"}},
    )
    assert [method_family(results, m) for m in ("new-deep", "new-classical", "old-probe", "old-svm")] == [
        "deep", "classical", "deep", "classical"]


def test_method_record_says_which_methods_are_deep():
    from fer_bench.registry import create_method
    from fer_bench.runner import method_record

    assert method_record(create_method("pca-svm"))["family"] == "classical"
    assert method_record(create_method("minixception-probe"))["family"] == "deep"


@pytest.mark.slow
def test_two_methods_write_overlap_tables_heat_map_and_report_section_also_without_store(tmp_path):
    out = tmp_path / "two"
    cli("run", *TWO, "--out", str(out))
    pairs = pd.read_csv(out / "error_overlap.csv")
    assert list(pairs.columns[:5]) == ["method_a", "method_b", "kappa", "double_fault", "n_images"]
    assert len(pairs) == 1 and set(pairs.loc[0, ["method_a", "method_b"]]) == {"pca-svm", "hog-svm"}
    # The numbers are those of the stored predictions.
    res = Results(out)
    right = {m: (g["y_true"] == g["y_pred"]).to_numpy() for m, g in res.predictions.sort_values("idx").groupby("method")}
    a, b = right[pairs.loc[0, "method_a"]], right[pairs.loc[0, "method_b"]]
    assert pairs.loc[0, "n_images"] == len(a) == res.dataset["images"]
    assert pairs.loc[0, "double_fault"] == pytest.approx(100 * np.mean(~a & ~b), abs=1e-4)
    if not math.isnan(pairs.loc[0, "kappa"]):
        assert pairs.loc[0, "kappa"] == pytest.approx(correctness_kappa(a, b), abs=1e-4)
    overlap = error_overlap(res)
    assert overlap.oracle == pytest.approx(100 * np.mean(a | b))
    md = (out / "error_overlap.md").read_text()
    assert "Cohen's kappa" in md and "Double fault" in md and "complementary errors" in md
    assert "| pca-svm |" in md and "| hog-svm |" in md and "Oracle accuracy of all 2 methods" in md
    assert "no complete deep method" in md  # both are classical
    html = (out / "report.html").read_text()
    assert 'id="error-overlap"' in html and 'id="error_overlap"' in html
    assert (out / "error_overlap.png").stat().st_size > 0 and (out / "error_overlap.svg").exists()
    assert "## Error overlap" in (out / "leaderboard.md").read_text()
    # Results stored before the change: only the exported files, read again, give the same tables.
    before = {name: (out / name).read_bytes() for name in ("error_overlap.csv", "error_overlap.md", "error_overlap.png")}
    (out / "results.sqlite").unlink()
    for name in before:
        (out / name).unlink()
    cli("report", str(out))
    assert {name: (out / name).read_bytes() for name in before} == before
    # Two runs of the same dataset: compare shows both overlaps side by side.
    shown = cli("compare", str(out), str(out)).stdout
    assert "## Error overlap" in shown and "kappa " in shown and "double fault % " in shown


def test_one_method_writes_no_overlap_and_nothing_fails(tmp_path):
    out = tmp_path / "one"
    cli("run", *TWO[:1], "pca-svm", *TWO[2:], "--out", str(out))
    assert not list(out.glob("error_overlap*"))
    assert "error-overlap" not in (out / "report.html").read_text()
    assert "Error overlap" not in (out / "leaderboard.md").read_text()
    assert "Error overlap" not in cli("compare", str(out), str(out)).stdout
