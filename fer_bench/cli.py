"""The ``fer-bench`` command: a thin layer over the Python API.

Exit status: 0 on success; 2 with a one-line ``fer-bench: error: …`` on bad input;
1 when a method failed (the other methods' results are kept); 130 on Ctrl-C (finished
folds are kept; re-run the same command to resume).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from . import __version__, gate, weights
from .errors import FerBenchError
from .files import user_path
from .options import RUN_OPTIONS, add_run_arguments

#: Sub-commands that only list things: their parser is built without the reporting
#: stack (pandas, SciPy), so that they answer in well under 2 s (issue 10).
LISTING_COMMANDS = ("methods", "datasets", "weights")


def _cmd_run(args) -> int:
    from .config import RunConfig
    from .reporting import leaderboard
    from .runner import run

    command = "fer-bench " + shlex.join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("fer-bench") else None
    # Every option with flags, as parsed; one whose default is computed (--jobs: the cores) gets it from RunConfig.
    options = {o.name: getattr(args, o.name) for o in RUN_OPTIONS
               if o.flags and not (o.default_factory and getattr(args, o.name) is None)}
    config = RunConfig(**options, command=command)  # protocol None: paper, or holdout with --test-dataset
    results = run(config)
    print(leaderboard(results))
    print(f"tables, figures and report.html written to {results.out}")
    return 0


def _cmd_methods(args) -> int:
    from .registry import available_methods, get_method_class

    for name in available_methods():
        try:
            cls = get_method_class(name)
        except Exception as exc:  # a broken plugin must not hide the others
            print(f"{name}\n    (cannot load: {exc})")
            continue
        paper = f"{cls.paper_oa[0]:.2f} ± {cls.paper_oa[1]:.2f} % ({cls.paper_oa_source}, on its own data)" if cls.paper_oa else "—"
        method = cls()
        unmet = method.unmet_requirements("cpu")
        spec = method.input_spec()
        print(f"{name}: {cls.description}")
        print(f"    citation:     {cls.citation}")
        print(f"    paper OA:     {paper}")
        print(f"    input:        {spec.size[0]}×{spec.size[1]} {spec.color}, face {spec.describe()}"
              + (f"; pretrained on {method.pretraining}" if method.pretraining else ""))
        print(f"    requirements: {', '.join(cls.requirements) or 'none'}" + (f"  [unmet: {'; '.join(unmet)}]" if unmet else ""))
        if args.verbose:
            print("    parameters:")
            for key, param in cls.parameters.items():
                print(f"      {key}: {param.describe()}")
    return 0


def _cmd_datasets(args) -> int:
    from .datasets import describe_sources

    for name, doc in describe_sources():
        print(f"{name:<10} {doc}")
    print("\nexamples: --dataset synthetic, --dataset jaffe:../shared/datasets/jaffe, --dataset folder:DIR")
    return 0


def _cmd_report(args) -> int:
    from .files import ATOMIC_TEMPORARIES, remove_stale_temporaries, writable_directory
    from .reporting import write_report
    from .results import load_results

    results = load_results(args.dir)  # read-only: a store on a read-only file system is fine
    if args.out is None:
        target = writable_directory(
            args.dir, "results folder",
            hint=f"write the tables elsewhere with `fer-bench report {shlex.quote(str(args.dir))} --out DIR`")
    else:
        target = writable_directory(args.out, "--out")
    remove_stale_temporaries(target, ATOMIC_TEMPORARIES)  # left by an earlier report or run that failed
    for path in write_report(results, target, images=not args.no_images):
        print(path)
    return 0


def build_parser(listing_only: bool = False) -> argparse.ArgumentParser:
    """The ``fer-bench`` argument parser with every sub-command (``listing_only``: without
    ``compare`` and ``rank``, whose modules import pandas and SciPy; for the listing commands)."""
    parser = argparse.ArgumentParser(
        prog="fer-bench",
        description="Benchmark facial expression recognition methods under one protocol (Li 2021's 10×10 CV).",
    )
    parser.add_argument("--version", action="version", version=f"fer-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    run_p = sub.add_parser(
        "run",
        help="run methods on a dataset and write the tables",
        description=(
            "Run methods on a dataset under one protocol (default: the seed paper's 10 runs of 10-fold "
            "image-level cross-validation), choose hyperparameters on each fold's validation group, refit on "
            "training + validation, test, and write Tables 1-3, statistics, figures and report.html. "
            "Re-running the same command resumes."
        ),
    )
    add_run_arguments(run_p)  # every option of fer_bench.config.RUN_OPTIONS
    run_p.set_defaults(func=_cmd_run)

    methods_p = sub.add_parser(
        "methods", help="list the registered methods",
        description="List the registered methods (built-in and plugins of the fer_bench.methods entry point) with "
                    "their description; -v adds every parameter with its default, range and role.",
    )
    methods_p.add_argument("-v", "--verbose", action="store_true", help="show every parameter")
    methods_p.set_defaults(func=_cmd_methods)

    datasets_p = sub.add_parser(
        "datasets", help="list the dataset sources",
        description="List the dataset sources (the SOURCE of --dataset SOURCE:PATH?options) and what layout each reads.",
    )
    datasets_p.set_defaults(func=_cmd_datasets)

    report_p = sub.add_parser(
        "report", help="rewrite the tables of a results directory from its store",
        description=("Rewrite every table, figure and report.html of a results directory from its results.sqlite, "
                     "without computing anything (e.g. after an interrupted run, or after upgrading fer-bench's "
                     "reporting). The numbers come from the stored predictions only. --out DIR writes them "
                     "elsewhere, e.g. from results on a read-only file system."),
    )
    report_p.add_argument("dir", type=user_path, metavar="DIR", help="results directory (read-only is fine with --out)")
    report_p.add_argument("--out", type=user_path, default=None, metavar="DIR",
                          help="write the tables, figures and report.html into DIR instead of the results directory "
                               "(e.g. when that is read-only); its store is only read")
    report_p.add_argument("--no-images", action="store_true",
                          help="leave the dataset's own images (the hardest images' thumbnails) out of report.html, "
                               "for a report you share or commit when the dataset's licence forbids redistributing "
                               "its images")
    report_p.set_defaults(func=_cmd_report)

    weights.add_cli(sub)
    if not listing_only:  # `compare` and `rank` live with the reporting stack
        from .reporting import compare, ranking

        compare.add_cli(sub)
        ranking.add_cli(sub)
    gate.add_cli(sub)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run ``fer-bench`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(listing_only=_command_of(argv) in LISTING_COMMANDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except FerBenchError as exc:
        from .runner import MethodFailedError

        print(f"fer-bench: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, MethodFailedError) else 2
    except KeyboardInterrupt:
        print("fer-bench: interrupted; finished folds are saved, re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
