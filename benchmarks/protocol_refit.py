"""The seed paper's protocol with its refit step, over fer-bench's own splits.

Li 2021 (§3.6) chooses hyperparameters on the validation group, then retrains the chosen
model on the training *and* validation groups before testing. Until the engine calls
``refit`` itself, this script runs that protocol for any method that implements the
refit contract (``fit`` records ``validation_scores_`` and ``chosen_``; ``refit(X, y,
random_state=...)`` trains the final model with ``chosen_`` fixed):

    per run r, fold k (fer_bench.model_selection: the same groups, folds and per-fold
    seeds as ``fer-bench run``):  fit(train, val) → refit(train + val) → predict(test)

and reports, per method, the overall accuracy (OA: correct / tested over the run's 10
folds, i.e. from the summed confusion matrix) as mean ± sample SD over runs, the mean
validation and training accuracy, and the mean fit and refit time per fold. The test
group is seen only by ``predict``. ``--no-refit`` predicts with the model chosen by
``fit`` (the engine's present behaviour) for comparison.

Writes ``benchmarks/results/<name>.json`` and ``.md`` (``--name``, default from the
dataset and protocol), with the command that made them.

Usage:
    python benchmarks/protocol_refit.py --methods pca-svm,swe-bbo:classifier=svm \\
        --dataset jaffe:/path/to/jaffe --runs 10 --folds 10 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

RESULTS = Path(__file__).resolve().parent / "results"


def run_fold(method, features, labels, fold, seed: int, refit: bool) -> dict:
    """fit → (refit) → predict for one fold; returns accuracies, timings and choices."""
    from threadpoolctl import threadpool_limits

    from fer_bench.runner import fold_seed

    random_state = fold_seed(seed, fold.run, fold.fold)
    model = method.clone()
    with threadpool_limits(limits=method.max_threads):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(features[fold.train], labels[fold.train], features[fold.val], labels[fold.val],
                  random_state=random_state)
        fitted, cpu_fitted = time.perf_counter(), time.process_time()
        if refit:
            both = np.concatenate([fold.train, fold.val])
            model.refit(features[both], labels[both], random_state=random_state)
        refitted, cpu_refitted = time.perf_counter(), time.process_time()
        y_pred = np.asarray(model.predict(features[fold.test]))
    info = model.fit_info()
    return {
        "run": fold.run, "fold": fold.fold,
        "correct": int(np.sum(y_pred == labels[fold.test])), "tested": len(fold.test),
        "val_accuracy": info.get("val_accuracy"), "train_accuracy": info.get("train_accuracy"),
        "chosen": getattr(model, "chosen_", info.get("chosen")),
        "fit_s": fitted - start, "refit_s": refitted - fitted,
        "fit_cpu_s": cpu_fitted - cpu_start, "refit_cpu_s": cpu_refitted - cpu_fitted,
    }


def evaluate(spec, ds, cache, runs: int, folds: int, seed: int, protocol: str, refit: bool, jobs: int,
             max_folds: int | None = None) -> dict:
    """One method (a :class:`fer_bench.registry.MethodSpec`) over ``runs`` × ``folds``."""
    from joblib import Parallel, delayed

    from fer_bench.model_selection import folds_of_run, make_groups
    from fer_bench.runner import method_features

    method = spec.create()
    if refit and not callable(getattr(method, "refit", None)):
        raise SystemExit(f"{spec.label}: no refit method (the refit contract is not implemented)")
    labels = np.asarray(ds.labels)
    start = time.perf_counter()
    features = method_features(method, ds, cache, jobs=jobs)
    features_s = time.perf_counter() - start
    fold_list = [
        f for r in range(runs)
        for f in folds_of_run(make_groups(protocol, labels, ds.subjects, folds, r, seed, ds.fingerprint), r)[:max_folds]
    ]
    start = time.perf_counter()
    rows = Parallel(n_jobs=jobs, max_nbytes="1M")(
        delayed(run_fold)(method, features, labels, f, seed, refit) for f in fold_list
    )
    wall = time.perf_counter() - start
    per_run = []
    for r in range(runs):
        mine = [row for row in rows if row["run"] == r]
        per_run.append(100.0 * sum(row["correct"] for row in mine) / sum(row["tested"] for row in mine))

    def mean_of(key):
        values = [row[key] for row in rows if row[key] is not None]
        return round(float(np.mean(values)), 2) if values else None

    chosen = Counter(json.dumps(row["chosen"], sort_keys=True) for row in rows)
    return {
        "method": spec.label,
        "oa_mean": round(float(np.mean(per_run)), 2),
        "oa_sd": round(float(np.std(per_run, ddof=1)), 2) if runs > 1 else None,
        "oa_per_run": [round(v, 2) for v in per_run],
        "val_accuracy_mean": mean_of("val_accuracy"),
        "train_accuracy_mean": mean_of("train_accuracy"),
        "fit_s_per_fold": round(float(np.mean([row["fit_s"] for row in rows])), 3),
        "refit_s_per_fold": round(float(np.mean([row["refit_s"] for row in rows])), 3),
        "fit_cpu_s_per_fold": round(float(np.mean([row["fit_cpu_s"] for row in rows])), 3),
        "refit_cpu_s_per_fold": round(float(np.mean([row["refit_cpu_s"] for row in rows])), 3),
        "folds_wall_s": round(wall, 1),
        "features_s": round(features_s, 1),
        "most_chosen": [[json.loads(k), n] for k, n in chosen.most_common(3)],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", required=True, help="comma list, as fer-bench run --methods")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--protocol", default="paper", choices=("paper", "subject"))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-folds", type=int, help="quick looks: only the first N folds of each run "
                        "(OA is then over those folds)")
    parser.add_argument("--no-refit", dest="refit", action="store_false", help="predict with fit's model")
    parser.add_argument("--name", help="output file stem in benchmarks/results/ (default: refit_<dataset>_<protocol>)")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only")
    args = parser.parse_args(argv)

    from fer_bench.cache import ArrayCache, default_cache_dir
    from fer_bench.datasets.sources import load_dataset
    from fer_bench.registry import parse_method_list

    ds = load_dataset(args.dataset)
    specs = parse_method_list(args.methods)
    if specs == "all":
        raise SystemExit("name the methods (those that implement refit)")
    cache = ArrayCache(default_cache_dir())
    rows = []
    for spec in specs:
        row = evaluate(spec, ds, cache, args.runs, args.folds, args.seed, args.protocol, args.refit, args.jobs,
                       args.max_folds)
        rows.append(row)
        sd = f" ± {row['oa_sd']}" if row["oa_sd"] is not None else ""
        print(f"{row['method']:40s} OA {row['oa_mean']:6.2f}{sd}  val {row['val_accuracy_mean']}  "
              f"train {row['train_accuracy_mean']}  fit {row['fit_s_per_fold']} s + refit "
              f"{row['refit_s_per_fold']} s per fold (CPU {row['fit_cpu_s_per_fold']} + {row['refit_cpu_s_per_fold']})"
              f"  chosen {row['most_chosen'][0]}", flush=True)
    if not args.write:
        return 0
    raw = argv if argv is not None else sys.argv[1:]
    command = "python " + shlex.join(["benchmarks/protocol_refit.py", *raw])
    name = args.name or f"refit_{ds.name}_{args.protocol}"
    result = {
        "benchmark": "paper protocol with refit (fit on train/val → refit on train+val → test)",
        "command": command,
        "dataset": ds.spec if hasattr(ds, "spec") else args.dataset,
        "protocol": args.protocol, "runs": args.runs, "folds": args.folds, "seed": args.seed, "jobs": args.jobs,
        "max_folds": args.max_folds,
        "refit": args.refit,
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(), "python": platform.python_version()},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# {'Refit' if args.refit else 'No refit'}: {args.dataset} ({args.protocol} protocol), "
        f"{args.runs} runs × {args.folds} folds",
        "",
        f"Made by: `{command}`. OA: mean ± SD (ddof 1) over runs of the per-run overall accuracy; "
        "val/train: mean accuracy of the chosen candidate on the validation/training group in `fit`; "
        "times: mean seconds per fold, wall clock and CPU time of the fitting process "
        "(the machine was shared with other jobs, so wall clock is indicative only).",
        "",
        "| method | OA | val | train | fit s/fold | refit s/fold | fit+refit CPU s/fold | most chosen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        sd = f" ± {row['oa_sd']}" if row["oa_sd"] is not None else ""
        top = row["most_chosen"][0]
        lines.append(f"| {row['method']} | {row['oa_mean']}{sd} | {row['val_accuracy_mean']} | "
                     f"{row['train_accuracy_mean']} | {row['fit_s_per_fold']} | {row['refit_s_per_fold']} | "
                     f"{round(row['fit_cpu_s_per_fold'] + row['refit_cpu_s_per_fold'], 3)} | "
                     f"`{json.dumps(top[0], sort_keys=True)}` ({top[1]}×) |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / name}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
