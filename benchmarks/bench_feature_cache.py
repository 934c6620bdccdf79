"""Benchmark: the cached-features protocol vs recomputing features in every fold.

fer-bench computes a method's per-image, label-free features once per dataset and
reuses them in every fold (only the scaler, PCA, classifier or optimiser is fitted per
fold). This script times, in one process on the same preprocessed images and the same
folds, (a) that protocol: one ``extract_features`` call, then every fold's fit and
predict, and (b) the naive protocol that extracts the features of the fold's images
again in every fold; it checks that both give identical predictions and writes
``benchmarks/results/feature_cache.json`` and ``.md``.

Usage:  python benchmarks/bench_feature_cache.py [--methods pca-svm,swe-bbo,...]
        [--dataset 'synthetic?subjects=10&per_expression=3&size=128'] [--runs 1] [--folds 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import fer_bench  # noqa: E402
from fer_bench.cache import ArrayCache  # noqa: E402
from fer_bench.datasets import load_dataset  # noqa: E402
from fer_bench.model_selection import get_protocol  # noqa: E402
from fer_bench.preprocess import load_images  # noqa: E402
from fer_bench.runner import fold_seed  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def measure(method_name: str, ds, protocol: str, runs: int, n_folds: int) -> dict:
    """Time both protocols for one method on the same images and folds."""
    method = fer_bench.create_method(method_name)
    labels = ds.labels
    with tempfile.TemporaryDirectory() as tmp:
        images = np.asarray(load_images(ds, method.input_spec(), ArrayCache(tmp)))
    folds = list(get_protocol(protocol)(n_folds=n_folds, n_runs=runs, seed=0).split(labels, ds.subjects,
                                                                                     ds.fingerprint))

    def fit_predict(features_train, features_val, features_test, fold):
        model = method.clone().fit(features_train, labels[fold.train], features_val, labels[fold.val],
                                   random_state=fold_seed(0, fold.run, fold.fold))
        return model.predict(features_test)

    with threadpool_limits(limits=method.max_threads):
        start = time.perf_counter()
        features = method.extract_features(images)
        extract_once = time.perf_counter() - start
        cached_predictions = [fit_predict(features[f.train], features[f.val], features[f.test], f) for f in folds]
        cached_total = time.perf_counter() - start

        start = time.perf_counter()
        recomputed_predictions = []
        for f in folds:
            recomputed_predictions.append(fit_predict(
                method.extract_features(images[f.train]), method.extract_features(images[f.val]),
                method.extract_features(images[f.test]), f,
            ))
        recomputed_total = time.perf_counter() - start
    same = all(np.array_equal(a, b) for a, b in zip(cached_predictions, recomputed_predictions))
    if not same:
        raise SystemExit(f"{method_name}: the two protocols gave different predictions: features are not per-image")
    return {
        "method": method_name,
        "folds_fitted": len(folds),
        "feature_extraction_once_s": round(extract_once, 3),
        "cached_total_s": round(cached_total, 3),
        "recomputed_total_s": round(recomputed_total, 3),
        "speedup": round(recomputed_total / cached_total, 2),
        "identical_predictions": same,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="pca-svm,hos-svm,dwt-pca-cso,swe-bbo,bwe-fsvm,lbp-svm,hog-svm",
                        help="comma list (default: the seven classical methods)")
    parser.add_argument("--dataset", default="synthetic?subjects=10&per_expression=3&size=128")
    parser.add_argument("--protocol", default="paper", choices=["paper", "subject"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--folds", type=int, default=10)
    args = parser.parse_args(argv)

    ds = load_dataset(args.dataset)
    rows = [measure(m.strip(), ds, args.protocol, args.runs, args.folds) for m in args.methods.split(",") if m.strip()]
    cached = sum(r["cached_total_s"] for r in rows)
    recomputed = sum(r["recomputed_total_s"] for r in rows)
    command = "python " + shlex.join(["benchmarks/bench_feature_cache.py", *(argv if argv is not None else sys.argv[1:])])
    result = {
        "benchmark": "cached features vs features recomputed in every fold",
        "command": command,
        "dataset": args.dataset,
        "images": len(ds),
        "protocol": args.protocol,
        "methods": rows,
        "whole_protocol": {"cached_total_s": round(cached, 3), "recomputed_total_s": round(recomputed, 3),
                           "speedup": round(recomputed / cached, 2)},
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feature_cache.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Cached features vs recomputing them in every fold",
        "",
        f"Made by: `{command}`",
        "",
        f"`{args.dataset}` ({len(ds)} images), {args.protocol} protocol, {args.runs} run(s) × {args.folds} folds, "
        "one process, BLAS threads capped as in the engine. Both protocols give identical predictions (checked).",
        "",
        "| method | features once (s) | cached protocol (s) | recomputed every fold (s) | speed-up |",
        "|---|---|---|---|---|",
        *[f"| {r['method']} | {r['feature_extraction_once_s']:.2f} | {r['cached_total_s']:.2f} | "
          f"{r['recomputed_total_s']:.2f} | {r['speedup']:.1f}× |" for r in rows],
        f"| **whole protocol** | | {cached:.2f} | {recomputed:.2f} | **{recomputed / cached:.1f}×** |",
        "",
    ]
    (RESULTS / "feature_cache.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
