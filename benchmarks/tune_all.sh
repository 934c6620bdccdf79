#!/usr/bin/env bash
# Rebuild the optimiser tuning tables in benchmarks/results/tune_*.md (validation groups of
# the built-in synthetic set only; see benchmarks/tune_optimisers.py). 26785 evaluations is
# the default fitness_budget (15e6) divided by the 560 training images of a synthetic fold.
# (The first tuning, at the earlier budget of 6e6, used 10700: the same files at commit a81d6c8.)
# The BBO and CSO tables are made by two processes side by side (one per optimiser).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
E=26785

bbo() {
  $PY benchmarks/tune_optimisers.py --method swe-bbo --evaluations $E --name tune_bbo_migration \
      --grid '{"population": [10, 20, 50], "mutation_probability": [0.001, 0.002, 0.005], "weight_bound": [2.0, 3.0]}'
  $PY benchmarks/tune_optimisers.py --method swe-bbo --evaluations $E --name tune_bbo_network \
      --grid '{"hidden": [5, 10, 15]}'
  # Whitening the inputs (all components kept) against standardising only.
  $PY benchmarks/tune_optimisers.py --method swe-bbo --evaluations $E --name tune_bbo_inputs \
      --grid '{"whiten": [false, true]}'
  # Strips of the stationary wavelet entropy, with BBO itself (features_swe.md compares them
  # with fixed scikit-learn classifiers): more strips carry more, but make a larger network.
  for rows in 6 8; do
    $PY benchmarks/tune_optimisers.py --method swe-bbo:grid_rows=$rows --evaluations $E --name tune_bbo_strips$rows \
        --grid '{"hidden": [10]}'
  done
}

cso() {
  $PY benchmarks/tune_optimisers.py --method dwt-pca-cso --evaluations $E --name tune_cso_modes \
      --grid '{"MR": [0.2, 0.5, 0.8], "v_max": [0.01, 0.02, 0.05], "CDC": [0.2, 0.8], "SRD": [0.1, 0.2]}'
  $PY benchmarks/tune_optimisers.py --method dwt-pca-cso --evaluations $E --name tune_cso_swarm \
      --grid '{"n_cats": [15, 30, 60], "SMP": [3, 5]}'
  $PY benchmarks/tune_optimisers.py --method dwt-pca-cso --evaluations $E --name tune_cso_network \
      --grid '{"n_components": [20, 40, 60, 80], "hidden": [3, 5, 10]}'
}

bbo > "${TMPDIR:-/tmp}/tune_bbo.log" &
cso > "${TMPDIR:-/tmp}/tune_cso.log" &
wait -n && wait -n
