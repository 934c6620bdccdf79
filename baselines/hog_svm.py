"""HOG-SVM: histogram of oriented gradients of the face → support vector machine.

Citation (descriptor): N. Dalal & B. Triggs, "Histograms of oriented gradients for human
detection", CVPR 2005, pp. 886–893. Not in the seed paper's table (no paper OA): a
standard classical baseline of the FER literature.

From Dalal & Triggs: unsigned gradients in 9 orientation bins, 8×8-pixel cells, 2×2-cell
blocks with L2-Hys normalisation, and a linear SVM.

Our choices where the descriptor paper does not cover facial expressions (each a
parameter):

- ``image_size`` 64: the grayscale face, aligned on its eyes and nose (``face="align"``,
  :mod:`fer_bench.faces`; ``--face`` overrides it), resized to 64×64; ``skimage.feature.hog`` with ``orientations`` 9,
  ``pixels_per_cell`` 8, ``cells_per_block`` 2, ``block_norm`` "L2-Hys" (1764 features);
- ``kernel`` "linear" (Dalal & Triggs' choice; "rbf" also available) on the unscaled
  descriptor (it is block-normalised already); ``C`` from ``C_grid`` (0.01 … 10) and
  ``gamma`` from ``gamma_grid`` (RBF only, multiples of scikit-learn's "scale") chosen
  on the validation group only, then refitted on training + validation groups;
  ``classifier`` swaps the SVM for a logistic regression or a back-propagation network
  (the ablation view, see :mod:`fer_bench_baselines.selection`).
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


class HOGSVM(FeatureClassifierMethod):
    parallel_features = True  # one image at a time: chunks may run in parallel
    name = "hog-svm"
    feature_description = "HOG descriptor"
    description = "HOG descriptor (9 bins, 8×8 cells, 2×2 blocks, L2-Hys) → linear SVM"
    citation = "Dalal & Triggs, Histograms of oriented gradients for human detection, CVPR 2005 (descriptor)"
    paper_oa = None
    paper_oa_source = "not in Li 2021"
    requirements = ("skimage", "sklearn")
    parameters = {
        "image_size": Param(64, role="features", low=8, doc="side of the square grayscale input, px"),
        "orientations": Param(9, role="features", low=1, doc="HOG orientation bins"),
        "pixels_per_cell": Param(8, role="features", low=1, doc="HOG cell side, px"),
        "cells_per_block": Param(2, role="features", low=1, doc="HOG block side, cells"),
        "block_norm": Param("L2-Hys", role="features", choices=("L1", "L1-sqrt", "L2", "L2-Hys"),
                            doc="HOG block normalisation"),
        "kernel": Param("linear", role="fit", choices=("linear", "rbf"), doc="SVM kernel (Dalal & Triggs: linear)"),
        "classifier": classifier_parameter("svm"),
        **CLASSIFIER_PARAMETERS,
        "C_grid": Param((0.01, 0.1, 1.0, 10.0), role="fit", low=0, aliases=("C",),
                        doc="SVM C candidates (linear SVMs on block-normalised HOG need smaller C)"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        if self.image_size < self.pixels_per_cell * self.cells_per_block:
            raise FerBenchError(
                f"hog-svm: image_size={self.image_size} is smaller than one block "
                f"({self.cells_per_block}×{self.pixels_per_cell} pixels)"
            )
        if self.block_norm not in ("L1", "L1-sqrt", "L2", "L2-Hys"):
            raise FerBenchError(f"hog-svm: block_norm={self.block_norm!r}; use L1, L1-sqrt, L2 or L2-Hys")
        if self.kernel not in ("linear", "rbf"):
            raise FerBenchError(f"hog-svm: kernel={self.kernel!r}; use linear or rbf")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="gray", face="align")  # see fer_bench.faces

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        from skimage.feature import hog

        cell, block = (self.pixels_per_cell,) * 2, (self.cells_per_block,) * 2
        return np.stack(
            [
                hog(np.asarray(img, dtype=np.float64), orientations=self.orientations, pixels_per_cell=cell,
                    cells_per_block=block, block_norm=self.block_norm, feature_vector=True)
                for img in images
            ]
        ).astype(np.float32)

    @property
    def svm_kernel(self) -> str:
        return self.kernel

    def transforms(self, X_train, y_train, random_state):
        return identity_transforms(X_train)
