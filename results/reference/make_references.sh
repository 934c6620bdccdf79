#!/usr/bin/env bash
# Rebuild the CI accuracy-gate reference files in results/reference/.
#
#   results/reference/make_references.sh            # from the repository root or anywhere
#   METHODS_JAFFE="pca-svm hos-svm" results/reference/make_references.sh
#
# Each reference records a benchmark's configuration and every method's OA (mean, SD);
# `fer-bench check --reference results/reference/*.json -q` re-runs them and fails when a
# method falls more than the tolerance below its reference (see fer_bench/gate.py).
#
# References (a shortened protocol that fits CI; the paper's is 10 runs × 10 folds):
#   synthetic-paper.json  built-in synthetic set, image-level, 2 runs × 5 folds, fast classical methods
#   jaffe-paper.json      JAFFE (../shared/datasets/jaffe), image-level,        2 runs × 10 folds
#   jaffe-subject.json    JAFFE,                            subject-independent, 2 runs × 10 folds
#
# Candidate methods are filtered to those that load and can run on a CPU here, so the
# script works while baselines are still being added; re-run it when one lands. Each
# benchmark runs from scratch in a temporary directory (never resumed: a stored fold
# does not know which version of a method's code produced it).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
FER=${FER_BENCH:-$REPO/.venv/bin/fer-bench}
PY=${PYTHON:-$REPO/.venv/bin/python}
[ -x "$FER" ] || FER=fer-bench
[ -x "$PY" ] || PY=python3
OUT_DIR=$REPO/results/reference
TOLERANCE=${TOLERANCE:-1.0}
JAFFE=${JAFFE:-../shared/datasets/jaffe}   # relative to the repository root, where CI runs the check
SEED=${SEED:-0}
METHODS_SYNTHETIC=${METHODS_SYNTHETIC:-"pca-svm hos-svm lbp-svm hog-svm bwe-fsvm"}
METHODS_JAFFE=${METHODS_JAFFE:-"pca-svm hos-svm lbp-svm hog-svm bwe-fsvm dwt-pca-cso swe-bbo"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fer-bench-references.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export FER_BENCH_CACHE=${FER_BENCH_CACHE:-$WORK/cache}

# The candidates that load and whose requirements are met on a CPU, comma-separated.
runnable() {
    "$PY" - "$@" <<'PY'
import sys

from fer_bench.registry import get_method_class

ok = []
for name in sys.argv[1:]:
    try:
        cls = get_method_class(name)
        reasons = cls().unmet_requirements("cpu")
    except Exception as exc:  # not written yet, or broken: leave it out, say why
        print(f"  leaving out {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        continue
    if reasons:
        print(f"  leaving out {name}: {'; '.join(reasons)}", file=sys.stderr)
        continue
    ok.append(name)
print(",".join(ok))
PY
}

# build NAME DATASET PROTOCOL RUNS FOLDS METHODS...
build() {
    local name=$1 dataset=$2 protocol=$3 runs=$4 folds=$5
    shift 5
    local methods
    methods=$(runnable "$@")
    if [ -z "$methods" ]; then
        echo "$name: no runnable method, reference not written" >&2
        return 1
    fi
    echo "== $name: $methods on $dataset ($protocol, $runs runs × $folds folds)" >&2
    # A method that fails must not silently drop out of the reference: stop here.
    "$FER" run --methods "$methods" --dataset "$dataset" --protocol "$protocol" --runs "$runs" \
        --folds "$folds" --seed "$SEED" --out "$WORK/$name" -q
    "$FER" check --write-reference "results/reference/$name.json" --results "$WORK/$name" --tolerance "$TOLERANCE"
}

mkdir -p "$OUT_DIR"
status=0
# shellcheck disable=SC2086  # the method lists are meant to split on spaces
build synthetic-paper synthetic paper 2 5 $METHODS_SYNTHETIC || status=1
if [ -d "$JAFFE" ]; then
    build jaffe-paper "jaffe:$JAFFE" paper 2 10 $METHODS_JAFFE || status=1
    build jaffe-subject "jaffe:$JAFFE" subject 2 10 $METHODS_JAFFE || status=1
else
    echo "JAFFE not found at $JAFFE: jaffe references not rebuilt" >&2
    status=1
fi
exit $status
