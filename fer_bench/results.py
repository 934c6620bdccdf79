"""Results read back from a results directory: data only, no reporting.

:class:`Results` reads what a benchmark stored (configuration, dataset summary, environment,
the methods and what was recorded about them, per-fold predictions and timings, the splits)
and computes the paper's per-run metrics from it. Everything that turns results into
tables, statistics, plots and HTML lives downstream, in :mod:`fer_bench.reporting`.

A directory is read from its SQLite store (``results.sqlite``) when present, otherwise from
the files every run exports beside it (``run.json``, ``fold_accuracy.csv``,
``predictions.csv.gz``, ``split_sizes.csv``, ``samples.csv.gz``), so that committed results (whose stores are not
committed) can still be compared and reported on a fresh clone.

>>> res = fer_bench.load_results("fer-bench-results/jaffe-subject")   # doctest: +SKIP
>>> res.oa_summary("pca-svm")      # (mean OA %, SD, complete runs)
>>> res.confusion("pca-svm")       # labelled confusion matrix summed over complete runs

Only complete runs (all K folds finished) count: an interrupted run is resumed before it does.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import FerBenchError
from .files import expand_user
from .metrics import confusion_matrix, mean_sd, overall_accuracy, sensitivity
from .model_selection import PROTOCOLS, folds_of_run, protocol_short, protocol_title
from .store import STORE_NAME, ResultsStore

#: Files a run exports beside its store (see :func:`export_frames`).
PREDICTIONS_FILE = "predictions.csv.gz"
FOLDS_FILE = "fold_accuracy.csv"
SPLIT_SIZES_FILE = "split_sizes.csv"
FOLD_INFO_FILE = "fold_info.json.gz"
SAMPLES_FILE = "samples.csv.gz"
RECORD_FILE = "run.json"

_FOLD_COLUMNS = ["method", "run", "fold", "accuracy", "n_train", "n_val", "n_test", "features_seconds",
                 "fit_seconds", "predict_seconds", "info"]


class Results:
    """Everything a results directory holds, read-only.

    Attributes: ``config`` (the recorded configuration), ``dataset`` (its summary),
    ``environment``, ``command``, ``methods`` (labels in run order), ``method_params``
    and ``method_records`` (name, citation, published OA, pretraining, …) per method,
    ``skipped`` (method → reason), ``duplicates`` (groups of sample ids), ``split_warnings``,
    and DataFrames ``predictions`` (method, run, fold, idx, y_true, y_pred), ``folds``
    (per fold: accuracy, part sizes, timings, ``info`` dict), ``samples`` and
    ``split_sizes`` (run, fold, n_train, n_val, n_test). Runs and folds are 0-based here.

    Raises :class:`~fer_bench.errors.FerBenchError` when ``out`` holds no results.
    """

    def __init__(self, out: str | Path):
        self.out = expand_user(out)
        if (self.out / STORE_NAME).exists():
            self._read_store()
        elif (self.out / RECORD_FILE).exists() and (self.out / PREDICTIONS_FILE).exists():
            self._read_exported()
        else:
            raise FerBenchError(
                f"no results in {self.out}: neither {STORE_NAME} nor the exported {RECORD_FILE} and "
                f"{PREDICTIONS_FILE} are there"
            )
        self.folds["info"] = self.folds["info"].map(_as_dict)

    def _read_store(self) -> None:
        store = ResultsStore(self.out, write=False)
        try:
            self.config: dict = store.get_meta("config", {})
            self.environment: dict = store.get_meta("environment", {})
            self.dataset: dict = store.get_meta("dataset", {})
            self.command: str | None = store.get_meta("command")
            self.split_warnings: list[str] = store.get_meta("split_warnings", [])
            self.methods: list[str] = store.methods()
            self.method_params = {m: store.method_params(m) for m in self.methods}
            self.method_records = {m: store.method_record(m) for m in self.methods}
            self.skipped: dict[str, str] = store.skipped()
            self.duplicates: list[list[str]] = store.get_meta("duplicates", [])
            self.duplicates_spanning: list[int] = store.get_meta("duplicates_spanning", [])
            #: Face preprocessing per mode: detector, model, template, images without a face.
            self.faces: dict = store.get_meta("faces", {}) or {}
            self.predictions = pd.DataFrame(
                store.query("SELECT method, run, fold, idx, y_true, y_pred FROM predictions ORDER BY method, run, idx"),
                columns=["method", "run", "fold", "idx", "y_true", "y_pred"],
            )
            self.folds = pd.DataFrame(
                store.query(f"SELECT {', '.join(_FOLD_COLUMNS)} FROM folds ORDER BY method, run, fold"),
                columns=_FOLD_COLUMNS,
            )
            self.samples = pd.DataFrame(
                store.query("SELECT idx, sample_id, label, subject FROM samples ORDER BY idx"),
                columns=["idx", "sample_id", "label", "subject"],
            )
            splits = pd.DataFrame(store.query("SELECT run, idx, grp FROM splits ORDER BY run, idx"),
                                  columns=["run", "idx", "grp"])
        finally:
            store.close()
        self.split_sizes = _split_sizes(splits, self.config.get("protocol", "paper"))

    def _read_exported(self) -> None:
        record = json.loads((self.out / RECORD_FILE).read_text(encoding="utf-8"))
        self.config = record.get("config", {})
        self.environment = record.get("environment", {})
        self.dataset = record.get("dataset", {})
        self.command = record.get("command")
        self.split_warnings = record.get("split_warnings", [])
        self.method_params = record.get("methods", {})
        self.method_records = record.get("method_records", {})
        self.methods = list(record.get("method_order", self.method_params))
        self.skipped = record.get("skipped", {})
        self.duplicates = record.get("duplicates", [])
        self.duplicates_spanning = record.get("duplicates_spanning", [])
        self.faces = record.get("faces", {})
        with gzip.open(self.out / PREDICTIONS_FILE, "rt", encoding="utf-8") as handle:
            self.predictions = pd.read_csv(handle, dtype={"method": str})
        self.predictions[["run", "fold"]] -= 1
        folds = pd.read_csv(self.out / FOLDS_FILE, dtype={"method": str})
        folds[["run", "fold"]] -= 1
        # The exact fold accuracy, from the predictions (the CSV rounds it).
        correct = (self.predictions["y_true"] == self.predictions["y_pred"]).groupby(
            [self.predictions["method"], self.predictions["run"], self.predictions["fold"]]).mean() * 100.0
        folds["accuracy"] = [correct.get((m, r, f), np.nan) for m, r, f in zip(folds["method"], folds["run"], folds["fold"])]
        for column in _FOLD_COLUMNS:
            if column not in folds:
                folds[column] = None if column == "info" else np.nan
        info_path = self.out / FOLD_INFO_FILE
        if info_path.exists():  # per-fold facts (choices on validation, training accuracy, …)
            with gzip.open(info_path, "rt", encoding="utf-8") as handle:
                info = {(row["method"], row["run"] - 1, row["fold"] - 1): row["info"] for row in json.load(handle)}
            folds["info"] = [info.get((m, r, f), {}) for m, r, f in zip(folds["method"], folds["run"], folds["fold"])]
        self.folds = folds[_FOLD_COLUMNS].reset_index(drop=True)
        self.samples = _read_samples(self.out / SAMPLES_FILE)
        sizes_path = self.out / SPLIT_SIZES_FILE
        if sizes_path.exists():
            sizes = pd.read_csv(sizes_path)
            sizes[["run", "fold"]] -= 1
            self.split_sizes = sizes
        else:
            self.split_sizes = pd.DataFrame(columns=["run", "fold", "n_train", "n_val", "n_test"])

    # -- configuration ------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        return list(self.config.get("classes", []))

    @property
    def protocol(self) -> str:
        return self.config.get("protocol", "paper")

    @property
    def protocol_title(self) -> str:
        return protocol_title(self.protocol)

    @property
    def protocol_short(self) -> str:
        return protocol_short(self.protocol)

    @property
    def is_leave_one_subject_out(self) -> bool:
        """Subject-independent with as many groups as people: every group is one person
        (:class:`~fer_bench.model_selection.SubjectKFold`)."""
        people = self.dataset.get("subjects")
        return self.protocol == "subject" and bool(people) and int(people) == self.n_folds

    @property
    def n_folds(self) -> int:
        return int(self.config.get("folds", 0))

    @property
    def n_runs(self) -> int:
        return int(self.config.get("runs", 0))

    @property
    def refit(self) -> bool:
        """Whether the final models were retrained on training + validation (Li 2021, §3.6)."""
        return bool(self.config.get("refit", False))

    @property
    def is_synthetic(self) -> bool:
        """Whether the dataset is fer-bench's generated one (not photographs)."""
        return bool(self.dataset.get("synthetic") or str(self.config.get("dataset_spec", "")).startswith("synthetic"))

    def chance_levels(self) -> dict[str, float]:
        """Accuracy (%) of guessing: ``uniform`` (100 / number of classes) and
        ``majority`` (always predicting the most frequent class)."""
        counts = self.dataset.get("classes") or {}
        k = len(self.classes) or len(counts)
        uniform = 100.0 / k if k else float("nan")
        total = sum(counts.values()) if counts else 0
        majority = 100.0 * max(counts.values()) / total if total else uniform
        return {"uniform": uniform, "majority": majority}

    def __repr__(self) -> str:
        return (
            f"Results({str(self.out)!r}: {len(self.methods)} methods, dataset {self.dataset.get('name')}, "
            f"{self.protocol_short}, {self.n_runs}×{self.n_folds})"
        )

    # -- per run ------------------------------------------------------------------------
    def complete_runs(self, method: str) -> list[int]:
        """Runs (0-based) in which every fold of ``method`` has finished."""
        rows = self.folds[self.folds["method"] == method]
        counts = rows.groupby("run")["fold"].nunique()
        return sorted(int(r) for r, n in counts.items() if n == self.n_folds)

    def is_complete(self, method: str) -> bool:
        """Whether every run of ``method`` has finished."""
        return len(self.complete_runs(method)) == self.n_runs

    @cached_property
    def _confusions(self) -> dict[tuple[str, int], np.ndarray]:
        k = len(self.classes)
        out = {}
        for (method, run), rows in self.predictions.groupby(["method", "run"]):
            out[(method, int(run))] = confusion_matrix(rows["y_true"], rows["y_pred"], k)
        return out

    def confusion_counts(self, method: str, run: int | None = None) -> np.ndarray:
        """Run ``run``'s confusion matrix (K × K int64 counts; rows true, columns predicted)
        summed over its folds; ``None`` sums every complete run."""
        if run is not None:
            return self._confusions[(method, run)]
        k = len(self.classes)
        return sum((self._confusions[(method, r)] for r in self.complete_runs(method)),
                   np.zeros((k, k), dtype=np.int64))

    def confusion(self, method: str, run: int | None = None) -> pd.DataFrame:
        """:meth:`confusion_counts` labelled: index ``true`` and columns ``predicted`` are
        the class names."""
        counts = self.confusion_counts(method, run)
        return pd.DataFrame(counts, index=pd.Index(self.classes, name="true"),
                            columns=pd.Index(self.classes, name="predicted"))

    def run_metrics(self, method: str, runs: list[int] | None = None) -> pd.DataFrame:
        """Numeric OA (eq. 8) and per-class sensitivity (eq. 7), percent, of every complete
        run (or of ``runs``), indexed by the 1-based run number."""
        rows = []
        for run in self.complete_runs(method) if runs is None else runs:
            cm = self._confusions[(method, run)]
            rows.append({"run": run + 1, "oa": overall_accuracy(cm), **dict(zip(self.classes, sensitivity(cm)))})
        return pd.DataFrame(rows, columns=["run", "oa", *self.classes]).set_index("run")

    def oa_summary(self, method: str, runs: list[int] | None = None) -> tuple[float, float, int]:
        """(mean, sample SD, number of runs) of the overall accuracy over complete runs."""
        values = self.run_metrics(method, runs)["oa"].to_numpy()
        mean, sd = mean_sd(values)
        return mean, sd, len(values)

    def common_runs(self, methods: list[str] | None = None) -> list[int]:
        """Runs complete for every one of ``methods`` (default: every method with a complete run)."""
        methods = [m for m in (self.methods if methods is None else methods) if self.complete_runs(m)]
        if not methods:
            return []
        common = set(self.complete_runs(methods[0]))
        for method in methods[1:]:
            common &= set(self.complete_runs(method))
        return sorted(common)

    def fold_accuracy(self) -> pd.DataFrame:
        """Tidy per-fold accuracies (percent): method, run (1-based), fold (1-based), accuracy,
        and the sizes of the training, validation and test parts."""
        frame = self.folds[["method", "run", "fold", "accuracy", "n_train", "n_val", "n_test"]].copy()
        frame["run"] += 1
        frame["fold"] += 1
        return frame


def _read_samples(path: Path) -> pd.DataFrame:
    """The exported samples (idx, sample_id, label, subject; subject None where missing), or an
    empty table with those columns when ``path`` does not exist (results exported before it was)."""
    columns = ["idx", "sample_id", "label", "subject"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"sample_id": str, "label": str, "subject": str}, keep_default_na=False,
                            na_values={"subject": [""]})
    frame["subject"] = frame["subject"].astype(object).where(frame["subject"].notna(), None)
    return frame[columns]


def _split_sizes(splits: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """Per (run, fold): the sizes of the training, validation and test parts (0-based)."""
    folds_of = PROTOCOLS[protocol]().folds if protocol in PROTOCOLS else (lambda g, r: folds_of_run(g, r))
    rows = []
    for run, part in splits.groupby("run"):
        for fold in folds_of(part["grp"].to_numpy(), int(run)):
            rows.append((int(run), fold.fold, len(fold.train), len(fold.val), len(fold.test)))
    return pd.DataFrame(rows, columns=["run", "fold", "n_train", "n_val", "n_test"])


def _as_dict(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        return json.loads(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    return {}


def _gzip(text: str) -> bytes:
    """``text`` gzipped without a file name or timestamp (same text, same bytes)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    return buffer.getvalue()


def export_frames(results: Results) -> dict[str, bytes]:
    """The files that let a directory be read without its store: ``predictions.csv.gz``
    (1-based run and fold), ``split_sizes.csv``, ``fold_info.json.gz`` (each fold's
    ``info``: the candidates tried on the validation group and the choice, training facts) and
    ``samples.csv.gz`` (every image's index, ``sample_id`` — its path under the dataset root —,
    label and subject; only when the results know them), as bytes (gzip without a timestamp, so the same results give the same bytes)."""
    predictions = results.predictions.copy()
    predictions[["run", "fold"]] += 1
    sizes = results.split_sizes.copy()
    sizes[["run", "fold"]] += 1
    info = [{"method": m, "run": int(r) + 1, "fold": int(f) + 1, "info": i}
            for m, r, f, i in zip(results.folds["method"], results.folds["run"], results.folds["fold"],
                                  results.folds["info"])]
    frames = {
        PREDICTIONS_FILE: _gzip(predictions.to_csv(index=False, lineterminator="\n")),
        SPLIT_SIZES_FILE: sizes.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        FOLD_INFO_FILE: _gzip(json.dumps(info, sort_keys=True, default=str)),
    }
    if len(results.samples):
        samples = results.samples[["idx", "sample_id", "label", "subject"]].sort_values("idx")
        frames[SAMPLES_FILE] = _gzip(samples.to_csv(index=False, lineterminator="\n"))
    return frames


def load_results(out: str | Path) -> Results:
    """Open the results of a results directory (read-only)."""
    return Results(out)
