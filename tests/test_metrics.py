"""The metric code reproduces the seed paper's own numbers (Li 2021, Tables 1 and 2)."""

import json
import math
from importlib.resources import files

import numpy as np
import pytest

from fer_bench.metrics import confusion_matrix, format_mean_sd, mean_sd, overall_accuracy, sensitivity
from tests.conftest import REPO

# The paper's tables ship with the package (fer_bench/data/README.md says where they come from).
SEED = json.loads(files("fer_bench").joinpath("data", "seed_tables.json").read_text(encoding="utf-8"))


def run_confusion(sens_percent, per_class=100, seed=0):
    """A run's summed confusion matrix with the published per-class sensitivities.

    Each class has 100 test images per run (10 folds × 10), so sensitivity t% puts t
    images on the diagonal; the misses go to other classes (where does not matter to
    OA or sensitivity, so spread them pseudo-randomly).
    """
    rng = np.random.default_rng(seed)
    k = len(sens_percent)
    cm = np.zeros((k, k), dtype=np.int64)
    for t, s in enumerate(sens_percent):
        hits = round(s * per_class / 100)
        cm[t, t] = hits
        others = [j for j in range(k) if j != t]
        np.add.at(cm[t], rng.choice(others, per_class - hits), 1)
    return cm


def test_table2_is_the_oa_of_table1_runs():
    table1 = SEED["table1_sensitivity_percent_by_run"]
    for run, (sens, published_oa) in enumerate(zip(table1, SEED["table2_oa_percent_by_run"])):
        cm = run_confusion(sens, seed=run)
        np.testing.assert_allclose(sensitivity(cm), sens)
        assert round(overall_accuracy(cm), 2) == pytest.approx(published_oa, abs=0.005), f"run {run + 1}"


def test_table2_mean_sd_row():
    oa = [overall_accuracy(run_confusion(s)) for s in SEED["table1_sensitivity_percent_by_run"]]
    mean, sd = mean_sd(oa)
    assert (round(mean, 2), round(sd, 2)) == tuple(SEED["table2_mean_sd"])  # 96.29 ± 0.78
    assert format_mean_sd(mean, sd) == "96.29 ± 0.78"


def test_table1_mean_sd_rows():
    table1 = np.array(SEED["table1_sensitivity_percent_by_run"], dtype=float)
    for column, (pub_mean, pub_sd) in zip(table1.T, SEED["table1_mean_sd"]):
        mean, sd = mean_sd(column)
        # The paper prints one or two decimals; compare at the precision it printed.
        assert mean == pytest.approx(pub_mean, abs=0.05)
        assert sd == pytest.approx(pub_sd, abs=0.005 if pub_sd != round(pub_sd, 1) else 0.05)


def test_sample_sd_not_population_sd():
    # ddof=1 as the paper: with ddof=0 Table 2's SD would be 0.74, not 0.78.
    oa = SEED["table2_oa_percent_by_run"]
    assert round(mean_sd(oa)[1], 2) == 0.78
    assert round(float(np.std(oa)), 2) != 0.78


def test_confusion_sensitivity_oa_by_hand():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 1, 0]
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert overall_accuracy(cm) == pytest.approx(400 / 6)
    np.testing.assert_allclose(sensitivity(cm), [200 / 3, 100, 0])


def test_single_run_has_no_sd():
    mean, sd = mean_sd([90.0])
    assert mean == 90.0 and math.isnan(sd)
    assert format_mean_sd(mean, sd) == "90.00 ± –"


def test_seed_tables_are_package_data():
    """The tables travel with the package: pyproject's package-data covers every file in fer_bench/data."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["fer_bench"]
    shipped = sorted(p.relative_to(REPO / "fer_bench").as_posix() for p in (REPO / "fer_bench" / "data").iterdir())
    assert "data/seed_tables.json" in shipped
    assert all(any(fnmatch.fnmatch(name, pat) for pat in patterns) for name in shipped), (shipped, patterns)
    assert SEED["source"].startswith("Bin Li, 'Facial expression recognition via transfer learning'")
