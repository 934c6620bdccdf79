#!/usr/bin/env bash
# The baselines under fer-bench's own protocol (10 runs × 10 folds, image-level, refit on
# train + val), each published method beside its classifier ablations, on the built-in
# synthetic set and on JAFFE; then benchmarks/results/baselines.md (baselines_summary.py).
# Each method is its own `fer-bench run` (same results directory, so they share the splits)
# timed on the wall clock; the synthetic runs start from an empty feature cache, so the
# seven published methods' times add up to their part of the main job (`--methods all`).
#   bash benchmarks/baselines.sh            # JAFFE from ../shared/datasets/jaffe
set -euo pipefail
cd "$(dirname "$0")/.."
FER=${FER:-.venv/bin/fer-bench}
JAFFE=${JAFFE:-../shared/datasets/jaffe}
WORK=${WORK:-out/baselines}          # results directories (not committed)
rm -rf "$WORK" && mkdir -p "$WORK"
TIMES="$WORK/times.tsv"
PUBLISHED="pca-svm hos-svm bwe-fsvm lbp-svm hog-svm swe-bbo dwt-pca-cso"
ABLATIONS="swe-bbo:classifier=svm swe-bbo:classifier=logistic swe-bbo:classifier=backprop
dwt-pca-cso:classifier=svm dwt-pca-cso:classifier=logistic dwt-pca-cso:classifier=backprop
bwe-fsvm:classifier=svm hos-svm:classifier=logistic hos-svm:classifier=backprop pca-svm:classifier=logistic"

run() {  # dataset-name dataset-spec method cache
    local start end
    start=$(date +%s.%N)
    $FER run --methods "$3" --dataset "$2" --runs 10 --folds 10 --jobs 2 --out "$WORK/$1" --cache-dir "$4" -q \
        > /dev/null
    end=$(date +%s.%N)
    printf '%s\t%s\t%s\n' "$1" "$3" "$(echo "$end - $start" | bc)" >> "$TIMES"
}
for method in $PUBLISHED $ABLATIONS; do run synthetic synthetic "$method" "$WORK/cache"; done
for method in $PUBLISHED $ABLATIONS; do run jaffe "jaffe:$JAFFE" "$method" "$WORK/cache"; done
.venv/bin/python benchmarks/baselines_summary.py "$WORK/synthetic" "$WORK/jaffe" --times "$TIMES" \
    --command "bash benchmarks/baselines.sh"
