"""Convergence of the optimiser-trained networks: training fitness against evaluations.

For each optimiser-trained method (``swe-bbo``: biogeography-based optimisation,
``dwt-pca-cso``: cat swarm optimisation) with its default parameters, this script
trains the network on the training group of the first ``--folds-used`` folds of run 0
(fer-bench's own splits and per-fold seeds) for ``--multiplier`` times the default
budget (``iteration_budget``: ``fitness_budget`` / (evaluations per iteration × training
images), at most ``max_iterations``), with the stall rule off, and records after every iteration the best-so-far
training MSE, and every ``checkpoint_every`` iterations the training and validation
accuracy of the best-so-far network. The test groups are never used.

It then reports, per method and dataset: where the default stall rule
(``stall_patience``, ``stall_tolerance``) would have stopped, the training MSE at the
default budget and at the end of the long run, and the share of the
long run's improvement already made within the default budget. Writes
``benchmarks/results/convergence.json``, ``convergence.md`` and ``convergence.png``
(training MSE against fitness evaluations, one panel per dataset, the default budget
marked), with the command.

Usage:
    python benchmarks/convergence.py --dataset synthetic --dataset jaffe:/path/to/jaffe
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

RESULTS = Path(__file__).resolve().parent / "results"


def curves(method, features, labels, folds, multiplier: float) -> list[dict]:
    """Long training runs of ``method`` on each fold's training group."""
    from fer_bench_baselines.slfn import StallRule
    from threadpoolctl import threadpool_limits

    from fer_bench.folds import fold_seed

    per_iteration = method.optimiser_object().evaluations_per_iteration
    out = []
    with threadpool_limits(limits=1):
        for fold in folds:
            seed = fold_seed(0, fold.run, fold.fold)
            X_train, X_val = method.as_matrix(features[fold.train]), method.as_matrix(features[fold.val])
            y_train, y_val = labels[fold.train], labels[fold.val]
            _, transform, Z_train = next(iter(method.transforms(X_train, y_train, seed)))
            budget = method.iteration_budget(len(Z_train))
            iterations = int(round(multiplier * budget))
            start = time.process_time()
            net, _, info, checkpoints = method._train(Z_train, y_train, int(labels.max()) + 1, method.hidden,
                                                      iterations, StallRule(0, 0.0), transform(X_val), y_val, seed)
            seconds = time.process_time() - start
            history = info["history"]  # entry t: best training MSE after t iterations (0: the start)
            rule = StallRule(method.stall_patience, method.stall_tolerance)
            stall_at = next((t for t in range(1, len(history)) if rule.stalled(history[: t + 1])), None)
            train_acc = [round(100 * float(np.mean(net.predict(w, Z_train) == y_train)), 2)
                         for _, _, w in checkpoints]
            out.append({
                "fold": fold.fold, "evaluations_per_iteration": per_iteration, "iterations": iterations,
                "default_budget_iterations": budget,
                "history": [round(v, 6) for v in history],
                "checkpoints": [c[0] for c in checkpoints],
                "train_accuracy": train_acc,
                "val_accuracy": [round(100 * c[1], 2) for c in checkpoints],
                "stall_iteration": stall_at, "cpu_s": round(seconds, 2),
            })
    return out


def summarise(method, runs: list[dict]) -> dict:
    budget = runs[0]["default_budget_iterations"]
    start = np.mean([r["history"][0] for r in runs])
    at_budget = np.mean([r["history"][min(budget, len(r["history"]) - 1)] for r in runs])
    at_end = np.mean([r["history"][-1] for r in runs])
    stall = [r["stall_iteration"] for r in runs]

    def checkpoint_mean(key, iteration):
        """Mean over the runs of ``key`` at the last checkpoint at or before ``iteration``
        (checkpoints come every ``checkpoint_every`` iterations; a budget need not be one)."""
        values = []
        for r in runs:
            at = [i for i, c in enumerate(r["checkpoints"]) if c <= iteration]
            if at:
                values.append(r[key][at[-1]])
        return round(float(np.mean(values)), 2) if values else None

    return {
        "evaluations_per_iteration": runs[0]["evaluations_per_iteration"],
        "default_budget_iterations": budget,
        "long_run_iterations": runs[0]["iterations"],
        "stall_iterations": stall,
        "train_mse_start": round(float(start), 5),
        "train_mse_at_default_budget": round(float(at_budget), 5),
        "train_mse_at_long_run_end": round(float(at_end), 5),
        "share_of_long_run_improvement_within_budget": round(float((start - at_budget) / (start - at_end)), 3)
        if start > at_end else None,
        "train_accuracy_at_budget": checkpoint_mean("train_accuracy", budget),
        "train_accuracy_at_end": checkpoint_mean("train_accuracy", runs[0]["iterations"]),
        "val_accuracy_at_budget": checkpoint_mean("val_accuracy", budget),
        "val_accuracy_at_end": checkpoint_mean("val_accuracy", runs[0]["iterations"]),
        "cpu_s_long_run_mean": round(float(np.mean([r["cpu_s"] for r in runs])), 2),
        "cpu_ms_per_iteration": round(1000 * float(np.mean([r["cpu_s"] / r["iterations"] for r in runs])), 3),
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(results)
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.2), squeeze=False)
    colours = {"swe-bbo": "tab:blue", "dwt-pca-cso": "tab:orange"}
    for ax, dataset in zip(axes[0], datasets):
        for name, entry in results[dataset].items():
            per = entry["summary"]["evaluations_per_iteration"]
            for i, run in enumerate(entry["runs"]):
                evaluations = np.arange(len(run["history"])) * per
                ax.plot(evaluations, run["history"], color=colours.get(name, "k"), alpha=0.6, lw=1,
                        label=f"{name} ({entry['optimiser']})" if i == 0 else None)
            ax.axvline(entry["summary"]["default_budget_iterations"] * per, color=colours.get(name, "k"), ls="--",
                       lw=1)
        ax.set_title(f"{dataset}: training MSE (dashed: default budget)")
        ax.set_xlabel("fitness evaluations")
        ax.set_ylabel("best training MSE")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", help="dataset spec (repeatable; default synthetic)")
    parser.add_argument("--methods", default="swe-bbo,dwt-pca-cso")
    parser.add_argument("--folds-used", type=int, default=3)
    parser.add_argument("--multiplier", type=float, default=4.0, help="long run = this × the default budget")
    args = parser.parse_args(argv)

    import fer_bench
    from fer_bench.cache import ArrayCache, default_cache_dir
    from fer_bench.datasets.sources import load_dataset
    from fer_bench.model_selection import ImageLevelKFold
    from fer_bench.runner import method_features

    results: dict[str, dict] = {}
    for spec in args.dataset or ["synthetic"]:
        ds = load_dataset(spec)
        labels = np.asarray(ds.labels)
        folds = list(ImageLevelKFold(n_folds=10, n_runs=1, seed=0).split(labels, ds.subjects, ds.fingerprint))
        results[ds.name] = {}
        for name in args.methods.split(","):
            method = fer_bench.create_method(name)
            features = np.asarray(method_features(method, ds, ArrayCache(default_cache_dir())))
            runs = curves(method, features, labels, folds[: args.folds_used], args.multiplier)
            summary = summarise(method, runs)
            results[ds.name][name] = {"optimiser": method.published_classifier, "summary": summary, "runs": runs}
            print(ds.name, name, json.dumps(summary), flush=True)
    raw = argv if argv is not None else sys.argv[1:]
    command = "python " + shlex.join(["benchmarks/convergence.py", *raw])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "convergence.json").write_text(json.dumps({"command": command, "results": results}) + "\n")
    plot(results, RESULTS / "convergence.png")
    lines = [
        "# Convergence of the optimiser-trained networks", "",
        f"Made by: `{command}`. Default parameters; each network trained on the training group of the first "
        f"{args.folds_used} folds of run 0 for {args.multiplier}× its default budget with the stall rule off "
        "(test groups unused). `stall at`: the iteration at which the default stall rule would have stopped "
        "(— : not within the long run). Accuracies at the budget: the last validation checkpoint at or before it. "
        "CPU ms per iteration: the whole training (optimiser, fitness, checkpoints) on one thread, divided by its "
        "iterations. Plot: `convergence.png`.", "",
        "| dataset | method | evals/iter | budget (iter) | stall at | MSE start | MSE at budget | MSE at long end | "
        "share of improvement within budget | train acc budget → end | val acc budget → end | CPU ms per iteration |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, methods in results.items():
        for name, entry in methods.items():
            s = entry["summary"]
            stall = ", ".join("—" if v is None else str(v) for v in s["stall_iterations"])
            lines.append(
                f"| {dataset} | {name} | {s['evaluations_per_iteration']} | {s['default_budget_iterations']} | "
                f"{stall} | {s['train_mse_start']} | {s['train_mse_at_default_budget']} | "
                f"{s['train_mse_at_long_run_end']} | {s['share_of_long_run_improvement_within_budget']} | "
                f"{s['train_accuracy_at_budget']} → {s['train_accuracy_at_end']} | "
                f"{s['val_accuracy_at_budget']} → {s['val_accuracy_at_end']} | {s['cpu_ms_per_iteration']} |"
            )
    (RESULTS / "convergence.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'convergence'}.json, .md and .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
