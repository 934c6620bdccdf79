"""Reading FER2013- and RAF-DB-sized datasets and checking their duplicates: time and memory.

Measures, on the stand-ins written by ``benchmarks/make_standins.py`` (or on the real
files, with ``--fer2013 PATH`` / ``--rafdb PATH``), in a fresh process per dataset:

- ``load``: ``load_dataset(spec)`` (FER2013: streaming the CSV into one uint8 array;
  RAF-DB: reading the label list and checking every file exists);
- ``hash``: ``Dataset.image_hashes``, every image's bytes read and hashed once (shared by
  the fingerprint and the duplicate check);
- ``fingerprint``: the rest of the fingerprint (labels, subjects, splits over the hashes);
- ``duplicates``: grouping identical images over the hashes, two ways: ``Dataset.duplicate_groups``
  (groups of sample ids, as base.py has it) mapped to indices, and
  :func:`fer_bench.datasets.splits.hash_groups` (groups of indices directly);
- ``split counts``: what the groups cross (:func:`fer_bench.datasets.splits.duplicate_split_report`);
- peak resident memory of the process (``ru_maxrss``).

    python benchmarks/make_standins.py $FER_BENCH_CACHE/standins --duplicates 1500 --jobs 2
    python benchmarks/bench_large_datasets.py --standins $FER_BENCH_CACHE/standins

Results go to ``benchmarks/results/large_datasets.json`` and ``.md`` with the command.
Wall times depend on the machine and its load (2 cores shared with other work when these
were taken): read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(spec: str) -> dict:
    """Run in this process: load, hash, fingerprint, duplicate check of ``spec``."""
    import resource

    from fer_bench.datasets import load_dataset
    from fer_bench.datasets.splits import duplicate_split_report, hash_groups, index_groups

    out: dict = {"spec": spec}
    start, cpu = time.perf_counter(), time.process_time()
    ds = load_dataset(spec)
    out["load_s"] = time.perf_counter() - start
    out["load_cpu_s"] = time.process_time() - cpu
    start = time.perf_counter()
    out["hashes"] = len(ds.image_hashes)
    out["hash_s"] = time.perf_counter() - start
    start = time.perf_counter()
    out["fingerprint"] = ds.fingerprint[:16]
    out["fingerprint_s"] = time.perf_counter() - start
    start = time.perf_counter()
    by_ids = index_groups(ds.samples, ds.duplicate_groups())
    out["duplicate_groups_s"] = time.perf_counter() - start
    start = time.perf_counter()
    groups = hash_groups(ds.image_hashes)
    out["hash_groups_s"] = time.perf_counter() - start
    assert sorted(map(sorted, groups)) == sorted(map(sorted, by_ids))
    start = time.perf_counter()
    splits = ds.samples["split"] if "split" in ds.samples.columns else None
    report = duplicate_split_report(groups, ds.samples["label"], splits)
    out["split_counts_s"] = time.perf_counter() - start
    out["images"] = len(ds)
    out["splits"] = ds.split_counts() if hasattr(ds, "split_counts") else None
    out["duplicate_report"] = report.as_dict()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standins", help="directory written by make_standins.py")
    parser.add_argument("--fer2013", help="fer2013 PATH (default STANDINS/fer2013)")
    parser.add_argument("--rafdb", help="rafdb PATH (default STANDINS/rafdb/basic)")
    parser.add_argument("--output", default="large_datasets", help="results file stem (default large_datasets)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one spec, print JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    specs = []
    if args.fer2013 or args.standins:
        specs.append("fer2013:" + (args.fer2013 or str(Path(args.standins) / "fer2013")))
    if args.rafdb or args.standins:
        specs.append("rafdb:" + (args.rafdb or str(Path(args.standins) / "rafdb" / "basic")))
    if not specs:
        parser.error("give --standins DIR, or --fer2013 / --rafdb")
    command = "python benchmarks/bench_large_datasets.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = []
    for spec in specs:
        proc = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    result = {"command": command, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}",
              "rows": rows}
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Reading large datasets and checking their duplicates",
        "",
        f"Command: `{command}` ({result['machine']}; shared machine: wall times are indicative, CPU times less load-dependent).",
        "",
        "| dataset | images | load (s) | load CPU (s) | hash once (s) | fingerprint (s) | Dataset.duplicate_groups (s) "
        "| hash_groups (s) | split counts (s) | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['spec']}` | {r['images']} | {r['load_s']:.2f} | {r['load_cpu_s']:.2f} | {r['hash_s']:.2f} | {r['fingerprint_s']:.3f} | "
            f"{r['duplicate_groups_s']:.3f} | {r['hash_groups_s']:.3f} | {r['split_counts_s']:.3f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    lines += ["", "Duplicate groups found and what they cross:", ""]
    for r in rows:
        d = r["duplicate_report"]
        lines.append(
            f"- `{r['spec']}`: {d['groups']} groups ({d['images_in_groups']} images), {d['groups_crossing_splits']} "
            f"cross splits, {d['test_with_copy_in_train']} test images with a copy in train, "
            f"{d['val_with_copy_in_train']} validation images with a copy in train, "
            f"{d['groups_conflicting_labels']} groups with conflicting labels"
        )
    made = Path(args.standins) / "standins.json" if args.standins else None
    if made and made.is_file():
        info = json.loads(made.read_text())
        result["standins"] = info
        lines += ["", f"The stand-ins were written by `{info['command']}`:", ""]
        for name in ("fer2013", "rafdb"):
            if name in info:
                lines.append(
                    f"- {name}: {info[name]['images']} images in {info[name]['seconds']} s wall, "
                    f"{info[name].get('cpu_seconds', '?')} s CPU"
                )
        (results / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    (results / f"{args.output}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
