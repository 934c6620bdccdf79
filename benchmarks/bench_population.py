"""Benchmark: evaluating a whole population of networks at once vs one at a time.

The optimiser-trained baselines (dwt-pca-cso, swe-bbo) spend nearly all their time
computing the training MSE of candidate networks. This script times, in one process and
on the same data, (a) the batched evaluation used by fer-bench
(``SLFN.mse``: one einsum per layer for the whole population) and (b) a Python loop that
evaluates one candidate at a time (``SLFN.mse_loop``), checks that both give the same
fitness values, and writes ``benchmarks/results/population.json`` and ``.md``.

Sizes mirror a fold of the seed paper's protocol: 560 training images, 20 PCA inputs,
10 hidden units, 7 classes; populations of 50 (BBO) and 126 (one CSO iteration of 30
cats: 24 seeking × 4 copies + 6 tracing). BLAS is limited to one thread, as in the
engine's folds.

Usage:  python benchmarks/bench_population.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from fer_bench_baselines.slfn import SLFN, one_hot  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timings per case; the fastest is kept")
    parser.add_argument("--n-train", type=int, default=560)
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=10)
    parser.add_argument("--classes", type=int, default=7)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n_train, args.inputs))
    targets = one_hot(rng.integers(0, args.classes, args.n_train), args.classes)
    rows = []
    with threadpool_limits(limits=1):
        for output in ("linear", "softmax"):
            net = SLFN(args.inputs, args.hidden, args.classes, output)
            for population in (50, 126):
                weights = rng.uniform(-1, 1, size=(population, net.n_weights))
                batched = net.mse(weights, X, targets)
                looped = net.mse_loop(weights, X, targets)
                # Same values up to float rounding (einsum may order sums differently).
                np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=0)
                t_batched = best_time(lambda: net.mse(weights, X, targets), args.repeats)  # noqa: B023
                t_loop = best_time(lambda: net.mse_loop(weights, X, targets), args.repeats)  # noqa: B023
                rows.append({
                    "output": output,
                    "population": population,
                    "n_weights": net.n_weights,
                    "batched_ms": round(1e3 * t_batched, 3),
                    "loop_ms": round(1e3 * t_loop, 3),
                    "speedup": round(t_loop / t_batched, 2),
                    "max_abs_difference": float(np.max(np.abs(batched - looped))),
                })
                print(f"{output:8s} P={population:4d}: batched {1e3 * t_batched:7.2f} ms, "
                      f"loop {1e3 * t_loop:7.2f} ms, ×{t_loop / t_batched:.1f}")

    command = "python " + shlex.join(["benchmarks/bench_population.py", *(argv if argv is not None else sys.argv[1:])])
    result = {
        "benchmark": "population fitness: batched einsum vs one candidate at a time",
        "command": command,
        "sizes": {"n_train": args.n_train, "inputs": args.inputs, "hidden": args.hidden, "classes": args.classes},
        "blas_threads": 1,
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "processor": platform.processor(),
                    "platform": platform.platform()},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "population.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Population evaluation: batched vs one candidate at a time",
        "",
        f"Made by: `{command}` (numpy {np.__version__}, one BLAS thread, fastest of {args.repeats}).",
        f"Network: {args.inputs} inputs → {args.hidden} sigmoid hidden → {args.classes} outputs, "
        f"{args.n_train} training samples. Both ways give the same fitness values (checked, rtol 1e-12).",
        "",
        "| output | population | weights | batched (ms) | loop (ms) | speed-up |",
        "|---|---|---|---|---|---|",
        *[f"| {r['output']} | {r['population']} | {r['n_weights']} | {r['batched_ms']} | {r['loop_ms']} | "
          f"{r['speedup']}× |" for r in rows],
        "",
    ]
    (RESULTS / "population.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'population.json'} and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
