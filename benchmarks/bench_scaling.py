"""Wall time and peak memory of ``fer-bench run`` as the dataset grows and with --jobs.

Runs the real command line in a subprocess (fresh feature cache each time, so feature
extraction is included) and samples the memory (PSS: shared pages counted once) of the whole process tree
(main process plus joblib workers) every 0.2 s with psutil.

    python benchmarks/bench_scaling.py                      # the defaults below
    python benchmarks/bench_scaling.py --methods pca-svm --runs 1 --folds 10

Cases: 700 images (the default synthetic set) with --jobs 1 and --jobs 2 (the full
protocol), then one run of 700 and of 7,000 images (``synthetic?subjects=200``) with
--large-jobs (2). Results go to ``benchmarks/results/<--output>.json`` and ``.md`` (default
``scaling``) with the command that made them, rewritten after every case.
Targets (issue 6): the default run on 700 images within 10 minutes on 2 cores; cost no
worse than linear in images; --jobs 2 at least 1.7× faster on 2 cores; peak memory
under 3 GB at 700 images.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def tree_rss(proc) -> int:
    import psutil

    try:
        parent = psutil.Process(proc.pid)
        members = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        try:
            # PSS: shared pages (memory-mapped features, libraries) counted once across
            # the process tree instead of once per worker; RSS where PSS is unavailable.
            info = member.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(args: list[str]) -> dict:
    exe = Path(sys.executable).with_name("fer-bench")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FER_BENCH_CACHE": str(Path(tmp) / "cache")}
        cmd = [str(exe), "run", *args, "--out", str(Path(tmp) / "out"), "-q"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc))
            time.sleep(0.2)
        out, err = proc.communicate()
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{shlex.join(cmd)} failed:\n{err}")
        table3 = (Path(tmp) / "out" / "table3.csv").read_text()
    return {"command": "fer-bench run " + shlex.join(args), "wall_seconds": round(wall, 1),
            "peak_memory_mb": round(peak / 2**20), "table3": table3}


def write(record: dict) -> None:
    """Write the JSON and Markdown so far (after every case: a long run keeps what it measured)."""
    (HERE / "results").mkdir(exist_ok=True)
    name = record["output"]
    (HERE / "results" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"# Scaling of `fer-bench run`\n\nProduced by `{record['command']}` on {os.cpu_count()} CPUs "
             "(fresh feature cache per case, so feature extraction is included).\n",
             f"| case | command | wall (s) | peak {record['memory']} of the process tree (MB) |", "|---|---|---|---|"]
    lines += [f"| {k} | `{v['command']}` | {v['wall_seconds']} | {v['peak_memory_mb']} |" for k, v in record["cases"].items()]
    lines += ["", "| summary | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in record["summary"].items()]
    (HERE / "results" / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="all")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--large-runs", type=int, default=1, help="runs for the 7,000-image case (cost)")
    parser.add_argument("--large-jobs", type=int, default=2, help="--jobs for the 1-run 700- and 7,000-image cases")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--output", default="scaling", help="results file stem in benchmarks/results/")
    opts = parser.parse_args()
    base = ["--methods", opts.methods, "--folds", str(opts.folds)]
    record = {
        "command": "python benchmarks/bench_scaling.py " + shlex.join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "output": opts.output,
        "memory": "PSS",
        "cases": {},
        "summary": {},
    }
    cases, summary = record["cases"], record["summary"]
    one = cases["700 images, --jobs 1"] = measure([*base, "--runs", str(opts.runs), "--jobs", "1"])
    summary["meets_10_minutes_700"] = one["wall_seconds"] <= 600
    write(record)
    two = cases["700 images, --jobs 2"] = measure([*base, "--runs", str(opts.runs), "--jobs", "2"])
    summary["speedup_jobs2"] = round(one["wall_seconds"] / two["wall_seconds"], 2)
    summary["meets_3GB_700"] = max(one["peak_memory_mb"], two["peak_memory_mb"]) < 3 * 1024
    write(record)
    if not opts.skip_large:
        small_label = f"700 images, {opts.large_runs} run(s), --jobs {opts.large_jobs}"
        large_label = f"7000 images, {opts.large_runs} run(s), --jobs {opts.large_jobs}"
        small = cases[small_label] = measure(
            [*base, "--runs", str(opts.large_runs), "--jobs", str(opts.large_jobs)])
        write(record)
        large = cases[large_label] = measure(
            [*base, "--dataset", "synthetic?subjects=200", "--runs", str(opts.large_runs), "--jobs", str(opts.large_jobs)]
        )
        summary["time_ratio_10x_images"] = round(large["wall_seconds"] / small["wall_seconds"], 2)
        summary["memory_ratio_10x_images"] = round(large["peak_memory_mb"] / small["peak_memory_mb"], 2)
        write(record)


if __name__ == "__main__":
    main()
