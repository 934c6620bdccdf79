"""The seed paper's metrics (Li 2021, eqs. 7 and 8) and its mean ± SD aggregation.

Per run the confusion matrix is summed over the run's folds; overall accuracy (OA) is
its trace over its total (eq. 8), the sensitivity of class t its diagonal element t
over the sum of row t (eq. 7). Over runs: mean and *sample* standard deviation
(ddof = 1), as the paper reports. All values are percentages.
"""

from __future__ import annotations

import math

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def overall_accuracy(cm: np.ndarray) -> float:
    """Eq. 8: 100 · trace(C) / sum(C)."""
    total = cm.sum()
    return float(100.0 * np.trace(cm) / total) if total else float("nan")


def sensitivity(cm: np.ndarray) -> np.ndarray:
    """Eq. 7: 100 · C[t, t] / sum_j C[t, j] for every class t (NaN for an empty row)."""
    rows = cm.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, 100.0 * np.diag(cm) / rows, np.nan)


def accuracy(y_true, y_pred) -> float:
    """Per-fold accuracy in percent."""
    y_true = np.asarray(y_true)
    return float(100.0 * np.mean(y_true == np.asarray(y_pred))) if len(y_true) else float("nan")


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1); SD is NaN for a single value."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return float(np.mean(values)), sd


def format_mean_sd(mean: float, sd: float, digits: int = 2) -> str:
    """``"96.29 ± 0.78"``; a missing SD (one run) prints as ``"96.29 ± –"``."""
    if math.isnan(mean):
        return "–"
    sd_text = "–" if math.isnan(sd) else f"{sd:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd_text}"
