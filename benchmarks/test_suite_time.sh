#!/usr/bin/env bash
# Time the test suite as CI runs it (slow tests included) and record it, with the slowest
# tests, in benchmarks/results/test_suite_time.md (OUT=FILE to write elsewhere).
#   bash benchmarks/test_suite_time.sh            # from the repository root, in its .venv
#   OUT=benchmarks/results/test_suite_time_fast.md bash benchmarks/test_suite_time.sh -m "not slow"   # tox -e fast
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
prefix=${OUT:+OUT=$OUT }
OUT=${OUT:-benchmarks/results/test_suite_time.md}
log=$(mktemp)
load_before=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s)
set +e
"$PY" -m pytest -q -p no:cacheprovider --durations=25 "$@" > "$log" 2>&1
rc=$?
set -e
wall=$(( $(date +%s) - start ))
load_after=$(cut -d' ' -f1 /proc/loadavg)
{
  echo "# Test suite time"
  echo
  echo "Made by: \`${prefix}bash benchmarks/test_suite_time.sh $*\` (\`python -m pytest $*\`; with no arguments the whole suite, slow tests included, as CI runs it; pytest-xdist workers: \`-n auto\` from pyproject.toml) on $(nproc) CPUs, commit $(git rev-parse --short HEAD); 1-minute load average before / after: $load_before / $load_after."
  echo
  echo "**Wall time: ${wall} s ($(awk "BEGIN {printf \"%.1f\", $wall / 60}") min)**, exit status $rc: $(grep -E '^[0-9]+ (passed|failed)|passed|failed' "$log" | tail -1)"
  echo
  echo "The 25 slowest test phases (pytest --durations):"
  echo
  echo '```'
  sed -n '/slowest 25 durations/,/^$/p' "$log" | sed '1d;/^$/d'
  echo '```'
} > "$OUT"
cat "$OUT"
exit $rc
