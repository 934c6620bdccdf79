"""Fit time of the baselines' classifiers against the training-set size, extrapolated to FER2013.

Why: FER2013's holdout protocol trains on 28,709 images (plus the validation part at the
refit), 50× a synthetic fold. The exact kernel SVMs (libsvm on a precomputed n × n
kernel) cost between quadratic and cubic time in n and 8·n² bytes per kernel matrix;
this measures where they stand and what the large-set path
(:mod:`fer_bench_baselines.selection`, ``large_n``) costs instead.

Inputs: the first training images of the FER2013 stand-in (``make_standins.py``) or the
real ``fer2013.csv`` (48 × 48 pixels, standardised), as the classifiers would see them:

- ``pca160``: whitened PCA with 160 components (pca-svm's largest count), fitted on the
  first 2,000 images, the RBF-SVM input;
- ``pixels``: the 2,304 standardised pixels, a high-dimensional input like LBP histograms
  (2,478) or HOG (1,764) for the linear SVM.

Timed at each n (one fit each, one thread, gamma = scikit-learn's "scale"):
``snapshot_pca`` (the exact PCA of pca-svm / hos-svm, 160 components of the 2,304
pixels: through the n × n Gram matrix while n < d, the d × d scatter matrix above),
``svc_rbf_exact`` (the exact path: kernel matrix + libsvm, C = 10), ``svc_linear_exact``
(C = 0.1), ``nystroem_sgd`` (the large-set RBF path, :class:`LargeSetSVC`: Nyström with
``--nystroem`` landmarks + linear SVM by SGD, C = 10) and ``sgd_linear`` (the large-set
linear path on the pixels, C = 0.1). The growth exponent is the slope of log time on log
n over the measured sizes, and the time at 28,709 is extrapolated with it.

At the largest n it also compares, on the same Nyström features and for each C of the
grid (1, 10, 100), the two linear-SVM solvers scikit-learn offers, liblinear's exact
``LinearSVC`` (primal) and ``SGDClassifier`` (hinge loss, alpha = 1 / (C·n), 50 epochs,
plain and averaged; the large-set path uses the averaged one):
fit time and accuracy on the next 2,000 training images (held out, never fitted), and
the exact RBF SVM's accuracy on them for reference.

    nice -n 19 python benchmarks/bench_classifier_scale.py --csv $FER_BENCH_CACHE/standins/fer2013/fer2013.csv

Writes ``benchmarks/results/classifier_scale.json`` and ``.md`` with the command. Wall
times depend on the machine and its load (2 shared cores here): orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_N = 28709


def load_pixels(csv: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` Training rows of a fer2013.csv: (n × 2304 float64 in [0, 1], labels)."""
    import pandas as pd

    frame = pd.read_csv(csv, nrows=int(n * 1.3) + 100)
    frame = frame[frame["Usage"] == "Training"].iloc[:n]
    X = np.stack([np.asarray(p.split(), dtype=np.float64) for p in frame["pixels"]]) / 255.0
    return X, frame["emotion"].to_numpy()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, required=True, help="fer2013.csv (real or the stand-in)")
    parser.add_argument("--sizes", default="2000,4000,8000", help="training-set sizes, comma separated")
    parser.add_argument("--nystroem", type=int, default=1000, help="Nyström components")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    import warnings

    from fer_bench_baselines.selection import KernelSVC, LargeSetSVC, SnapshotPCA, scale_gamma
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    warnings.simplefilter("ignore", ConvergenceWarning)
    held_out = 2000
    X, y = load_pixels(args.csv, max(sizes) + held_out)
    X = StandardScaler().fit(X[:2000]).transform(X)
    pca = SnapshotPCA(160, whiten=True).fit(X[:2000])
    Z = pca.transform(X)
    P = X / np.sqrt(X.shape[1])  # pixels scaled to unit mean squared norm for the linear SVMs
    rows: dict[str, dict[int, float]] = {}

    def steps(n: int) -> dict:
        Xn, Zn, Pn, yn = X[:n], Z[:n], P[:n], y[:n]
        gamma = scale_gamma(Zn)
        return {
            "snapshot_pca": partial(SnapshotPCA(160, whiten=True).fit, Xn),
            "svc_rbf_exact": partial(KernelSVC(10.0, "rbf", gamma).fit, Zn, yn),
            "svc_linear_exact": partial(KernelSVC(0.1, "linear").fit, Pn, yn),
            "nystroem_sgd": partial(LargeSetSVC(10.0, "rbf", gamma, args.nystroem, 0).fit, Zn, yn),
            "sgd_linear": partial(LargeSetSVC(0.1, "linear").fit, Pn, yn),
        }

    for n in sizes:
        for name, step in steps(n).items():
            rows.setdefault(name, {})[n] = timed(step)
            print(f"n={n} {name}: {rows[name][n]:.2f} s", flush=True)

    n = max(sizes)
    Zn, yn, Zh, yh = Z[:n], y[:n], Z[n:n + held_out], y[n:n + held_out]
    gamma = scale_gamma(Zn)
    probe = LargeSetSVC(1.0, "rbf", gamma, args.nystroem, 0)
    feature_map = probe.feature_map(Zn)
    F, Fh = feature_map.transform(Zn), feature_map.transform(Zh)
    exact = KernelSVC(10.0, "rbf", gamma).fit(Zn, yn)
    solvers = [{"solver": "exact RBF SVM (libsvm), C=10", "fit_s": round(rows["svc_rbf_exact"][n], 2),
                "accuracy": round(float(np.mean(exact.predict(Zh) == yh)) * 100, 2)}]
    for C in (1.0, 10.0, 100.0):
        for label, model in (
            ("LinearSVC (liblinear, primal)", LinearSVC(C=C, dual=False, max_iter=5000)),
            ("SGD (hinge, not averaged)", SGDClassifier(loss="hinge", alpha=1 / (C * n), max_iter=50, random_state=0)),
            ("averaged SGD (hinge), the large-set path", LargeSetSVC(C, "rbf", gamma, args.nystroem, 0)),
        ):
            if isinstance(model, LargeSetSVC):
                seconds = timed(partial(model.fit_mapped, feature_map, F, yn))
                accuracy = float(np.mean(model.pipeline_["svm"].predict(Fh) == yh))
            else:
                seconds = timed(partial(model.fit, F, yn))
                accuracy = float(np.mean(model.predict(Fh) == yh))
            solvers.append({"solver": f"Nyström {args.nystroem} + {label}, C={C:g}", "fit_s": round(seconds, 2),
                            "accuracy": round(accuracy * 100, 2)})
            print(solvers[-1], flush=True)

    result = {"command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
              "sizes": sizes, "nystroem_components": args.nystroem, "target_n": TARGET_N, "seconds": {},
              "solvers_at_largest_n": solvers}
    lines = ["# Classifier fit time against the training-set size", "",
             f"Produced by: `{result['command']}` (one thread, {result['machine']}; wall times under load: "
             "orders of magnitude).", "",
             "| step | " + " | ".join(f"n={n} (s)" for n in sizes) + f" | exponent | extrapolated n={TARGET_N} (s) |",
             "|---|" + "---|" * (len(sizes) + 2)]
    for name, times in rows.items():
        ns, ts = np.array(sorted(times)), np.array([times[n] for n in sorted(times)])
        slope = float(np.polyfit(np.log(ns), np.log(np.maximum(ts, 1e-6)), 1)[0]) if len(ns) > 1 else float("nan")
        extrapolated = float(ts[-1] * (TARGET_N / ns[-1]) ** slope)
        result["seconds"][name] = {"times": {str(n): round(t, 3) for n, t in times.items()},
                                   "exponent": round(slope, 2), "extrapolated": round(extrapolated, 1)}
        lines.append(f"| {name} | " + " | ".join(f"{times[n]:.2f}" for n in sorted(times))
                     + f" | {slope:.2f} | {extrapolated:.0f} |")
    lines += ["", "Kernel matrix memory at n = 28,709: 8·n² bytes = "
              f"{8 * TARGET_N ** 2 / 2 ** 30:.1f} GiB per matrix (the exact path holds the squared distances "
              "and one kernel at a time, and libsvm its own copy).", "",
              f"Linear-SVM solvers on the same Nyström features at n = {n} (accuracy on the next {held_out} "
              "training images, never fitted):", "", "| classifier | fit (s) | accuracy (%) |", "|---|---|---|"]
    lines += [f"| {r['solver']} | {r['fit_s']:.2f} | {r['accuracy']:.2f} |" for r in solvers]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "classifier_scale.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "classifier_scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
