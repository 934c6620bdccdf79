"""Base class for methods that are scikit-learn pipelines.

A subclass supplies :meth:`SklearnMethod.build_pipeline` (hyperparameters as keyword
arguments) and :meth:`SklearnMethod.param_grid`; :meth:`~SklearnMethod.candidates` fits every grid
point on the training group and scores it on the validation group, and
:meth:`~SklearnMethod.train` fits a given point; the engine (:mod:`fer_bench.selection`)
chooses with the one tie rule and refits the choice on training + validation (Li 2021, §3.6). The test group is never seen. The chosen point and the scores are stored
per fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import Method
from .selection import parameter_candidates, validation_accuracy, weight_key


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

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int):
        """Every grid point (:func:`~fer_bench.selection.parameter_candidates`, in
        order) fitted on the training group and scored on the validation group."""
        from .selection import Candidate, fitted_copy

        X_train, X_val = self.flatten(X_train), self.flatten(X_val)
        weights = self.sample_weight(X_train, y_train)
        out = []
        for hyper in parameter_candidates(self.param_grid(len(X_train))):
            model = self._fit_pipeline(hyper, X_train, y_train, weights, random_state)
            out.append(Candidate(hyper, validation_accuracy(model, X_val, y_val),
                                 model=fitted_copy(self, model_=model)))
        return out

    def train(self, params, X, y, *, random_state: int):
        """Fit the grid point ``params`` on ``X, y``."""
        X = self.flatten(X)
        self.model_ = self._fit_pipeline(params, X, y, self.sample_weight(X, y), random_state)
        return self

    def _fit_pipeline(self, hyper, X, y, weights, random_state):
        model = self.build_pipeline(random_state=random_state, **hyper)
        if weights is None:
            model.fit(X, y)
        else:
            model.fit(X, y, **{weight_key(model): weights})
        return model

    def predict(self, X) -> np.ndarray:
        return self.model_.predict(self.flatten(X))
