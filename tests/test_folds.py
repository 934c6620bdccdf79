"""One fold's work: selection on validation, the refit step (Li 2021 §3.6), inner CV."""

from __future__ import annotations

import numpy as np
import pytest

import fer_bench
from fer_bench.folds import WorkUnit, fit_predict_fold, fold_seed
from fer_bench.model_selection import ImageLevelKFold, folds_of_run, inner_folds
from fer_bench.params import Param

SEEN: dict[str, list[np.ndarray]] = {}


class Spy(fer_bench.Method):
    """Its features are the sample indices, so it can record which samples each call saw.
    It 'chooses' a threshold on the validation group, and predicts class 0 below it."""

    name = "test-spy"
    parameters = {"grid": Param((1, 2, 3), role="fit")}

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        SEEN.setdefault("fit_train", []).append(np.sort(X_train[:, 0]))
        SEEN.setdefault("fit_val", []).append(np.sort(X_val[:, 0]))
        # candidate 2 is best on every validation group; 3 ties with it (the simpler 2 wins)
        self.validation_scores_ = [({"t": t}, 0.9 if t >= 2 else 0.5) for t in self.grid]
        self.chosen_ = {"t": 2}
        return self

    def refit(self, X, y, *, random_state):
        SEEN.setdefault("refit", []).append(np.sort(X[:, 0]))
        SEEN.setdefault("refit_chosen", []).append(dict(self.chosen_))
        return self

    def predict(self, X):
        SEEN.setdefault("predict", []).append(np.sort(X[:, 0]))
        return np.zeros(len(X), dtype=np.int64)


class NoRefit(Spy):
    name = "test-norefit"
    refit = fer_bench.Method.refit


@pytest.fixture
def fold_data():
    SEEN.clear()
    labels = np.repeat(np.arange(3), 10)
    features = np.arange(30, dtype=float)[:, None]
    groups = ImageLevelKFold(5, 1).groups(labels, None, 0, "fp")
    return features, labels, groups


def test_refit_trains_on_training_and_validation_never_test(fold_data):
    features, labels, groups = fold_data
    fold = folds_of_run(groups, 0)[1]
    outcome = fit_predict_fold(Spy(), features, labels, WorkUnit(fold, 7, refit=True))
    assert np.array_equal(SEEN["fit_train"][0], fold.train)
    assert np.array_equal(SEEN["fit_val"][0], fold.val)
    assert np.array_equal(SEEN["refit"][0], np.sort(np.concatenate([fold.train, fold.val])))
    assert not set(SEEN["refit"][0]) & set(fold.test)
    assert np.array_equal(SEEN["predict"][0], fold.test)
    assert SEEN["refit_chosen"][0] == {"t": 2}
    assert outcome.info["refit"] is True and outcome.info["chosen"] == {"t": 2}
    assert outcome.info["validation_scores"] == [[{"t": 1}, 50.0], [{"t": 2}, 90.0], [{"t": 3}, 90.0]]


def test_without_refit_or_support_the_fit_model_predicts(fold_data):
    features, labels, groups = fold_data
    fold = folds_of_run(groups, 0)[0]
    assert fit_predict_fold(Spy(), features, labels, WorkUnit(fold, 7, refit=False)).info["refit"] is False
    assert "refit" not in SEEN
    assert not NoRefit.supports_refit() and Spy.supports_refit()
    assert fit_predict_fold(NoRefit(), features, labels, WorkUnit(fold, 7, refit=True)).info["refit"] is False


def test_inner_cv_averages_over_non_test_groups(fold_data):
    features, labels, groups = fold_data
    fold = folds_of_run(groups, 0)[2]
    unit = WorkUnit(fold, 7, refit=True, inner=tuple(inner_folds(groups, fold)))
    outcome = fit_predict_fold(Spy(), features, labels, unit)
    assert len(SEEN["fit_val"]) == 4  # K-1 inner splits, none touching the test group
    for val in SEEN["fit_val"] + SEEN["fit_train"]:
        assert not set(val) & set(fold.test)
    assert outcome.info["selection"] == "inner-cv over 4 splits" and outcome.info["chosen"] == {"t": 2}
    assert np.array_equal(SEEN["refit"][0], np.sort(np.concatenate([fold.train, fold.val])))


def test_fold_seed_is_fixed_by_its_identity():
    assert fold_seed(0, 1, 2) == fold_seed(0, 1, 2) != fold_seed(0, 1, 3)


@pytest.mark.slow
def test_refit_is_recorded_and_named_end_to_end(tmp_path, tiny_folder):
    from tests.conftest import cli

    out = tmp_path / "o"
    cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
        "--out", str(out), "-q")
    import json

    record = json.loads((out / "run.json").read_text())
    assert record["config"]["refit"] is True and record["config"]["selection"] == "validation"
    assert "retrained on training + validation" in (out / "table3.md").read_text()
    assert "retrained on training + validation" in (out / "report.html").read_text()
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
               "--out", str(out), "--no-refit", "-q", check=False)
    assert proc.returncode == 2 and "refit: stored True, requested False" in proc.stderr
