#!/usr/bin/env bash
# Rebuild the reference leaderboards in results/ (every number there comes from here).
#   bash results/make_results.sh            # all three benchmarks
# Needs the ImageNet MobileNetV2 weights for mobilenetv2-probe:
#   fer-bench weights install mobilenet_v2
# Methods whose requirements are not met here (ResNet-101 weights, fine-tuning without a
# GPU) are listed as skipped in each leaderboard. The SQLite stores are not committed
# (see .gitignore); the tables, plots and reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
FER=${FER:-.venv/bin/fer-bench}
JAFFE=${JAFFE:-../shared/datasets/jaffe}

# The main job: every method on the built-in synthetic set, the paper's protocol.
$FER run --methods all --dataset synthetic --out results/synthetic-paper -q
# JAFFE (213 images, 10 people), image-level and subject-independent.
$FER run --methods all --dataset "jaffe:$JAFFE" --protocol paper --out results/jaffe-paper -q
$FER run --methods all --dataset "jaffe:$JAFFE" --protocol subject --out results/jaffe-subject -q
# Side by side, with the leakage view (image-level minus subject-independent OA).
$FER compare results/jaffe-paper results/jaffe-subject --out results/jaffe-leakage.md
