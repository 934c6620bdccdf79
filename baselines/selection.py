"""Features + a trained classifier, chosen on the validation group, refitted on train + val.

:class:`FeatureClassifierMethod` is the common base of every fer-bench baseline built
from fold-independent features and a per-fold classifier. It implements the seed
paper's protocol (Li 2021, §3.6) as fer-bench's *refit contract*:

- ``candidates(X_train, y_train, X_val, y_val, random_state=...)`` fits the per-fold
  input transform (standardisation, PCA, … : :meth:`~FeatureClassifierMethod.transforms`)
  on the training group only, trains the classifier for every candidate on the training
  group and scores each on the validation group, returning every candidate in declared
  order (simplest first) with a builder of the method fitted with it (its transform and
  trained classifier, already at hand); the engine (:mod:`fer_bench.selection`) chooses
  with the one tie rule, ties going to the earliest;
- ``train(params, X, y, random_state=...)`` trains the final model on the given data (the
  engine passes training + validation groups) with ``params`` fixed and no validation
  data: the transform is fitted again on ``X``, the classifier trained with the chosen
  hyperparameters (for the optimiser-trained networks: exactly the chosen number of
  iterations).

The test group is never passed to either.

The *ablation view*: the ``classifier`` parameter swaps the published classifier for a
scikit-learn one on exactly the same features and per-fold transform, so a reader can
see whether the features or the classifier limit a method
(``fer-bench run --methods swe-bbo,swe-bbo:classifier=svm``; the report's "Ablation" table puts
each variant beside the published form, :func:`fer_bench.reporting.tables.ablation_table`). A
method declares its ``classifier`` parameter once, ``classifier_parameter(<published>)``: the
published classifier is its default and first choice, and the class attributes
``published_classifier`` and ``classifier_choices`` are derived from it. The alternatives
(:data:`SKLEARN_CLASSIFIERS`), each with its hyperparameters chosen on the validation
group from a log grid listed simplest (most regularised) first:

- ``"svm"``: ``sklearn.svm.SVC``, kernel ``kernel`` (RBF unless the method says
  otherwise), ``C`` from ``C_grid``; ``gamma`` from ``gamma_grid`` given in multiples
  of scikit-learn's ``gamma="scale"`` value 1 / (n_features · Var Z) on the fold's
  transformed training data, so one grid suits any number of features;
- ``"logistic"``: multinomial ``sklearn.linear_model.LogisticRegression`` (L2, lbfgs),
  ``C`` from ``logistic_C_grid``;
- ``"backprop"``: ``sklearn.neural_network.MLPClassifier`` with one hidden layer of
  ``backprop_hidden`` (or the method's ``hidden``) logistic-sigmoid units, softmax
  outputs and cross-entropy loss, trained by back-propagated gradients (L-BFGS, up to
  ``backprop_max_iter`` iterations), L2 penalty ``alpha`` from ``backprop_alpha_grid``:
  the back-propagation counterpart of the optimiser-trained single-hidden-layer
  networks.

RBF and linear SVM candidates are trained on a precomputed kernel matrix, computed once
per ``gamma`` and shared by every ``C`` (the same decision function as ``kernel="rbf"``,
without re-evaluating kernels on high-dimensional features for each ``C``).

**Large training sets** (``large_n``, :class:`LargeSetSVC`). An exact kernel SVM costs
8·n² bytes per kernel matrix (6.1 GiB at FER2013's 28,709 training images) and between
quadratic and cubic time in n (libsvm's SMO; Bottou & Lin, "Support vector machine
solvers", in *Large-Scale Kernel Machines*, MIT Press 2007, §4.1;
``benchmarks/results/classifier_scale.md``). When the training group of a fold has more
than ``large_n`` images (default 10,000), the "svm" and "fsvm" classifiers take their
large-set form, decided once in ``fit`` and kept by ``refit``:

- RBF kernel: the Nyström approximation of the kernel (Williams & Seeger, "Using the
  Nyström method to speed up kernel machines", NIPS 2001), ``nystroem_components``
  landmarks drawn from the training group (``sklearn.kernel_approximation.Nystroem``),
  then a linear SVM on the mapped features, in a scikit-learn ``Pipeline``; the same
  ``gamma`` and ``C`` grids, chosen on the validation group;
- linear kernel: the linear SVM on the features themselves (no kernel matrix);
- the fuzzy SVM: the memberships are the linear SVM's per-sample weights (C·s_i, as in
  the exact form).

The linear SVM is ``sklearn.linear_model.SGDClassifier`` with the hinge loss and
``alpha`` = 1 / (C·n), which makes its objective the SVM's primal one divided by C·n
(scikit-learn user guide, "Stochastic Gradient Descent", §1.5.7), averaged SGD (Polyak &
Juditsky 1992; Bottou, "Large-scale machine learning with stochastic gradient descent",
COMPSTAT 2010, §4), at most ``large_epochs`` passes: time linear in n. liblinear
(``LinearSVC``) solves the same problem to convergence but took 3-6× longer at the
grid's C values for the same validation accuracy on the FER2013 stand-in, plain
(non-averaged) SGD lost up to 10 points at C = 100
(``benchmarks/results/classifier_scale.md``). Differences from the exact form, documented
rather than hidden: one-vs-rest rather than libsvm's one-vs-one, a stochastic solver,
and a kernel of rank ``nystroem_components``. Each fold records the form in
``fit_info["at_scale"]`` and the leaderboard names it in a footnote. At or below
``large_n`` (JAFFE, the 700-image synthetic set, CK+, KDEF) the published form runs
unchanged; ``large_n=none`` keeps it at any size.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from fer_bench.errors import FerBenchError
from fer_bench.folds import fold_threads
from fer_bench.params import Param
from fer_bench.registry import Method
from fer_bench.selection import Candidate, parameter_candidates, validation_accuracy

#: Classifiers any feature+classifier baseline can swap in for the ablation view.
SKLEARN_CLASSIFIERS = ("svm", "logistic", "backprop")

#: Defaults of the classifier hyperparameter grids, merged into each method's
#: ``parameters`` (a method may override any of them). Log grids, simplest first.
CLASSIFIER_PARAMETERS: dict[str, Param] = {
    "C_grid": Param((1.0, 10.0, 100.0), role="fit", low=0, aliases=("C",),
                    doc="SVM C candidates (classifier svm/fsvm), simplest first"),
    "gamma_grid": Param((0.1, 0.3, 1.0), role="fit", low=0, aliases=("gamma",),
                        doc="RBF gamma candidates in multiples of scikit-learn's 'scale', 1 / (n_features · Var Z)"),
    "logistic_C_grid": Param((0.01, 0.1, 1.0, 10.0), role="fit", low=0,
                             doc="inverse L2 strength candidates of the logistic-regression ablation"),
    "backprop_alpha_grid": Param((1.0, 0.1, 0.01), role="fit", low=0,
                                 doc="L2 penalty candidates of the back-propagation ablation, strongest first"),
    "backprop_hidden": Param(10, role="fit", low=1, doc="hidden units of the back-propagation ablation"),
    "backprop_max_iter": Param(500, role="fit", low=1, doc="L-BFGS iterations of the back-propagation ablation"),
    "large_n": Param(10000, role="fit", kind=int, low=1, nullable=True,
                     doc="training images above which an SVM takes its large-set form (RBF: Nyström + linear SVM "
                         "by SGD; linear: linear SVM by SGD); none: always the exact kernel SVM"),
    "nystroem_components": Param(1000, role="fit", low=1,
                                 doc="landmarks of the Nyström kernel approximation (large-set RBF SVM)"),
    "large_epochs": Param(50, role="fit", low=1, doc="most SGD passes over the training group (large-set SVM)"),
}


def classifier_parameter(published: str) -> Param:
    """The ``classifier`` parameter of a method whose paper uses ``published``: that classifier
    by default and first, then every one of :data:`SKLEARN_CLASSIFIERS` (the ablation view)."""
    choices = (published, *(c for c in SKLEARN_CLASSIFIERS if c != published))
    return Param(published, role="fit", choices=choices,
                 doc=f"the classifier on the method's features: {published!r} (published) or an ablation")

Transform = Callable[[np.ndarray], np.ndarray]


def scale_gamma(Z: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"``: 1 / (n_features · Var Z) (1 if Z is constant)."""
    variance = float(np.var(Z))
    return 1.0 / (Z.shape[1] * variance) if variance > 0 else 1.0


def squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """‖a − b‖² between the rows of A and B (float64, clipped at 0)."""
    from sklearn.metrics.pairwise import euclidean_distances

    return euclidean_distances(A, B, squared=True)


class KernelSVC:
    """An ``sklearn.svm.SVC`` trained on a precomputed RBF or linear kernel matrix.

    The decision function is the one of ``SVC(kernel="rbf", gamma=gamma)`` (or
    ``"linear"``); the kernel between the training rows is computed once with BLAS
    instead of entry by entry inside libsvm, which on high-dimensional features (LBP
    histograms, HOG) is most of the cost. Keeps the training rows to compute the test
    kernel in ``predict``.
    """

    def __init__(self, C: float, kernel: str = "rbf", gamma: float | None = None):
        if kernel not in ("rbf", "linear"):
            raise FerBenchError(f"kernel={kernel!r}: use 'rbf' or 'linear'")
        self.C, self.kernel, self.gamma = float(C), kernel, gamma

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return A @ B.T
        return np.exp(-self.gamma * squared_distances(A, B))

    def fit(self, Z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> KernelSVC:
        from sklearn.svm import SVC

        self.Z_ = np.asarray(Z, dtype=np.float64)
        self.svc_ = SVC(C=self.C, kernel="precomputed").fit(self._kernel(self.Z_, self.Z_), y,
                                                            sample_weight=sample_weight)
        return self

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self.svc_.predict(self._kernel(np.asarray(Z, dtype=np.float64), self.Z_))


class LargeSetSVC:
    """The large-set form of an RBF or linear SVM, linear in the training-set size.

    RBF: ``Pipeline(Nystroem(gamma, n_components), SGDClassifier(hinge))``, the
    Nyström approximation of the RBF kernel (Williams & Seeger, NIPS 2001;
    ``sklearn.kernel_approximation.Nystroem``, landmarks drawn uniformly from the
    training rows with ``random_state``) followed by a linear SVM. Linear: the linear
    SVM on the features. The linear SVM is ``SGDClassifier(loss="hinge", alpha=1 / (C·n),
    average=True)`` (one-vs-rest; the primal SVM objective divided by C·n, scikit-learn
    user guide §1.5.7; averaged SGD, Bottou 2010 §4), at most ``epochs`` passes, seeded.

    ``fit(Z, y, sample_weight=None)``: Z (n × d) float, y (n,) int; ``sample_weight``
    scales each sample's loss (the fuzzy SVM's memberships). ``predict(Z)`` → (m,) int.
    ``n_components`` is capped by n. Raises :class:`~fer_bench.errors.FerBenchError`
    for another kernel.
    """

    def __init__(self, C: float, kernel: str = "rbf", gamma: float | None = None, n_components: int = 1000,
                 random_state: int | None = 0, epochs: int = 50):
        if kernel not in ("rbf", "linear"):
            raise FerBenchError(f"kernel={kernel!r}: use 'rbf' or 'linear'")
        self.C, self.kernel, self.gamma = float(C), kernel, gamma
        self.n_components, self.random_state, self.epochs = int(n_components), random_state, int(epochs)

    def feature_map(self, Z: np.ndarray):
        """The Nyström map fitted on ``Z`` (None for the linear kernel)."""
        if self.kernel == "linear":
            return None
        from sklearn.kernel_approximation import Nystroem

        return Nystroem(kernel="rbf", gamma=self.gamma, n_components=min(self.n_components, len(Z)),
                        random_state=self.random_state).fit(Z)

    def fit_mapped(self, feature_map, F: np.ndarray, y: np.ndarray, sample_weight=None) -> LargeSetSVC:
        """Fit the linear SVM on already mapped features ``F`` (shared by every C of a gamma)."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import Pipeline

        # n_jobs: the one-vs-rest binary problems in parallel threads when the fold may
        # use several cores (fold_threads); each has its own seed drawn before, so the
        # result does not depend on it.
        svm = SGDClassifier(loss="hinge", alpha=1.0 / (self.C * len(F)), max_iter=self.epochs, average=True,
                            random_state=self.random_state, n_jobs=fold_threads() if fold_threads() > 1 else None)
        with warnings.catch_warnings():  # the epoch cap is a choice; the validation group judges the result
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(F, y, sample_weight=sample_weight)
        self.pipeline_ = Pipeline(([("nystroem", feature_map)] if feature_map is not None else []) + [("svm", svm)])
        return self

    def fit(self, Z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> LargeSetSVC:
        Z = np.asarray(Z, dtype=np.float64)
        feature_map = self.feature_map(Z)
        F = feature_map.transform(Z) if feature_map is not None else Z
        return self.fit_mapped(feature_map, F, y, sample_weight)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self.pipeline_.predict(np.asarray(Z, dtype=np.float64))


def large_set_form(kernel: str, n_components: int) -> str:
    """How the large-set SVM is described in ``fit_info`` and the tables."""
    if kernel == "linear":
        return "linear SVM (averaged SGD, hinge loss)"
    return f"Nyström {n_components} + linear SVM (averaged SGD, hinge loss)"


def large_svm_scores(Z_train, y_train, Z_val, y_val, *, kernel: str, C_grid, gamma_grid, n_components: int,
                     random_state: int, epochs: int = 50, sample_weight=None, prefix: dict[str, Any] | None = None
                     ) -> list[tuple[dict[str, Any], float, LargeSetSVC]]:
    """Like :func:`svm_scores` for the large-set form (:class:`LargeSetSVC`): the
    Nyström map is fitted once per gamma and shared by every C; returns
    ``[(candidate, validation accuracy, fitted model)]``."""
    prefix = prefix or {}
    gammas = [({"gamma": float(g)}, float(g) * scale_gamma(Z_train)) for g in gamma_grid] if kernel == "rbf" \
        else [({}, None)]
    scores = []
    for hyper, gamma in gammas:
        probe = LargeSetSVC(1.0, kernel, gamma, n_components, random_state, epochs)
        feature_map = probe.feature_map(Z_train)
        F = feature_map.transform(Z_train) if feature_map is not None else Z_train
        for C in C_grid:
            model = LargeSetSVC(C, kernel, gamma, n_components, random_state, epochs).fit_mapped(
                feature_map, F, y_train, sample_weight)
            scores.append(({**prefix, **hyper, "C": float(C)}, validation_accuracy(model, Z_val, y_val), model))
    return scores


def svm_scores(Z_train, y_train, Z_val, y_val, *, kernel: str, C_grid, gamma_grid, sample_weight=None,
               prefix: dict[str, Any] | None = None) -> list[tuple[dict[str, Any], float]]:
    """Validation accuracy of an SVC for every (gamma, C) candidate (gamma outermost).

    ``gamma_grid`` holds multiples of :func:`scale_gamma` (ignored for the linear
    kernel). Squared distances are computed once; each kernel matrix once per gamma and
    shared by every C.
    """
    from sklearn.svm import SVC

    prefix = prefix or {}
    scores = []
    if kernel == "rbf":
        D_train = squared_distances(Z_train, Z_train)
        D_val = squared_distances(Z_val, Z_train) if len(y_val) else None
        base = scale_gamma(Z_train)
        kernels = [({"gamma": float(g)}, lambda D, g=g: np.exp(-float(g) * base * D)) for g in gamma_grid]
    else:
        D_train, D_val = Z_train @ Z_train.T, (Z_val @ Z_train.T if len(y_val) else None)
        kernels = [({}, lambda D: D)]
    for hyper, make in kernels:
        K_train = make(D_train)
        K_val = make(D_val) if D_val is not None else None
        for C in C_grid:
            svc = SVC(C=float(C), kernel="precomputed").fit(K_train, y_train, sample_weight=sample_weight)
            score = float(np.mean(svc.predict(K_val) == y_val)) if K_val is not None else 0.0
            scores.append(({**prefix, **hyper, "C": float(C)}, score))
    return scores


class SnapshotPCA:
    """Exact PCA of n samples with d ≫ n features through the n × n Gram matrix.

    Turk & Pentland's eigenfaces trick (J. Cognitive Neuroscience 3(1), 1991, §2): the
    eigenvectors u of the Gram matrix Xc·Xcᵀ (Xc the centred data) give the principal
    axes v = Xcᵀu / ‖Xcᵀu‖ with the same eigenvalues, so an n × n symmetric
    eigendecomposition replaces a d × d one or an n × d SVD (measured on 560 × 4096
    images, one thread: 0.1 s against 0.8 s for scikit-learn's randomized PCA with 160
    components and 1.5 s for its full SVD). Matches ``sklearn.decomposition.PCA``
    (``svd_solver="full"``) up to float rounding, including the sign convention
    (``svd_flip``: the largest-magnitude loading of each axis is positive) and
    whitening (unit sample variance, ddof 1). With more samples than features (n > d,
    large datasets) the d × d scatter matrix is decomposed instead: the same axes and
    eigenvalues, without the n × n matrix (6.1 GiB and cubic time at n = 28,709).

    ``n_components``: a count (keeps ``min(n_components, n − 1, d)``) or a fraction in
    (0, 1) of the variance to keep (the fewest components whose explained variance
    reaches it, scikit-learn's rule); directions without variance (eigenvalue under 1e-9
    of the largest: duplicate images, fewer distinct images than components) are dropped,
    so ``components_`` may have fewer rows. ``fit(X)``: X (n × d) float.
    ``transform(X)``: (m × d) → (m × k) float64.
    """

    #: Rows per block of the large-set scatter matrix and of ``transform``.
    BLOCK = 4096

    def __init__(self, n_components: float, whiten: bool = True):
        if not n_components > 0:
            raise FerBenchError(f"n_components={n_components} must be positive")
        self.n_components, self.whiten = n_components, bool(whiten)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        from scipy.linalg import eigh

        n, d = np.shape(X)
        if min(n - 1, d) < 1:
            raise FerBenchError(f"PCA needs at least 2 samples, got {n}")
        # More images than features (a large dataset): the d × d scatter matrix Xcᵀ·Xc has
        # the same non-zero eigenvalues and its eigenvectors are the axes themselves, so it
        # replaces the n × n Gram matrix (8·n² bytes, cubic in n) and the result is the same.
        by_scatter = n > d
        if by_scatter:
            # Summed over blocks of rows, so no float64 copy of the data (940 MB for FER2013's
            # 28,709 × 4096 pixels) is ever held: memory stays d × d plus one block.
            self.mean_ = np.zeros(d)
            for start in range(0, n, self.BLOCK):
                self.mean_ += np.asarray(X[start:start + self.BLOCK], dtype=np.float64).sum(axis=0)
            self.mean_ /= n
            gram = np.zeros((d, d))
            for start in range(0, n, self.BLOCK):
                block = np.asarray(X[start:start + self.BLOCK], dtype=np.float64) - self.mean_
                gram += block.T @ block
        else:
            X = np.asarray(X, dtype=np.float64)
            self.mean_ = X.mean(axis=0)
            Xc = X - self.mean_
            gram = Xc @ Xc.T
        m = len(gram)
        if self.n_components < 1:  # a variance fraction: every eigenvalue is needed
            values, vectors = eigh(gram)
            values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1]
            ratio = np.cumsum(values) / values.sum()
            k = int(min(np.searchsorted(ratio, self.n_components, side="right") + 1, n - 1, d))
            values, vectors = values[:k], vectors[:, :k]
        else:
            k = int(min(self.n_components, n - 1, d))
            values, vectors = eigh(gram, subset_by_index=(m - k, m - 1))
            values, vectors = values[::-1], vectors[:, ::-1]
        # Drop directions with no variance (duplicate or collinear images make the data's rank
        # smaller than k): whitening would divide by ~0 and blow them up to ~1e295. The same
        # relative rule as Whitener (1e-9 of the largest eigenvalue).
        keep = values > max(values[0], 0.0) * 1e-9
        keep[0] = True  # at least one axis, even for constant data
        values, vectors = np.maximum(values[keep], np.finfo(np.float64).tiny), vectors[:, keep]
        k = len(values)
        axes = vectors if by_scatter else (Xc.T @ vectors) / np.sqrt(values)  # d × k, unit columns
        flip = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(k)])
        self.components_ = (axes * np.where(flip == 0, 1.0, flip)).T  # k × d
        self.explained_variance_ = values / (n - 1)
        return self.transform(X)

    def fit(self, X: np.ndarray) -> SnapshotPCA:
        self.fit_transform(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        n = len(X)
        Z = np.empty((n, len(self.components_)))
        for start in range(0, n, self.BLOCK):  # blocks: no float64 copy of all of X
            Z[start:start + self.BLOCK] = (np.asarray(X[start:start + self.BLOCK], dtype=np.float64)
                                           - self.mean_) @ self.components_.T
        return Z / np.sqrt(self.explained_variance_) if self.whiten else Z


class Whitener:
    """Standardise, then rotate onto the principal axes and scale each to unit variance
    (PCA whitening with every component kept: no information is dropped).

    Decorrelated, equal-variance inputs are the conditioning that makes a network's
    weights easiest to search for (LeCun, Bottou, Orr & Müller, "Efficient BackProp",
    1998, §4.3: "input variables should be uncorrelated ... and have the same
    covariance"). Components whose variance is below 1e-9 of the largest (numerically
    degenerate directions, e.g. constant features) are dropped rather than blown up.

    ``fit_transform(X)``: (n × d) → (n × k), k ≤ min(n − 1, d); ``transform(X)``.
    """

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        pca = PCA(whiten=True, svd_solver="full").fit(Z)
        keep = int(np.sum(pca.explained_variance_ > 1e-9 * pca.explained_variance_[0]))
        self.pca_ = PCA(n_components=keep, whiten=True, svd_solver="full")
        return self.pca_.fit_transform(Z)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self.pca_.transform(self.scaler_.transform(X))


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def identity_transforms(X_train: np.ndarray):
    """One transform candidate that leaves the features as they are (already normalised
    descriptors such as LBP histograms or block-normalised HOG)."""
    yield {}, _identity, X_train


class FeatureClassifierMethod(Method):
    """Base of a baseline made of features, a per-fold transform and a trained classifier.

    Subclasses declare ``"classifier": classifier_parameter(<the paper's classifier>)``
    and :data:`CLASSIFIER_PARAMETERS` in their ``parameters`` (``published_classifier``
    and ``classifier_choices`` are derived from that declaration, so they cannot
    disagree), name their features in ``feature_description`` (the ablation table's
    "features" column), and may override:

    - :meth:`transforms`: the per-fold input transform candidates (default:
      standardisation only);
    - :meth:`classifier_scores` / :meth:`train_classifier` for a classifier of their own
      (the optimiser-trained networks);
    - :meth:`sample_weight` (the fuzzy SVM's memberships).
    """

    #: The paper's classifier: the default of the ``classifier`` parameter (derived from it).
    published_classifier: ClassVar[str] = "svm"
    #: Every allowed ``classifier``, the published one first (derived from the parameter).
    classifier_choices: ClassVar[tuple[str, ...]] = SKLEARN_CLASSIFIERS
    #: SVM kernel of the "svm" classifier ("rbf" or "linear"); a method may make it a parameter.
    svm_kernel: ClassVar[str] = "rbf"
    # Fits on a few hundred samples: threads only add synchronisation; parallel folds use the cores.
    max_threads = 1

    def __init_subclass__(cls, **kwargs):
        declared = "parameters" in cls.__dict__  # False for an intermediate base (OptimisedSLFNMethod)
        super().__init_subclass__(**kwargs)
        if not declared:
            return
        param = cls.parameters.get("classifier")
        if param is None or not param.choices or param.default != param.choices[0]:
            raise TypeError(f"{cls.__name__}: declare \"classifier\": classifier_parameter(<published classifier>) "
                            "in parameters")
        for attribute in ("published_classifier", "classifier_choices"):
            if attribute in cls.__dict__:
                raise TypeError(f"{cls.__name__}: {attribute} is derived from the classifier parameter; "
                                "do not set it")
        if not cls.feature_description:
            raise TypeError(f"{cls.__name__}: set feature_description (the features, in words)")
        cls.published_classifier = param.default
        cls.classifier_choices = tuple(param.choices)

    def __init__(self, **params):
        super().__init__(**params)
        for key in ("C_grid", "gamma_grid", "logistic_C_grid", "backprop_alpha_grid"):
            values = self.params.get(key, ())
            if not values or any(not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0 for v in values):
                raise FerBenchError(f"{self.name}: {key}={values!r} must be a non-empty list of positive numbers "
                                    f"(on the command line: {key}=1|10|100)")

    # -- what subclasses may override ---------------------------------------------------
    def transforms(self, X_train: np.ndarray, y_train: np.ndarray, random_state: int
                   ) -> Iterator[tuple[dict[str, Any], Transform, np.ndarray]]:
        """Candidate per-fold input transforms, fitted on ``X_train``, simplest first:
        yields ``(candidate, transform, transform(X_train))``. Default: standardisation."""
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        yield {}, scaler.transform, scaler.transform(X_train)

    def fit_transform_for(self, candidate: dict[str, Any], X: np.ndarray, y: np.ndarray, random_state: int
                          ) -> tuple[Transform, np.ndarray]:
        """The transform of ``candidate`` fitted on ``X`` (for :meth:`refit`)."""
        for cand, transform, Z in self.transforms(X, y, random_state):
            if all(candidate.get(k) == v for k, v in cand.items()):
                return transform, Z
        raise FerBenchError(f"{self.name}: no transform candidate matches {candidate}")

    def sample_weight(self, Z_train: np.ndarray, y_train: np.ndarray) -> np.ndarray | None:
        """Per-sample training weights for the SVM (``None``: unweighted)."""
        return None

    def classifier_scores(self, Z_train, y_train, Z_val, y_val, random_state: int, prefix: dict[str, Any]
                          ) -> list[tuple[dict[str, Any], float, Any]]:
        """``[(candidate, validation accuracy, model or None)]`` for every classifier
        candidate, simplest first. A model trained on ``Z_train`` may be returned so that
        ``fit`` need not train the chosen one again (None: ``fit`` trains it)."""
        kind = self.classifier
        if kind in ("svm", "fsvm") and self.at_scale_:
            weight = self.sample_weight(Z_train, y_train) if kind == "fsvm" else None
            return large_svm_scores(Z_train, y_train, Z_val, y_val, kernel=self.svm_kernel, C_grid=self.C_grid,
                                    gamma_grid=self.gamma_grid, n_components=self.nystroem_components,
                                    random_state=random_state, epochs=self.large_epochs, sample_weight=weight,
                                    prefix=prefix)
        if kind in ("svm", "fsvm"):
            weight = self.sample_weight(Z_train, y_train) if kind == "fsvm" else None
            scores = svm_scores(Z_train, y_train, Z_val, y_val, kernel=self.svm_kernel, C_grid=self.C_grid,
                                gamma_grid=self.gamma_grid, sample_weight=weight, prefix=prefix)
            return [(candidate, score, None) for candidate, score in scores]
        scores = []
        for hyper in self._grid(kind):
            candidate = {**prefix, **hyper}
            model = self.train_classifier(candidate, Z_train, y_train, random_state)
            scores.append((candidate, validation_accuracy(model, Z_val, y_val), model))
        return scores

    def train_classifier(self, candidate: dict[str, Any], Z: np.ndarray, y: np.ndarray, random_state: int):
        """The classifier of ``candidate`` trained on (Z, y): anything with ``predict``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        kind = self.classifier
        if kind in ("svm", "fsvm"):
            weight = self.sample_weight(Z, y) if kind == "fsvm" else None
            gamma = candidate["gamma"] * scale_gamma(Z) if self.svm_kernel == "rbf" else None
            if self.at_scale_:
                return LargeSetSVC(candidate["C"], self.svm_kernel, gamma, self.nystroem_components,
                                   random_state, self.large_epochs).fit(Z, y, sample_weight=weight)
            if self.svm_kernel == "linear":
                return KernelSVC(candidate["C"], "linear").fit(Z, y, sample_weight=weight)
            gamma = candidate["gamma"] * scale_gamma(Z)
            return KernelSVC(candidate["C"], "rbf", gamma).fit(Z, y, sample_weight=weight)
        if kind == "logistic":
            return LogisticRegression(C=candidate["C"], max_iter=2000).fit(Z, y)
        if kind == "backprop":
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            hidden = self.backprop_hidden if self.backprop_hidden is not None else self.hidden
            mlp = MLPClassifier(hidden_layer_sizes=(hidden,), activation="logistic", solver="lbfgs",
                                alpha=candidate["alpha"], max_iter=self.backprop_max_iter, random_state=random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the iteration cap is a choice
                return mlp.fit(Z, y)
        raise FerBenchError(f"{self.name}: classifier {kind!r} has no trainer")

    def _grid(self, kind: str) -> list[dict[str, Any]]:
        if kind == "logistic":
            return parameter_candidates({"C": [float(c) for c in self.logistic_C_grid]})
        if kind == "backprop":
            return parameter_candidates({"alpha": [float(a) for a in self.backprop_alpha_grid]})
        raise FerBenchError(f"{self.name}: classifier {kind!r} has no grid")

    # -- the large-set form -------------------------------------------------------------
    #: Whether the SVM takes its large-set form (:class:`LargeSetSVC`); set by ``fit``.
    at_scale_: bool = False

    def uses_svm(self) -> bool:
        """Whether the classifier in use is an SVM (exact or large-set form)."""
        return self.classifier in ("svm", "fsvm")

    def large_set(self, n_train: int) -> bool:
        """Whether a training group of ``n_train`` images takes the large-set SVM form:
        an SVM classifier and ``n_train`` > ``large_n`` (None: never)."""
        large_n = self.params.get("large_n")
        return self.uses_svm() and large_n is not None and int(n_train) > int(large_n)

    def scale_info(self, n_train: int) -> dict[str, Any]:
        """``{"at_scale": {...}}`` for ``fit_info`` when the large-set form is used
        (form, n_train, large_n, and a one-line text for the tables), else ``{}``."""
        if not self.at_scale_:
            return {}
        form = large_set_form(self.svm_kernel, self.nystroem_components)
        text = f"{form} instead of the exact kernel SVM, n_train={int(n_train)} > large_n={self.large_n}"
        return {"at_scale": {"form": form, "n_train": int(n_train), "large_n": int(self.large_n), "text": text}}

    # -- the refit contract -------------------------------------------------------------
    def as_matrix(self, X) -> np.ndarray:
        """``X`` as an n × d float matrix: float64, except in the large-set form
        (``at_scale_``), which keeps float32 features as they are: a float64 copy of
        FER2013's 28,709 × 4,096 pixels is 940 MB more per copy, and that form is an
        approximation of the kernel SVM already (its PCA still sums in float64)."""
        dtype = np.float32 if getattr(self, "at_scale_", False) else np.float64
        return np.asarray(X, dtype=dtype).reshape(len(X), -1)

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int) -> list[Candidate]:
        """Every (transform, classifier) candidate, in declared order, trained on the
        training group and scored on the validation group; each can build, from what its
        training already holds, the method fitted with it (the per-fold transform and the
        trained classifier: the engine builds only the chosen one)."""
        # Decided once on the training group's size; the refit keeps the same form.
        self.at_scale_ = self.large_set(len(X_train))
        X_train, X_val = self.as_matrix(X_train), self.as_matrix(X_val)
        y_train, y_val = np.asarray(y_train), np.asarray(y_val)
        out: list[Candidate] = []
        for candidate, transform, Z_train in self.transforms(X_train, y_train, random_state):
            Z_val = transform(X_val) if len(X_val) else np.empty((0, Z_train.shape[1]))
            for cand, score, model in self.classifier_scores(Z_train, y_train, Z_val, y_val, random_state,
                                                             dict(candidate)):
                # Scores are kept to 6 decimals (as every stored result since 0.1 has them); the
                # order of accuracies on one validation group (steps of 1/n) is unchanged by it.
                out.append(Candidate(dict(cand), round(score, 6), build=self._fitted(
                    dict(cand), score, transform, Z_train, y_train, model, random_state)))
        self.n_candidates_ = len(out)
        return out

    def _fitted(self, candidate, score, transform, Z_train, y_train, model, random_state):
        """A builder of the method fitted on the training group with ``candidate`` (its
        unrounded validation accuracy ``score`` recorded as ``val_accuracy``)."""
        def build():
            fitted = copy.copy(self)
            fitted.transform_ = transform
            fitted.model_ = model if model is not None else self.train_classifier(candidate, Z_train, y_train,
                                                                                   random_state)
            fitted.fit_info_ = {"chosen": dict(candidate), "val_accuracy": round(100 * score, 4),
                                "candidates": self.n_candidates_, **fitted.scale_info(len(Z_train)),
                                **fitted.extra_info(refit=False)}
            return fitted
        return build

    def train(self, params, X, y, *, random_state: int):
        """Train the method on (X, y) with the candidate ``params`` fixed (no validation
        data): the transform fitted on ``X``, the classifier trained with ``params``."""
        X, y = self.as_matrix(X), np.asarray(y)
        self.transform_, Z = self.fit_transform_for(params, X, y, random_state)
        self.model_ = self.train_classifier(params, Z, y, random_state)
        self.fit_info_ = {**self.fit_info_, "refit": True, **self.extra_info(refit=True)}
        return self

    def extra_info(self, refit: bool) -> dict[str, Any]:
        """More per-fold facts for ``fit_info`` after ``fit`` or ``refit`` (e.g. the
        optimiser's training accuracy and evaluations)."""
        return {}

    def predict(self, X) -> np.ndarray:
        return np.asarray(self.model_.predict(self.transform_(self.as_matrix(X))))
