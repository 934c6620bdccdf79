"""Results read back from a store, and the paper's tables as pandas DataFrames.

>>> res = fer_bench.load_results("results/jaffe-subject")   # doctest: +SKIP
>>> res.table2()            # OA per run, one column per method, Mean ± SD row
>>> res.table1("pca-svm")   # per-class sensitivity per run (the paper's Table 1)
>>> res.table3()            # one row per method with the paper's value

Only complete runs (all K folds finished) enter the tables: an interrupted run is
resumed before it counts.
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import confusion_matrix, format_mean_sd, mean_sd, overall_accuracy, sensitivity
from .model_selection import PROTOCOL_SHORT, PROTOCOL_TITLES
from .store import ResultsStore


class Results:
    """Everything a store holds, with the paper's tables as DataFrames."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        store = ResultsStore(self.out, write=False)
        try:
            self.config: dict = store.get_meta("config", {})
            self.environment: dict = store.get_meta("environment", {})
            self.dataset: dict = store.get_meta("dataset", {})
            self.command: str | None = store.get_meta("command")
            self.methods: list[str] = store.methods()
            self.method_params = {m: store.method_params(m) for m in self.methods}
            self.method_info = store.get_meta("method_info", {})
            self.skipped: dict[str, str] = store.skipped()
            self.duplicates: list[list[str]] = store.get_meta("duplicates", [])
            #: Face preprocessing per mode: detector, model, template, images without a face.
            self.faces: dict = store.get_meta("faces", {}) or {}
            self.predictions = pd.DataFrame(
                store.query("SELECT method, run, fold, idx, y_true, y_pred FROM predictions ORDER BY method, run, idx"),
                columns=["method", "run", "fold", "idx", "y_true", "y_pred"],
            )
            self.folds = pd.DataFrame(
                store.query(
                    "SELECT method, run, fold, accuracy, n_train, n_val, n_test, features_seconds, "
                    "fit_seconds, predict_seconds, info FROM folds ORDER BY method, run, fold"
                ),
                columns=[
                    "method", "run", "fold", "accuracy", "n_train", "n_val", "n_test",
                    "features_seconds", "fit_seconds", "predict_seconds", "info",
                ],
            )
            self.samples = pd.DataFrame(
                store.query("SELECT idx, sample_id, label, subject FROM samples ORDER BY idx"),
                columns=["idx", "sample_id", "label", "subject"],
            )
        finally:
            store.close()
        self.folds["info"] = self.folds["info"].map(lambda s: json.loads(s) if s else {})

    # -- configuration ------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        return list(self.config.get("classes", []))

    @property
    def protocol(self) -> str:
        return self.config.get("protocol", "paper")

    @property
    def protocol_title(self) -> str:
        return PROTOCOL_TITLES.get(self.protocol, self.protocol)

    @property
    def protocol_short(self) -> str:
        return PROTOCOL_SHORT.get(self.protocol, self.protocol)

    @property
    def n_folds(self) -> int:
        return int(self.config.get("folds", 0))

    @property
    def n_runs(self) -> int:
        return int(self.config.get("runs", 0))

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

    @cached_property
    def _confusions(self) -> dict[tuple[str, int], np.ndarray]:
        k = len(self.classes)
        out = {}
        for (method, run), rows in self.predictions.groupby(["method", "run"]):
            out[(method, int(run))] = confusion_matrix(rows["y_true"], rows["y_pred"], k)
        return out

    def confusion(self, method: str, run: int | None = None) -> np.ndarray:
        """Run ``run``'s confusion matrix summed over its folds; ``None`` sums every complete run."""
        if run is not None:
            return self._confusions[(method, run)]
        runs = self.complete_runs(method)
        k = len(self.classes)
        return sum((self._confusions[(method, r)] for r in runs), np.zeros((k, k), dtype=np.int64))

    def run_metrics(self, method: str) -> pd.DataFrame:
        """Numeric OA and per-class sensitivity (percent) of every complete run."""
        rows = []
        for run in self.complete_runs(method):
            cm = self._confusions[(method, run)]
            rows.append({"run": run + 1, "oa": overall_accuracy(cm), **dict(zip(self.classes, sensitivity(cm)))})
        return pd.DataFrame(rows, columns=["run", "oa", *self.classes]).set_index("run")

    def oa_summary(self, method: str) -> tuple[float, float, int]:
        """(mean, SD, number of complete runs) of the overall accuracy."""
        values = self.run_metrics(method)["oa"].to_numpy()
        mean, sd = mean_sd(values)
        return mean, sd, len(values)

    def fold_accuracy(self) -> pd.DataFrame:
        """Tidy per-fold accuracies: method, run (1-based), fold (1-based), accuracy, sizes."""
        frame = self.folds[["method", "run", "fold", "accuracy", "n_train", "n_test"]].copy()
        frame["run"] += 1
        frame["fold"] += 1
        return frame

    # -- the paper's tables -------------------------------------------------------------
    def table1(self, method: str) -> pd.DataFrame:
        """Per-class sensitivity (%) per run, with the paper's Mean ± SD row."""
        metrics = self.run_metrics(method)
        body = metrics[self.classes].map(_fmt)
        body.index = [str(i) for i in body.index]
        summary = {c: format_mean_sd(*mean_sd(metrics[c])) for c in self.classes}
        table = pd.concat([body, pd.DataFrame([summary], index=["Mean ± SD"])])
        table.index.name = "run"
        table["protocol"] = self.protocol_short
        return table

    def table2(self) -> pd.DataFrame:
        """Overall accuracy (%) per run, one column per method, with a Mean ± SD row."""
        columns = {}
        for method in self.methods:
            oa = self.run_metrics(method)["oa"]
            if len(oa):
                columns[method] = oa
        runs = sorted({r for col in columns.values() for r in col.index})
        body = pd.DataFrame({m: col.reindex(runs).map(_fmt) for m, col in columns.items()}, index=runs)
        body.index = [str(r) for r in runs]
        summary = {m: format_mean_sd(*mean_sd(col)) for m, col in columns.items()}
        table = pd.concat([body, pd.DataFrame([summary], index=["Mean ± SD"])])
        table.index.name = "run"
        table["protocol"] = self.protocol_short
        return table.fillna("")

    def table3(self) -> pd.DataFrame:
        """One row per method: OA mean and SD over runs, the published value, and statistics.

        After the paper's columns: ``ci95_low``/``ci95_high`` (corrected-variance 95 %
        interval of the OA), ``p_vs_best`` (two-sided corrected resampled t-test against
        the method with the best mean OA) and ``significance`` (``best``, ``*`` for
        p < 0.05, ``n.s.``); see :mod:`fer_bench.stats`.
        """
        from .registry import get_method_class

        rows = []
        for method in self.methods:
            mean, sd, n_runs = self.oa_summary(method)
            if n_runs == 0:
                continue
            name = method.split(":", 1)[0]
            paper = ""
            try:
                cls = get_method_class(name)
                if cls.paper_oa is not None and method == name:
                    paper = format_mean_sd(*cls.paper_oa)
            except Exception:  # a plugin no longer installed still has its results shown
                pass
            rows.append(
                {
                    "method": method,
                    "oa_mean": round(mean, 2),
                    "oa_sd": round(sd, 2) if not math.isnan(sd) else float("nan"),
                    "runs": n_runs,
                    "folds": self.n_folds,
                    "protocol": self.protocol_short,
                    "paper_oa": paper,
                }
            )
        base = ["method", "oa_mean", "oa_sd", "runs", "folds", "protocol", "paper_oa"]
        table = pd.DataFrame(rows, columns=base)
        # Statistics (see fer_bench.stats): corrected-variance 95 % interval of the OA, and
        # the corrected resampled t-test against the method with the best mean OA.
        from .stats import significance_columns

        extra = significance_columns(self)
        table = table.join(extra, on="method")
        table["ci95_low"] = table["ci95_low"].astype(float).round(2)
        table["ci95_high"] = table["ci95_high"].astype(float).round(2)
        table["p_vs_best"] = table["p_vs_best"].astype(float)
        table["significance"] = table["significance"].fillna("").astype(str)
        return table[[*base, "ci95_low", "ci95_high", "p_vs_best", "significance"]]

    def write_tables(self, out: str | Path | None = None, figures: bool = True) -> list[Path]:
        """Write Tables 1-3, the leaderboard, run.json, statistics and (``figures``) the
        plots and report.html (see :mod:`fer_bench.report`)."""
        from .report import write_report

        return write_report(self, Path(out) if out else self.out, figures=figures)


def _fmt(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def load_results(out: str | Path) -> Results:
    """Open the results stored in an output directory (read-only)."""
    return Results(out)
