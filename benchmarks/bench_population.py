"""Benchmark: the optimisers' hot loop, the training MSE of a whole population of networks.

The optimiser-trained baselines (dwt-pca-cso, swe-bbo) spend nearly all their time
computing the training MSE of candidate networks. This script times, in one process and
on the same data, four ways to evaluate one population:

- ``loop``: one candidate at a time, float64 (``SLFN.mse_loop``, the slow reference);
- ``einsum f64``: the whole population in float64 einsums (``SLFN.mse``, our earlier code);
- ``numpy f32`` and ``torch f32``: :class:`fer_bench_baselines.slfn.PopulationFitness`, one
  GEMM for layer 1 of every candidate and one batched product for layer 2, in float32,
  with NumPy or with PyTorch on the CPU (its sigmoid and exp are vectorised);

with BLAS limited to 1 and to 2 threads, checks that all give the same fitness values
(float32: relative error below 1e-4), and writes ``benchmarks/results/population.json``
and ``.md``.

Sizes are those of the defaults on a synthetic fold (560 training images, 7 classes):
swe-bbo (52 whitened strip entropies → 10 hidden, BBO population 20), dwt-pca-cso
(60 PCA components → 5 hidden, 18 CSO evaluations per iteration), and our earlier
swe-bbo network (117 inputs → 10 hidden, population 50).

Usage:  python benchmarks/bench_population.py [--repeats 20]
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
from fer_bench_baselines.slfn import SLFN, PopulationFitness, one_hot  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


CASES = [  # name, inputs, hidden, population
    ("swe-bbo", 52, 10, 20),
    ("dwt-pca-cso", 60, 5, 18),
    ("earlier swe-bbo", 117, 10, 50),
]


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timings per case; the fastest is kept")
    parser.add_argument("--n-train", type=int, default=560)
    parser.add_argument("--classes", type=int, default=7)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    rows = []
    for name, inputs, hidden, population in CASES:
        X = rng.normal(size=(args.n_train, inputs))
        targets = one_hot(rng.integers(0, args.classes, args.n_train), args.classes)
        net = SLFN(inputs, hidden, args.classes, "softmax")
        weights = rng.uniform(-0.5, 0.5, size=(population, net.n_weights))
        reference = net.mse(weights, X, targets)
        ways = {
            "loop": lambda: net.mse_loop(weights, X, targets),  # noqa: B023
            "einsum f64": lambda: net.mse(weights, X, targets),  # noqa: B023
            "numpy f32": PopulationFitness(net, X, targets, "numpy"),
            "torch f32": PopulationFitness(net, X, targets, "torch"),
        }
        for threads in (1, 2):
            with threadpool_limits(limits=threads):
                timings = {}
                for way, fn in ways.items():
                    values = fn() if way in ("loop", "einsum f64") else fn(weights)
                    np.testing.assert_allclose(values, reference, rtol=1e-4)
                    call = fn if way in ("loop", "einsum f64") else (lambda fn=fn, w=weights: fn(w))
                    timings[way] = best_time(call, args.repeats)
            row = {"case": name, "inputs": inputs, "hidden": hidden, "population": population,
                   "n_weights": net.n_weights, "blas_threads": threads,
                   **{f"{way} ms": round(1e3 * t, 3) for way, t in timings.items()},
                   "speed-up torch vs einsum f64": round(timings["einsum f64"] / timings["torch f32"], 2),
                   "torch f32 us per network": round(1e6 * timings["torch f32"] / population, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)

    command = "python " + shlex.join(["benchmarks/bench_population.py", *(argv if argv is not None else sys.argv[1:])])
    result = {
        "benchmark": "population fitness: loop, float64 einsum, float32 NumPy, float32 PyTorch (CPU)",
        "command": command, "n_train": args.n_train, "classes": args.classes, "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "processor": platform.processor(),
                    "platform": platform.platform()},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "population.json").write_text(json.dumps(result, indent=1) + "\n")
    ways = ["loop", "einsum f64", "numpy f32", "torch f32"]
    lines = [
        "# Population evaluation: the optimisers' hot loop", "",
        f"Made by: `{command}` (numpy {np.__version__}; fastest of {args.repeats}; the machine was shared with "
        "other jobs, so only ratios are meaningful). Training MSE of a whole population of softmax networks on "
        f"{args.n_train} images, {args.classes} classes; every way gives the same values (checked, rtol 1e-4).", "",
        "| case | weights | population | BLAS threads | " + " | ".join(f"{w} (ms)" for w in ways)
        + " | torch vs einsum f64 | torch µs per network |",
        "|" + "---|" * (6 + len(ways)),
    ]
    for r in rows:
        lines.append(f"| {r['case']} | {r['n_weights']} | {r['population']} | {r['blas_threads']} | "
                     + " | ".join(str(r[f"{w} ms"]) for w in ways)
                     + f" | {r['speed-up torch vs einsum f64']}× | {r['torch f32 us per network']} |")
    (RESULTS / "population.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'population.json'} and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
