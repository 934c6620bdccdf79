"""Large training sets: the SVMs' large-set form (``large_n``), its record in the tables, and
``--methods all`` leaving out what is not sane at a dataset's size."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fer_bench_baselines.selection import KernelSVC, LargeSetSVC, SnapshotPCA

from fer_bench import create_method

from .conftest import cli


def blobs(n_per_class=30, n_classes=4, d=40, seed=0):
    """Separable class clusters: (X float32, y int) train and validation halves."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (n_classes, d))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = (centres[y] + rng.normal(0, 1, (len(y), d))).astype(np.float32)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    half = len(y) // 2
    return X[:half], y[:half], X[half:], y[half:]


@pytest.mark.parametrize("name, form", [("pca-svm:n_components=10", "Nyström 30 + linear SVM (averaged SGD, hinge loss)"),
                                        ("hog-svm", "linear SVM (averaged SGD, hinge loss)"),
                                        ("bwe-fsvm", "Nyström 30 + linear SVM (averaged SGD, hinge loss)"),
                                        ("lbp-svm:kernel=linear", "linear SVM (averaged SGD, hinge loss)")])
def test_above_large_n_the_svm_takes_its_large_set_form_and_records_it(name, form):
    X, y, Xv, yv = blobs()
    method_name, _, params = name.partition(":")
    kwargs = dict(p.split("=") for p in params.split(",")) if params else {}
    model = create_method(method_name, large_n=50, nystroem_components=30, **kwargs)
    model.fit(X, y, Xv, yv, random_state=0)
    assert model.at_scale_ and isinstance(model.model_, LargeSetSVC)
    info = model.fit_info()["at_scale"]
    assert info["form"] == form and info["n_train"] == len(X) and info["large_n"] == 50
    assert "instead of the exact kernel SVM" in info["text"]
    assert np.mean(model.predict(Xv) == yv) > 0.9  # separable clusters: the approximation still learns them
    # The same grid, chosen on validation.
    assert len(model.selection_.candidates) == len(model.fit_info()["validation_scores"])
    model.refit(np.concatenate([X, Xv]), np.concatenate([y, yv]), random_state=0)
    assert isinstance(model.model_, LargeSetSVC) and "at_scale" in model.fit_info()


def test_at_or_below_large_n_the_published_form_runs_unchanged():
    X, y, Xv, yv = blobs()
    exact = create_method("pca-svm", n_components=10, large_n=None).fit(X, y, Xv, yv, random_state=0)
    default = create_method("pca-svm", n_components=10).fit(X, y, Xv, yv, random_state=0)
    at_threshold = create_method("pca-svm", n_components=10, large_n=len(X)).fit(X, y, Xv, yv, random_state=0)
    for model in (default, at_threshold):
        assert not model.at_scale_ and isinstance(model.model_, KernelSVC) and "at_scale" not in model.fit_info()
        assert model.selection_.candidates == exact.selection_.candidates
        np.testing.assert_array_equal(model.predict(Xv), exact.predict(Xv))


def test_the_fuzzy_memberships_weight_the_large_set_svm():
    X, y, Xv, yv = blobs(seed=3)
    fuzzy = create_method("bwe-fsvm", large_n=10, nystroem_components=20).fit(X, y, Xv, yv, random_state=0)
    # The same chosen C and gamma, the same landmarks, no memberships: another SVM.
    unweighted = LargeSetSVC(fuzzy.selection_.params["C"], "rbf", fuzzy.model_.gamma, 20, 0)
    unweighted.fit(fuzzy.transform_(fuzzy.as_matrix(X)), y)
    assert not np.allclose(fuzzy.model_.pipeline_["svm"].coef_, unweighted.pipeline_["svm"].coef_)


@pytest.mark.parametrize("block", [4096, 64, 7])
def test_snapshot_pca_with_more_samples_than_features_matches_scikit_learn(block, monkeypatch):
    """The large-set path (scatter matrix summed over blocks of rows, float32 input never
    copied whole to float64) gives scikit-learn's PCA, whatever the block size."""
    from sklearn.decomposition import PCA

    monkeypatch.setattr(SnapshotPCA, "BLOCK", block)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 30)) @ rng.normal(size=(30, 30))
    for k in (8, 0.9):
        ours = SnapshotPCA(k, whiten=True).fit_transform(X)
        theirs = PCA(k, whiten=True, svd_solver="full").fit_transform(X)
        np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_swarm_methods_are_skipped_by_methods_all_when_the_budget_buys_too_few_iterations():
    for name in ("dwt-pca-cso", "swe-bbo"):
        method = create_method(name)
        assert method.size_skip_reasons(560) == []  # a synthetic fold: about 1,500 iterations
        assert method.size_skip_reasons(1600) == []  # 520 iterations
        assert method.size_skip_reasons(1700) != []  # 490 iterations: too far from trained
        reasons = method.size_skip_reasons(28709)  # FER2013's training set
        assert len(reasons) == 1 and "28709 training images" in reasons[0] and "min_iterations=500" in reasons[0]
        assert create_method(name, classifier="svm").size_skip_reasons(28709) == []
        assert create_method(name, fitness_budget=10**9).size_skip_reasons(28709) == []


def test_imagenet_probes_are_left_out_of_all_on_a_cpu_at_fer2013_size():
    """An ImageNet probe's CPU feature time at FER2013's size would double the run: `all`
    leaves it out on a CPU above 10,000 training images, says why, and keeps it on a GPU;
    the FER2013 mini-Xception probe (a few ms per image) stays."""
    for name in ("mobilenetv2-probe", "resnet101-probe"):
        assert create_method(name, device="cpu").size_skip_reasons(10_000) == []
        reasons = create_method(name, device="cpu").size_skip_reasons(28_709)
        assert len(reasons) == 1 and "28,709" in reasons[0] and "--device cuda" in reasons[0]
        assert create_method(name, device="cuda").size_skip_reasons(28_709) == []
    assert create_method("minixception-probe", device="cpu").size_skip_reasons(28_709) == []


@pytest.mark.slow
def test_cli_records_and_shows_the_large_set_form_only_above_the_threshold(tmp_path):
    data = "synthetic?subjects=4&per_expression=2&size=64"
    scaled, exact = tmp_path / "scaled", tmp_path / "exact"
    cli("run", "--methods", "pca-svm:large_n=10,hog-svm:large_n=10,lbp-svm", "--dataset", data, "--runs", "1",
        "--folds", "3", "--out", str(scaled), "-q")
    board = (scaled / "leaderboard.md").read_text()
    assert "`pca-svm:large_n=10`: classifier at scale: Nyström 1000 + linear SVM (averaged SGD, hinge loss)" in board
    assert "`hog-svm:large_n=10`: classifier at scale: linear SVM (averaged SGD, hinge loss)" in board
    assert "in 3 of 3 folds" in board and "`lbp-svm`: classifier at scale" not in board
    cli("run", "--methods", "pca-svm", "--dataset", data, "--runs", "1", "--folds", "3", "--out", str(exact), "-q")
    assert "classifier at scale" not in (exact / "leaderboard.md").read_text()


@pytest.mark.slow
def test_methods_all_skips_by_dataset_size_and_naming_the_method_runs_it(tmp_path, monkeypatch):
    from fer_bench_baselines.hog_svm import HOGSVM

    import fer_bench
    from fer_bench import runner
    from fer_bench.registry import register_method

    class CostlyAtScale(HOGSVM):
        name = "costly-at-scale"

        def size_skip_reasons(self, n_train):
            return [f"{n_train} training images is too many here"] if n_train > 10 else []

    register_method(CostlyAtScale)
    monkeypatch.setattr(runner, "available_methods", lambda: ["hog-svm", "costly-at-scale"])
    data = "synthetic?subjects=4&per_expression=2&size=64"
    out = tmp_path / "all"
    quiet = {"echo": lambda text: None}
    fer_bench.run(methods="all", dataset=data, runs=1, folds=3, out=str(out), **quiet)
    board = (out / "leaderboard.md").read_text()
    assert re.search(r"- `costly-at-scale`: \d+ training images is too many here", board)
    assert "not sane at this dataset's size" in board
    named = fer_bench.run(methods=["costly-at-scale"], dataset=data, runs=1, folds=3, out=str(tmp_path / "named"),
                          **quiet)
    assert "costly-at-scale" in named.methods and not named.skipped
