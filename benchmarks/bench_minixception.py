"""Does fine-tuning mini-Xception fit the main job's CPU budget? (issue 14 §2)

    python benchmarks/bench_minixception.py                 # 2 folds of run 1, then extrapolate
    python benchmarks/bench_minixception.py --folds-measured 4 --device cpu

The main job (``fer-bench run --methods all`` on the 700-image synthetic set, 10 runs ×
10 folds) must finish within 10 minutes on 2 cores *with every other method*. This
script fits ``minixception`` (default parameters: up to 30 epochs, early stopping) on the
first ``--folds-measured`` folds of run 1 of that protocol, exactly as the engine does
(the cached face-cropped images, ``fit_predict_fold``), and extrapolates the measured
mean time per fold to all 100 folds. The extrapolation is stated as such; fold times
vary with the number of epochs early stopping runs (recorded per fold).

Writes ``benchmarks/results/<--output>.json`` and ``.md`` (default ``minixception_cpu``)
with the command. Timings depend on the machine's load (the 1-minute load average is
recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET_SECONDS = 600.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-measured", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the main job's machine has 2 cores)")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--output", default="minixception_cpu")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from fer_bench import load_dataset
    from fer_bench.cache import ArrayCache
    from fer_bench.folds import WorkUnit, fit_predict_fold, fold_seed
    from fer_bench.model_selection import ImageLevelKFold
    from fer_bench.registry import create_method
    from fer_bench.reporting.markdown import counted
    from fer_bench.runner import method_features

    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    method = create_method("minixception", device=args.device)
    folds = list(ImageLevelKFold(n_folds=10, n_runs=1, seed=0).split(ds.labels, ds.subjects,
                                                                     ds.fingerprint))[: args.folds_measured]
    with tempfile.TemporaryDirectory() as tmp:
        cache = ArrayCache(Path(tmp) / "cache")
        start = time.perf_counter()
        features = method_features(method, ds, cache)
        prep_seconds = time.perf_counter() - start
        rows = []
        for fold in folds:
            start = time.perf_counter()
            outcome = fit_predict_fold(method, features, ds.labels, WorkUnit(fold, fold_seed(0, fold.run, fold.fold)))
            seconds = time.perf_counter() - start
            info = outcome.info
            rows.append({"fold": fold.fold + 1, "seconds": round(seconds, 1), "epochs_run": info["epochs_run"],
                         "best_epoch": info["best_epoch"], "seconds_per_epoch": info["seconds_per_epoch"],
                         "accuracy": round(100 * float(np.mean(outcome.y_pred == outcome.y_true)), 2)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    per_fold = float(np.mean([r["seconds"] for r in rows]))
    projected = prep_seconds + 100 * per_fold
    record = {
        "command": "python " + shlex.join([f"benchmarks/{Path(__file__).name}", *(argv if argv is not None else sys.argv[1:])]),
        "dataset": args.dataset, "images": len(ds), "device": args.device, "torch_threads": args.threads,
        "load_1min": os.getloadavg()[0], "preprocessing_seconds": round(prep_seconds, 1), "folds": rows,
        "mean_seconds_per_fold": round(per_fold, 1),
        "projected_seconds_10x10": round(projected, 1),
        "budget_seconds_whole_main_job": BUDGET_SECONDS,
        "fits_budget": projected < BUDGET_SECONDS,
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{args.output}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# mini-Xception fine-tuning on the CPU: the 10 × 10 protocol's cost",
        "",
        f"Produced by `{record['command']}` ({args.threads} torch threads, 1-minute load average "
        f"{record['load_1min']:.1f}: the machine was shared, timings are indicative).",
        "",
        "| fold (run 1) | seconds | epochs run | best epoch | s / epoch | test OA % |",
        "|---|---|---|---|---|---|",
        *(f"| {r['fold']} | {r['seconds']} | {r['epochs_run']} | {r['best_epoch']} | {r['seconds_per_epoch']} | "
          f"{r['accuracy']} |" for r in rows),
        "",
        f"Face-crop preprocessing of {len(ds)} images: {prep_seconds:.1f} s. Mean {per_fold:.1f} s per fold, "
        f"so the 100 folds of the 10 × 10 protocol would take about **{projected / 60:.0f} minutes** "
        f"(extrapolated from {counted(len(rows), 'fold')}), against a budget of {BUDGET_SECONDS / 60:.0f} minutes for the "
        f"whole main job: it {'fits' if record['fits_budget'] else 'does not fit'}; "
        f"{'it runs' if record['fits_budget'] else '`minixception` is skipped'} on a CPU under `--methods all` "
        f"{'' if record['fits_budget'] else '(name it to run it anyway, or use a GPU)'}.",
    ]
    (results / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
