"""HOS-SVM: Radon projections → higher-order-spectra (bispectrum) features → SVM.

Citation: H. Ali, M. Hariharan, S. Yaacob & A. H. Adom, "Facial emotion recognition
based on higher-order spectra using support vector machines", Journal of Medical
Imaging and Health Informatics 5(6), 2015, pp. 1272–1277 (83.43 ± 2.15 % in Li 2021,
Table 3).

Confirmed (from the same group's sister papers): the face image is turned into 1-D
signals by Radon-transform projections at a set of angles, features are computed from
each projection, then dimension reduction and an SVM.

Our choices where the source is silent (each a parameter):

- ``image_size`` 128: grayscale, resized to 128×128;
- ``angle_step`` 5: projections at 0°, 5°, …, 175° (36 angles) as
  ``skimage.transform.radon`` (``circle=False``: the whole image, 182 samples each)
  computes them; :func:`radon_projections` applies skimage's own rotation and bilinear
  interpolation as one precomputed sparse matrix to a batch of images (equal to
  ``radon`` within 1e-10, tested; one sparse product per batch instead of 36 image warps
  per image, which matters at FER2013's size: hos-svm's features of 35,887 images take
  80 s in two processes, ``benchmarks/results/holdout_scale.md``).
  Our earlier choice was 15° (12 angles); finer angles keep more of the face's
  geometry, since each projection summarises it along one direction only;
- bispectrum of each projection by the direct (FFT) method over segments of ``nfft`` 64
  samples with ``overlap`` 0.5 (4 segments of the 182-sample projection), each segment
  mean-removed and Hann-windowed (``window`` "hann", or "none"): B(f1, f2) =
  X(f1) X(f2) X*(f1 + f2) over the principal domain 1 ≤ f2 ≤ f1, f1 + f2 ≤ nfft/2
  (0 excluded: it is removed with the mean);
- ``segment_average`` False: the descriptors below are computed for *each segment's*
  bispectrum, not for their average (the usual estimator, ``segment_average`` True,
  our earlier choice). **This departs from the textbook HOS feature**: averaging over
  segments gives a smoother estimate but discards *where* along the projection the
  face's structures lie (brows, eyes, mouth fall in different segments of the vertical
  projections), which is what separates expressions. Fixed classifiers on the
  validation groups of the synthetic set gain about 30 points from it
  (``benchmarks/features_all.sh`` → ``benchmarks/results/features_hos.md``);
- 8 HOS descriptors per bispectrum (Chua et al., Med. Eng. Phys. 2010): mean magnitude
  of B; normalised bispectral entropies P1 (from |B|) and P2 (from |B|²); sum of log
  amplitudes; sum of log amplitudes of the diagonal B(f, f); first-order spectral moment
  of the diagonal Σ f·log|B(f, f)| (f in cycles per sample); the weighted centre of the
  bispectrum (f1m, f2m). 36 angles × 4 segments × 8 = 1152 features per image (288
  with ``segment_average``), computed for the whole batch at once;
- per fold: standardisation, then PCA keeping ``n_components`` 0.95 of the training
  variance (the "dimension reduction"; None skips it), then an RBF SVM (one-vs-one);
  ``C`` from ``C_grid`` and ``gamma`` from ``gamma_grid`` (multiples of scikit-learn's
  "scale") chosen on the validation group, then refitted on training + validation
  groups (see :mod:`fer_bench_baselines.selection`, which also gives the
  ``classifier`` ablation: "logistic", "backprop").

At scale (a fold's training group above ``large_n``, default 10,000 images) the
RBF SVM becomes Nyström + a linear SVM by SGD, and the PCA of more images than features goes through the d × d scatter matrix (exact)
(:class:`~fer_bench_baselines.selection.LargeSetSVC`, recorded per fold and in the leaderboard).
"""

from __future__ import annotations

from functools import lru_cache, partial

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


def standardised_components(X: np.ndarray, scaler, pca) -> np.ndarray:
    """Principal components (``pca``) of the standardised (``scaler``) rows of ``X``."""
    return pca.transform(scaler.transform(X))


HOS_FEATURES = ("mean_magnitude", "P1", "P2", "sum_log", "sum_log_diagonal", "moment_diagonal", "f1m", "f2m")


@lru_cache(maxsize=8)
def radon_operator(shape: tuple[int, int], theta: tuple[float, ...]):
    """The Radon transform of ``skimage.transform.radon(image, theta, circle=False)`` as a
    sparse matrix A (``len(theta)`` · L × H · W, scipy CSR): ``(A @ image.ravel())``
    reshaped to (angles × L) equals ``radon(...).T``.

    It repeats skimage's steps (scikit-image 0.26, ``skimage/transform/radon_transform.py``):
    the image is zero-padded to a square of side L = ceil(√2 · max(H, W)) with the same
    centre; for each angle, ``warp`` with the matrix R (rotation about the centre) samples
    the padded image bilinearly at R·(column, row, 1) (``order=1``, outside = 0) and the
    projection is the sum over rows. A is linear in the image, so one matrix serves every
    image; zero padding only drops columns. Returns ``(A, L)``.
    """
    from scipy import sparse

    height, width = shape
    diagonal = np.sqrt(2) * max(shape)
    pad = [int(np.ceil(diagonal - s)) for s in shape]
    pad_before = [(s + p) // 2 - s // 2 for s, p in zip(shape, pad)]
    side = height + pad[0]  # == width + pad[1]: both are ceil(diagonal)
    centre = side // 2
    out_row, out_col = (a.ravel().astype(np.float64) for a in np.mgrid[:side, :side])
    rows, cols, values = [], [], []
    for i, angle in enumerate(np.deg2rad(np.asarray(theta, dtype=np.float64))):
        cos_a, sin_a = np.cos(angle), np.sin(angle)
        x = cos_a * out_col + sin_a * out_row - centre * (cos_a + sin_a - 1)
        y = -sin_a * out_col + cos_a * out_row - centre * (cos_a - sin_a - 1)
        r0, c0 = np.floor(y), np.floor(x)
        dr, dc = y - r0, x - c0
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        target = i * side + out_col.astype(np.int64)  # sum over output rows → one sample per column
        for step_r, step_c, weight in ((0, 0, (1 - dr) * (1 - dc)), (0, 1, (1 - dr) * dc),
                                       (1, 0, dr * (1 - dc)), (1, 1, dr * dc)):
            r, c = r0 + step_r - pad_before[0], c0 + step_c - pad_before[1]
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width) & (weight != 0)
            rows.append(target[inside])
            cols.append(r[inside] * width + c[inside])
            values.append(weight[inside])
    matrix = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(len(theta) * side, height * width)
    )
    return matrix, side


def radon_projections(images: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """N × angles × L Radon projections of N × H × W images (float64), as
    ``skimage.transform.radon(image, theta, circle=False).T`` for each image."""
    images = np.asarray(images, dtype=np.float64)
    matrix, side = radon_operator(images.shape[1:], tuple(float(t) for t in theta))
    flat = images.reshape(len(images), -1)
    return np.asarray(matrix @ flat.T).T.reshape(len(images), len(theta), side)


def principal_domain(nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency indices (f1, f2) with 1 ≤ f2 ≤ f1 and f1 + f2 ≤ nfft/2."""
    f1, f2 = np.meshgrid(np.arange(nfft // 2 + 1), np.arange(nfft // 2 + 1), indexing="ij")
    inside = (f2 >= 1) & (f2 <= f1) & (f1 + f2 <= nfft // 2)
    return f1[inside], f2[inside]


def bispectrum(signals: np.ndarray, nfft: int = 64, overlap: float = 0.5, window: str = "hann",
               average: bool = True):
    """Direct (FFT) bispectrum of each row of ``signals`` (… × L), over segments of
    ``nfft`` samples overlapping by ``overlap``.

    Returns ``(B, f1, f2)``: with ``average`` True, B has shape (… × |Ω|), the
    segment-averaged estimate on the principal domain Ω given by the index arrays
    ``f1``, ``f2``; with ``average`` False, (… × S × |Ω|), one estimate per segment
    (S segments, in order along the signal).
    """
    signals = np.asarray(signals, dtype=np.float64)
    length = signals.shape[-1]
    if length < nfft:  # too short for one segment: zero-pad to one
        pad = [(0, 0)] * (signals.ndim - 1) + [(0, nfft - length)]
        signals, length = np.pad(signals, pad), nfft
    step = max(1, int(round(nfft * (1 - overlap))))
    starts = np.arange(0, length - nfft + 1, step)
    segments = signals[..., starts[:, None] + np.arange(nfft)]  # … × S × nfft
    segments = segments - segments.mean(axis=-1, keepdims=True)
    if window == "hann":
        segments = segments * np.hanning(nfft)
    elif window != "none":
        raise FerBenchError(f"window={window!r}: use 'hann' or 'none'")
    spectrum = np.fft.fft(segments, axis=-1)
    f1, f2 = principal_domain(nfft)
    triple = spectrum[..., f1] * spectrum[..., f2] * np.conj(spectrum[..., f1 + f2])
    return (triple.mean(axis=-2) if average else triple), f1, f2


def hos_descriptors(B: np.ndarray, f1: np.ndarray, f2: np.ndarray, nfft: int) -> np.ndarray:
    """The 8 descriptors (``HOS_FEATURES``) of bispectra ``B`` (… × |Ω|) → (… × 8)."""
    magnitude = np.abs(B)
    tiny = np.finfo(np.float64).tiny
    total = magnitude.sum(axis=-1, keepdims=True)
    safe_total = np.where(total > 0, total, 1.0)
    p = magnitude / safe_total
    power = magnitude**2
    q = power / np.where(power.sum(axis=-1, keepdims=True) > 0, power.sum(axis=-1, keepdims=True), 1.0)
    entropy_p1 = -np.sum(p * np.log(np.maximum(p, tiny)), axis=-1)
    entropy_p2 = -np.sum(q * np.log(np.maximum(q, tiny)), axis=-1)
    log_magnitude = np.log(np.maximum(magnitude, tiny))
    diagonal = f1 == f2
    frequency = f1[diagonal] / nfft  # cycles per sample
    centre_f1 = np.sum(p * (f1 / nfft), axis=-1)
    centre_f2 = np.sum(p * (f2 / nfft), axis=-1)
    return np.stack(
        [
            magnitude.mean(axis=-1),
            entropy_p1,
            entropy_p2,
            log_magnitude.sum(axis=-1),
            log_magnitude[..., diagonal].sum(axis=-1),
            (log_magnitude[..., diagonal] * frequency).sum(axis=-1),
            centre_f1,
            centre_f2,
        ],
        axis=-1,
    )


class HOSSVM(FeatureClassifierMethod):
    parallel_features = True  # one image at a time: chunks may run in parallel
    name = "hos-svm"
    feature_description = "Radon projections → bispectrum HOS descriptors"
    description = "Radon projections → bispectrum HOS descriptors → standardise, PCA → RBF SVM"
    citation = (
        "Ali, Hariharan, Yaacob & Adom, Facial emotion recognition based on higher-order spectra "
        "using support vector machines, J. Medical Imaging and Health Informatics 5(6), 2015"
    )
    paper_oa = (83.43, 2.15)
    requirements = ("scipy", "sklearn")
    parameters = {
        "image_size": Param(128, role="features", low=16, doc="side of the square grayscale input, px"),
        "angle_step": Param(5.0, role="features", low=0.1, high=180, doc="degrees between Radon projections"),
        "nfft": Param(64, role="features", low=8, doc="samples per bispectrum segment"),
        "overlap": Param(0.5, role="features", low=0, high=0.99, doc="overlap of consecutive segments"),
        "window": Param("hann", role="features", choices=("hann", "none"), doc="taper of each segment"),
        "segment_average": Param(False, role="features",
                                 doc="average the segments' bispectra (True) or describe each segment (False)"),
        "n_components": Param(0.95, role="fit", kind=float, low=0, nullable=True,
                              doc="PCA after standardising: variance fraction (< 1) or count; None: no PCA"),
        "classifier": classifier_parameter("svm"),
        **CLASSIFIER_PARAMETERS,
    }
    feature_version = "2"

    def __init__(self, **params):
        super().__init__(**params)
        if not 0 < self.angle_step <= 180:
            raise FerBenchError(f"hos-svm: angle_step={self.angle_step} must be in (0, 180]")
        if self.nfft < 8:
            raise FerBenchError(f"hos-svm: nfft={self.nfft} must be at least 8")
        if not 0 <= self.overlap < 1:
            raise FerBenchError(f"hos-svm: overlap={self.overlap} must be in [0, 1)")
        if self.window not in ("hann", "none"):
            raise FerBenchError(f"hos-svm: window={self.window!r}; use 'hann' or 'none'")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="gray", face="align")  # see fer_bench.faces

    def angles(self) -> np.ndarray:
        return np.arange(0.0, 180.0, self.angle_step)

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        projections = radon_projections(images, self.angles())  # N × angles × L
        rows = []
        for start in range(0, len(projections), 64):
            B, f1, f2 = bispectrum(projections[start : start + 64], self.nfft, self.overlap, self.window,
                                   average=self.segment_average)
            rows.append(hos_descriptors(B, f1, f2, self.nfft).reshape(len(B), -1))
        return np.concatenate(rows).astype(np.float32)

    def transforms(self, X_train, y_train, random_state):
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        if self.n_components is None:
            yield {}, scaler.transform, scaler.transform(X_train)
            return
        # Exact PCA through the n × n Gram matrix (far fewer images than features).
        pca = SnapshotPCA(self.n_components, whiten=False)
        yield {}, partial(standardised_components, scaler=scaler, pca=pca), pca.fit_transform(scaler.transform(X_train))
