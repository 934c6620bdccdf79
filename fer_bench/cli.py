"""The ``fer-bench`` command: a thin layer over the Python API.

Exit status: 0 on success; 2 with a one-line ``fer-bench: error: …`` on bad input;
1 when a method failed (the other methods' results are kept); 130 on Ctrl-C (finished
folds are kept; re-run the same command to resume).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shlex
import sys

from . import __version__
from .errors import FerBenchError


def _cmd_run(args) -> int:
    from .runner import run

    command = "fer-bench " + shlex.join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("fer-bench") else None
    results = run(
        methods=args.methods,
        dataset=args.dataset,
        protocol=args.protocol,
        runs=args.runs,
        folds=args.folds,
        seed=args.seed,
        out=args.out,
        device=args.device,
        face=args.face,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
        command=command,
    )
    from .report import leaderboard

    print(leaderboard(results))
    print(f"tables written to {results.out}")
    return 0


def _cmd_methods(args) -> int:
    from .registry import available_methods, get_method_class

    for name in available_methods():
        try:
            cls = get_method_class(name)
        except Exception as exc:  # a broken plugin must not hide the others
            print(f"{name}\n    (cannot load: {exc})")
            continue
        paper = f"{cls.paper_oa[0]:.2f} ± {cls.paper_oa[1]:.2f} % ({cls.paper_oa_source})" if cls.paper_oa else "—"
        method = cls()
        unmet = method.unmet_requirements("cpu")
        spec = method.input_spec()
        print(f"{name}: {cls.description}")
        print(f"    citation:     {cls.citation}")
        print(f"    paper OA:     {paper}")
        print(f"    input:        {spec.size[0]}×{spec.size[1]} {spec.color}, face {spec.describe()}"
              + (f"; pretrained on {method.pretraining()}" if method.pretraining() else ""))
        print(f"    requirements: {', '.join(cls.requirements) or 'none'}" + (f"  [unmet: {'; '.join(unmet)}]" if unmet else ""))
        if args.verbose:
            params = ", ".join(f"{k}={v!r}" for k, v in cls.parameters.items())
            print(f"    parameters:   {params}")
    return 0


def _cmd_datasets(args) -> int:
    from .datasets import describe_sources

    for name, doc in describe_sources():
        print(f"{name:<10} {doc}")
    print("\nexamples: --dataset synthetic, --dataset jaffe:../shared/datasets/jaffe, --dataset folder:DIR")
    return 0


def _cmd_report(args) -> int:
    from .results import load_results

    results = load_results(args.out)
    for path in results.write_tables():
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fer-bench",
        description="Benchmark facial expression recognition methods under one protocol (Li 2021's 10×10 CV).",
    )
    parser.add_argument("--version", action="version", version=f"fer-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    run_p = sub.add_parser("run", help="run methods on a dataset and write the tables")
    run_p.add_argument("--methods", default="all", help="'all' or a comma list, e.g. pca-svm,swe-bbo:level=3 (default all)")
    run_p.add_argument("--dataset", default="synthetic", help="synthetic (default), jaffe:PATH, folder:PATH, manifest:CSV, ckplus:PATH, kdef:PATH")
    run_p.add_argument("--protocol", default="paper", choices=["paper", "subject"], help="paper: image-level (default); subject: no person in two of train/val/test")
    run_p.add_argument("--runs", type=int, default=10, help="repetitions with reshuffled groups (default 10)")
    run_p.add_argument("--folds", type=int, default=10, help="groups K per run (default 10)")
    run_p.add_argument("--seed", type=int, default=0, help="seed of the splits and fits (default 0)")
    run_p.add_argument("--out", default=None, help="results directory (default results/<dataset>-<protocol>)")
    run_p.add_argument("--device", default="auto", help="auto, cpu or cuda for methods that use PyTorch")
    run_p.add_argument("--face", default=None,
                       help="face preprocessing for every method: none, crop or align (default: each method's own, "
                            "see `fer-bench methods`)")
    run_p.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel (default 1)")
    run_p.add_argument("--backend", default="auto", choices=["auto", "serial", "joblib", "dask"], help="parallel backend")
    run_p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --backend dask)")
    run_p.add_argument("--cache-dir", default=None, help="feature cache (default $FER_BENCH_CACHE or ~/.cache/fer-bench)")
    run_p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    run_p.set_defaults(func=_cmd_run)

    methods_p = sub.add_parser("methods", help="list the registered methods")
    methods_p.add_argument("-v", "--verbose", action="store_true", help="show every parameter")
    methods_p.set_defaults(func=_cmd_methods)

    datasets_p = sub.add_parser("datasets", help="list the dataset sources")
    datasets_p.set_defaults(func=_cmd_datasets)

    report_p = sub.add_parser("report", help="rewrite the tables of a results directory from its store")
    report_p.add_argument("out", help="results directory")
    report_p.set_defaults(func=_cmd_report)

    for module_name in _EXTENSIONS:
        importlib.import_module(module_name).add_cli(sub)
    return parser


#: Modules that add sub-commands; each has ``add_cli(subparsers)`` whose parsers set
#: ``func`` (``weights``: model weights; ``compare``, ``check``: statistics and the gate).
_EXTENSIONS: list[str] = ["fer_bench.weights", "fer_bench.gate"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
