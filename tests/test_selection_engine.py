"""The engine owns model selection (fer_bench.selection): one tie rule, inner-CV averaging,
the refit, the earlier-contract adapter, and no test data ever reaching a method's training."""

from __future__ import annotations

import numpy as np

import fer_bench
from fer_bench.folds import WorkUnit, fit_predict_fold
from fer_bench.model_selection import ImageLevelKFold, folds_of_run, inner_folds
from fer_bench.params import Param
from fer_bench.selection import TIE_RULE, Candidate, average, choose

SEEN: dict[str, list] = {}


def test_ties_go_to_the_earliest_candidate():
    cands = [Candidate({"C": 1}, 0.5), Candidate({"C": 10}, 0.8), Candidate({"C": 100}, 0.8)]
    assert choose(cands) == 1
    assert "earliest" in TIE_RULE and "secondary key" in TIE_RULE


def test_a_declared_secondary_key_breaks_ties_before_order():
    loss = "validation loss"
    cands = [Candidate({"epochs": 1}, 0.5, 0.9, loss), Candidate({"epochs": 2}, 0.8, 0.7, loss),
             Candidate({"epochs": 3}, 0.8, 0.4, loss), Candidate({"epochs": 4}, 0.8, 0.4, loss)]
    assert choose(cands) == 2  # equal accuracy: the lower loss; equal loss too: the earlier epoch
    assert cands[2].tiebreak_name == loss


def test_inner_cv_averages_and_drops_candidates_missing_from_a_split():
    first = [Candidate({"C": 1}, 0.9), Candidate({"C": 10}, 0.5), Candidate({"C": 100}, 0.6)]
    second = [Candidate({"C": 1}, 0.1), Candidate({"C": 10}, 0.7)]
    averaged = average([first, second])
    assert [(c.params, round(c.score, 6)) for c in averaged] == [({"C": 1}, 0.5), ({"C": 10}, 0.6)]
    assert choose(averaged) == 1


class Threshold(fer_bench.Method):
    """New protocol. Features are sample indices, so each call's samples can be recorded."""

    name = "test-threshold"
    parameters = {"grid": Param((1, 2, 3), role="fit")}

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state):
        SEEN.setdefault("candidates", []).append(np.concatenate([X_train[:, 0], X_val[:, 0]]))
        # 2 and 3 tie on every validation group: the earlier (2) must win
        return [Candidate({"t": t}, 0.9 if t >= 2 else 0.5) for t in self.grid]

    def train(self, params, X, y, *, random_state):
        SEEN.setdefault("train", []).append((dict(params), X[:, 0].copy()))
        self.t_ = params["t"]
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)


class Legacy(fer_bench.Method):
    """The earlier contract: fit records validation_scores_ and chosen_; refit reads chosen_."""

    name = "test-legacy"

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        SEEN.setdefault("legacy_fit", []).append(np.concatenate([X_train[:, 0], X_val[:, 0]]))
        self.validation_scores_ = [({"k": 1}, 0.25), ({"k": 2}, 0.75)]
        self.chosen_ = {"k": 2}
        return self

    def refit(self, X, y, *, random_state):
        SEEN.setdefault("legacy_refit", []).append((dict(self.chosen_), X[:, 0].copy()))
        return self

    def predict(self, X):
        return np.ones(len(X), dtype=np.int64)


def _fold(inner: bool):
    SEEN.clear()
    labels = np.repeat(np.arange(3), 10)
    features = np.arange(30, dtype=float)[:, None]
    groups = ImageLevelKFold(5, 1).groups(labels, None, 0, "fp")
    fold = folds_of_run(groups, 0)[2]
    unit = WorkUnit(fold, 7, refit=True, inner=tuple(inner_folds(groups, fold)) if inner else None)
    return features, labels, fold, unit


def test_the_engine_chooses_records_and_refits_never_with_test_data():
    for inner in (False, True):
        features, labels, fold, unit = _fold(inner)
        outcome = fit_predict_fold(Threshold(), features, labels, unit)
        assert outcome.info["chosen"] == {"t": 2} and outcome.info["val_accuracy"] == 90.0
        assert outcome.info["validation_scores"] == [[{"t": 1}, 50.0], [{"t": 2}, 90.0], [{"t": 3}, 90.0]]
        assert outcome.info["refit"] is True
        assert ("selection" in outcome.info) == inner
        seen = np.concatenate(SEEN["candidates"] + [x for _, x in SEEN["train"]])
        assert not np.isin(fold.test, seen).any()  # the test group reaches neither candidates nor train
        assert len(SEEN["candidates"]) == (4 if inner else 1)
        params, X = SEEN["train"][-1]
        assert params == {"t": 2} and np.array_equal(np.sort(X), np.sort(np.concatenate([fold.train, fold.val])))


def test_a_legacy_contract_plugin_still_runs():
    for inner in (False, True):
        features, labels, fold, unit = _fold(inner)
        outcome = fit_predict_fold(Legacy(), features, labels, unit)
        assert outcome.info["chosen"] == {"k": 2} and outcome.info["val_accuracy"] == 75.0
        assert outcome.info["validation_scores"] == [[{"k": 1}, 25.0], [{"k": 2}, 75.0]]
        assert (outcome.y_pred == 1).all() and outcome.info["refit"] is True
        seen = np.concatenate(SEEN["legacy_fit"] + [x for _, x in SEEN["legacy_refit"]])
        assert not np.isin(fold.test, seen).any()
        assert SEEN["legacy_refit"][-1][0] == {"k": 2}


def test_fit_and_refit_are_derived_from_the_protocol_outside_the_engine():
    SEEN.clear()
    X = np.arange(12, dtype=float)[:, None]
    y = np.repeat(np.arange(2), 6)
    model = Threshold().fit(X[:6], y[:6], X[6:], y[6:], random_state=0)
    assert model.selection_.params == {"t": 2} and model.t_ == 2
    assert Threshold.supports_refit() and model.refit(X, y, random_state=0) is model
    assert SEEN["train"][-1][0] == {"t": 2}
