"""The re-implemented classical baselines: features, fitting, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fer_bench_baselines.bwe_fsvm import fuzzy_membership
from fer_bench_baselines.hos_svm import bispectrum, principal_domain
from fer_bench_baselines.lbp_svm import lbp_grid_histograms
from fer_bench_baselines.swe_bbo import block_entropy, subband_entropy

import fer_bench
from fer_bench.errors import FerBenchError, UnknownMethodError

from .conftest import cli

BASELINES = ["hos-svm", "dwt-pca-cso", "swe-bbo", "bwe-fsvm", "lbp-svm", "hog-svm"]
# Small images (and a small budget for the optimisers) keep every test fast.
SMALL = {
    "hos-svm": dict(image_size=32, nfft=16),
    "dwt-pca-cso": dict(image_size=32, level=2, n_components=5, iterations=10, n_cats=10),
    "swe-bbo": dict(image_size=32, level=3, generations=10, population=12),
    "bwe-fsvm": dict(image_size=64, level=2),  # bior4.4 supports 2 levels on 64 pixels
    "lbp-svm": dict(image_height=30, image_width=24, grid_rows=3, grid_cols=2),
    "hog-svm": dict(image_size=32),
}
FEATURE_DIMS = {
    "hos-svm": 36 * 8,  # 36 angles × 8 HOS descriptors
    "dwt-pca-cso": None,  # the size of pywt's level-2 approximation, checked below
    "swe-bbo": (1 + 3 * 3) * 3 * 3,  # (deepest approximation + 3 details per level) × 3×3 blocks
    "bwe-fsvm": (1 + 3 * 2) * 2 * 2,  # 7 sub-bands × 2×2 blocks
    "lbp-svm": 3 * 2 * 59,
    "hog-svm": 3 * 3 * 2 * 2 * 9,
}


def images_for(method, n=6, seed=0):
    h, w = method.input_spec().size
    return np.random.default_rng(seed).random((n, h, w)).astype(np.float32)


@pytest.mark.parametrize("name", BASELINES)
def test_feature_shape_and_determinism(name):
    method = fer_bench.create_method(name, **SMALL[name])
    images = images_for(method)
    features = method.extract_features(images)
    assert features.ndim == 2 and features.shape[0] == len(images)
    if name == "dwt-pca-cso":
        import pywt

        expected = pywt.wavedec2(images[0], "db4", level=2)[0].size
    else:
        expected = FEATURE_DIMS[name]
    assert features.shape[1] == expected
    assert np.all(np.isfinite(features))
    np.testing.assert_array_equal(features, method.extract_features(images.copy()))
    # Per image: the features of one image do not depend on the rest of the batch.
    np.testing.assert_allclose(method.extract_features(images[2:4]), features[2:4], rtol=1e-5, atol=1e-6)
    # Different images give different features.
    assert not np.allclose(features[0], features[1])


@pytest.mark.parametrize("name", BASELINES)
def test_fit_predict_with_validation_only(name):
    method = fer_bench.create_method(name, **SMALL[name])
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 10)
    images = images_for(method, n=len(y))
    h = images.shape[1]
    for i, label in enumerate(y):  # a class-dependent bright band, so there is something to learn
        images[i, label * h // 3 : (label + 1) * h // 3] += 1.0
    features = method.extract_features(np.clip(images, 0, 2) / 2)
    order = rng.permutation(len(y))
    train, val, test = order[:18], order[18:24], order[24:]
    model = method.clone().fit(features[train], y[train], features[val], y[val], random_state=3)
    pred = model.predict(features[test])
    assert pred.shape == (len(test),) and set(pred) <= {0, 1, 2}
    info = model.fit_info()
    assert "chosen" in info and "val_accuracy" in info
    again = method.clone().fit(features[train], y[train], features[val], y[val], random_state=3)
    np.testing.assert_array_equal(again.predict(features[test]), pred)


def test_parameters_are_overridable_and_validated():
    m = fer_bench.create_method("swe-bbo", level=3, hidden=12)
    assert m.level == 3 and m.hidden == 12
    assert m.feature_key()["params"]["level"] == 3
    with pytest.raises(FerBenchError, match="multiple of 2\\*\\*level"):
        fer_bench.create_method("swe-bbo", image_size=100)
    with pytest.raises(UnknownMethodError, match="hidden"):
        fer_bench.create_method("swe-bbo", hiden=3)
    with pytest.raises(FerBenchError, match="wavelet"):
        fer_bench.create_method("bwe-fsvm", wavelet="nope")
    with pytest.raises(FerBenchError, match="lbp_method"):
        fer_bench.create_method("lbp-svm", lbp_method="ror")
    with pytest.raises(FerBenchError, match="blocks"):
        fer_bench.create_method("bwe-fsvm", blocks=0)
    with pytest.raises(FerBenchError, match="bound_scaling"):
        fer_bench.create_method("dwt-pca-cso", bound_scaling="fan_out")
    with pytest.raises(FerBenchError, match="init"):
        fer_bench.create_method("swe-bbo", init="he")


def test_bispectrum_of_quadratic_phase_coupling_peaks_at_the_coupled_pair():
    # x = cos(a) + cos(b) + cos(a + b) with phase coupling: |B| peaks at (f_b, f_a).
    n, fa, fb = 256, 6, 10
    t = np.arange(n)
    rng = np.random.default_rng(0)
    pa, pb = rng.uniform(0, 2 * np.pi, 2)
    x = np.cos(2 * np.pi * fa * t / 64 + pa) + np.cos(2 * np.pi * fb * t / 64 + pb)
    x = x + np.cos(2 * np.pi * (fa + fb) * t / 64 + pa + pb)
    B, f1, f2 = bispectrum(x[None], nfft=64, overlap=0.5, window="none")
    peak = int(np.argmax(np.abs(B[0])))
    assert (f1[peak], f2[peak]) == (fb, fa)
    f1, f2 = principal_domain(64)
    assert np.all((f2 >= 1) & (f2 <= f1) & (f1 + f2 <= 32))


def test_block_entropy_is_per_cell_in_row_major_order():
    rng = np.random.default_rng(0)
    bands = rng.normal(size=(3, 8, 8))
    bands[1, :4, 4:] = 0.0  # image 1: top-right cell all zeros → entropy 0
    cells = block_entropy(bands, 2)
    assert cells.shape == (3, 4)
    assert cells[1, 1] == 0.0 and np.all(cells[1, [0, 2, 3]] > 0)
    np.testing.assert_allclose(cells[:, 2], subband_entropy(bands[:, 4:, :4]))
    np.testing.assert_allclose(block_entropy(bands, 1)[:, 0], subband_entropy(bands))
    with pytest.raises(FerBenchError, match="blocks"):
        block_entropy(bands, 9)


def test_subband_entropy_kinds():
    flat = np.ones((1, 16))
    spike = np.zeros((1, 16))
    spike[0, 3] = 5.0
    assert subband_entropy(flat, "energy")[0] == pytest.approx(4.0)  # log2(16)
    assert subband_entropy(spike, "energy")[0] == pytest.approx(0.0)
    assert subband_entropy(np.arange(16.0)[None], "histogram", bins=4)[0] == pytest.approx(2.0)
    with pytest.raises(FerBenchError):
        subband_entropy(flat, "tsallis")


def test_fuzzy_membership_is_lower_far_from_the_class_centre():
    X = np.array([[0.0], [1.0], [-1.0], [4.0], [10.0], [11.0]])
    y = np.array([0, 0, 0, 0, 1, 1])
    s = fuzzy_membership(X, y, delta=0.1)
    assert np.all((s > 0) & (s <= 1))
    assert s[3] == s[y == 0].min() and s[3] == pytest.approx(1 - 1 / 1.1)


def test_lbp_grid_histograms_normalised_per_cell():
    codes = np.random.default_rng(0).integers(0, 10, size=(2, 9, 7))
    hist = lbp_grid_histograms(codes, 10, 3, 2).reshape(2, 6, 10)
    np.testing.assert_allclose(hist.sum(axis=2), 1.0)
    expected = np.bincount(codes[1, 3:6, 4:7].ravel(), minlength=10) / 9  # row 1, col 1 of the grid
    np.testing.assert_allclose(hist[1, 3], expected)


def test_methods_command_lists_all_seven_with_citations():
    out = cli("methods").stdout
    for name in ["pca-svm", *BASELINES]:
        assert name in out
    for author in ["Drume", "Ali, Hariharan", "Wang, Yang", "Li, Tang & Sun", "Zhang, Yang", "Shan, Gong", "Dalal"]:
        assert author in out


def _overrides(name):
    return name + ":" + ":".join(f"{k}={v}" for k, v in SMALL[name].items())


@pytest.mark.slow
def test_every_baseline_runs_through_the_cli(tmp_path):
    spec = "synthetic?subjects=8&per_expression=2&size=64"
    methods = ",".join(_overrides(name) for name in BASELINES)
    for protocol in ("paper", "subject"):
        out = tmp_path / protocol
        cli("run", "--methods", methods, "--dataset", spec, "--protocol", protocol, "--runs", "1",
            "--folds", "4", "--out", str(out), "-q")
        board = (out / "leaderboard.md").read_text()
        for name in BASELINES:
            assert name in board
        run = json.loads((out / "run.json").read_text())
        assert run, "run.json is empty"


def test_baselines_run_on_a_folder_dataset(tiny_folder, tmp_path):
    methods = ",".join(_overrides(name) for name in ["swe-bbo", "bwe-fsvm", "hog-svm"])
    out = tmp_path / "out"
    cli("run", "--methods", methods, "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
        "--out", str(out), "-q")
    assert "swe-bbo" in (out / "leaderboard.md").read_text()
