"""The CI accuracy gate (``fer-bench check``).

A *reference file* (JSON) records a benchmark's configuration, every method's OA mean
and SD, and the commands that made it::

    {"format": "fer-bench-reference/1",
     "config": {"methods": ["pca-svm"], "dataset_spec": "synthetic", "dataset_fingerprint": "…",
                "protocol": "paper", "runs": 2, "folds": 5, "seed": 0, "face": null},
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
    fer-bench check --reference REF.json [REF2.json …] [--tolerance PTS] [--out DIR] [--jobs N]
                    [--data-root SOURCE=PATH …] [--dataset SPEC] [--skip-missing-data] …

Where a reference's data are: the reference records the dataset spec it was made with
(``jaffe:../shared/datasets/jaffe``; relative paths are read from the current
directory). A user points it at their own copy, in this order of precedence, with
``--dataset SPEC`` (the whole spec; with several references it applies to those whose
source matches, when they all recorded the same dataset), ``--data-root SOURCE=PATH``
(repeatable; replaces the path of every reference of that source, keeping its options)
or the environment variable ``FER_BENCH_DATA_<SOURCE>`` (``FER_BENCH_DATA_JAFFE=/my/jaffe``).
Before anything is computed, every reference's dataset is loaded and its fingerprint
compared with the recorded one: other data, or another version of a built-in generator,
fail at once. ``--skip-missing-data`` skips (and names) a reference whose data are absent.

``check`` exits 0 when every method holds, 1 naming every method that fell or is
missing (in any of the references given), 2 on bad input (unreadable reference, a results directory of another
configuration or dataset, a dataset that is absent or has another fingerprint).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .config import available_cores
from .errors import ReferenceCheckError
from .files import expand_user, user_path, writable_directory, write_atomic
from .options import checked_options

if TYPE_CHECKING:  # pandas is imported where tables are built: listing commands stay light
    import pandas as pd

REFERENCE_FORMAT = "fer-bench-reference/1"
#: Default allowed drop (percentage points of OA) when the reference names none.
DEFAULT_TOLERANCE = 1.0
#: Configuration keys a checked benchmark must share with its reference: the data's fingerprint and
#: those of the options declared ``checked=True`` in :data:`fer_bench.options.RUN_OPTIONS`.
CHECKED_KEYS = ("dataset_fingerprint", *(o.record for o in checked_options()))

#: Prefix of the environment variables that point a dataset source at a user's copy of its data.
DATA_ENV_PREFIX = "FER_BENCH_DATA_"


class DataMissingError(ReferenceCheckError):
    """The data a reference needs are not where the reference (or the user's override) says."""


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
        # every checked option as the run recorded it (its declared value for a record without it)
        **{o.record: o.from_record(results.config) for o in checked_options()},
    }
    if results.config.get("loaded_fingerprint"):  # --several-faces drop: the data as loaded, before the drop
        config["loaded_fingerprint"] = results.config["loaded_fingerprint"]
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
    path = expand_user(path)
    writable_directory(path.parent, "--write-reference")
    record = make_reference(results, tolerance, command)
    return write_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n",
                        hint="free some space, or choose another --write-reference")


def load_reference(path: str | Path) -> dict:
    """Read and validate a reference file."""
    path = Path(path).expanduser()
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
        from .reporting.markdown import counted
        from .reporting.tables import markdown_table

        text = markdown_table(self.table, index=False)
        points = counted(float(self.tolerance), "OA point")
        if self.passed:
            return text + f"\nPASS: every method within {points} of its reference\n"
        lines = []
        if self.failed:
            lines.append(f"FAIL: more than {points} below the reference: " + ", ".join(self.failed))
        if self.missing:
            lines.append("FAIL: missing (not run, skipped or incomplete): " + ", ".join(self.missing))
        return text + "\n" + "\n".join(lines) + "\n"


def check_config(results, reference: dict) -> None:
    """Refuse results of another configuration or dataset than the reference's."""
    ref = reference["config"]
    diffs = [
        f"{key}: reference {ref.get(key)!r}, results {results.config.get(key)!r}"
        for key in ("dataset_fingerprint", *(o.record for o in checked_options()))
        if key in ref and ref.get(key) != results.config.get(key)
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
        import pandas as pd

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
    import pandas as pd

    table = pd.DataFrame(rows, columns=["method", "reference", "measured", "delta", "status"])
    return CheckReport(table, failed, missing, tol)


# -- where a reference's data are ------------------------------------------------------------


def split_spec(spec: str) -> tuple[str, str, str]:
    """``"jaffe:/data/jaffe?x=1"`` -> ``("jaffe", "/data/jaffe", "x=1")`` (source, path, options)."""
    head, _, query = spec.partition("?")
    source, _, path = head.partition(":")
    return source, path, query


def data_env_var(source: str) -> str:
    """The environment variable that points ``source`` at a copy of its data: ``FER_BENCH_DATA_JAFFE``."""
    return DATA_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", source).upper()


def parse_data_roots(items) -> dict[str, str]:
    """``["jaffe=/my/jaffe", …]`` (``--data-root``) -> ``{"jaffe": "/my/jaffe"}``.

    Raises :class:`ReferenceCheckError` for an item without ``=`` or a source given twice.
    """
    roots: dict[str, str] = {}
    for item in items or ():
        source, eq, path = item.partition("=")
        if not eq or not source or not path:
            raise ReferenceCheckError(f"--data-root {item!r}: expected SOURCE=PATH, e.g. --data-root jaffe=/data/jaffe")
        if source in roots:
            raise ReferenceCheckError(f"--data-root {source}= is given twice")
        roots[source] = path
    return roots


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset spec a check will use for one reference, and where it came from."""

    spec: str
    origin: str  #: "the reference file X", "--dataset", "--data-root jaffe=…" or "$FER_BENCH_DATA_JAFFE"


def resolve_dataset(
    reference: dict,
    dataset: str | None = None,
    data_roots: dict[str, str] | None = None,
    environ=None,
    name: str | None = None,
) -> DatasetChoice:
    """Which dataset spec to check ``reference`` on, by precedence.

    ``dataset`` (``--dataset``) replaces the whole spec; else ``data_roots[source]``
    (``--data-root SOURCE=PATH``), else the environment variable
    ``FER_BENCH_DATA_<SOURCE>`` (:func:`data_env_var`) replaces the recorded path and keeps
    its options; else the spec recorded in the reference (``name``: its file, for messages).
    Raises :class:`ReferenceCheckError` when nothing names a dataset, or an override names a
    path for a source that takes none (``synthetic``).
    """
    if dataset:
        return DatasetChoice(dataset, "--dataset")
    recorded_in = "the reference" if name is None else f"the reference file {name}"
    recorded = reference["config"].get("dataset_spec")
    if not recorded:
        raise ReferenceCheckError(f"{recorded_in} records no dataset spec; give --dataset SPEC")
    source, path, query = split_spec(recorded)
    environ = os.environ if environ is None else environ
    var = data_env_var(source)
    if source in (data_roots or {}):
        new_path, origin = data_roots[source], f"--data-root {source}={data_roots[source]}"
    elif environ.get(var):
        new_path, origin = environ[var], f"${var}"
    else:
        return DatasetChoice(recorded, recorded_in)
    if not path:
        raise ReferenceCheckError(f"{origin}: the {source} dataset of {recorded_in} takes no path ({recorded!r})")
    return DatasetChoice(f"{source}:{new_path}" + (f"?{query}" if query else ""), origin)


def open_reference_dataset(reference: dict, choice: DatasetChoice, name: str = "the reference"):
    """Load ``choice``'s dataset and compare its fingerprint with the reference's, before any computing.

    Returns the :class:`~fer_bench.datasets.Dataset` (its fingerprint computed, so a run
    reuses it). Raises :class:`DataMissingError` when the dataset's path does not exist
    (the message says where the path came from and how to point it elsewhere), and
    :class:`ReferenceCheckError` when it cannot be read or its fingerprint differs.
    """
    from .datasets import load_dataset
    from .errors import DatasetError

    source, path, _ = split_spec(choice.spec)
    if path and not Path(path).expanduser().exists():
        how = (f"point it at your copy with --data-root {source}=PATH or {data_env_var(source)}=PATH "
               f"(or --dataset {source}:PATH), or skip this reference with --skip-missing-data")
        where = (f"the path comes from {choice.origin}; relative paths are read from {Path.cwd()}"
                 if choice.origin.startswith("the reference") else f"the path comes from {choice.origin}")
        raise DataMissingError(f"{name}: dataset {choice.spec} not found ({where}): {how}")
    try:
        ds = load_dataset(choice.spec)
        fingerprint = ds.fingerprint
    except DatasetError as exc:
        raise ReferenceCheckError(f"{name}: dataset {choice.spec} (from {choice.origin}) cannot be read: {exc}") from None
    # A run with --several-faces drop records the reduced set's fingerprint; the data as loaded had this one.
    expected = reference["config"].get("loaded_fingerprint") or reference["config"].get("dataset_fingerprint")
    if expected and fingerprint != expected:
        raise ReferenceCheckError(
            f"{name}: dataset {choice.spec} (from {choice.origin}) has fingerprint {fingerprint}, the reference "
            f"was recorded on {expected}: these are other data (other images, labels or subjects), or a built-in "
            "dataset made by another version of its generator; nothing was run"
        )
    return ds


def run_reference(
    reference: dict,
    out: str | Path,
    dataset=None,
    jobs: int = 1,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    progress: bool = False,
    command: str | None = None,
    data_roots: dict[str, str] | None = None,
    name: str | None = None,
):
    """Run the benchmark a reference describes (its methods, dataset, protocol, runs, folds, seed).

    ``dataset`` is a :class:`~fer_bench.datasets.Dataset` already checked by
    :func:`open_reference_dataset`, or a spec replacing the recorded one (e.g. the same
    images at another path), or None; ``data_roots`` as in :func:`resolve_dataset`. The
    dataset's fingerprint is compared with the reference's before anything is computed.
    Methods that fail are recorded as missing by :func:`check_results` rather than
    aborting the check.
    """
    from .datasets import Dataset
    from .results import Results
    from .runner import MethodFailedError, run

    cfg = reference["config"]
    if not isinstance(dataset, Dataset):
        choice = resolve_dataset(reference, dataset, data_roots, name=name)
        dataset = open_reference_dataset(reference, choice, name or "the reference")
    runnable = []
    for label in reference["methods"]:
        reason = _cannot_run(label, device)
        if reason:
            print(f"fer-bench check: {label} cannot run here ({reason}); it counts as missing", file=sys.stderr)
        else:
            runnable.append(label)
    if not runnable:
        return None
    try:
        return run(
            methods=runnable,
            dataset=dataset,
            # every checked option as the reference recorded it; a missing or None one (e.g. no
            # several-faces rule where no method detected faces) re-runs with the declared default
            **{o.name: o.from_record(cfg, none_is_default=True) for o in checked_options()},
            out=out,
            device=device,
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
    from .reporting.markdown import runs_by_folds

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
    records = {str(ref_path): load_reference(ref_path) for ref_path in args.reference}
    datasets = {} if args.results else _open_datasets(records, args)
    status = 0
    passed, failed, skipped = [], [], []
    for ref_path, record in records.items():
        cfg = record["config"]
        if not args.results and datasets[ref_path] is None:
            skipped.append(ref_path)
            continue
        out = args.out
        if out is not None and len(args.reference) > 1:
            out = Path(out) / Path(ref_path).stem  # one results directory per reference
        report = check(
            record,
            results=args.results,
            tolerance=args.tolerance,
            out=out,
            **({} if args.results else {
                "dataset": datasets[ref_path], "jobs": args.jobs or available_cores(), "device": args.device, "cache_dir": args.cache_dir,
                "progress": not args.quiet, "command": _command_line(), "name": ref_path,
            }),
        )
        spec = cfg.get("dataset_spec") if args.results else datasets[ref_path].spec
        print(
            f"fer-bench check against {ref_path}: {spec} ({cfg.get('protocol')}, "
            f"{runs_by_folds(cfg.get('runs'), cfg.get('folds'))}, seed {cfg.get('seed')}), "
            f"tolerance {report.tolerance:g}\n"
        )
        print(report.summary())
        sys.stdout.flush()
        (passed if report.passed else failed).append(ref_path)
        if not report.passed:
            status = 1
    if len(records) > 1 or skipped:
        line = f"fer-bench check: {len(passed)} reference(s) passed, {len(failed)} failed"
        if failed:
            line += " (" + ", ".join(failed) + ")"
        if skipped:
            line += f", {len(skipped)} skipped because their data are absent (" + ", ".join(skipped) + ")"
        if not passed and not failed:
            line += "; nothing was checked"
        print(line)
    return status


def _open_datasets(records: dict[str, dict], args) -> dict:
    """Every reference's dataset, loaded and fingerprint-checked before anything runs (None: skipped).

    Applies ``--dataset`` (to references of its source when there are several),
    ``--data-root`` and ``FER_BENCH_DATA_<SOURCE>``; a reference whose data are absent
    is skipped with a line on stderr under ``--skip-missing-data``, else an error.
    """
    roots = parse_data_roots(args.data_root)
    sources = {ref: split_spec(r["config"].get("dataset_spec") or "")[0] for ref, r in records.items()}
    for source in roots:
        if source not in sources.values():
            raise ReferenceCheckError(f"--data-root {source}=…: no reference uses a {source} dataset "
                                 f"(they use {', '.join(sorted(set(sources.values())))})")
    use_dataset = dict.fromkeys(records, False)
    if args.dataset and len(records) == 1:
        use_dataset = dict.fromkeys(records, True)
    elif args.dataset:
        source = split_spec(args.dataset)[0]
        matching = [ref for ref, src in sources.items() if src == source]
        if not matching:
            raise ReferenceCheckError(f"--dataset {args.dataset}: none of the references uses a {source} dataset "
                                 f"(they use {', '.join(sorted(set(sources.values())))})")
        recorded = {records[ref]["config"].get("dataset_spec") for ref in matching}
        if len(recorded) > 1:
            raise ReferenceCheckError(f"--dataset {args.dataset} is ambiguous: the {source} references recorded different "
                                 f"datasets ({', '.join(sorted(recorded))}); check them one at a time")
        use_dataset.update(dict.fromkeys(matching, True))
    opened: dict[str, object] = {}
    datasets: dict[str, object] = {}
    for ref, record in records.items():
        choice = resolve_dataset(record, args.dataset if use_dataset[ref] else None, roots, name=ref)
        key = (choice.spec, record["config"].get("dataset_fingerprint"))
        try:
            if key not in opened:  # references of the same data share one load and one fingerprint
                opened[key] = open_reference_dataset(record, choice, ref)
            datasets[ref] = opened[key]
        except DataMissingError:
            if not args.skip_missing_data:
                raise
            print(f"fer-bench check: skipped {ref}: its dataset {choice.spec} is absent "
                  f"(the path comes from {choice.origin})", file=sys.stderr)
            datasets[ref] = None
    return datasets


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
    check_p.add_argument("--reference", nargs="+", type=user_path, metavar="FILE",
                         help="reference JSON file(s) to check against (all are checked; exit 1 if any fails)")
    check_p.add_argument("--write-reference", type=user_path, metavar="FILE", help="write a reference file from --results DIR")
    check_p.add_argument("--tolerance", type=float, default=None,
                         help=f"allowed drop in OA points (default: the reference's, else {DEFAULT_TOLERANCE:g})")
    check_p.add_argument("--results", type=user_path, help="an existing results directory (no run)")
    check_p.add_argument("--out", type=user_path, default=None,
                         help="where to run the benchmark (default: a temporary directory; with several "
                              "references, one sub-directory per reference file name)")
    check_p.add_argument("--dataset", default=None,
                         help="dataset spec replacing the reference's (the same images elsewhere); with several "
                              "references, it applies to those of its source")
    check_p.add_argument("--data-root", action="append", default=[], metavar="SOURCE=PATH",
                         help="where your copy of a dataset source's data is, replacing the path recorded in the "
                              "references (repeatable): --data-root jaffe=/data/jaffe; also the environment "
                              f"variable {DATA_ENV_PREFIX}<SOURCE>, e.g. {DATA_ENV_PREFIX}JAFFE=/data/jaffe")
    check_p.add_argument("--skip-missing-data", action="store_true",
                         help="skip (and name) a reference whose dataset is absent instead of failing")
    check_p.add_argument("--jobs", type=int, default=None, help="processes fitting folds in parallel (default: the available cores)")
    check_p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    check_p.add_argument("--cache-dir", type=user_path, default=None, help="feature cache directory")
    check_p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    check_p.set_defaults(func=_cmd_check)
