"""The benchmark engine: dataset → splits → per-method features → folds → store → tables.

:func:`run` is the whole job (``fer-bench run`` is a thin layer over it). For every
method it computes the fold-independent features once per dataset (cached on disk),
then, for every (run, fold) not already in the store, fits a *fresh* instance on the
training and validation groups and predicts the test group. Each finished fold is
committed at once; tables are rewritten after every method and at the end, and also
when the run is interrupted, so no finished work is lost.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cache import ArrayCache, default_cache_dir
from .datasets import Dataset, load_dataset
from .datasets.leakage import duplicate_warning
from .environment import collect_environment
from .errors import FerBenchError, RequirementError
from .metrics import accuracy
from .model_selection import Fold, check_protocol, folds_of_run, make_groups
from .preprocess import load_images
from .registry import Method, MethodSpec, available_methods, parse_method_list
from .results import Results
from .store import ResultsStore

log = logging.getLogger(__name__)


class MethodFailedError(FerBenchError):
    """One or more methods raised while fitting; the others' results are kept."""


@dataclass
class FoldOutcome:
    run: int
    fold: int
    test: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    sizes: tuple[int, int, int]
    timings: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)


def fold_seed(seed: int, run: int, fold: int) -> int:
    """The random_state handed to a method for one fold (same for every method)."""
    digest = hashlib.sha256(f"fer-bench-fold|{seed}|{run}|{fold}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def fit_predict_fold(method: Method, features: np.ndarray, y: np.ndarray, fold: Fold, seed: int) -> FoldOutcome:
    """Fit a fresh copy of ``method`` on one fold; the test group is seen only by predict."""
    from threadpoolctl import threadpool_limits

    model = method.clone()
    with threadpool_limits(limits=method.max_threads):
        start = time.perf_counter()
        model.fit(features[fold.train], y[fold.train], features[fold.val], y[fold.val], random_state=seed)
        fitted = time.perf_counter()
        y_pred = np.asarray(model.predict(features[fold.test]), dtype=np.int64)
        done = time.perf_counter()
    if y_pred.shape != fold.test.shape:
        raise FerBenchError(
            f"method {method.name!r} returned {y_pred.shape[0]} predictions for {len(fold.test)} test images"
        )
    return FoldOutcome(
        fold.run, fold.fold, fold.test, y[fold.test], y_pred,
        (len(fold.train), len(fold.val), len(fold.test)),
        {"fit": fitted - start, "predict": done - fitted},
        model.fit_info(),
    )


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when PyTorch sees a GPU, else ``cpu``."""
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise FerBenchError(f"--device {device!r}: use auto, cpu or cuda")
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def default_out(dataset: Dataset, protocol: str) -> Path:
    return Path("results") / f"{dataset.name}-{protocol}"


def run(
    methods: str | Sequence[str] = "all",
    dataset: str | Dataset = "synthetic",
    protocol: str = "paper",
    runs: int = 10,
    folds: int = 10,
    seed: int = 0,
    out: str | Path | None = None,
    device: str = "auto",
    face_crop: bool = False,
    jobs: int = 1,
    backend: str = "auto",
    scheduler: str | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Results:
    """Run a benchmark and return its :class:`~fer_bench.results.Results`.

    Parameters mirror ``fer-bench run``: ``methods`` is ``"all"`` or names with optional
    overrides (``["pca-svm", "swe-bbo:level=3"]``); ``dataset`` a spec (``"jaffe:PATH"``)
    or a :class:`Dataset`; ``protocol`` ``"paper"`` (image-level) or ``"subject"``;
    ``out`` the results directory (default ``results/<dataset>-<protocol>``). Re-running
    with the same arguments resumes: finished folds are not recomputed. ``jobs`` > 1
    fits folds in parallel (joblib), ``backend="dask"`` on a Dask cluster.
    """
    say = echo or (lambda text: print(text, file=sys.stderr))
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    parsed = parse_method_list(methods)
    run_all = parsed == "all"
    specs: list[MethodSpec] = [MethodSpec(n) for n in available_methods()] if run_all else parsed

    labels, subjects = ds.labels, ds.subjects
    check_protocol(protocol, labels, subjects, folds, runs)
    fingerprint = ds.fingerprint  # reads every image once; names an unreadable file
    groups = {r: make_groups(protocol, labels, subjects, folds, r, seed, fingerprint) for r in range(runs)}

    out_dir = Path(out) if out is not None else default_out(ds, protocol)
    config = {
        "dataset_fingerprint": fingerprint,
        "dataset_spec": ds.spec,
        "protocol": protocol,
        "folds": folds,
        "runs": runs,
        "seed": seed,
        "face_crop": bool(face_crop),
        "classes": ds.classes,
    }
    cache = ArrayCache(default_cache_dir() if cache_dir is None else cache_dir)
    needs_device = any("device" in _class_of(s).parameters for s in specs)
    run_device = resolve_device(device) if needs_device else "cpu"
    from .executors import make_executor

    executor = make_executor(jobs=jobs, backend=backend, scheduler=scheduler)

    with ResultsStore(out_dir, write=True) as store:
        store.initialise(config, ds.samples, groups)
        store.set_meta("dataset", ds.summary())
        store.set_meta("environment", collect_environment())
        store.set_meta("command", command or _api_call(methods, ds.spec, protocol, runs, folds, seed, out))
        for line in ds.report_lines():  # files skipped, subject ids merged, decoding applied
            say(line)
        duplicates = ds.duplicate_groups()
        if duplicates:
            say(duplicate_warning(duplicates, groups[0], ds.sample_ids))
            store.set_meta("duplicates", duplicates)
        fold_lists = {r: folds_of_run(groups[r], r) for r in range(runs)}
        failed: dict[str, str] = {}
        say(
            f"fer-bench: {ds.spec} ({len(ds)} images, {len(ds.classes)} classes), protocol {protocol}, "
            f"{runs} runs × {folds} folds → {out_dir}"
        )
        try:
            for spec in specs:
                method = spec.create(device=run_device)
                reasons = method.skip_reasons(run_device) if run_all else method.unmet_requirements(run_device)
                if reasons:
                    if not run_all:
                        raise RequirementError(f"method {spec.label!r} cannot run here: " + "; ".join(reasons))
                    store.record_skipped(spec.label, "; ".join(reasons))
                    say(f"skipped {spec.label}: {'; '.join(reasons)}")
                    continue
                identity = {
                    "class": f"{type(method).__module__}.{type(method).__qualname__}",
                    "params": {k: v for k, v in method.params.items() if k not in method.runtime_parameters},
                }
                store.register_method(spec.label, spec.name, method.params, identity)
                done = store.finished_folds(spec.label)
                pending = [f for r in range(runs) for f in fold_lists[r] if (f.run, f.fold) not in done]
                if not pending:
                    say(f"{spec.label}: all {runs * folds} folds already in the store")
                    continue
                try:
                    _run_method(spec, method, ds, labels, pending, seed, cache, face_crop, store, executor, progress,
                                say, jobs)
                except FerBenchError:
                    raise
                except Exception as exc:  # a method's own bug must not cost the others' results
                    log.exception("method %s failed", spec.label)
                    failed[spec.label] = f"{type(exc).__name__}: {exc}"
                    say(f"error: method {spec.label} failed: {failed[spec.label]}")
                _write_tables(out_dir, figures=False)
        finally:
            executor.close()
            _write_tables(out_dir, figures=True)
    if failed:
        raise MethodFailedError(
            "; ".join(f"{m}: {why}" for m, why in failed.items())
            + f" (results of the other methods are in {out_dir})"
        )
    return Results(out_dir)


def extract_in_parallel(method: Method, images: np.ndarray, jobs: int) -> np.ndarray:
    """``method.extract_features`` over contiguous chunks of the images in ``jobs``
    processes (for per-image features only: the result equals one call on all images)."""
    from joblib import Parallel, delayed

    bounds = np.linspace(0, len(images), jobs + 1).astype(int)
    parts = Parallel(n_jobs=jobs, max_nbytes="1M")(
        delayed(method.extract_features)(images[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a
    )
    return np.concatenate([np.asarray(p) for p in parts])


def method_features(
    method: Method, ds: Dataset, cache: ArrayCache, face_crop: bool = False, progress=None, jobs: int = 1
) -> np.ndarray:
    """The fold-independent features of ``method`` on ``ds``, computed once and cached.

    With ``jobs`` > 1 and a method whose features are per image
    (``parallel_features``), the images are split across ``jobs`` processes: feature
    extraction is otherwise the serial part that limits ``--jobs`` speed-ups."""
    key = {"kind": "features", "dataset": ds.fingerprint, "face_crop": bool(face_crop), **method.feature_key()}

    def compute() -> np.ndarray:
        images = load_images(ds, method.input_spec(), cache, face_crop=face_crop, progress=progress)
        if jobs > 1 and method.parallel_features and len(images) >= 2 * jobs:
            features = extract_in_parallel(method, images, jobs)
        else:
            features = np.asarray(method.extract_features(images))
        if features.shape[0] != len(ds):
            raise FerBenchError(f"method {method.name!r} returned features for {features.shape[0]} of {len(ds)} images")
        return features

    if not method.feature_parameters and type(method).extract_features is Method.extract_features:
        # Pixels only: the preprocessed image stack is the feature cache entry.
        return load_images(ds, method.input_spec(), cache, face_crop=face_crop, progress=progress)
    return cache.get_or_compute(key, compute)


def _run_method(spec, method, ds, labels, pending, seed, cache, face_crop, store, executor, progress, say, jobs=1):
    from tqdm.auto import tqdm

    start = time.perf_counter()
    misses = cache.misses
    features = method_features(method, ds, cache, face_crop, jobs=jobs)
    features_seconds = time.perf_counter() - start
    if cache.misses > misses:
        say(f"{spec.label}: features of {len(ds)} images computed in {features_seconds:.1f} s (cached for later runs)")
    # disable=None: a bar on a terminal, nothing in a log file or CI.
    bar = tqdm(total=len(pending), desc=spec.label, unit="fold", disable=None if progress else True, leave=True,
               file=sys.stderr)
    try:
        for outcome in executor.map_folds(method, features, labels, pending, seed):
            timings = dict(outcome.timings)
            timings["features"] = features_seconds
            store.record_fold(
                spec.label, outcome.run, outcome.fold, outcome.test, outcome.y_true, outcome.y_pred,
                accuracy(outcome.y_true, outcome.y_pred), outcome.sizes, timings, outcome.info,
            )
            bar.update(1)
    finally:
        bar.close()


def _write_tables(out_dir: Path, figures: bool) -> None:
    try:
        Results(out_dir).write_tables(figures=figures)
    except FerBenchError:
        pass


def _class_of(spec: MethodSpec):
    from .registry import get_method_class

    return get_method_class(spec.name)


def _api_call(methods, dataset_spec, protocol, runs, folds, seed, out) -> str:
    method_text = methods if isinstance(methods, str) else ",".join(methods)
    parts = ["fer-bench", "run", "--methods", method_text, "--dataset", dataset_spec, "--protocol", protocol,
             "--runs", str(runs), "--folds", str(folds), "--seed", str(seed)]
    if out is not None:
        parts += ["--out", str(out)]
    return shlex.join(parts)
