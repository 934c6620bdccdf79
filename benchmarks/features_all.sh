#!/usr/bin/env bash
# Rebuild the feature-variant tables in benchmarks/results/features_*.md (validation groups
# of the built-in synthetic set only; see benchmarks/feature_choices.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# Stationary wavelet entropy: global, square grids, horizontal strips; entropy definitions.
$PY benchmarks/feature_choices.py --name swe --variants \
"swe-bbo:grid_rows=1,swe-bbo:grid_rows=3:grid_cols=3,swe-bbo:grid_rows=4:grid_cols=4,swe-bbo:grid_rows=2,\
swe-bbo,swe-bbo:grid_rows=6,swe-bbo:grid_rows=8,swe-bbo:entropy=energy,swe-bbo:entropy=energy:grid_rows=3:grid_cols=3"
# Biorthogonal wavelet entropy: the same questions for the decimated transform.
$PY benchmarks/feature_choices.py --name bwe --variants \
"bwe-fsvm:grid_rows=1,bwe-fsvm:grid_rows=2:grid_cols=2,bwe-fsvm:grid_rows=4,bwe-fsvm:grid_rows=6,bwe-fsvm,\
bwe-fsvm:grid_rows=8:grid_cols=2"
# Biorthogonal wavelet entropy: the entropy definitions.
$PY benchmarks/feature_choices.py --name bwe_entropy --variants \
"bwe-fsvm,bwe-fsvm:entropy=energy,bwe-fsvm:entropy=histogram"
# Biorthogonal wavelet entropy: signal extension mode and levels (the first variant is
# the default before 2026-11-30: symmetric extension, 3 levels).
$PY benchmarks/feature_choices.py --name bwe_mode --variants \
"bwe-fsvm:wavelet_mode=symmetric:level=3,bwe-fsvm:wavelet_mode=symmetric,bwe-fsvm:wavelet_mode=zero,\
bwe-fsvm:level=3,bwe-fsvm,bwe-fsvm:level=5:grid_rows=4"
# Higher-order spectra: segment-averaged bispectrum against one per segment.
$PY benchmarks/feature_choices.py --name hos --variants "hos-svm:segment_average=True,hos-svm"
# DWT approximation + PCA: number of components.
$PY benchmarks/feature_choices.py --name dwt --variants \
"dwt-pca-cso:n_components=20,dwt-pca-cso:n_components=40,dwt-pca-cso,dwt-pca-cso:n_components=80"
# Eigenfaces: number of whitened components (one count per variant).
$PY benchmarks/feature_choices.py --name pca --variants \
"pca-svm:n_components_grid=20,pca-svm:n_components_grid=40,pca-svm:n_components_grid=80,\
pca-svm:n_components_grid=120,pca-svm:n_components_grid=160"
# The same extension-mode table on JAFFE, as a check only (made after the choice, which
# the synthetic set's validation groups made; nothing is chosen on JAFFE).
JAFFE=${JAFFE:-../shared/datasets/jaffe}
$PY benchmarks/feature_choices.py --dataset "jaffe:$JAFFE" --name bwe_mode_jaffe --variants \
"bwe-fsvm:wavelet_mode=symmetric:level=3,bwe-fsvm:wavelet_mode=symmetric,bwe-fsvm:wavelet_mode=zero,\
bwe-fsvm:level=3,bwe-fsvm,bwe-fsvm:level=5:grid_rows=4"
