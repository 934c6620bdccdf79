"""Base class for methods that are scikit-learn pipelines.

A subclass supplies :meth:`SklearnMethod.build_pipeline` (hyperparameters as keyword
arguments) and :meth:`SklearnMethod.param_grid`; :meth:`~SklearnMethod.fit` tries every grid
point on the training group and keeps the best on the validation group (the one tie rule of
:func:`fer_bench.model_selection.best_candidate`), recording every candidate's validation
accuracy; :meth:`~SklearnMethod.refit` then trains the chosen point on training + validation
(Li 2021, §3.6). The test group is never seen. The chosen point and the scores are stored
per fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model_selection import select_on_validation, weight_key
from .registry import Method


class SklearnMethod(Method):
    """A method whose per-fold model is a scikit-learn estimator chosen on validation."""

    # Fits on a few hundred samples: threads only add synchronisation (measured 1.2 s
    # vs 0.16 s per PCA+SVM fold on JAFFE with 2 busy cores).
    max_threads = 1

    def build_pipeline(self, random_state: int, **hyper: Any):
        """The unfitted estimator for one grid point."""
        raise NotImplementedError

    def param_grid(self, n_train: int) -> dict[str, list]:
        """Hyperparameter candidates, simplest first (ties keep the first)."""
        return {}

    def sample_weight(self, X_train: np.ndarray, y_train: np.ndarray) -> np.ndarray | None:
        """Per-sample training weights (fuzzy memberships, …); ``None`` for unweighted."""
        return None

    @staticmethod
    def flatten(X: np.ndarray) -> np.ndarray:
        """``X`` as a 2-D float64 matrix, one row per sample (N × everything else)."""
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        X_train, X_val = self.flatten(X_train), self.flatten(X_val)
        model, chosen, _, scores = select_on_validation(
            lambda **hyper: self.build_pipeline(random_state=random_state, **hyper),
            self.param_grid(len(X_train)),
            X_train,
            y_train,
            X_val,
            y_val,
            sample_weight_train=self.sample_weight(X_train, y_train),
        )
        self.model_, self.chosen_, self.validation_scores_ = model, chosen, scores
        return self

    def refit(self, X, y, *, random_state: int):
        """Fit the chosen grid point on ``X, y`` (training + validation groups)."""
        X = self.flatten(X)
        model = self.build_pipeline(random_state=random_state, **self.chosen_)
        weights = self.sample_weight(X, y)
        if weights is None:
            model.fit(X, y)
        else:
            model.fit(X, y, **{weight_key(model): weights})
        self.model_ = model
        return self

    def predict(self, X) -> np.ndarray:
        return self.model_.predict(self.flatten(X))
