"""The work of one fold: fit on the training group, choose on validation, refit, predict.

A :class:`WorkUnit` is one (method, run, fold) with its random seed, computed once by the
runner (:func:`fold_seed`) and handed ready to whichever executor runs it (in this
process, a joblib worker or a Dask worker). :func:`fit_predict_fold` is a pure function of
the method's parameters, the cached features, the labels and the unit, so stored results
do not depend on the executor or on the order in which units finish.
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import selection
from .errors import FerBenchError
from .model_selection import Fold

#: How the hyperparameters of a fold are chosen (``--selection``).
SELECTIONS = ("validation", "inner-cv")


@dataclass(frozen=True)
class WorkUnit:
    """One fold to fit: its index arrays, its seed, whether to refit, and (for
    ``selection="inner-cv"``) the inner (train, validation) splits of its non-test groups."""

    fold: Fold
    seed: int
    refit: bool = True
    inner: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    #: Cores this unit may use: more than 1 when fewer units than ``--jobs`` processes run
    #: (e.g. ``--protocol holdout``: one fold per run), so a lone fold uses the idle cores
    #: (BLAS threads above the method's ``max_threads``; :func:`fold_threads` for the rest).
    threads: int = 1


_FOLD_THREADS = contextvars.ContextVar("fer_bench_fold_threads", default=1)


def fold_threads() -> int:
    """Cores the fold being fitted may use (``WorkUnit.threads``; 1 outside a fold): for
    a method's own parallelism, e.g. scikit-learn's ``n_jobs``, which results must not
    depend on."""
    return _FOLD_THREADS.get()


@dataclass
class FoldOutcome:
    """What one fold produced: test indices, true and predicted classes, the sizes of the
    training / validation / test parts, timings (seconds) and what the method chose."""

    run: int
    fold: int
    test: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    sizes: tuple[int, int, int]
    timings: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)


def fold_seed(seed: int, run: int, fold: int) -> int:
    """The ``random_state`` handed to a method for one fold (the same for every method, so
    methods are compared on the same random draws where they share them)."""
    digest = hashlib.sha256(f"fer-bench-fold|{seed}|{run}|{fold}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def fit_predict_fold(method, features: np.ndarray, labels: np.ndarray, unit: WorkUnit) -> FoldOutcome:
    """Fit a fresh copy of ``method`` on one fold and predict its test group.

    :mod:`fer_bench.selection` scores the method's candidates on the validation group (with
    ``unit.inner``, inner cross-validation: averaged over every inner split) and chooses by
    the one tie rule; then, when ``unit.refit`` and the method can, the chosen candidate is
    retrained on the training and validation groups together (Li 2021, §3.6). The test group is only ever passed to
    ``predict``. Raises :class:`~fer_bench.errors.FerBenchError` when the method returns
    the wrong number of predictions.
    """
    from threadpoolctl import threadpool_limits

    fold, seed = unit.fold, unit.seed
    info: dict[str, Any] = {}
    limits = method.max_threads if method.max_threads is None else max(method.max_threads, unit.threads)
    token = _FOLD_THREADS.set(max(1, unit.threads))
    try:
        with threadpool_limits(limits=limits):
            return _fit_predict(method, features, labels, unit, fold, seed, info)
    finally:
        _FOLD_THREADS.reset(token)


def _fit_predict(method, features, labels, unit: WorkUnit, fold, seed: int, info: dict) -> FoldOutcome:
    """The body of :func:`fit_predict_fold`, inside its thread limits. Selection, inner-CV
    averaging and the refit are :mod:`fer_bench.selection`'s; this stores what it returns."""
    refit = unit.refit and selection.can_refit(method)
    start = time.perf_counter()
    chosen = None
    if unit.inner:
        chosen = selection.select_inner(method, features, labels, unit.inner, random_state=seed)
        if chosen is not None:
            info["selection"] = chosen.how
    if chosen is None:  # the fold's own validation group (or inner CV found nothing to choose)
        chosen = selection.select(method, features[fold.train], labels[fold.train], features[fold.val],
                                  labels[fold.val], random_state=seed)
    fitted = time.perf_counter()
    if refit:
        both = np.sort(np.concatenate([fold.train, fold.val]))
        model = selection.refit(method, chosen, features[both], labels[both], random_state=seed)
    elif unit.inner:
        raise FerBenchError(f"method {method.name!r} cannot refit, which --selection inner-cv needs")
    else:
        model = chosen.model
    refitted = time.perf_counter()
    y_pred = np.asarray(model.predict(features[fold.test]), dtype=np.int64)
    done = time.perf_counter()
    if y_pred.shape != fold.test.shape:
        raise FerBenchError(
            f"method {method.name!r} returned {y_pred.shape[0]} predictions for {len(fold.test)} test images"
        )
    info.update(model.fit_info())
    for key, value in chosen.record().items():
        info.setdefault(key, value)
    info["refit"] = bool(refit)
    return FoldOutcome(
        fold.run, fold.fold, fold.test, labels[fold.test], y_pred,
        (len(fold.train), len(fold.val), len(fold.test)),
        {"fit": fitted - start, "refit": refitted - fitted, "predict": done - refitted},
        info,
    )
