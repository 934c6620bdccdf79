"""The CI accuracy gate (``fer-bench check``).

A *reference file* (JSON) records a benchmark's configuration, every method's OA mean
and SD, and the commands that made it::

    {"format": "fer-bench-reference/1",
     "config": {"methods": ["pca-svm"], "dataset_spec": "synthetic", "dataset_fingerprint": "…",
                "protocol": "paper", "runs": 2, "folds": 5, "seed": 0, "face_crop": false},
     "methods": {"pca-svm": {"oa_mean": 18.71, "oa_sd": 1.41, "runs": 2}},
     "tolerance": 1.0,
     "run_command": "fer-bench run …", "command": "fer-bench check --write-reference …",
     "environment": {…}}

:func:`check_results` compares a benchmark with it: a method *fails* when its OA mean
is more than ``tolerance`` percentage points below the reference, or when it is
missing (not run, skipped, incomplete). Methods that improved by more than the
tolerance pass, and are flagged so that the reference can be refreshed.

Command line (thin over :func:`make_reference`, :func:`run_reference`,
:func:`check_results`)::

    fer-bench check --write-reference REF.json --results DIR [--tolerance PTS]
    fer-bench check --reference REF.json [--tolerance PTS] --results DIR
    fer-bench check --reference REF.json [REF2.json …] [--tolerance PTS] [--out DIR] [--dataset SPEC] [--jobs N] …

``check`` exits 0 when every method holds, 1 naming every method that fell or is
missing (in any of the references given), 2 on bad input (unreadable reference, a results directory of another
configuration or dataset).
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import ReferenceCheckError

REFERENCE_FORMAT = "fer-bench-reference/1"
#: Default allowed drop (percentage points of OA) when the reference names none.
DEFAULT_TOLERANCE = 1.0
#: Configuration keys a checked benchmark must share with its reference.
CHECKED_KEYS = ("dataset_fingerprint", "protocol", "runs", "folds", "seed", "refit", "selection", "face_crop")


# -- reference files ------------------------------------------------------------------------


def make_reference(results, tolerance: float | None = None, command: str | None = None) -> dict:
    """The reference record of a results directory (methods with at least one complete run)."""
    methods = {}
    for method in results.methods:
        mean, sd, n = results.oa_summary(method)
        if n:
            methods[method] = {
                "oa_mean": round(mean, 4),
                "oa_sd": None if math.isnan(sd) else round(sd, 4),
                "runs": n,
            }
    if not methods:
        raise ReferenceCheckError(f"{results.out} has no method with a complete run; nothing to record")
    config = {
        "methods": list(methods),
        "dataset_spec": results.config.get("dataset_spec"),
        "dataset_fingerprint": results.config.get("dataset_fingerprint"),
        "protocol": results.protocol,
        "runs": results.n_runs,
        "folds": results.n_folds,
        "seed": results.config.get("seed"),
        "refit": bool(results.config.get("refit", False)),
        "selection": results.config.get("selection", "validation"),
        "face_crop": bool(results.config.get("face_crop", False)),
    }
    env = results.environment or {}
    return {
        "format": REFERENCE_FORMAT,
        "config": config,
        "methods": methods,
        "tolerance": DEFAULT_TOLERANCE if tolerance is None else float(tolerance),
        "run_command": results.command,
        "command": command,
        "environment": {k: env[k] for k in ("python", "platform", "packages", "git_revision") if k in env},
    }


def write_reference(results, path: str | Path, tolerance: float | None = None, command: str | None = None) -> Path:
    """Write :func:`make_reference` of ``results`` (a :class:`Results` or directory) to ``path``."""
    from .results import Results

    results = results if isinstance(results, Results) else Results(results)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = make_reference(results, tolerance, command)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_reference(path: str | Path) -> dict:
    """Read and validate a reference file."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceCheckError(f"reference file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise ReferenceCheckError(f"reference file {path} is not readable JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != REFERENCE_FORMAT:
        raise ReferenceCheckError(f"{path} is not a fer-bench reference file (format {REFERENCE_FORMAT!r} expected)")
    for key in ("config", "methods"):
        if not isinstance(record.get(key), dict):
            raise ReferenceCheckError(f"reference file {path} has no {key!r} object")
    for method, entry in record["methods"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("oa_mean"), (int, float)):
            raise ReferenceCheckError(f"reference file {path}: method {method!r} has no numeric oa_mean")
    return record


# -- checking -------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """The outcome of :func:`check_results`."""

    table: pd.DataFrame  #: method, reference, measured, delta, status
    failed: list[str] = field(default_factory=list)  #: methods below tolerance
    missing: list[str] = field(default_factory=list)  #: reference methods without a complete result
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def passed(self) -> bool:
        return not self.failed and not self.missing

    def summary(self) -> str:
        """The table as Markdown, then one line naming every failure (or ``PASS``)."""
        from .reporting.tables import markdown_table

        text = markdown_table(self.table, index=False)
        if self.passed:
            return text + f"\nPASS: every method within {self.tolerance:g} OA points of its reference\n"
        lines = []
        if self.failed:
            lines.append(f"FAIL: more than {self.tolerance:g} OA points below the reference: " + ", ".join(self.failed))
        if self.missing:
            lines.append("FAIL: missing (not run, skipped or incomplete): " + ", ".join(self.missing))
        return text + "\n" + "\n".join(lines) + "\n"


def check_config(results, reference: dict) -> None:
    """Refuse results of another configuration or dataset than the reference's."""
    ref = reference["config"]
    diffs = [
        f"{key}: reference {ref.get(key)!r}, results {results.config.get(key)!r}"
        for key in CHECKED_KEYS
        if key in ref and ref.get(key) != results.config.get(key, False if key == "face_crop" else None)
    ]
    if diffs:
        raise ReferenceCheckError(f"{results.out} is not comparable with the reference ({'; '.join(diffs)})")


def check_results(results, reference: dict, tolerance: float | None = None) -> CheckReport:
    """Compare every reference method's OA mean in ``results`` with the reference.

    ``tolerance`` (percentage points) defaults to the reference's own, else
    :data:`DEFAULT_TOLERANCE`. Raises :class:`ReferenceCheckError` when ``results`` was run
    with another configuration or on another dataset.
    """
    from .results import Results

    if results is None:  # nothing could run: every reference method is missing
        rows = [{"method": m, "reference": float(e["oa_mean"]), "measured": float("nan"), "delta": float("nan"),
                 "status": "MISSING"} for m, e in reference["methods"].items()]
        tol = float(reference.get("tolerance", DEFAULT_TOLERANCE) if tolerance is None else tolerance)
        table = pd.DataFrame(rows, columns=["method", "reference", "measured", "delta", "status"])
        return CheckReport(table, [], list(reference["methods"]), tol)
    results = results if isinstance(results, Results) else Results(results)
    check_config(results, reference)
    tol = float(reference.get("tolerance", DEFAULT_TOLERANCE) if tolerance is None else tolerance)
    if tol < 0 or math.isnan(tol):
        raise ReferenceCheckError(f"tolerance {tol}: must be ≥ 0")
    rows, failed, missing = [], [], []
    for method, entry in reference["methods"].items():
        ref_mean = float(entry["oa_mean"])
        mean, _, n = results.oa_summary(method) if method in results.methods else (float("nan"), float("nan"), 0)
        expected_runs = int(reference["config"].get("runs", results.n_runs))
        if n < expected_runs:
            missing.append(method)
            status = "MISSING" if n == 0 else f"MISSING ({n}/{expected_runs} runs)"
            rows.append({"method": method, "reference": ref_mean, "measured": mean if n else float("nan"),
                         "delta": float("nan"), "status": status})
            continue
        delta = round(mean - ref_mean, 4) + 0.0  # the reference keeps 4 decimals; + 0.0 drops "-0"
        if delta < -tol:
            failed.append(method)
            status = "FAIL"
        elif delta > tol:
            status = "improved (refresh the reference)"
        else:
            status = "ok"
        rows.append({"method": method, "reference": ref_mean, "measured": mean, "delta": delta, "status": status})
    for method in results.methods:
        if method not in reference["methods"] and results.oa_summary(method)[2]:
            rows.append({"method": method, "reference": float("nan"), "measured": results.oa_summary(method)[0],
                         "delta": float("nan"), "status": "new (no reference)"})
    table = pd.DataFrame(rows, columns=["method", "reference", "measured", "delta", "status"])
    return CheckReport(table, failed, missing, tol)


def run_reference(
    reference: dict,
    out: str | Path,
    dataset: str | None = None,
    jobs: int = 1,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    progress: bool = False,
    command: str | None = None,
):
    """Run the benchmark a reference describes (its methods, dataset, protocol, runs, folds, seed).

    ``dataset`` replaces the recorded spec (e.g. the same images at another path); the
    dataset fingerprint must still match. Methods that fail are recorded as missing by
    :func:`check_results` rather than aborting the check.
    """
    from .results import Results
    from .runner import MethodFailedError, run

    cfg = reference["config"]
    spec = dataset or cfg.get("dataset_spec")
    if not spec:
        raise ReferenceCheckError("the reference records no dataset spec; pass --dataset")
    runnable = []
    for label in reference["methods"]:
        reason = _cannot_run(label, device)
        if reason:
            print(f"fer-bench check: {label} cannot run here ({reason}); it counts as missing", file=sys.stderr)
        else:
            runnable.append(label)
    if not runnable:
        from .datasets import load_dataset

        load_dataset(spec)  # a bad spec is reported as such; then there is nothing to run
        return None
    try:
        return run(
            methods=runnable,
            dataset=spec,
            protocol=cfg.get("protocol", "paper"),
            runs=int(cfg["runs"]),
            folds=int(cfg["folds"]),
            seed=int(cfg.get("seed", 0)),
            refit=bool(cfg.get("refit", False)),
            selection=cfg.get("selection", "validation"),
            out=out,
            device=device,
            face_crop=bool(cfg.get("face_crop", False)),
            jobs=jobs,
            cache_dir=cache_dir,
            progress=progress,
            command=command,
        )
    except MethodFailedError as exc:
        print(f"fer-bench check: {exc}", file=sys.stderr)
        return Results(out)


def _cannot_run(label: str, device: str) -> str | None:
    """Why a reference method cannot run in this installation (None when it can)."""
    from .devices import resolve_device
    from .registry import parse_method_list

    try:
        (spec,) = parse_method_list([label])
        run_device = resolve_device(device)
        reasons = spec.create(device=run_device).unmet_requirements(run_device)
    except Exception as exc:  # not installed, broken plugin, renamed parameter
        return f"{type(exc).__name__}: {exc}"
    return "; ".join(reasons) or None


def check(
    reference: str | Path | dict,
    results=None,
    tolerance: float | None = None,
    out: str | Path | None = None,
    **run_options,
) -> CheckReport:
    """Check ``results`` (a directory or :class:`Results`), or a fresh run, against a reference.

    Without ``results`` the reference's benchmark is run into ``out`` (a temporary
    directory, removed afterwards, when ``out`` is None) with ``run_options`` passed to
    :func:`run_reference`.
    """
    record = reference if isinstance(reference, dict) else load_reference(reference)
    if results is not None:
        return check_results(results, record, tolerance)
    if out is not None:
        return check_results(run_reference(record, out, **run_options), record, tolerance)
    with tempfile.TemporaryDirectory(prefix="fer-bench-check-") as tmp:
        return check_results(run_reference(record, Path(tmp) / "results", **run_options), record, tolerance)


# -- command line ---------------------------------------------------------------------------


def _command_line() -> str | None:
    if sys.argv and sys.argv[0].endswith("fer-bench"):
        return "fer-bench " + shlex.join(sys.argv[1:])
    return None


def _cmd_check(args) -> int:
    if args.write_reference:
        if not args.results:
            raise ReferenceCheckError("--write-reference needs --results DIR (the benchmark to record)")
        path = write_reference(args.results, args.write_reference, args.tolerance, _command_line())
        record = load_reference(path)
        print(f"reference written to {path}: " + ", ".join(
            f"{m} {e['oa_mean']:.2f}" for m, e in record["methods"].items()))
        return 0
    if not args.reference:
        raise ReferenceCheckError("give --reference FILE to check, or --write-reference FILE --results DIR to record")
    if args.results and len(args.reference) > 1:
        raise ReferenceCheckError("--results checks one directory: give a single --reference with it")
    if args.dataset and len(args.reference) > 1:
        raise ReferenceCheckError("--dataset replaces one reference's dataset: give a single --reference with it")
    status = 0
    for ref_path in args.reference:
        record = load_reference(ref_path)
        out = args.out
        if out is not None and len(args.reference) > 1:
            out = Path(out) / Path(ref_path).stem  # one results directory per reference
        report = check(
            record,
            results=args.results,
            tolerance=args.tolerance,
            out=out,
            **({} if args.results else {
                "dataset": args.dataset, "jobs": args.jobs, "device": args.device, "cache_dir": args.cache_dir,
                "progress": not args.quiet, "command": _command_line(),
            }),
        )
        cfg = record["config"]
        print(
            f"fer-bench check against {ref_path}: {cfg.get('dataset_spec')} ({cfg.get('protocol')}, "
            f"{cfg.get('runs')} runs × {cfg.get('folds')} folds, seed {cfg.get('seed')}), "
            f"tolerance {report.tolerance:g}\n"
        )
        print(report.summary())
        sys.stdout.flush()
        if not report.passed:
            status = 1
    return status


def add_cli(subparsers) -> None:
    """Add ``fer-bench check``."""
    check_p = subparsers.add_parser(
        "check",
        help="CI accuracy gate: compare a benchmark's OA with a reference file",
        description=(
            "Compare each method's OA with a reference file and exit 1 naming every method more than "
            "--tolerance points below it (or missing). Without --results, first runs the reference's "
            "benchmark (its methods, dataset, protocol, runs, folds, seed). With --write-reference, "
            "record a reference from --results instead."
        ),
    )
    check_p.add_argument("--reference", nargs="+", metavar="FILE",
                         help="reference JSON file(s) to check against (all are checked; exit 1 if any fails)")
    check_p.add_argument("--write-reference", metavar="FILE", help="write a reference file from --results DIR")
    check_p.add_argument("--tolerance", type=float, default=None,
                         help=f"allowed drop in OA points (default: the reference's, else {DEFAULT_TOLERANCE:g})")
    check_p.add_argument("--results", help="an existing results directory (no run)")
    check_p.add_argument("--out", default=None,
                         help="where to run the benchmark (default: a temporary directory; with several "
                              "references, one sub-directory per reference file name)")
    check_p.add_argument("--dataset", default=None, help="dataset spec replacing the reference's (same images)")
    check_p.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel (default 1)")
    check_p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    check_p.add_argument("--cache-dir", default=None, help="feature cache directory")
    check_p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    check_p.set_defaults(func=_cmd_check)
