"""Time and peak memory of the listing commands, and which heavy libraries they import.

    python benchmarks/bench_listing.py            # 5 repetitions of each command
    python benchmarks/bench_listing.py --repeat 3

Runs the real ``fer-bench`` console script in a fresh process for ``methods``,
``methods -v``, ``weights list`` and ``datasets``; wall time and peak resident memory
(``ru_maxrss`` of the child from ``os.wait4``) are the median and maximum over the
repetitions. Then runs each command once more through ``fer_bench.cli.main`` in a child
that reports which heavy libraries ended up in ``sys.modules``.
Target (issue 10): under 2 s and under 150 MB each, without importing torch.
Writes ``benchmarks/results/listing.json`` and ``.md`` with the command that made them.
Timings depend on the machine's load: say so when you quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMANDS = (["methods"], ["methods", "-v"], ["weights", "list"], ["datasets"])
HEAVY = ("torch", "torchvision", "dlib", "h5py", "sklearn", "scipy", "pandas", "matplotlib", "skimage", "pywt")
TARGET_SECONDS, TARGET_MB = 2.0, 150.0

PROBE = """
import contextlib, io, json, sys
from fer_bench.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(json.loads(sys.argv[1]))
print(json.dumps({"exit": code, "imported": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""


def run_once(args: list[str]) -> tuple[float, float, int]:
    exe = Path(sys.executable).with_name("fer-bench")
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024.0, proc.returncode  # ru_maxrss is in KiB on Linux


def imported(args: list[str]) -> dict:
    # From a neutral folder: the installed fer_bench is probed, not one found in the current directory.
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", default="listing")
    args = parser.parse_args()
    rows = []
    for command in COMMANDS:
        runs = [run_once(command) for _ in range(args.repeat)]
        probe = imported(command)
        row = {
            "command": "fer-bench " + " ".join(command),
            "seconds_median": round(statistics.median(r[0] for r in runs), 3),
            "seconds_max": round(max(r[0] for r in runs), 3),
            "peak_rss_mb_max": round(max(r[1] for r in runs), 1),
            "exit_codes": sorted({r[2] for r in runs}),
            "heavy_modules_imported": probe["imported"],
        }
        row["meets_target"] = (row["seconds_median"] < TARGET_SECONDS and row["peak_rss_mb_max"] < TARGET_MB
                               and "torch" not in probe["imported"])
        rows.append(row)
        print(json.dumps(row))
    record = {
        "command": "python " + shlex.join([f"benchmarks/{Path(__file__).name}", *sys.argv[1:]]),
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_MB, "torch_imported": False},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1min": os.getloadavg()[0],
                    "nice": os.nice(0)},
        "rows": rows,
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{args.output}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Listing commands: time and peak memory",
        "",
        f"Produced by `{record['command']}` ({args.repeat} runs each; {os.cpu_count()} CPUs, "
        f"1-minute load average {record['machine']['load_1min']:.1f} at the end"
        + (f", run at nice {record['machine']['nice']}" if record["machine"]["nice"] else "")
        + ": timings depend on the load).",
        f"Target: under {TARGET_SECONDS:g} s (median) and {TARGET_MB:g} MB (peak RSS), torch never imported.",
        "",
        "| command | median s | max s | peak RSS MB | heavy modules imported | target met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| `{row['command']}` | {row['seconds_median']:.2f} | {row['seconds_max']:.2f} | "
                     f"{row['peak_rss_mb_max']:.0f} | {', '.join(row['heavy_modules_imported']) or 'none'} | "
                     f"{'yes' if row['meets_target'] else 'no'} |")
    (results / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
