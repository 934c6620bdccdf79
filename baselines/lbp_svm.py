"""LBP-SVM: uniform local binary pattern histograms on a grid of face cells → SVM.

Citation: C. Shan, S. Gong & P. W. McOwan, "Facial expression recognition based on
Local Binary Patterns: A comprehensive study", Image and Vision Computing 27(6), 2009,
pp. 803–816. Not in the seed paper's table (no paper OA): a standard classical
baseline of the FER literature.

Following Shan et al.: the face image is divided into a grid of cells, the LBP^{u2}_{8,2}
histogram (59 bins: 58 uniform patterns and one bin for all others) of each cell is
computed and the histograms are concatenated; an SVM classifies the result.

Our choices where our reading of the source leaves room (each a parameter):

- ``image_height`` 150 × ``image_width`` 110 pixels (Shan et al.'s crop size), grayscale;
- ``P`` 8 neighbours at radius ``R`` 2, ``lbp_method`` "nri_uniform" (scikit-image's
  name for the non-rotation-invariant uniform patterns u2, P(P−1)+3 = 59 bins;
  "uniform" gives the rotation-invariant P+2 bins);
- ``grid_rows`` 7 × ``grid_cols`` 6 cells (42 regions, as in the paper), cell
  boundaries from an even split of the image (cells differ by at most one pixel);
  each histogram normalised to sum 1, so cells of slightly different sizes compare;
- an SVM with ``kernel`` "rbf" (Shan et al. found RBF best among their kernels) on the
  unscaled histograms; ``C`` from ``C_grid`` (1, 10, 100) and ``gamma`` from
  ``gamma_grid`` (0.1, 0.3, 1 × scikit-learn's "scale") chosen on the validation group
  only, then refitted on training + validation groups (the paper's template-matching
  and boosting variants are not reproduced); ``classifier`` swaps the SVM for a
  logistic regression or a back-propagation network (the ablation view, see
  :mod:`fer_bench_baselines.selection`).
"""

from __future__ import annotations

import numpy as np

from fer_bench.errors import FerBenchError
from fer_bench.params import Param
from fer_bench.registry import ImageSpec

from .selection import (
    CLASSIFIER_PARAMETERS,
    FeatureClassifierMethod,
    classifier_parameter,
    identity_transforms,
)

LBP_BINS = {"nri_uniform": lambda P: P * (P - 1) + 3, "uniform": lambda P: P + 2}


def lbp_grid_histograms(codes: np.ndarray, n_bins: int, rows: int, cols: int) -> np.ndarray:
    """Normalised histograms of integer codes (N × H × W) over a rows × cols grid: N × (rows·cols·n_bins)."""
    n, height, width = codes.shape
    row_edges = np.linspace(0, height, rows + 1).round().astype(int)
    col_edges = np.linspace(0, width, cols + 1).round().astype(int)
    cell_of_row = np.searchsorted(row_edges, np.arange(height), side="right") - 1
    cell_of_col = np.searchsorted(col_edges, np.arange(width), side="right") - 1
    cell = cell_of_row[:, None] * cols + cell_of_col[None, :]  # H × W cell index
    # One bincount over (image, cell, code) for the whole batch.
    index = (np.arange(n)[:, None, None] * (rows * cols) + cell[None]) * n_bins + codes
    counts = np.bincount(index.ravel(), minlength=n * rows * cols * n_bins).reshape(n, rows * cols, n_bins)
    counts = counts / counts.sum(axis=2, keepdims=True)
    return counts.reshape(n, -1)


class LBPSVM(FeatureClassifierMethod):
    parallel_features = True  # one image at a time: chunks may run in parallel
    name = "lbp-svm"
    feature_description = "uniform LBP histograms on a grid of face cells"
    description = "Uniform LBP (8,2) histograms on a 7×6 grid of face cells → RBF SVM"
    citation = (
        "Shan, Gong & McOwan, Facial expression recognition based on Local Binary Patterns: "
        "A comprehensive study, Image and Vision Computing 27(6), 2009"
    )
    paper_oa = None
    paper_oa_source = "not in Li 2021"
    requirements = ("skimage", "sklearn")
    parameters = {
        "image_height": Param(150, role="features", low=8, doc="grayscale input height, px (Shan et al.)"),
        "image_width": Param(110, role="features", low=8, doc="grayscale input width, px"),
        "P": Param(8, role="features", low=1, doc="LBP neighbours"),
        "R": Param(2.0, role="features", low=0.5, doc="LBP radius, px"),
        "lbp_method": Param("nri_uniform", role="features", choices=tuple(LBP_BINS),
                            doc="scikit-image LBP method (nri_uniform: the 59-bin u2 patterns)"),
        "grid_rows": Param(7, role="features", low=1, doc="rows of face cells"),
        "grid_cols": Param(6, role="features", low=1, doc="columns of face cells"),
        "kernel": Param("rbf", role="fit", choices=("linear", "rbf"), doc="SVM kernel"),
        "classifier": classifier_parameter("svm"),
        **CLASSIFIER_PARAMETERS,
    }

    def __init__(self, **params):
        super().__init__(**params)
        if self.lbp_method not in LBP_BINS:
            raise FerBenchError(f"lbp-svm: lbp_method={self.lbp_method!r}; use one of {', '.join(LBP_BINS)}")
        if self.grid_rows < 1 or self.grid_cols < 1 or self.grid_rows > self.image_height or self.grid_cols > self.image_width:
            raise FerBenchError(
                f"lbp-svm: a {self.grid_rows}×{self.grid_cols} grid does not fit a "
                f"{self.image_height}×{self.image_width} image"
            )
        if self.kernel not in ("linear", "rbf"):
            raise FerBenchError(f"lbp-svm: kernel={self.kernel!r}; use linear or rbf")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_height, self.image_width), color="gray", face="align")  # see fer_bench.faces

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        from skimage.feature import local_binary_pattern

        # local_binary_pattern works on one image; on 8-bit values, as LBP is usually defined
        # (equal neighbours count as ≥, so float noise in flat regions must not matter).
        codes = np.stack(
            [
                local_binary_pattern(np.round(np.asarray(img) * 255).astype(np.uint8), self.P, self.R, self.lbp_method)
                for img in images
            ]
        ).astype(np.int64)
        n_bins = LBP_BINS[self.lbp_method](self.P)
        return lbp_grid_histograms(codes, n_bins, self.grid_rows, self.grid_cols).astype(np.float32)

    @property
    def svm_kernel(self) -> str:
        return self.kernel

    def transforms(self, X_train, y_train, random_state):
        return identity_transforms(X_train)
