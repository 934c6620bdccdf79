"""The benchmark engine: plan → execute → finish.

:func:`plan` turns a :class:`~fer_bench.config.RunConfig` into a :class:`Plan`: the dataset,
the method specs, the protocol's checked splits and the configuration recorded with the
results. :func:`execute` then, for every method, computes the fold-independent features once
per dataset (cached on disk) and hands every (run, fold) not already in the store, as a
ready :class:`~fer_bench.folds.WorkUnit`, to an executor (serial, joblib or Dask). Each
finished fold is committed at once; tables are rewritten after every method, and the
figures and report once at the end (:func:`finish`), also when the run is interrupted, so no
finished work is lost. :func:`run` is all three (``fer-bench run`` is a thin layer over it).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cache import ArrayCache, default_cache_dir
from .config import DEFAULT_RESULTS_ROOT, RunConfig
from .datasets import Dataset, load_dataset
from .datasets.cross import cross_dataset
from .datasets.leakage import duplicate_warning, duplicates_spanning_groups
from .datasets.splits import duplicate_split_report
from .devices import resolve_device
from .environment import collect_environment
from .errors import FerBenchError, RequirementError, StorageError
from .executors import make_executor
from .files import ATOMIC_TEMPORARIES, remove_stale_temporaries, writable_directory
from .folds import WorkUnit, fold_seed
from .metrics import accuracy
from .model_selection import Fold, Protocol, SplitReport, get_protocol, inner_folds
from .options import recorded_options
from .preprocess import effective_spec, load_images, reported_by_caller
from .registry import ImageSpec, Method, MethodSpec, available_methods, includes_all, parse_method_list
from .reporting import write_report
from .reporting.markdown import counted, runs_by_folds
from .results import Results
from .store import STORE_NAME, ResultsStore

log = logging.getLogger(__name__)

#: Seconds between progress lines when the output is not a terminal (a log file, CI).
PROGRESS_INTERVAL = 30.0


class MethodFailedError(FerBenchError):
    """One or more methods raised while fitting; the others' results are kept."""


@dataclass
class Plan:
    """Everything decided before any method runs.

    ``groups`` maps each run (0-based) to the group id of every sample; ``split_report``
    holds the invariant checks' warnings and every fold's part sizes; ``record`` is the
    configuration stored with the results (and checked when a directory is resumed).
    """

    config: RunConfig
    dataset: Dataset
    protocol: Protocol
    specs: list[MethodSpec]
    run_all: bool
    groups: dict[int, np.ndarray]
    split_report: SplitReport
    out: Path
    device: str
    record: dict[str, Any] = field(default_factory=dict)
    #: Labels of the methods named on the command line (not only through "all"): these
    #: run or fail with their unmet requirements, never skipped.
    named: frozenset[str] = frozenset()

    def folds(self) -> list[Fold]:
        """Every fold of every run, in (run, fold) order."""
        return [f for r in range(self.config.runs) for f in self.protocol.folds(self.groups[r], r)]

    def largest_training_group(self) -> int:
        """The most training images any fold gives a method's ``fit`` (0 if no fold)."""
        return max((len(f.train) for f in self.folds()), default=0)

    def work_units(self, done: set[tuple[int, int]]) -> list[WorkUnit]:
        """The folds not in ``done``, ready to run: each with its seed (computed here and
        nowhere else), the refit flag and, for inner-cv selection, its inner splits."""
        units = []
        for fold in self.folds():
            if (fold.run, fold.fold) in done:
                continue
            inner = None
            if self.config.selection == "inner-cv":
                inner = tuple(inner_folds(self.groups[fold.run], fold))
            units.append(WorkUnit(fold, fold_seed(self.config.seed, fold.run, fold.fold), self.config.refit, inner))
        return units


def default_out(dataset: Dataset, protocol: str) -> Path:
    """``fer-bench-results/<dataset>-<protocol>`` in the current directory."""
    return DEFAULT_RESULTS_ROOT / f"{dataset.name}-{protocol}"


def plan(config: RunConfig, dataset: Dataset | None = None) -> Plan:
    """Load the dataset, resolve the methods and build and check every run's split.

    Raises :class:`~fer_bench.errors.FerBenchError` subclasses (bad dataset, unknown
    method or parameter, a protocol the data cannot support) before anything is written.
    """
    ds = dataset if dataset is not None else load_dataset(config.dataset)
    if config.test_dataset:
        ds = cross_dataset(ds, load_dataset(config.test_dataset))
    face_reason = None
    if config.face is None and ds.registered_faces:
        # Face crops registered by the dataset's authors are used as they are, as published
        # results on these sets use them (see Dataset.registered_faces for the reasons).
        config, face_reason = config.replace(face="none"), ds.registered_faces
    parsed = parse_method_list(config.methods)
    run_all = parsed == "all" or includes_all(config.methods)
    named = [] if parsed == "all" else list(parsed)
    specs = [MethodSpec(n) for n in available_methods()] if run_all else []
    specs += [s for s in named if s not in specs]
    protocol = get_protocol(config.protocol)(n_folds=config.folds, n_runs=config.runs, seed=config.seed)
    detecting = _detects_faces(specs, config)
    dropped, loaded_fingerprint = None, None
    if detecting and config.several_faces == "drop":
        # Before anything depends on the images: splits, fingerprint and every table see the reduced set.
        from .faces import drop_several_faces

        loaded_fingerprint = ds.fingerprint
        ds, dropped = drop_several_faces(ds, _cache_of(config), jobs=config.jobs)
    labels, subjects, splits = ds.labels, ds.subjects, ds.splits
    protocol.check(labels, subjects, ds.classes, splits, missing_subjects=ds.missing_subjects_text)
    fingerprint = ds.fingerprint  # reads every image once; names an unreadable file
    groups, report = protocol.all_groups(labels, subjects, fingerprint, class_names=ds.classes, splits=splits)
    needs_device = any("device" in s.method_class().parameters for s in specs)
    device = resolve_device(config.device) if needs_device else "cpu"
    record = {
        "dataset_fingerprint": fingerprint,
        # Every recorded option (fer_bench.config.RUN_OPTIONS), as this run resolved it: the dataset
        # specs as loaded; which face is used where several are found, None when no method detects
        # faces (irrelevant).
        **recorded_options(
            config,
            dataset=ds.parts[0].spec if config.test_dataset else ds.spec,
            test_dataset=ds.parts[1].spec if config.test_dataset else None,
            several_faces=config.several_faces if detecting else None,
        ),
        "classes": ds.classes,
    }
    if dropped is not None:  # the images left out, and the data as loaded (what the gate finds again)
        record["several_faces_dropped"] = dropped
        record["loaded_fingerprint"] = loaded_fingerprint
    if face_reason:
        record["face_reason"] = f"{face_reason}: used as they are; --face crop or align detects faces again"
    out = config.out if config.out is not None else default_out(ds, config.protocol)
    return Plan(config, ds, protocol, specs, run_all, groups, report, out, device, record,
                frozenset(s.label for s in named))


def _detects_faces(specs: list[MethodSpec], config: RunConfig) -> bool:
    """Whether any of the run's methods detects faces (``crop`` or ``align``, after ``--face``)."""
    for spec in specs:
        try:
            if effective_spec(spec.create(), config.face).face != "none":
                return True
        except Exception:  # noqa: BLE001 - a method that cannot be built fails, with its reason, when it runs
            continue
    return False


def _cache_of(config: RunConfig) -> ArrayCache:
    """The feature cache of a run: ``--cache-dir``, else the default, checked writable."""
    cache_dir = default_cache_dir() if config.cache_dir is None else Path(config.cache_dir)
    writable_directory(cache_dir, "--cache-dir" if config.cache_dir is not None else "cache directory ($FER_BENCH_CACHE)")
    return ArrayCache(cache_dir)


def run(config: RunConfig | None = None, *, echo: Callable[[str], None] | None = None, **options) -> Results:
    """Run a benchmark and return its :class:`~fer_bench.results.Results`.

    Give a :class:`~fer_bench.config.RunConfig`, or its options as keywords
    (``fer_bench.run(methods=["pca-svm"], dataset="jaffe:PATH", protocol="subject")``);
    ``dataset`` may also be a loaded :class:`~fer_bench.datasets.Dataset`.
    Re-running the same configuration into the same ``out`` resumes: finished folds are
    not recomputed. Raises :class:`MethodFailedError` (after keeping every other method's
    results) when a method fails, and other :class:`~fer_bench.errors.FerBenchError`
    subclasses on bad input.
    """
    dataset = options.get("dataset")
    loaded = dataset if isinstance(dataset, Dataset) else None
    if loaded is not None:  # an already loaded (and fingerprinted) dataset: keep it
        options["dataset"] = loaded.spec
    if config is None:
        config = RunConfig(**options)
    elif options:
        config = config.replace(**options)
    say = echo or (lambda text: print(text, file=sys.stderr, flush=True))
    the_plan = plan(config, loaded)
    return execute(the_plan, say)


def execute(the_plan: Plan, say: Callable[[str], None]) -> Results:
    """Run every method of a :class:`Plan` into its results directory; see :func:`run`."""
    config = the_plan.config
    created = not the_plan.out.exists()
    writable_directory(the_plan.out, "--out")
    cache = _cache_of(config)
    cache.remove_stale_temporaries()  # left by a killed run: no process holds their lock
    executor = make_executor(jobs=config.jobs, backend=config.backend, scheduler=config.scheduler)
    failed: dict[str, str] = {}
    succeeded = False
    try:
        empty = _execute_into_store(the_plan, say, cache, executor, failed)
        succeeded = not failed
    except StorageError as exc:  # the results folder's disk is full or read-only: say what is kept
        if _nothing_stored(the_plan.out):
            raise
        raise type(exc)(f"{exc} (the folds already stored in {the_plan.out} are kept: re-run the same "
                        "command to resume)", path=exc.path, reason=exc.reason) from None
    finally:
        # A run that failed having computed nothing (every method failed or was refused,
        # or it was interrupted before its first fold) leaves no directory of its own: its
        # empty tables and report would look like a finished run. An existing one stays,
        # and so does one whose store cannot be read (nothing is deleted on a guess).
        if created and not succeeded and _nothing_stored(the_plan.out):
            shutil.rmtree(the_plan.out, ignore_errors=True)
    if failed:
        reasons = "; ".join(f"{m}: {why}" for m, why in failed.items())
        raise MethodFailedError(reasons + (" (no method produced a result)" if empty else
                                           f" (results of the other methods are in {the_plan.out})"))
    return Results(the_plan.out)


def _nothing_stored(out: Path) -> bool:
    """Whether the store in ``out`` certainly holds no fold: it does not exist, is empty, has
    no ``folds`` table yet, or that table is empty. A store that cannot be read for any
    other reason counts as holding folds, so that no caller deletes results on a guess."""
    path = Path(out) / STORE_NAME
    try:
        if not path.exists() or path.stat().st_size == 0:
            return True
        with ResultsStore(out, write=False) as store:
            return not store.query("SELECT 1 FROM folds LIMIT 1")
    except Exception as exc:  # noqa: BLE001 - unreadable: keep it
        if "no such table" in str(exc):
            return True
        log.warning("cannot tell whether %s holds results (%s): keeping it", path, exc)
        return False


def _execute_into_store(the_plan: Plan, say, cache, executor, failed: dict[str, str]) -> bool:
    """The body of :func:`execute` with the store open; fills ``failed`` (method label →
    reason) and returns whether nothing at all was stored."""
    config, ds = the_plan.config, the_plan.dataset
    with ResultsStore(the_plan.out, write=True) as store:
        remove_stale_temporaries(the_plan.out, ATOMIC_TEMPORARIES)  # ours: the store's lock is held
        store.initialise(the_plan.record, ds.samples, the_plan.groups)
        store.set_meta("dataset", ds.summary(relative_to=the_plan.out))
        store.set_meta("environment", collect_environment())
        store.set_meta("command", config.command or config.as_command())
        store.set_meta("split_warnings", list(the_plan.split_report.warnings))
        for line in ds.report_lines():  # files skipped, subject ids merged, decoding applied
            say(line)
        for warning in the_plan.split_report.warnings:
            say(f"warning: {warning}")
        duplicates = ds.duplicate_groups()
        if duplicates:
            say(duplicate_warning(duplicates, the_plan.groups[0], ds.sample_ids))
            store.set_meta("duplicates", duplicates)
            store.set_meta("duplicates_spanning", [
                len(duplicates_spanning_groups(duplicates, the_plan.groups[r], ds.sample_ids))
                for r in sorted(the_plan.groups)
            ])
            if ds.splits is not None:  # the dataset's own split: copies across it, and conflicting labels
                split_report = duplicate_split_report(ds.duplicate_index_groups(), ds.labels, ds.splits)
                store.set_meta("duplicates_split", split_report.as_dict())
                say("duplicates and the dataset's split: " + "; ".join(split_report.lines()))
        say(
            f"fer-bench: {ds.spec} ({len(ds)} images, {len(ds.classes)} classes), protocol {config.protocol}, "
            f"{runs_by_folds(config.runs, config.folds)}, {'refit on train+val' if config.refit else 'no refit'}"
            f" → {the_plan.out}"
        )
        if the_plan.record.get("face_reason"):
            say(f"faces: {the_plan.record['face_reason']}")
        if the_plan.record.get("several_faces") is None and config.several_faces != "largest":
            say(f"note: --several-faces {config.several_faces} is ignored: no method of this run detects faces "
                "(face preprocessing none)")
        completed = False
        try:
            for position, spec in enumerate(the_plan.specs, 1):
                reason = _run_one_method(the_plan, spec, cache, store, executor, say)
                if reason:
                    failed[spec.label] = reason
                if position == len(the_plan.specs):
                    break  # finish() below writes every table, then the figures
                results = Results(the_plan.out)
                if not results.folds.empty:
                    write_report(results, the_plan.out, figures=False)
            completed = True
        finally:
            executor.close()
            empty = _nothing_stored(the_plan.out)
            if not empty:
                finish(the_plan.out, strict=completed)
    return empty


def finish(out: Path, strict: bool = True) -> None:
    """Write every table, figure and the HTML report of ``out`` from its store.

    A folder that cannot be written (:class:`~fer_bench.errors.StorageError`: full disk,
    read-only) raises with ``strict``; without it the run is already failing with its own
    error (which must stay its one line, and is most often the same full disk), so it is
    only logged (``-v``).
    """
    try:
        write_report(Results(out), out, figures=True)
    except StorageError as exc:
        if strict:
            raise
        log.info("report not written: %s", exc)
    except FerBenchError as exc:  # nothing to report yet (no method finished a run)
        log.info("no report written: %s", exc)


def _run_one_method(the_plan: Plan, spec: MethodSpec, cache, store, executor, say) -> str | None:
    """Run one method's pending folds; returns a failure reason, or None."""
    config = the_plan.config
    method = spec.create(device=the_plan.device)
    # A method named on the command line runs or fails loudly; one that only came with
    # "all" is skipped, with its reason, when it cannot or should not run here (its
    # requirements, or its cost at this dataset's size).
    forced = spec.label in the_plan.named
    reasons = method.unmet_requirements(the_plan.device) if forced else method.skip_reasons(the_plan.device)
    spec_used = effective_spec(method, config.face, config.several_faces)
    if spec_used != method.input_spec():
        # The run's face preprocessing replaces the method's own (--face, or registered
        # face crops): the model files of the method's own no longer matter, the run's do.
        own = set(_face_unmet(method.input_spec()))
        reasons = [r for r in reasons if r not in own] + _face_unmet(spec_used)
    if not forced and not reasons:
        reasons = method.size_skip_reasons(the_plan.largest_training_group())
    if reasons:
        if forced:
            raise RequirementError(f"method {spec.label!r} cannot run here: " + "; ".join(reasons))
        store.record_skipped(spec.label, "; ".join(reasons))
        say(f"skipped {spec.label}: {'; '.join(reasons)}")
        return None
    if config.selection == "inner-cv" and not method.supports_refit():
        raise RequirementError(f"method {spec.label!r} does not implement refit, which --selection inner-cv needs")
    store.register_method(spec.label, spec.name, method.params, method_identity(method, spec_used),
                          method_record(method, spec_used))
    units = the_plan.work_units(store.finished_folds(spec.label))
    if not units:
        say(f"{spec.label}: all {counted(config.runs * config.folds, 'fold')} already in the store")
        return None
    try:
        _fit_folds(spec, method, the_plan, units, cache, store, executor, say)
    except FerBenchError:
        raise
    except Exception as exc:  # a method's own bug must not cost the others' results
        log.exception("method %s failed", spec.label)
        reason = f"{type(exc).__name__}: {exc}"
        say(f"error: method {spec.label} failed: {reason}")
        return reason
    return None


def method_identity(method: Method, spec: ImageSpec | None = None) -> dict[str, Any]:
    """What must match for stored folds of a method to be resumed: class, parameters and
    the preprocessing it was given (``spec``, after a run-wide ``--face``)."""
    spec = spec or method.input_spec()
    return {"class": f"{type(method).__module__}.{type(method).__qualname__}", "params": method.identity_params(),
            "input": spec.key()}


def method_record(method: Method, spec: ImageSpec | None = None) -> dict[str, Any]:
    """What reports show about a method, recorded at run time so reports never import plugins.

    ``family``: ``deep`` when the method's class is a :class:`fer_bench.deep.strategies.DeepMethod`,
    else ``classical`` (the error overlap's best classical + best deep pair,
    :func:`fer_bench.reporting.overlap.method_family`)."""
    from .deep.strategies import DeepMethod  # no torch import: the strategies load torch lazily

    spec = spec or method.input_spec()
    return {
        "family": "deep" if isinstance(method, DeepMethod) else "classical",
        "name": method.name,
        "description": method.description,
        "citation": method.citation,
        "paper_oa": list(method.paper_oa) if method.paper_oa else None,
        "paper_oa_source": method.paper_oa_source if method.paper_oa else None,
        "pretraining": method.pretraining,
        "refit": method.supports_refit(),
        "input": {"size": list(spec.size), "color": spec.color, "face": spec.describe()},
        "features": method.feature_description,
        # what this label changes from the published form, by role (the ablation table)
        "changed": {role: {k: v for k, v in method.params.items()
                           if method.parameters[k].role == role and v != method.parameters[k].default}
                    for role in ("features", "fit")},
    }


#: Images prepared and handed to a method's ``extract_features`` at once: bounds the
#: memory of feature extraction (256 RGB 224×224 float32 images are 154 MB) whatever the
#: dataset's size, while keeping per-call overheads (a network's set-up) small.
FEATURE_CHUNK = 256


#: Datasets of at least twice this many images have their features computed in parts of
#: this many images, each stored in the cache as soon as it is done: an interrupted
#: extraction (Ctrl-C, a killed job) resumes from the parts already finished. The parts
#: do not depend on ``--jobs``, so a resumed run may use another number of processes;
#: they are small enough to keep many processes busy (FER2013: 71 parts).
FEATURE_PART = 512


def _checked(method: Method, features: np.ndarray, n: int) -> np.ndarray:
    if features.ndim == 0 or features.shape[0] != n:
        got = features.shape[0] if features.ndim else 0
        raise FerBenchError(f"method {method.name!r} returned features for {got} of {n} images")
    return features


def extract_part(method: Method, ds: Dataset, spec: ImageSpec, geometry, start: int, stop: int,
                 single_thread: bool, cache: ArrayCache | None, key: dict | None, progress=None
                 ) -> tuple[np.ndarray, bool]:
    """The features of images ``start:stop`` (:func:`extract_range`), loaded from ``cache``
    under ``key`` when a finished part is there, else computed and stored there.
    Returns (features, whether they came from the cache)."""
    if cache is not None and key is not None:
        done = cache.load(key)
        if done is not None:
            if progress is not None:
                progress(stop - start)
            return np.array(done), True
    features = _checked(method, extract_range(method, ds, spec, geometry, start, stop, single_thread, progress),
                        stop - start)
    if cache is not None and key is not None:
        cache.store(key, features)
    return features, False


def extract_range(method: Method, ds: Dataset, spec: ImageSpec, geometry, start: int, stop: int,
                  single_thread: bool = False, progress=None) -> np.ndarray:
    """``method.extract_features`` of images ``start:stop``, prepared to ``spec``
    (:func:`fer_bench.preprocess.prepare_range`) :data:`FEATURE_CHUNK` at a time.

    ``single_thread``: cap BLAS/OpenMP to one thread, for a worker process that shares
    the cores with others. PyTorch methods always extract with one intra-op thread:
    a convolution's float sums depend on how many threads share them (differences of
    about 1e-6), and the cached features must not depend on ``--jobs``.
    Returns the features, (stop − start) × …."""
    from threadpoolctl import threadpool_limits

    from .preprocess import prepare_range

    torch_threads = None
    if "torch" in method.requirements:
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
    parts = []
    try:
        with threadpool_limits(limits=1 if single_thread else None):
            for a in range(start, stop, FEATURE_CHUNK):
                b = min(stop, a + FEATURE_CHUNK)
                parts.append(np.asarray(method.extract_features(prepare_range(ds, spec, geometry, a, b))))
                if progress is not None:
                    progress(b - a)
    finally:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
    return np.concatenate(parts)


def method_features(
    method: Method, ds: Dataset, cache: ArrayCache, face: str | None = None, progress=None, jobs: int = 1,
    face_progress=None, several_faces: str | None = None,
) -> np.ndarray:
    """The fold-independent features of ``method`` on ``ds`` (N × …), computed once and cached.

    ``face`` overrides the method's face preprocessing and ``several_faces`` its rule for
    images with several faces (:func:`fer_bench.preprocess.effective_spec`).
    Images are prepared and passed to ``extract_features`` in chunks
    (:func:`extract_range`), so memory holds one chunk of images and the features, never
    the whole preprocessed stack (issue 15: FER2013's 35,887 images at 224×224 RGB
    would be 21 GB of float32). With ``jobs`` > 1 and a method whose features are per
    image (``parallel_features``), contiguous ranges of images go to ``jobs`` processes
    of one thread each: feature extraction is otherwise the serial part that limits
    ``--jobs`` speed-ups. A large dataset's features are computed in parts of
    :data:`FEATURE_PART` images stored as they finish, so an interrupted extraction
    resumes. ``progress(n)`` is called as ``n`` more images are done, ``face_progress(step,
    n)`` likewise during face detection and landmarks (``step`` names which).
    Methods that learn from the pixels (no ``extract_features`` of their own) get the
    cached stack of :func:`~fer_bench.preprocess.load_images`."""

    spec = effective_spec(method, face, several_faces)
    if type(method).extract_features is Method.extract_features:
        # Pixels only: the preprocessed image stack is the feature cache entry.
        return load_images(ds, spec, cache, progress=progress, jobs=jobs, face_progress=face_progress)
    key = {"kind": "features", "dataset": ds.fingerprint, **method.feature_key(), "spec": spec.key()}
    if not method.parallel_features:
        # Features that may depend on the whole dataset: one call on the whole stack, as
        # the plugin contract says (Method.parallel_features).
        return cache.get_or_compute(
            key, lambda: _checked(method, np.asarray(method.extract_features(
                load_images(ds, spec, cache, jobs=jobs, face_progress=face_progress))), len(ds))
        )

    def compute() -> np.ndarray:
        return _extract_in_parts(method, ds, spec, key, cache, jobs, progress, face_progress)

    features = cache.get_or_compute(key, compute)
    if cache.root is not None and len(ds) >= 2 * FEATURE_PART:  # the whole is stored: its parts are not needed
        bounds = list(range(0, len(ds), FEATURE_PART)) + [len(ds)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            cache.discard({**key, "kind": "features-part", "range": [a, b]})
    return features


def _feature_ranges(n: int, jobs: int, parallel: bool, resumable: bool) -> list[tuple[int, int]]:
    """The image ranges features are extracted in: parts of :data:`FEATURE_PART` images when
    they are stored as they finish (``resumable``), a few ranges per process when
    ``parallel`` (so that a slow range does not leave a core idle), else one."""
    if resumable:
        bounds = list(range(0, n, FEATURE_PART)) + [n]
    elif parallel:
        bounds = np.linspace(0, n, min(n // jobs, 4 * jobs) + 1).astype(int).tolist()
    else:
        bounds = [0, n]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _extract_in_parts(method: Method, ds: Dataset, spec: ImageSpec, key: dict, cache: ArrayCache, jobs: int,
                      progress=None, face_progress=None) -> np.ndarray:
    """Per-image features of every image (:func:`method_features`' computation), range by
    range (:func:`_feature_ranges`), in ``jobs`` processes when that pays."""
    from .preprocess import face_geometry_for

    geometry = face_geometry_for(ds, spec, cache, jobs, face_progress)
    n = len(ds)
    # On a GPU one process feeds it; parallel processes would each hold a CUDA context.
    on_gpu = str(getattr(method, "device", "cpu")).startswith("cuda")
    parallel = jobs > 1 and n >= 2 * jobs and not on_gpu
    resumable = cache.root is not None and n >= 2 * FEATURE_PART
    ranges = _feature_ranges(n, jobs, parallel, resumable)

    def part_key(a: int, b: int) -> dict | None:
        return {**key, "kind": "features-part", "range": [a, b]} if resumable else None

    if parallel:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(extract_part)(method, ds, spec, geometry, a, b, True, cache if resumable else None, part_key(a, b))
            for a, b in ranges
        )
    else:
        results = (extract_part(method, ds, spec, geometry, a, b, False, cache if resumable else None,
                                part_key(a, b), progress) for a, b in ranges)
    parts, resumed = [], 0
    try:
        for part, from_cache in results:
            parts.append(part)
            resumed += from_cache
            if parallel and progress is not None:  # the serial path reports chunk by chunk
                progress(len(part))
    finally:
        if parallel and "torch" in method.requirements:
            # The worker processes now hold PyTorch and a network (about 1 GB each):
            # let them go, so the folds' processes start without it.
            from joblib.externals.loky import get_reusable_executor

            get_reusable_executor().shutdown(wait=True)
    if resumed:
        log.warning("%s: features of %d of %d parts came from an interrupted earlier extraction",
                    method.name, resumed, len(ranges))
    return np.concatenate(parts)


def _face_unmet(spec: ImageSpec) -> list[str]:
    from .faces import unmet_requirements

    return unmet_requirements(spec.face, spec.landmarks)


def _record_faces(store: ResultsStore, ds: Dataset, spec: ImageSpec, cache: ArrayCache, say, jobs: int = 1,
                  dropped: list[str] | None = None) -> None:
    """Store (once per face preprocessing) how many images had no detected face, which,
    and the fallback they followed; which had several faces and the rule that chose one
    (``dropped``: the images ``--several-faces drop`` left out); say it."""
    if spec.face == "none":
        return
    from .faces import face_report

    faces = store.get_meta("faces", {}) or {}
    name = spec.describe()
    if name in faces:
        return
    from .faces import several_faces_line

    report = face_report(ds, spec.face, cache, spec.landmarks, jobs=jobs, several_faces=spec.several_faces)
    if dropped is not None:
        report["several_faces_dropped"] = list(dropped)
    faces[name] = report
    store.set_meta("faces", faces)
    missing = report["not_found"]
    if missing:
        shown = ", ".join(missing[:10]) + (f", … ({len(missing) - 10} more)" if len(missing) > 10 else "")
        say(f"face {name}: no face detected in {len(missing)} of {report['images']} images ({shown}); "
            f"fallback: {report['fallback']} (all listed in run.json)")
    else:
        say(f"face {name}: a face was detected in all {report['images']} images")
    if report["several_faces"]:
        say(several_faces_line(report["several_faces"], report["images"], spec.several_faces, f"face {name}: "))


class Progress:
    """Fold progress of one method: a tqdm bar on a terminal; otherwise (a log file, CI)
    a line every :data:`PROGRESS_INTERVAL` seconds with folds done, elapsed time and an
    estimate of the time left."""

    def __init__(self, label: str, total: int, enabled: bool, say: Callable[[str], None], unit: str = "fold"):
        from tqdm.auto import tqdm

        self.label, self.total, self.say, self.done, self.unit = label, total, say, 0, unit
        self.start = self.last = time.monotonic()
        terminal = enabled and sys.stderr.isatty()
        self.lines = enabled and not terminal
        self.bar = tqdm(total=total, desc=label, unit=unit, disable=not terminal, leave=True, file=sys.stderr)

    def update(self, n: int = 1) -> None:
        self.done += n
        self.bar.update(n)
        now = time.monotonic()
        if self.lines and (now - self.last >= PROGRESS_INTERVAL or self.done == self.total):
            self.last = now
            elapsed = now - self.start
            left = elapsed / self.done * (self.total - self.done)
            self.say(f"{self.label}: {self.done}/{self.total} {self.unit}s, {_duration(elapsed)} elapsed, "
                     f"about {_duration(left)} left")

    def close(self) -> None:
        self.bar.close()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _fit_folds(spec, method, the_plan: Plan, units, cache, store, executor, say) -> None:
    config, ds = the_plan.config, the_plan.dataset
    start = time.perf_counter()
    misses = cache.misses
    if config.progress and not sys.stderr.isatty():
        say(f"{spec.label}: preparing features of {len(ds)} images")
    bars: dict[str, Progress] = {}

    def bar(step: str):
        def update(n: int) -> None:  # a bar only when images are really being processed
            if step not in bars:
                bars[step] = Progress(f"{spec.label} {step}", len(ds), config.progress, say, unit="image")
            bars[step].update(n)
        return update

    spec_used = effective_spec(method, config.face, config.several_faces)
    reported_by_caller(ds, spec_used)  # _record_faces says it, with the fallback
    try:
        features = method_features(method, ds, cache, config.face, progress=bar("features"), jobs=config.jobs,
                                   face_progress=lambda step, n: bar(step)(n), several_faces=config.several_faces)
    finally:
        for one in bars.values():
            one.close()
    _record_faces(store, ds, spec_used, cache, say, config.jobs, the_plan.record.get("several_faces_dropped"))
    features_seconds = time.perf_counter() - start
    if cache.misses > misses:
        kept = "cached for later runs" if cache.root is not None else "not cached: see the warning about the cache"
        say(f"{spec.label}: features of {len(ds)} images computed in {features_seconds:.1f} s ({kept})")
    labels = ds.labels
    progress = Progress(spec.label, len(units), config.progress, say)
    try:
        for outcome in executor.map_folds(method, features, labels, units):
            timings = dict(outcome.timings)
            timings["features"] = features_seconds
            store.record_fold(
                spec.label, outcome.run, outcome.fold, outcome.test, outcome.y_true, outcome.y_pred,
                accuracy(outcome.y_true, outcome.y_pred), outcome.sizes, timings, outcome.info,
            )
            progress.update()
    finally:
        progress.close()
