"""BWE-FSVM: biorthogonal wavelet entropy → fuzzy multiclass support vector machine.

Citation: Y.-D. Zhang, Z.-J. Yang, H.-M. Lu, X.-X. Zhou, P. Phillips, Q.-M. Liu &
S.-H. Wang, "Facial emotion recognition based on biorthogonal wavelet entropy, fuzzy
support vector machine, and stratified cross validation", IEEE Access 4 (2016),
pp. 8375–8385 (96.77 ± 0.10 % in that paper; it is also the source of the seed
paper's dataset).

Confirmed by the source (abstract): biorthogonal wavelet entropy features, a fuzzy
multiclass SVM, stratified cross validation.

Our choices where the source is silent (each a parameter). Changes are judged on the
built-in synthetic set's validation groups, never on a test group and never tuned to
JAFFE (``benchmarks/features_all.sh`` → ``benchmarks/results/features_bwe*.md``):

- ``image_size`` 128: grayscale, resized to 128×128;
- ``wavelet`` "bior4.4", ``level`` 4, ``wavelet_mode`` "periodization": ``pywt.wavedec2``
  of the whole batch; the approximation and 3 details per level: 13 sub-bands of
  64, 32, 16 and 8 rows. Periodization is the critically sampled transform: each
  level halves the image exactly, so strip r of every sub-band covers strip r of the
  face (PyWavelets' default "symmetric" extension pads every level with mirrored rows:
  68, 38, 23 and 16 rows at 128 px instead of 64, 32, 16 and 8, so the strips drift
  across levels and the outer ones are partly mirrored copies). On the synthetic set's validation
  groups (``benchmarks/results/features_bwe_mode.md``, mean of its three fixed
  classifiers), periodization scores 4.6 (level 3) and 8.1 (level 4) points more than
  symmetric extension, and 3.5 more than zero padding at level 4; level 4 scores 7.2
  more than level 3, and level 5 (4 strips: its sub-bands have 4 rows) 7.8 less.
  Level 4 is one more than ``pywt.dwt_max_level`` for a 10-tap filter on 128 pixels:
  the level-4 filters wrap around the periodised image, which PyWavelets warns about
  and which we accept. The same group reports 4 levels best for another wavelet
  entropy, the stationary transform with db4 (Wang, Phillips, Dong & Zhang,
  "Intelligent facial emotion recognition based on stationary wavelet entropy and Jaya
  algorithm", Neurocomputing 272 (2018) 668-676, doi:10.1016/j.neucom.2017.08.015,
  abstract): a hint, not evidence for this transform. Our earlier default, level 3 with symmetric extension, scored 11.8 points
  less on those validation groups; on JAFFE, checked after the choice and never used
  to make it, 7.7 less (``features_bwe_mode_jaffe.md``);
- ``entropy`` "shannon": the wavelet entropy as wavelet toolboxes compute it,
  Coifman & Wickerhauser's E = −Σ c² ln c²
  (:func:`fer_bench_baselines.swe_bbo.subband_entropy`; "energy", the scale-free
  entropy of the normalised energies, was our earlier choice; "histogram" also exists;
  they score 11-20 and 27-36 points lower with fixed classifiers on the validation
  groups of the synthetic set, ``benchmarks/results/features_bwe_entropy.md``);
- ``grid_rows`` 8 × ``grid_cols`` 1: one entropy per sub-band and per horizontal strip of
  the image: 13 × 8 = 104 features. **This departs from the literal abstract**
  ("biorthogonal wavelet entropy", one entropy per sub-band: 13 features, which say
  little about where a face changes). Strips because faces are nearly left-right
  symmetric and expressions move brows, eyes and mouth at different heights; 8 strips
  leave one row of the 8-row level-4 sub-bands per strip (the constructor refuses a
  grid with more strips than the coarsest sub-band has rows);
- fuzzy SVM as a membership-weighted SVM (Lin & Wang, IEEE TNN 2002): on the
  standardised training features, the membership of sample i of class c is
  s_i = 1 − d_i / (r_c·(1 + ``membership_delta``)), d_i its distance to the class
  centre and r_c the largest such distance in the class; ``membership_delta`` 0.1
  keeps the farthest sample at weight ≈ 0.09 rather than 0. The memberships scale each
  sample's misclassification penalty (C·s_i), passed as per-sample weights;
- standardisation, then the RBF SVM (one-vs-one); ``C`` from ``C_grid`` (1, 10, 100) and
  ``gamma`` from ``gamma_grid`` (0.1, 0.3, 1 × scikit-learn's "scale") chosen on the
  validation group, then refitted on training + validation groups with memberships
  recomputed there (see :mod:`fer_bench_baselines.selection`);
- ``classifier`` (the ablation view): "fsvm" (published), "svm" (the same SVM without
  memberships: plain against fuzzy), "logistic" or "backprop".

At scale (a fold's training group above ``large_n``, default 10,000 images) the
fuzzy RBF SVM becomes Nyström + a linear SVM by SGD with the memberships as per-sample weights
(:class:`~fer_bench_baselines.selection.LargeSetSVC`, recorded per fold and in the leaderboard).
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np

from fer_bench.errors import FerBenchError
from fer_bench.params import Param
from fer_bench.registry import ImageSpec

from .selection import CLASSIFIER_PARAMETERS, FeatureClassifierMethod, classifier_parameter
from .swe_bbo import block_entropy
from .wavelets import check_wavelet_choices


def fuzzy_membership(X: np.ndarray, y: np.ndarray, delta: float = 0.1) -> np.ndarray:
    """Lin & Wang's class-centre membership: 1 − d_i / (r_c (1 + delta)), in (0, 1]."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    membership = np.ones(len(y))
    for cls in np.unique(y):
        members = y == cls
        distance = np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1)
        radius = distance.max()
        if radius > 0:
            membership[members] = 1.0 - distance / (radius * (1.0 + delta))
    return membership


def coarsest_subband_shape(size: int, level: int, wavelet: str, mode: str) -> tuple[int | None, int | None]:
    """Rows and columns of the level-``level`` sub-bands of a ``size`` × ``size`` image
    (``pywt.wavedec2``), or (None, None) when that needs PyWavelets and it is missing.

    "periodization" halves each side exactly (rounding up) and needs no import, so
    building the method with its defaults never imports PyWavelets
    (:mod:`fer_bench_baselines.wavelets`); other modes use ``pywt.dwt_coeff_len``, which
    raises ``ValueError`` for a wavelet or mode PyWavelets does not know (the method checks
    both first, :func:`~fer_bench_baselines.wavelets.check_wavelet_choices`).
    """
    if mode == "periodization":
        side = size
        for _ in range(level):
            side = math.ceil(side / 2)
        return side, side
    if importlib.util.find_spec("pywt") is None:
        return None, None
    import pywt

    side, taps = size, pywt.Wavelet(wavelet).dec_len
    for _ in range(level):
        side = pywt.dwt_coeff_len(side, taps, mode)
    return side, side


class BWEFuzzySVM(FeatureClassifierMethod):
    parallel_features = True  # one image at a time: chunks may run in parallel
    name = "bwe-fsvm"
    feature_description = "biorthogonal wavelet entropy"
    description = "Biorthogonal wavelet entropy (bior4.4) → fuzzy (membership-weighted) RBF SVM"
    citation = (
        "Zhang, Yang, Lu, Zhou, Phillips, Liu & Wang, Facial emotion recognition based on biorthogonal "
        "wavelet entropy, fuzzy support vector machine, and stratified cross validation, IEEE Access 4, 2016"
    )
    paper_oa = (96.77, 0.10)
    paper_oa_source = "Zhang et al., IEEE Access 2016 (its own paper)"
    requirements = ("pywt", "sklearn")
    parameters = {
        "image_size": Param(128, role="features", low=16, doc="side of the square grayscale input, px"),
        "wavelet": Param("bior4.4", role="features", doc="PyWavelets discrete wavelet"),
        "level": Param(4, role="features", low=1, doc="decomposition levels"),
        "wavelet_mode": Param("periodization", role="features",
                              doc="PyWavelets signal extension mode (periodization: critically sampled)"),
        "entropy": Param("shannon", role="features", choices=("shannon", "energy", "histogram"),
                         doc="sub-band entropy (subband_entropy)"),
        "bins": Param(64, role="features", low=2, doc="histogram bins (entropy='histogram')"),
        "grid_rows": Param(8, role="features", low=1, doc="rows of the grid of blocks (8 × 1: horizontal strips)"),
        "grid_cols": Param(1, role="features", low=1, doc="columns of the grid of blocks"),
        "membership_delta": Param(0.1, role="fit", low=0, doc="fuzzy membership margin (Lin & Wang 2002)"),
        "classifier": classifier_parameter("fsvm"),
        **CLASSIFIER_PARAMETERS,
    }
    feature_version = "3"

    def __init__(self, **params):
        super().__init__(**params)
        check_wavelet_choices(self, ("wavelet", "wavelet_mode"))
        if self.level < 1:
            raise FerBenchError(f"bwe-fsvm: level={self.level} must be at least 1")
        for key in ("grid_rows", "grid_cols"):
            if not isinstance(self.params[key], int) or self.params[key] < 1:
                raise FerBenchError(f"bwe-fsvm: {key}={self.params[key]!r} must be a positive integer")
        rows, cols = coarsest_subband_shape(self.image_size, self.level, self.wavelet, self.wavelet_mode)
        if rows is not None and (self.grid_rows > rows or self.grid_cols > cols):
            raise FerBenchError(
                f"bwe-fsvm: a {self.grid_rows}×{self.grid_cols} grid does not fit the {rows}×{cols} level-{self.level} "
                f"sub-bands of a {self.image_size}-pixel image; lower grid_rows/grid_cols or level, or raise image_size"
            )
        if self.membership_delta <= 0:
            raise FerBenchError(f"bwe-fsvm: membership_delta={self.membership_delta} must be positive")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="gray", face="align")  # see fer_bench.faces

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        import pywt

        images = np.asarray(images, dtype=np.float64)
        with warnings.catch_warnings():
            # Levels beyond pywt.dwt_max_level (the default 4 on 128 px with bior4.4) are a
            # choice, not an accident: see the module docstring.
            warnings.filterwarnings("ignore", message="Level value of .* is too high", category=UserWarning)
            bands = pywt.wavedec2(images, self.wavelet, mode=self.wavelet_mode, level=self.level, axes=(-2, -1))
        subbands = [bands[0]] + [detail for level in bands[1:] for detail in level]
        return np.concatenate(
            [block_entropy(b, self.grid_rows, self.grid_cols, self.entropy, self.bins) for b in subbands], axis=1
        ).astype(np.float32)

    def sample_weight(self, Z_train: np.ndarray, y_train: np.ndarray) -> np.ndarray:
        # Memberships in the same (standardised) space the SVM sees.
        return fuzzy_membership(Z_train, y_train, self.membership_delta)
