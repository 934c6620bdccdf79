"""Time and peak memory of ``fer-bench run --methods all --protocol holdout`` as FER2013 grows.

Takes a CSV in FER2013's format (``emotion,pixels,Usage``; the stand-in written by
``benchmarks/make_standins.py`` or the real file), writes subsets of N images that keep the
file's class counts per Usage split (Training / PublicTest / PrivateTest) in proportion
(largest-remainder rounding, :func:`make_standins.scaled_counts`; rows drawn at random with
``--seed`` within each (Usage, class) cell, file order kept) as FER2013 CSVs in a scratch
directory, and runs for each size, as a subprocess with a fresh feature cache (so feature
extraction is included)::

    fer-bench run --methods all --protocol holdout --runs 1 --jobs 2 \
        --dataset fer2013:<subset.csv> --out <tmp> --cache-dir <fresh tmp cache> -q

Measured per size: wall time; CPU time (user + system) of the whole process tree, both
from ``getrusage(RUSAGE_CHILDREN)`` (processes waited for) and from the last psutil
sample of every process seen in the tree (catches workers that outlive their parent's
wait); peak memory of the process tree, sampled every ``--interval`` s with psutil, as
PSS summed (shared pages such as memory-mapped features and libraries counted once: the
figure compared with the target) and as RSS summed (shared pages counted once per
process: an upper bound); and per method, from the run's :class:`fer_bench.results.Results`,
the fold's feature time (``features_seconds``: computing or loading the method's features
of all images), fit time (``fit_seconds``: choice on validation + refit) and predict time,
the fold's accuracy and ``fit_info["at_scale"]``, and which methods ``all`` skipped and why;
and the size of the feature cache the run wrote (preprocessed image stacks, face geometry,
features: disk, memory-mapped when read).

    python benchmarks/bench_holdout_scale.py --csv .cache/standins/fer2013/fer2013.csv --sizes 3500 10000
    python benchmarks/bench_holdout_scale.py --csv ... --sizes 3500 10000 35887   # the full file too

Growth between consecutive sizes is reported as time and memory ratios and as the
exponent b of time ∝ N^b (log ratio of times over log ratio of sizes); the extrapolation
to ``--target-n`` (35,887, FER2013's size) is the largest measured size's time × (target /
size)^b, labelled as an extrapolation. Results go to ``benchmarks/results/<--output>.json``
and ``.md`` (default ``holdout_scale``), rewritten after every size.
Targets (issue 15): the whole holdout run of every method that runs by default within
30 minutes with --jobs 2 at 35,887 images; peak memory under 4 GB.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_standins import scaled_counts  # noqa: E402

USAGES = ("Training", "PublicTest", "PrivateTest")
TARGET_SECONDS = 30 * 60
TARGET_MB = 4 * 1024


def read_cells(csv_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(emotion code, Usage) of every data row of a FER2013 CSV, without keeping the pixels."""
    import pandas as pd

    frame = pd.read_csv(csv_path, usecols=["emotion", "Usage"], dtype={"emotion": int, "Usage": str})
    return frame["emotion"].to_numpy(), frame["Usage"].to_numpy()


def subset_rows(emotion: np.ndarray, usage: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted row indices of a class- and split-stratified subset of about ``n`` rows.

    Every (Usage, class) count is scaled by n / rows with largest-remainder rounding per
    Usage (at least one image per cell, so the total can differ from ``n`` by a few);
    the rows of each cell are drawn without replacement by a generator seeded with ``seed``.
    """
    counts = {u: tuple(int(((usage == u) & (emotion == c)).sum()) for c in range(7)) for u in USAGES}
    wanted = scaled_counts(counts, n / len(emotion))
    rng = np.random.default_rng(seed)
    keep = []
    for u in USAGES:
        for c in range(7):
            cell = np.flatnonzero((usage == u) & (emotion == c))
            keep.append(rng.choice(cell, size=min(wanted[u][c], len(cell)), replace=False))
    return np.sort(np.concatenate(keep))


def write_subset(csv_path: Path, rows: np.ndarray, out: Path) -> None:
    """Copy the header and the data rows ``rows`` (0-based) of ``csv_path`` to ``out``, in file order."""
    wanted = set(rows.tolist())
    with open(csv_path, newline="") as src, open(out, "w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i in wanted:
                writer.writerow(row)


def sample_tree(proc, cpu_by_pid: dict[int, float]) -> tuple[int, int]:
    """(PSS, RSS) summed over ``proc`` and its descendants, in bytes; updates CPU seconds per pid."""
    import psutil

    try:
        parent = psutil.Process(proc.pid)
        members = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    pss = rss = 0
    for member in members:
        try:
            info = member.memory_full_info()
            times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        pss += getattr(info, "pss", info.rss)
        rss += info.rss
        cpu_by_pid[member.pid] = max(cpu_by_pid.get(member.pid, 0.0), times.user + times.system)
    return pss, rss


def per_method(out: Path) -> tuple[dict, dict]:
    """Per-method fold timings and accuracy, and the skipped methods with their reasons."""
    from fer_bench.results import Results

    res = Results(out)
    methods = {}
    for method, group in res.folds.groupby("method", sort=False):
        row = group.iloc[0]
        methods[method] = {
            "features_seconds": round(float(group["features_seconds"].sum()), 1),
            "fit_seconds": round(float(group["fit_seconds"].sum()), 1),
            "predict_seconds": round(float(group["predict_seconds"].sum()), 1),
            "accuracy": round(float(group["accuracy"].mean()), 2),
            "n_train": int(row["n_train"]), "n_val": int(row["n_val"]), "n_test": int(row["n_test"]),
            "at_scale": row["info"].get("at_scale"),
        }
    return methods, dict(res.skipped)


def measure(subset: Path, n: int, jobs: int, interval: float) -> dict:
    exe = Path(sys.executable).with_name("fer-bench")
    with tempfile.TemporaryDirectory(prefix="holdout-scale-") as tmp:
        out = Path(tmp) / "out"
        args = ["--methods", "all", "--protocol", "holdout", "--runs", "1", "--jobs", str(jobs),
                "--dataset", f"fer2013:{subset}", "--out", str(out), "--cache-dir", str(Path(tmp) / "cache"), "-q"]
        cmd = [str(exe), "run", *args]
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_by_pid: dict[int, float] = {}
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak_pss = peak_rss = 0
        while proc.poll() is None:
            pss, rss = sample_tree(proc, cpu_by_pid)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            time.sleep(interval)
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{shlex.join(cmd)} failed (exit {proc.returncode}):\n{stderr[-4000:]}")
        methods, skipped = per_method(out)
        cache_bytes = sum(f.stat().st_size for f in (Path(tmp) / "cache").rglob("*") if f.is_file())
    cpu_rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "images": n,
        "command": "fer-bench run " + shlex.join(args).replace(str(tmp), "<tmp>"),
        "wall_seconds": round(wall, 1),
        "cpu_seconds_rusage": round(cpu_rusage, 1),
        "cpu_seconds_sampled": round(sum(cpu_by_pid.values()), 1),
        "processes_seen": len(cpu_by_pid),
        "peak_pss_mb": round(peak_pss / 2**20),
        "peak_rss_sum_mb": round(peak_rss / 2**20),
        "feature_cache_mb": round(cache_bytes / 2**20),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "methods": methods,
        "skipped": skipped,
        "stderr_tail": stderr[-2000:],
    }


def growth(record: dict) -> None:
    """Ratios and exponents between consecutive sizes, and the extrapolation to the target size."""
    sizes = sorted(record["cases"].values(), key=lambda c: c["images"])
    record["growth"] = []
    for small, large in zip(sizes, sizes[1:]):
        ratio_n = large["images"] / small["images"]
        entry = {"from": small["images"], "to": large["images"], "images_ratio": round(ratio_n, 2)}
        for key in ("wall_seconds", "cpu_seconds_rusage", "peak_pss_mb"):
            ratio = large[key] / small[key]
            entry[f"{key}_ratio"] = round(ratio, 2)
            entry[f"{key}_exponent"] = round(math.log(ratio) / math.log(ratio_n), 2)
        entry["methods"] = {}
        for m in large["methods"]:
            if m in small["methods"]:
                a, b = small["methods"][m], large["methods"][m]
                t_small = a["features_seconds"] + a["fit_seconds"] + a["predict_seconds"]
                t_large = b["features_seconds"] + b["fit_seconds"] + b["predict_seconds"]
                if t_small > 0 and t_large > 0:
                    entry["methods"][m] = round(math.log(t_large / t_small) / math.log(ratio_n), 2)
        record["growth"].append(entry)
    record["extrapolation"] = {}
    largest, target = sizes[-1], record["target_n"]
    if record["growth"] and largest["images"] < target:
        last = record["growth"][-1]
        factor = target / largest["images"]
        wall = largest["wall_seconds"] * factor ** last["wall_seconds_exponent"]
        cpu = largest["cpu_seconds_rusage"] * factor ** last["cpu_seconds_rusage_exponent"]
        mem = largest["peak_pss_mb"] * factor ** last["peak_pss_mb_exponent"]
        record["extrapolation"] = {
            "label": (f"EXTRAPOLATION (not measured): {largest['images']} → {target} images with the exponents "
                      f"measured between {last['from']} and {last['to']}"),
            "images": target, "wall_seconds": round(wall), "cpu_seconds": round(cpu), "peak_pss_mb": round(mem),
            "meets_30_minutes": wall <= TARGET_SECONDS, "meets_4GB": mem < TARGET_MB,
        }


def write(record: dict) -> None:
    """Write the JSON and Markdown so far (after every size: a long session keeps what it measured)."""
    (HERE / "results").mkdir(exist_ok=True)
    name = record["output"]
    (HERE / "results" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    cases = sorted(record["cases"].values(), key=lambda c: c["images"])
    lines = [
        "# `fer-bench run --methods all --protocol holdout` as FER2013 grows\n",
        "Produced by " + " then ".join(f"`{c}`" for c in record.get("commands", [record["command"]])) + " on"
        f" {record['machine']['cpus']} CPUs ({record['machine']['platform']}), "
        f"the benchmark itself under `{record['machine']['nice']}`. Data: class- and split-stratified subsets of "
        f"`{record['csv']}` (seed {record['seed']}). Each size runs, with a fresh feature cache, "
        "`fer-bench run --methods all --protocol holdout --runs 1 --jobs 2 --dataset fer2013:<subset> "
        "--out <tmp> --cache-dir <tmp> -q`. The machine was shared with other jobs: wall times are indicative "
        "(load averages 1/5/15 min before and after each size are listed); CPU times and memory are the "
        "comparable figures. Memory: PSS summed over the process tree (shared pages counted once; the figure "
        "compared with the 4 GB target) and RSS summed (shared pages counted per process).\n",
        "| images | wall (s) | CPU (s), rusage | CPU (s), sampled | peak PSS (MB) | peak RSS sum (MB) | "
        "feature cache on disk (MB) | load before | load after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        lines.append(f"| {c['images']} | {c['wall_seconds']} | {c['cpu_seconds_rusage']} | {c['cpu_seconds_sampled']} | "
                     f"{c['peak_pss_mb']} | {c['peak_rss_sum_mb']} | {c.get('feature_cache_mb', '—')} | "
                     f"{c['load_before']} | {c['load_after']} |")
    lines += ["", "Per method (the holdout fold: features = computing the method's features of all images; "
              "fit = choice on validation + refit; seconds of the process that ran it). A method's features "
              "include the face detection / alignment of its face mode when it is the first method to need it "
              "(cached for the later ones, which then only load it):", "",
              "| images | method | n_train/val/test | features (s) | fit (s) | predict (s) | OA (%) | at scale |",
              "|---|---|---|---|---|---|---|---|"]
    for c in cases:
        for m, v in c["methods"].items():
            lines.append(f"| {c['images']} | `{m}` | {v['n_train']}/{v['n_val']}/{v['n_test']} | "
                         f"{v['features_seconds']} | {v['fit_seconds']} | {v['predict_seconds']} | {v['accuracy']} | "
                         f"{v['at_scale'] or '—'} |")
    lines += ["", "Skipped by `--methods all`:", ""]
    for c in cases:
        lines += [f"- {c['images']} images: `{m}`: {why}" for m, why in c["skipped"].items()]
    if record.get("growth"):
        lines += ["", "| growth | images × | wall × (exponent) | CPU × (exponent) | peak PSS × (exponent) | "
                  "per-method time exponent |", "|---|---|---|---|---|---|"]
        for g in record["growth"]:
            per = ", ".join(f"`{m}` {b}" for m, b in g["methods"].items())
            lines.append(f"| {g['from']} → {g['to']} | {g['images_ratio']} | {g['wall_seconds_ratio']} "
                         f"({g['wall_seconds_exponent']}) | {g['cpu_seconds_rusage_ratio']} "
                         f"({g['cpu_seconds_rusage_exponent']}) | {g['peak_pss_mb_ratio']} ({g['peak_pss_mb_exponent']}) "
                         f"| {per} |")
    if record.get("extrapolation"):
        e = record["extrapolation"]
        lines += ["", f"**{e['label']}**: wall ≈ {e['wall_seconds']} s ({e['wall_seconds'] / 60:.0f} min, at this "
                  f"machine's load), CPU ≈ {e['cpu_seconds']} s, peak PSS ≈ {e['peak_pss_mb']} MB. Targets: 30 minutes "
                  f"{'met' if e['meets_30_minutes'] else 'NOT met'}, 4 GB {'met' if e['meets_4GB'] else 'NOT met'}."]
    (HERE / "results" / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True, help="FER2013-format CSV (emotion,pixels,Usage)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3500, 10000],
                        help="subset sizes; one at or above the file's size uses the whole file")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.5, help="memory sampling period (s)")
    parser.add_argument("--target-n", type=int, default=35887, help="size to extrapolate to (FER2013's)")
    parser.add_argument("--scratch", type=Path, default=None, help="where the subset CSVs go (default: a tmp dir)")
    parser.add_argument("--output", default="holdout_scale", help="results file stem in benchmarks/results/")
    parser.add_argument("--append", action="store_true", help="keep the sizes already in the results JSON")
    opts = parser.parse_args()
    results_json = HERE / "results" / f"{opts.output}.json"
    record = {
        "command": "python benchmarks/bench_holdout_scale.py " + shlex.join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "nice": f"nice -n {os.nice(0)}"},
        "csv": str(opts.csv), "seed": opts.seed, "target_n": opts.target_n, "output": opts.output,
        "memory": "PSS summed over the process tree (also RSS summed)", "cases": {},
    }
    record["commands"] = [record["command"]]
    if opts.append and results_json.exists():
        previous = json.loads(results_json.read_text())
        record["cases"] = previous["cases"]
        record["commands"] = [*previous.get("commands", [previous["command"]]), record["command"]]
    emotion, usage = read_cells(opts.csv)
    scratch = opts.scratch or Path(tempfile.mkdtemp(prefix="holdout-scale-data-"))
    scratch.mkdir(parents=True, exist_ok=True)
    for n in opts.sizes:
        if n >= len(emotion):
            subset, n_actual = opts.csv.resolve(), len(emotion)
        else:
            rows = subset_rows(emotion, usage, n, opts.seed)
            subset, n_actual = scratch / f"fer2013_{n}.csv", len(rows)
            write_subset(opts.csv, rows, subset)
        print(f"{n_actual} images: running ...", flush=True)
        record["cases"][str(n_actual)] = {**measure(subset, n_actual, opts.jobs, opts.interval),
                                          "benchmark_command": record["command"]}
        growth(record)
        write(record)


if __name__ == "__main__":
    main()
