#!/usr/bin/env bash
# Rebuild the reference results in results/ (every number there, and in the tables of
# docs/results.md, comes from here).
#   bash results/make_results.sh                 # everything (about 1-2 hours on 2 cores)
#   STEPS="main jaffe" bash results/make_results.sh   # some steps only
# Steps: main (the main job), jaffe (JAFFE, both protocols, default face preprocessing,
# with the ablation variants), noface (JAFFE leave-one-subject-out, --face none), cross
# (train on the synthetic set, test on JAFFE), rank (rankings over several datasets),
# finetune (mini-Xception fine-tuned on JAFFE leave-one-subject-out, 1 run: CPU
# fine-tuning, the slowest step; not in the default STEPS).
# Needs the model files: fer-bench weights install mobilenet_v2 shape_predictor_5 mini_xception
# Methods whose requirements are not met here (ResNet-101 weights; fine-tuning without a
# GPU) are listed as skipped in each leaderboard. The SQLite stores are not committed
# (see .gitignore); the exported predictions, tables, plots and reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
FER=${FER:-.venv/bin/fer-bench}
# JAFFE's images may not be redistributed (../shared/datasets/jaffe/NOTICE.md): the committed
# reports of runs on it are rewritten without them (names only).
no_images() { $FER report "$1" --no-images > /dev/null; }
JAFFE=${JAFFE:-../shared/datasets/jaffe}
STEPS=${STEPS:-"main jaffe noface cross rank"}
step() { [[ " $STEPS " == *" $1 "* ]]; }
timed() { local t0=$SECONDS; "$@"; echo "[$(( SECONDS - t0 )) s] $*" >&2; }

# The ablation view (issue 13): each optimiser-trained or fuzzy published method beside the
# same features with a scikit-learn classifier chosen on the validation group.
ABLATION="dwt-pca-cso:classifier=svm,dwt-pca-cso:classifier=backprop,swe-bbo:classifier=svm,swe-bbo:classifier=backprop,bwe-fsvm:classifier=svm,hos-svm:classifier=logistic"

if step main; then
  # The main job: every method on the built-in synthetic set, the paper's protocol (10 × 10).
  timed $FER run --methods all --dataset synthetic --out results/synthetic-paper -q
fi

if step jaffe; then
  # JAFFE (213 images, 10 people): image-level 10 × 10, and leave-one-subject-out (10 people,
  # 10 folds) repeated 10 times; each method with its default face preprocessing.
  for protocol in paper subject; do
    timed $FER run --methods "all,$ABLATION" --dataset "jaffe:$JAFFE" --protocol $protocol \
      --out results/jaffe-$protocol -q
    no_images results/jaffe-$protocol
  done
  # The leakage view: image-level minus subject-independent OA.
  $FER compare results/jaffe-paper results/jaffe-subject --out results/jaffe-leakage.md
fi

if step noface; then
  # The same methods on whole frames (--face none), leave-one-subject-out: what face
  # alignment adds for unseen people.
  timed $FER run --methods all --face none --dataset "jaffe:$JAFFE" --protocol subject \
    --out results/jaffe-subject-noface -q
  no_images results/jaffe-subject-noface
  $FER compare results/jaffe-subject-noface results/jaffe-subject --out results/jaffe-faces-subject.md
fi

if step cross; then
  # Cross-dataset: train (and choose on a seeded validation part) on the synthetic set, test
  # on JAFFE's real faces, on the classes the two share; 3 runs.
  timed $FER run --methods pca-svm,lbp-svm,hog-svm,minixception-probe \
    --dataset synthetic --test-dataset "jaffe:$JAFFE" --protocol holdout --runs 3 \
    --out results/cross-synthetic-to-jaffe -q
  no_images results/cross-synthetic-to-jaffe
fi

if step finetune; then
  # The fine-tuned FER2013 network (all layers; epochs chosen on the validation group, then
  # refit), which `--methods all` skips on a CPU (benchmarks/results/minixception_cpu.md):
  # one repetition of leave-one-subject-out on JAFFE, beside the 10 of results/jaffe-subject.
  timed $FER run --methods minixception --dataset "jaffe:$JAFFE" --protocol subject --runs 1 \
    --out results/jaffe-subject-finetune -q
  no_images results/jaffe-subject-finetune
fi

if step rank; then
  # Rankings over datasets (Friedman, Nemenyi, critical-difference diagram; Bayesian
  # correlated t-test per pair): JAFFE and three generated sets of other people, sizes and
  # image sizes, all subject-independent (generated sets: 2 runs × 10 folds).
  RANKED=pca-svm,hos-svm,lbp-svm,hog-svm,bwe-fsvm,minixception-probe
  dirs=(results/jaffe-subject)
  for spec in "synthetic?seed=1&subjects=12&per_expression=4" "synthetic?seed=2&subjects=15&per_expression=3&size=96" \
              "synthetic?seed=3&subjects=10&per_expression=6&size=128"; do
    name=rank-$(echo "$spec" | tr '?&=' '---' )
    timed $FER run --methods $RANKED --dataset "$spec" --protocol subject --runs 2 --out results/$name -q
    dirs+=(results/$name)
  done
  $FER rank "${dirs[@]}" --out results/ranking
fi
