"""Compare feature variants of the baselines on validation groups (never test groups).

For each method variant (a ``--methods``-style spec, e.g. ``swe-bbo:grid_rows=1``), this
script computes the variant's features, and on the first ``--folds-used`` folds of run 0
(fer-bench's own splits) fits the method's own per-fold transform on the *training*
group, trains a few fixed scikit-learn classifiers on it and scores them on the
*validation* group. Fixed classifiers (no tuning) make the comparison about the
features: a logistic regression (C = 1), an RBF SVM (C = 10, gamma "scale") and a
back-propagation network (one hidden layer of 5 sigmoid units, L2 alpha 1, L-BFGS).

Writes ``benchmarks/results/features_<name>.json`` and ``.md`` with the command.

Usage:
    python benchmarks/feature_choices.py --name swe --variants swe-bbo:grid_rows=1,swe-bbo
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

RESULTS = Path(__file__).resolve().parent / "results"


def classifiers(random_state: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    return {
        "logistic": LogisticRegression(C=1.0, max_iter=3000),
        "svm": SVC(C=10.0, gamma="scale"),
        "backprop": MLPClassifier((5,), activation="logistic", solver="lbfgs", alpha=1.0, max_iter=1000,
                                  random_state=random_state),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", required=True, help="comma list of method specs")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--folds-used", type=int, default=5)
    parser.add_argument("--name", required=True, help="output stem: features_<name>")
    args = parser.parse_args(argv)

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    from fer_bench.cache import ArrayCache, default_cache_dir
    from fer_bench.datasets.sources import load_dataset
    from fer_bench.folds import fold_seed
    from fer_bench.model_selection import ImageLevelKFold
    from fer_bench.registry import parse_method_list
    from fer_bench.runner import method_features

    ds = load_dataset(args.dataset)
    labels = np.asarray(ds.labels)
    folds = list(ImageLevelKFold(n_folds=10, n_runs=1, seed=0).split(labels, ds.subjects, ds.fingerprint))[: args.folds_used]
    rows = []
    for spec in parse_method_list(args.variants):
        method = spec.create()
        features = np.asarray(method_features(method, ds, ArrayCache(default_cache_dir())))
        scores: dict[str, list[float]] = {}
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for fold in folds:
                seed = fold_seed(0, fold.run, fold.fold)
                X_train, X_val = method.as_matrix(features[fold.train]), method.as_matrix(features[fold.val])
                _, transform, Z_train = next(iter(method.transforms(X_train, labels[fold.train], seed)))
                Z_val = transform(X_val)
                for name, model in classifiers(seed).items():
                    model.fit(Z_train, labels[fold.train])
                    scores.setdefault(name, []).append(float(np.mean(model.predict(Z_val) == labels[fold.val])))
        row = {"variant": spec.label, "features": int(features.reshape(len(features), -1).shape[1]),
               **{k: round(100 * float(np.mean(v)), 1) for k, v in scores.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    raw = argv if argv is not None else sys.argv[1:]
    command = "python " + shlex.join(["benchmarks/feature_choices.py", *raw])
    RESULTS.mkdir(exist_ok=True)
    stem = f"features_{args.name}"
    (RESULTS / f"{stem}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    lines = [
        f"# Feature variants on validation groups ({args.dataset})", "",
        f"Made by: `{command}`.", "",
        f"Mean validation accuracy (%) over the first {args.folds_used} folds of run 0: the method's own per-fold "
        "transform and fixed classifiers fitted on the training group, scored on the validation group (test "
        "groups unused).", "",
        "| variant | features | logistic | svm | backprop |",
        "|---|---|---|---|---|",
        *[f"| `{r['variant']}` | {r['features']} | {r['logistic']} | {r['svm']} | {r['backprop']} |" for r in rows],
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
