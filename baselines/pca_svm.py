"""PCA + SVM: eigenfaces followed by a support vector machine.

Citation: A. Drume & A. S. Jalal, "A multi-level classification approach for facial
emotion recognition", IEEE ICCIC 2012 (89.14 ± 2.91 % in Li 2021, Table 3).

Confirmed by the source: a two-level scheme, PCA (eigenfaces) at the first level and
SVMs at the second.

Our choices where the source is silent (each a parameter):

- ``image_size`` 64: grayscale image resized to 64×64 (the cached shared preprocessing);
- pixels standardised per pixel over the training group (``StandardScaler``);
- PCA ``whiten`` True, so every eigenface counts equally for the RBF kernel. The number
  of components is chosen on the validation group from ``n_components_grid``
  (40, 80, 120, 160; capped by the training size). A fixed variance fraction such as
  95 % keeps hundreds of whitened noise components on noisy images, which drowns the
  RBF kernel, so the count is a hyperparameter rather than a constant. The grid starts
  at 40 and reaches 160 because fewer components carry identity and lighting more than
  expression, and fixed classifiers' validation accuracy on the synthetic set still
  rises past 80 components (``benchmarks/features_all.sh`` →
  ``benchmarks/results/features_pca.md``);
- a multiclass RBF SVM (one-vs-one, scikit-learn's ``SVC``), ``C`` from ``C_grid``
  and ``gamma`` from ``gamma_grid`` (multiples of scikit-learn's "scale", 1 /
  (n_features · Var Z), i.e. 1 / n_components for whitened components), chosen on the
  validation group together with the number of components, never on the test group;
  ``refit`` then fits scaler, PCA and SVM again on training + validation groups with
  the chosen values (Li 2021, §3.6).

Whitened components are nested (component i does not depend on how many are kept), so
in ``fit`` one PCA with the largest count is fitted and every smaller count is a slice
of it (:class:`SnapshotPCA`, exact). ``classifier`` swaps the SVM for a logistic regression or a back-propagation
network on the same components (the ablation view, see
:mod:`fer_bench_baselines.selection`).

At scale (a fold's training group above ``large_n``, default 10,000 images) the
RBF SVM becomes Nyström + a linear SVM by SGD, and the PCA of more images than pixels goes through the d × d scatter matrix (exact)
(:class:`~fer_bench_baselines.selection.LargeSetSVC`, recorded per fold and in the leaderboard).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from fer_bench.errors import FerBenchError
from fer_bench.params import Param
from fer_bench.registry import ImageSpec

from .selection import (
    CLASSIFIER_PARAMETERS,
    FeatureClassifierMethod,
    SnapshotPCA,
    classifier_parameter,
)

if TYPE_CHECKING:  # scikit-learn is imported where it is used: listing the methods must not load it (issue 10)
    from sklearn.preprocessing import StandardScaler


def scaled_components(X: np.ndarray, scaler: StandardScaler, pca: SnapshotPCA, n: int) -> np.ndarray:
    """The first ``n`` (whitened) principal components of standardised ``X``."""
    return pca.transform(scaler.transform(X))[:, :n]


def fit_scaled_pca(X: np.ndarray, n_components: int, whiten: bool, random_state: int | None = None):
    """``StandardScaler`` and :class:`SnapshotPCA` (``n_components`` capped by the data)
    fitted on ``X``; returns ``(scaler, pca, components of X)``. Deterministic
    (``random_state`` is accepted for symmetry and unused)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    pca = SnapshotPCA(n_components, whiten)
    return scaler, pca, pca.fit_transform(scaler.transform(X))


class PCASVM(FeatureClassifierMethod):
    name = "pca-svm"
    feature_description = "eigenfaces (whitened PCA)"
    description = "Eigenfaces (whitened PCA) → RBF SVM; components, C and gamma chosen on the validation group"
    citation = "Drume & Jalal, A multi-level classification approach for facial emotion recognition, ICCIC 2012"
    paper_oa = (89.14, 2.91)
    requirements = ("sklearn",)
    parameters = {
        "image_size": Param(64, role="features", low=8, doc="side of the square grayscale input, px"),
        "n_components_grid": Param((40, 80, 120, 160), role="fit", low=1, aliases=("n_components",),
                                   doc="numbers of whitened components tried (capped by the training size)"),
        "whiten": Param(True, role="fit", doc="scale every component to unit variance"),
        "classifier": classifier_parameter("svm"),
        **CLASSIFIER_PARAMETERS,
    }

    def __init__(self, **params):
        super().__init__(**params)
        grid = self.n_components_grid
        if not grid or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in grid):
            raise FerBenchError(f"pca-svm: n_components_grid={grid!r} must hold positive integers, e.g. 20|40|80")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="gray", face="align")  # see fer_bench.faces

    def counts(self, X: np.ndarray) -> list[int]:
        """The grid's component counts, capped by what ``X`` supports, ascending, unique."""
        largest = int(min(max(self.n_components_grid), len(X) - 1, X.shape[1]))
        return sorted({min(int(n), largest) for n in self.n_components_grid})

    def transforms(self, X_train, y_train, random_state):
        scaler, pca, Z = fit_scaled_pca(X_train, max(self.counts(X_train)), self.whiten)
        for n in self.counts(X_train):
            yield {"n_components": n}, partial(scaled_components, scaler=scaler, pca=pca, n=n), Z[:, :n]

    def fit_transform_for(self, candidate, X, y, random_state):
        scaler, pca, Z = fit_scaled_pca(X, candidate["n_components"], self.whiten)
        return partial(scaled_components, scaler=scaler, pca=pca, n=Z.shape[1]), Z
