"""Choose the optimiser-trained networks' parameters on validation groups (never test).

For one optimiser-trained method (``swe-bbo`` or ``dwt-pca-cso``) and a grid of
parameter overrides, this script trains the network of every grid point on the
*training* group of the first ``--folds-used`` folds of run 0 (fer-bench's own splits),
with the method's own per-fold transform, for a fixed budget of fitness evaluations,
and reports the mean final training MSE, training accuracy and validation accuracy
(of the final network and of the best checkpoint). The test groups are not touched.
Every grid point gets the same number of fitness evaluations (``--evaluations``), so
optimiser settings that spend more evaluations per iteration (CSO's seeking copies)
are compared fairly.

Writes ``benchmarks/results/tune_<name>.json`` and ``.md`` with the command.

Usage:
    python benchmarks/tune_optimisers.py --method dwt-pca-cso --dataset synthetic \\
        --grid '{"MR": [0.2, 0.5, 0.8], "v_max": [0.01, 0.02, 0.05]}' --evaluations 15000
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

RESULTS = Path(__file__).resolve().parent / "results"


def run_point(spec: str, overrides: dict, features, labels, folds, evaluations: int) -> dict:
    """Train one grid point on each fold's training group; score on its validation group."""
    from fer_bench_baselines.slfn import StallRule
    from threadpoolctl import threadpool_limits

    import fer_bench
    from fer_bench.folds import fold_seed

    name, _, rest = spec.partition(":")
    base = dict(item.split("=", 1) for item in rest.split(":") if item) if rest else {}
    method = fer_bench.create_method(name, **base, **overrides)
    iterations = max(1, evaluations // method.optimiser_object().evaluations_per_iteration)
    rows = []
    with threadpool_limits(limits=1):
        for fold in folds:
            seed = fold_seed(0, fold.run, fold.fold)
            X_train, X_val = method.as_matrix(features[fold.train]), method.as_matrix(features[fold.val])
            y_train, y_val = labels[fold.train], labels[fold.val]
            _, transform, Z_train = next(iter(method.transforms(X_train, y_train, seed)))
            start = time.process_time()
            net, weights, info, checkpoints = method._train(
                Z_train, y_train, int(labels.max()) + 1, method.hidden, iterations,
                StallRule(0, 0.0), transform(X_val), y_val, seed,
            )
            rows.append({
                "train_mse": info["train_mse"], "train_accuracy": info["train_accuracy"],
                "val_accuracy_final": 100 * checkpoints[-1][1],
                "val_accuracy_best_checkpoint": 100 * max(c[1] for c in checkpoints),
                "cpu_s": time.process_time() - start, "evaluations": info["evaluations"],
            })
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
    return {"overrides": overrides, "iterations": iterations, **mean}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True, help="swe-bbo or dwt-pca-cso, with :key=value overrides")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--grid", required=True, help="JSON object: parameter → list of values")
    parser.add_argument("--evaluations", type=int, default=15000, help="fitness evaluations per training")
    parser.add_argument("--folds-used", type=int, default=3, help="the first N folds of run 0")
    parser.add_argument("--name", help="output stem (default: tune_<method>)")
    args = parser.parse_args(argv)

    import fer_bench
    from fer_bench.cache import ArrayCache, default_cache_dir
    from fer_bench.datasets.sources import load_dataset
    from fer_bench.model_selection import ImageLevelKFold
    from fer_bench.runner import method_features

    ds = load_dataset(args.dataset)
    labels = np.asarray(ds.labels)
    name, _, rest = args.method.partition(":")
    base = dict(item.split("=", 1) for item in rest.split(":") if item) if rest else {}
    method = fer_bench.create_method(name, **base)
    features = np.asarray(method_features(method, ds, ArrayCache(default_cache_dir())))
    folds = list(ImageLevelKFold(n_folds=10, n_runs=1, seed=0).split(labels, ds.subjects, ds.fingerprint))[: args.folds_used]
    grid = json.loads(args.grid)
    rows = []
    for combo in itertools.product(*grid.values()):
        overrides = dict(zip(grid, combo))
        row = run_point(args.method, overrides, features, labels, folds, args.evaluations)
        rows.append(row)
        print(json.dumps(row), flush=True)
    rows.sort(key=lambda r: (-r["val_accuracy_final"], r["train_mse"]))
    raw = argv if argv is not None else sys.argv[1:]
    command = "python " + shlex.join(["benchmarks/tune_optimisers.py", *raw])
    stem = args.name or f"tune_{name}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"command": command, "dataset": args.dataset,
                                                      "evaluations": args.evaluations,
                                                      "folds_used": args.folds_used, "rows": rows}, indent=1) + "\n")
    keys = list(grid)
    lines = [
        f"# Tuning {args.method} on validation groups ({args.dataset})", "",
        f"Made by: `{command}`.", "",
        f"Each row: the network trained on the training group of the first {args.folds_used} folds of run 0 for "
        f"{args.evaluations} fitness evaluations; means over those folds. Validation accuracy of the final network "
        "and of the best checkpoint (every 10 iterations); the test groups are not used. Sorted by final "
        "validation accuracy.", "",
        "| " + " | ".join(keys) + " | iterations | train MSE | train acc | val acc (final) | val acc (best ckpt) "
        "| CPU s |",
        "|" + "---|" * (len(keys) + 6),
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(r["overrides"][k]) for k in keys) +
                     f" | {r['iterations']} | {r['train_mse']} | {r['train_accuracy']} | {r['val_accuracy_final']} | "
                     f"{r['val_accuracy_best_checkpoint']} | {r['cpu_s']} |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
