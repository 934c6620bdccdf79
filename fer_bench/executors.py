"""Where fold fits run: in this process, in local worker processes (joblib), or on a
Dask cluster. A work unit is one (method, run, fold); each is a pure function of the
method's parameters, the cached features and the split, so the stored results do not
depend on the backend or on the order in which units finish.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

from .errors import FerBenchError
from .folds import WorkUnit, fit_predict_fold

# loky (joblib's process pool, used here for folds and by the engine for feature
# extraction) measures a worker's memory after its first task and replaces the worker
# once it has grown by 300 MB: here that is PyTorch being imported by a later task (the
# population fitness, a network), not a leak. The worker has sent its result before it
# exits, so nothing is lost, but loky's warning ("A worker stopped while some jobs were
# given to the executor ... memory leak") would alarm every user of the main job for
# nothing. Only that message is silenced.
warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor",
                        category=UserWarning)


class SerialExecutor:
    """Fit folds one after another in this process."""

    def map_folds(self, method, features: np.ndarray, labels: np.ndarray, units: list[WorkUnit]) -> Iterator:
        for unit in units:
            yield fit_predict_fold(method, features, labels, unit)

    def close(self) -> None:
        pass


class JoblibExecutor:
    """Fit folds in ``jobs`` local processes (joblib's loky backend).

    Features loaded from the cache are memory-mapped, and joblib passes memory-maps to
    workers by file name, so every worker reads one shared copy. joblib also limits each
    worker's BLAS threads so ``jobs`` workers do not oversubscribe the cores.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs

    def map_folds(self, method, features, labels, units: list[WorkUnit]) -> Iterator:
        from dataclasses import replace

        from joblib import Parallel, delayed

        if 0 < len(units) < self.jobs:  # fewer folds than processes (holdout): each may use the idle cores
            units = [replace(unit, threads=self.jobs // len(units)) for unit in units]
        parallel = Parallel(n_jobs=self.jobs, return_as="generator_unordered", max_nbytes="1M")
        yield from parallel(delayed(fit_predict_fold)(method, features, labels, unit) for unit in units)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Fit folds on a Dask distributed cluster (``scheduler`` address), or on a local
    cluster of ``jobs`` worker processes when no address is given.

    The features are scattered to the workers once per method and shared by every unit.
    """

    def __init__(self, jobs: int, scheduler: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise FerBenchError(
                "--backend dask needs dask.distributed: pip install 'fer-bench[dask]'"
            ) from None
        self._cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=max(1, jobs), threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None,
            )
            self.client = Client(self._cluster)

    def map_folds(self, method, features, labels, units: list[WorkUnit]) -> Iterator:
        from dask.distributed import as_completed

        shared_features = self.client.scatter(np.asarray(features), broadcast=True)
        shared_labels = self.client.scatter(labels, broadcast=True)
        futures = [
            self.client.submit(fit_predict_fold, method, shared_features, shared_labels, unit, pure=False)
            for unit in units
        ]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(jobs: int = 1, backend: str = "auto", scheduler: str | None = None):
    """``auto``: serial for one job, joblib for more; ``dask`` for a Dask cluster.

    The options are validated by :class:`fer_bench.config.RunConfig`."""
    if backend == "dask" or scheduler:
        return DaskExecutor(jobs, scheduler)
    if backend in ("auto", "joblib"):
        return SerialExecutor() if jobs == 1 else JoblibExecutor(jobs)
    return SerialExecutor()
