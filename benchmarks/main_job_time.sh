#!/usr/bin/env bash
# Wall time of the main job (`fer-bench run --methods all` on the built-in synthetic set,
# 10 runs × 10 folds, --jobs 2) from an empty feature cache, with the per-method fold times
# from its store; writes benchmarks/results/main_job_time.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FER=${FER:-.venv/bin/fer-bench}
WORK=${WORK:-out/main-job}
rm -rf "$WORK" && mkdir -p "$WORK"
load_before=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
$FER run --methods all --dataset synthetic --jobs 2 --out "$WORK/results" --cache-dir "$WORK/cache" -q > /dev/null
end=$(date +%s.%N)
load_after=$(cut -d' ' -f1 /proc/loadavg)
.venv/bin/python - "$WORK/results" "$(echo "$end - $start" | bc)" "$load_before" "$load_after" <<'PY'
import sys
from pathlib import Path

from fer_bench.results import Results

out, wall, before, after = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
r = Results(out)
f = r.folds
per = f.groupby("method").agg(folds=("fold", "size"), fit=("fit_seconds", "sum"), predict=("predict_seconds", "sum"),
                              features=("features_seconds", "first"))
lines = [
    "# Main job time", "",
    "Made by: `bash benchmarks/main_job_time.sh` (`fer-bench run --methods all --dataset synthetic --jobs 2`, 10 runs "
    f"× 10 folds, empty feature cache) on {r.environment.get('cpu_count', '?')} CPUs; 1-minute load average before / "
    f"after: {before} / {after} (the machine was shared with other jobs, so times are indicative).", "",
    f"**Wall time: {wall:.0f} s ({wall / 60:.1f} min).**", "",
    "Per method: feature extraction (s, once) and the sum over its folds of the `fit` and `predict` seconds the "
    "store keeps (the refit's seconds are not stored, so the refit is missing from these sums; it costs about "
    "as much as the fit for the optimiser-trained networks and a fraction of it for the SVMs), in worker "
    "processes running two at a time.", "",
    "| method | folds | features s | fit s (sum) | predict s (sum) |",
    "|---|---|---|---|---|",
    *[f"| {m} | {row.folds} | {row.features:.1f} | {row.fit:.1f} | {row.predict:.1f} |" for m, row in per.iterrows()],
    "", "Skipped: " + (", ".join(sorted(r.skipped)) or "none"), "",
]
Path("benchmarks/results/main_job_time.md").write_text("\n".join(lines))
print("\n".join(lines))
PY
