"""The re-implemented classical baselines: features, fitting, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fer_bench_baselines.bwe_fsvm import fuzzy_membership
from fer_bench_baselines.hos_svm import bispectrum, principal_domain, radon_projections
from fer_bench_baselines.lbp_svm import lbp_grid_histograms
from fer_bench_baselines.pca_svm import SnapshotPCA
from fer_bench_baselines.selection import KernelSVC, Whitener
from fer_bench_baselines.swe_bbo import block_entropy, subband_entropy

import fer_bench
from fer_bench.errors import FerBenchError, UnknownMethodError
from fer_bench.selection import Candidate, choose

from .conftest import cli

BASELINES = ["hos-svm", "dwt-pca-cso", "swe-bbo", "bwe-fsvm", "lbp-svm", "hog-svm"]
ALL = ["pca-svm", *BASELINES]
# Small images (and a small budget for the optimisers) keep every test fast.
SMALL = {
    "pca-svm": dict(image_size=16, n_components_grid=(4, 8)),
    "hos-svm": dict(image_size=32, nfft=16),
    "dwt-pca-cso": dict(image_size=32, level=2, n_components=5, max_iterations=10, n_cats=10),
    "swe-bbo": dict(image_size=32, level=3, max_iterations=10, population=12),
    "bwe-fsvm": dict(image_size=64, level=2),  # bior4.4 supports 2 levels on 64 pixels
    "lbp-svm": dict(image_height=30, image_width=24, grid_rows=3, grid_cols=2),
    "hog-svm": dict(image_size=32),
}
FEATURE_DIMS = {
    "hos-svm": None,  # 36 angles × the projection's segments × 8 HOS descriptors, checked below
    "dwt-pca-cso": None,  # the size of pywt's level-2 approximation, checked below
    "swe-bbo": (1 + 3 * 3) * 4,  # (deepest approximation + 3 details per level) × 4 horizontal strips
    "bwe-fsvm": (1 + 3 * 2) * 8,  # 7 sub-bands × 8 horizontal strips
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
    elif name == "hos-svm":
        from skimage.transform import radon

        length = radon(images[0], theta=[0.0], circle=False).shape[0]
        expected = 36 * len(range(0, length - 16 + 1, 8)) * 8  # nfft 16, overlap 0.5
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


def striped(method, n_per_class=10, seed=0):
    """Features of images with a class-dependent bright band (something to learn)."""
    y = np.repeat(np.arange(3), n_per_class)
    images = images_for(method, n=len(y), seed=seed)
    h = images.shape[1]
    for i, label in enumerate(y):
        images[i, label * h // 3 : (label + 1) * h // 3] += 1.0
    return method.extract_features(np.clip(images, 0, 2) / 2), y


@pytest.mark.parametrize("name", ALL)
def test_refit_contract(name):
    """fit scores every candidate on the validation group and keeps the best (ties: the
    earliest); refit trains on exactly the data it is given with that choice fixed."""
    method = fer_bench.create_method(name, **SMALL[name])
    features, y = striped(method)
    order = np.random.default_rng(1).permutation(len(y))
    train, val, test = order[:18], order[18:24], order[24:]
    model = method.clone()
    with pytest.raises(FerBenchError, match="refit called before fit"):
        model.refit(features[train], y[train], random_state=3)
    model.fit(features[train], y[train], features[val], y[val], random_state=3)
    scores = [(c.params, c.score) for c in model.selection_.candidates]
    assert scores and all(isinstance(c, dict) and 0.0 <= a <= 1.0 for c, a in scores)
    assert len({json.dumps(c, sort_keys=True) for c, _ in scores}) == len(scores)  # every candidate once
    assert model.selection_.params == scores[choose([Candidate(c, a) for c, a in scores])][0]  # the one tie rule
    assert model.fit_info()["chosen"] == model.selection_.params
    if model.classifier in ("svm", "fsvm"):
        grid = len(method.C_grid) * (len(method.gamma_grid) if method.svm_kernel == "rbf" else 1)
        counts = len(model.counts(method.as_matrix(features[train]))) if name == "pca-svm" else 1
        assert len(scores) == grid * counts
    chosen = dict(model.selection_.params)
    both = np.concatenate([train, val])
    model.refit(features[both], y[both], random_state=3)
    assert model.selection_.params == chosen and model.fit_info()["refit"] is True
    pred = model.predict(features[test])
    assert pred.shape == (len(test),) and set(pred) <= {0, 1, 2}
    if name in ("swe-bbo", "dwt-pca-cso"):
        # Exactly the chosen number of iterations, on train + val.
        assert model.fit_info()["refit_iterations"] == chosen["iterations"]
        assert model.model_.net.d == model.transform_(method.as_matrix(features[:1])).shape[1]
    else:
        assert model.model_.Z_.shape[0] == len(both)  # the final SVM saw train + val
    again = method.clone().fit(features[train], y[train], features[val], y[val], random_state=3)
    again.refit(features[both], y[both], random_state=3)
    np.testing.assert_array_equal(again.predict(features[test]), pred)


def test_refit_uses_the_new_data():
    method = fer_bench.create_method("pca-svm", **SMALL["pca-svm"])
    features, y = striped(method)
    model = method.clone().fit(features[:18], y[:18], features[18:24], y[18:24], random_state=0)
    model.refit(features[:18], y[:18], random_state=0)
    on_train = model.model_.Z_.copy()
    model.refit(features, y, random_state=0)
    assert model.model_.Z_.shape[0] == len(y) != on_train.shape[0]


@pytest.mark.parametrize("name", ALL)
def test_every_method_names_its_published_classifier_and_swaps_it(name):
    cls = fer_bench.get_method_class(name)
    assert cls.published_classifier in cls.classifier_choices
    assert cls.parameters["classifier"].default == cls.published_classifier
    assert cls.parameters["classifier"].choices == cls.classifier_choices
    method = fer_bench.create_method(name, **SMALL[name])
    features, y = striped(method)
    for kind in cls.classifier_choices:
        model = fer_bench.create_method(name, **SMALL[name], classifier=kind)
        model.fit(features[:18], y[:18], features[18:24], y[18:24], random_state=0)
        model.refit(features[:24], y[:24], random_state=0)
        assert model.predict(features[24:]).shape == (6,)
    with pytest.raises(FerBenchError, match="classifier=random-forest.*not one of"):
        fer_bench.create_method(name, classifier="random-forest")


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
    with pytest.raises(FerBenchError, match="grid_rows"):
        fer_bench.create_method("bwe-fsvm", grid_rows=0)
    with pytest.raises(FerBenchError, match="C_grid"):
        fer_bench.create_method("pca-svm", C_grid=())
    with pytest.raises(FerBenchError, match="bound_scaling"):
        fer_bench.create_method("dwt-pca-cso", bound_scaling="fan_out")
    with pytest.raises(FerBenchError, match="init"):
        fer_bench.create_method("swe-bbo", init="he")


@pytest.mark.parametrize("name", ["dwt-pca-cso", "swe-bbo", "bwe-fsvm"])
def test_wavelet_choices_checked_against_pywavelets(name):
    """Building a wavelet method checks only non-default wavelet choices (so listing the
    methods need not import PyWavelets, issue 10): the declared defaults must be valid."""
    import pywt

    cls = fer_bench.get_method_class(name)
    assert cls.parameters["wavelet"].default in pywt.wavelist(kind="discrete")
    if "wavelet_mode" in cls.parameters:
        assert cls.parameters["wavelet_mode"].default in pywt.Modes.modes
    with pytest.raises(FerBenchError, match=f"{name}: wavelet='haar2' is not a discrete wavelet"):
        fer_bench.create_method(name, wavelet="haar2")
    assert fer_bench.create_method(name, wavelet="haar").wavelet == "haar"  # a valid non-default one passes
    if "wavelet_mode" in cls.parameters:
        with pytest.raises(FerBenchError, match="wavelet_mode='mirror'; use one of"):
            fer_bench.create_method(name, wavelet_mode="mirror")
        other = "symmetric" if cls.parameters["wavelet_mode"].default == "periodization" else "periodization"
        assert fer_bench.create_method(name, wavelet_mode=other).wavelet_mode == other


@pytest.mark.parametrize("size, level, mode", [(128, 4, "periodization"), (128, 3, "symmetric"), (100, 3, "periodization"),
                                               (64, 2, "zero"), (97, 5, "periodization")])
def test_bwe_coarsest_subband_shape_is_pywavelets(size, level, mode):
    """bwe-fsvm's constructor checks its grid against the coarsest sub-band's shape, which it
    computes without PyWavelets for periodization: it must be the shape pywt.wavedec2 gives."""
    import warnings

    import pywt
    from fer_bench_baselines.bwe_fsvm import coarsest_subband_shape

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # levels beyond dwt_max_level
        approximation = pywt.wavedec2(np.zeros((size, size)), "bior4.4", mode=mode, level=level)[0]
    assert coarsest_subband_shape(size, level, "bior4.4", mode) == approximation.shape


def test_bwe_grid_must_fit_the_coarsest_subband():
    """A grid with more strips (or columns) than the level-4 sub-bands have rows (columns)
    is refused when the method is built, naming the options to change, not halfway
    through a run; a bad wavelet_mode gets its own message before PyWavelets sees it."""
    with pytest.raises(FerBenchError, match="8×1 grid does not fit the 4×4 level-4 sub-bands of a 64-pixel.*grid_rows"):
        fer_bench.create_method("bwe-fsvm", image_size=64)
    with pytest.raises(FerBenchError, match="4×8 grid does not fit the 4×4 level-4 sub-bands"):
        fer_bench.create_method("bwe-fsvm", image_size=64, grid_rows=4, grid_cols=8)
    with pytest.raises(FerBenchError, match="12×1 grid does not fit the 11×11 level-3 sub-bands of a 32-pixel"):
        fer_bench.create_method("bwe-fsvm", image_size=32, level=3, wavelet_mode="symmetric", grid_rows=12)
    with pytest.raises(FerBenchError, match="wavelet_mode='reflectt'; use one of"):
        fer_bench.create_method("bwe-fsvm", wavelet_mode="reflectt")
    assert fer_bench.create_method("bwe-fsvm", image_size=64, grid_rows=4).grid_rows == 4
    assert fer_bench.create_method("bwe-fsvm", image_size=64, level=3).level == 3


def test_bwe_default_features_are_aligned_strips_without_warnings():
    """Defaults: 13 sub-bands (level 4) × 8 strips, and no PyWavelets warning about the level
    (a deliberate choice, see the module docstring). Periodization halves every level
    exactly, so strip r of each sub-band covers strip r of the image; PyWavelets' symmetric
    extension would give bior4.4's sub-bands 68, 38, 23 and 16 rows, whose strips drift."""
    import warnings

    import pywt

    rng = np.random.default_rng(0)
    images = rng.random((3, 128, 128)).astype(np.float32)
    method = fer_bench.create_method("bwe-fsvm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features = method.extract_features(images)
    assert features.shape == (3, 13 * 8) and features.dtype == np.float32 and np.isfinite(features).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rows = {mode: [d[0].shape[-2] for d in pywt.wavedec2(images, "bior4.4", mode=mode, level=4)[1:]]
                for mode in (method.wavelet_mode, "symmetric")}
        bands = pywt.wavedec2(images.astype(np.float64), "bior4.4", mode="periodization", level=4)
    assert rows == {"periodization": [8, 16, 32, 64], "symmetric": [16, 23, 38, 68]}
    # The features are the strips' entropies of exactly those sub-bands, in that order.
    from fer_bench_baselines.swe_bbo import block_entropy

    first_detail = block_entropy(bands[1][0], 8, 1)
    np.testing.assert_allclose(features[:, 8:16], first_detail.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("shape, step", [((128, 128), 5.0), ((40, 31), 15.0), ((33, 33), 7.5)])
def test_radon_projections_equal_skimage_radon(shape, step):
    """hos-svm's batched Radon operator is skimage's radon (circle=False), image by image,
    on square, odd and non-square images (random pixels and one bright dot off-centre)."""
    from skimage.transform import radon

    rng = np.random.default_rng(1)
    images = rng.random((3, *shape))
    images[2] = 0.0
    images[2, shape[0] // 3, shape[1] // 4] = 1.0
    theta = np.arange(0.0, 180.0, step)
    got = radon_projections(images, theta)
    for image, projections in zip(images, got):
        np.testing.assert_allclose(projections, radon(image, theta=theta, circle=False).T, rtol=0, atol=1e-10)


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
    assert cells[1, 1] == 0.0 and np.all(cells[1, [0, 2, 3]] != 0)
    np.testing.assert_allclose(cells[:, 2], subband_entropy(bands[:, 4:, :4]))
    np.testing.assert_allclose(block_entropy(bands, 1)[:, 0], subband_entropy(bands))
    strips = block_entropy(bands, 4, 1)  # horizontal strips of 2 rows
    assert strips.shape == (3, 4)
    np.testing.assert_allclose(strips[:, 3], subband_entropy(bands[:, 6:, :]))
    with pytest.raises(FerBenchError, match="does not fit"):
        block_entropy(bands, 9)


def test_subband_entropy_kinds():
    flat = np.ones((1, 16))
    spike = np.zeros((1, 16))
    spike[0, 3] = 5.0
    # Coifman & Wickerhauser: −Σ c² ln c² (0 ln 0 = 0); scale-dependent.
    c = np.array([[0.5, -0.5, 0.0, 2.0]])
    assert subband_entropy(c, "shannon")[0] == pytest.approx(-(2 * 0.25 * np.log(0.25) + 4 * np.log(4)))
    assert subband_entropy(flat, "shannon")[0] == 0.0
    assert subband_entropy(flat, "energy")[0] == pytest.approx(4.0)  # log2(16)
    assert subband_entropy(spike, "energy")[0] == pytest.approx(0.0)
    assert subband_entropy(np.arange(16.0)[None], "histogram", bins=4)[0] == pytest.approx(2.0)
    with pytest.raises(FerBenchError):
        subband_entropy(flat, "tsallis")


def test_per_segment_bispectra_average_to_the_segment_averaged_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 100))
    per_segment, f1, f2 = bispectrum(x, nfft=32, overlap=0.5, average=False)
    averaged, _, _ = bispectrum(x, nfft=32, overlap=0.5)
    assert per_segment.shape == (2, 3, len(range(0, 100 - 32 + 1, 16)), len(f1))
    np.testing.assert_allclose(per_segment.mean(axis=-2), averaged)


def test_snapshot_pca_matches_scikit_learn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 300)) @ rng.normal(size=(300, 300))
    new = rng.normal(size=(5, 300))
    for whiten in (True, False):
        ours = SnapshotPCA(12, whiten=whiten).fit(X)
        theirs = PCA(12, whiten=whiten, svd_solver="full").fit(X)
        np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-7, atol=1e-8)
    assert SnapshotPCA(500).fit(X).components_.shape == (39, 300)  # at most n − 1
    # A variance fraction keeps as many components as scikit-learn does.
    ours, theirs = SnapshotPCA(0.9, whiten=False).fit(X), PCA(0.9, svd_solver="full").fit(X)
    assert ours.components_.shape == theirs.components_.shape
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-7, atol=1e-8)


def test_kernel_svc_matches_scikit_learn():
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 7)), rng.integers(0, 3, 60)
    test = rng.normal(size=(20, 7))
    weight = rng.uniform(0.2, 1.0, 60)
    ours = KernelSVC(10.0, "rbf", 0.2).fit(X, y, sample_weight=weight)
    theirs = SVC(C=10.0, kernel="rbf", gamma=0.2).fit(X, y, sample_weight=weight)
    np.testing.assert_array_equal(ours.predict(test), theirs.predict(test))
    np.testing.assert_array_equal(KernelSVC(1.0, "linear").fit(X, y).predict(test),
                                  SVC(C=1.0, kernel="linear").fit(X, y).predict(test))


def test_whitener_decorrelates_and_keeps_every_direction():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 5.0
    X = np.column_stack([X, np.full(200, 3.0)])  # a constant feature is dropped, not blown up
    whitener = Whitener()
    Z = whitener.fit_transform(X)
    assert Z.shape == (200, 6)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(6), atol=1e-8)
    np.testing.assert_allclose(whitener.transform(X), Z)


def test_iteration_budget_is_fixed_computation_per_training():
    method = fer_bench.create_method("swe-bbo")
    per_iteration = method.population - method.elites  # the unchanged elites are not re-evaluated
    assert method.iteration_budget(560) == method.fitness_budget // (per_iteration * 560)
    assert method.iteration_budget(170) > 3 * method.iteration_budget(560)  # small data: more iterations
    assert fer_bench.create_method("swe-bbo", max_iterations=7).iteration_budget(170) == 7
    cso = fer_bench.create_method("dwt-pca-cso")
    n_trace = round(cso.MR * cso.n_cats)
    assert cso.optimiser_object().evaluations_per_iteration == n_trace + (cso.n_cats - n_trace) * (cso.SMP - 1)


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


@pytest.mark.slow
def test_ablation_through_the_cli(tmp_path):
    """`fer-bench run --methods swe-bbo,swe-bbo:classifier=svm` puts both side by side."""
    spec = "synthetic?subjects=4&per_expression=2&size=64"
    swe, bwe = _overrides("swe-bbo"), _overrides("bwe-fsvm")
    methods = f"{swe},{swe}:classifier=svm,{bwe}:classifier=svm"
    out = tmp_path / "out"
    cli("run", "--methods", methods, "--dataset", spec, "--runs", "1", "--folds", "4", "--out", str(out), "-q")
    board = (out / "leaderboard.md").read_text()
    assert "classifier=svm" in board and board.count("swe-bbo") >= 2
    with pytest.raises(AssertionError, match="classifier"):
        cli("run", "--methods", "swe-bbo:classifier=forest", "--dataset", spec, "--runs", "1", "--folds", "4",
            "--out", str(tmp_path / "bad"), "-q")


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


@pytest.mark.slow
def test_baselines_run_on_a_folder_dataset(tiny_folder, tmp_path):
    methods = ",".join(_overrides(name) for name in ["swe-bbo", "bwe-fsvm", "hog-svm"])
    out = tmp_path / "out"
    cli("run", "--methods", methods, "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
        "--out", str(out), "-q")
    assert "swe-bbo" in (out / "leaderboard.md").read_text()
