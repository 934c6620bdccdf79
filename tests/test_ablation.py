"""The ablation view: a published method beside its variants (``--methods pca-svm,pca-svm:classifier=logistic``)."""

from __future__ import annotations

import pandas as pd
import pytest
from fer_bench_baselines.selection import CLASSIFIER_PARAMETERS, FeatureClassifierMethod, classifier_parameter

import fer_bench
from fer_bench.reporting.tables import _reading
from tests.conftest import cli

SPEC = "synthetic?subjects=4&per_expression=2&size=64"
FEATURE_CLASSIFIER = ("pca-svm", "hos-svm", "dwt-pca-cso", "swe-bbo", "bwe-fsvm", "lbp-svm", "hog-svm")


def _run(out, methods):
    return cli("run", "--methods", methods, "--dataset", SPEC, "--runs", "1", "--folds", "3", "--face", "none",
               "--out", str(out), "-q")


@pytest.mark.slow
def test_variants_get_an_ablation_table_and_section_and_a_plain_run_none(tmp_path):
    out = tmp_path / "ablation"
    _run(out, "pca-svm,pca-svm:classifier=logistic")
    table = pd.read_csv(out / "ablation.csv", keep_default_na=False)
    assert list(table["method"]) == ["pca-svm", "pca-svm:classifier=logistic"]
    assert list(table["classifier"]) == ["svm (published)", "logistic"]
    assert list(table["features"]) == ["eigenfaces (whitened PCA)"] * 2
    assert list(table["changes"]) == ["", "classifier=logistic"]
    assert set(table["protocol"]) == {"image-level"} and set(table["input"]) == {"64×64, gray, face none"}
    assert table.loc[0, "reading"] == "published form" and table.loc[0, "difference"] == ""
    variant = table.iloc[1]
    assert -100.0 <= float(variant["difference"]) <= 100.0
    assert 0.0 <= float(variant["p_value"]) <= 1.0
    if variant["significance"] == "n.s.":
        assert variant["reading"].startswith("not significant")
    else:
        assert variant["significance"] == "*" and "classifier" in variant["reading"]
    board = (out / "leaderboard.md").read_text()
    section = board[board.index("## Ablation: features vs classifier"):]
    assert "image-level" in section and "`input`" in section and "corrected resampled t-test" in section
    assert "| pca-svm:classifier=logistic | eigenfaces (whitened PCA) | logistic |" in section
    assert "Ablation: features vs classifier" in (out / "report.html").read_text()

    plain = tmp_path / "plain"
    _run(plain, "pca-svm")
    assert not (plain / "ablation.csv").exists()
    assert "Ablation" not in (plain / "leaderboard.md").read_text()
    assert "Ablation" not in (plain / "report.html").read_text()


def test_the_reading_names_the_limit_only_when_significant():
    limits = _reading("swe-bbo", "the published bbo", "svm", {"classifier": "svm"}, set(), 12.5, 0.001)
    assert limits.endswith("the classifier, not the features, limits swe-bbo") and "+12.50 points" in limits
    worse = _reading("swe-bbo", "the published bbo", "svm", {"classifier": "svm"}, set(), -12.5, 0.001)
    assert "limits" not in worse and "worse than the published bbo" in worse
    ns = _reading("swe-bbo", "the published bbo", "svm", {"classifier": "svm"}, set(), 12.5, 0.2)
    assert ns.startswith("not significant") and "not the features" not in ns
    features = _reading("swe-bbo", "the published bbo", "svm", {"classifier": "svm", "level": 3}, {"level"}, 5.0, 0.01)
    assert "not the features" not in features and "level=3" in features


@pytest.mark.parametrize("name", FEATURE_CLASSIFIER)
def test_published_classifier_is_the_default_and_first_choice_listed(name):
    cls = fer_bench.get_method_class(name)
    param = cls.parameters["classifier"]
    assert param.default == cls.published_classifier == param.choices[0]
    assert set(param.choices) >= {"svm", "logistic", "backprop"} and cls.feature_description
    listing = cli("methods", "-v").stdout
    block = listing[listing.index(f"{name}:"):]
    assert f"default {cls.published_classifier}, one of {', '.join(param.choices)}" in block


def test_published_classifier_is_declared_once():
    with pytest.raises(TypeError, match="derived from the classifier parameter"):
        type("Twice", (FeatureClassifierMethod,), {
            "feature_description": "x", "published_classifier": "logistic",
            "parameters": {"classifier": classifier_parameter("svm"), **CLASSIFIER_PARAMETERS}})
    with pytest.raises(TypeError, match="classifier_parameter"):
        type("Missing", (FeatureClassifierMethod,), {"feature_description": "x", "parameters": {**CLASSIFIER_PARAMETERS}})
