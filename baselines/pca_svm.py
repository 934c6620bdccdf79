"""PCA + SVM: eigenfaces followed by a support vector machine.

Citation: A. Drume & A. S. Jalal, "A multi-level classification approach for facial
emotion recognition", IEEE ICCIC 2012 (89.14 ± 2.91 % in Li 2021, Table 3).

Confirmed by the source: a two-level scheme, PCA (eigenfaces) at the first level and
SVMs at the second.

Our choices where the source is silent (each a parameter):

- ``image_size`` 64: grayscale image resized to 64×64 (the cached shared preprocessing);
- pixels standardised per pixel over the training group (``StandardScaler``);
- ``n_components`` 0.95: PCA keeping 95 % of the training variance (an int keeps that
  many components), ``whiten`` True so every eigenface counts equally for the RBF kernel;
- a multiclass RBF SVM (one-vs-one, scikit-learn's ``SVC``); ``C`` from ``C_grid`` and
  ``gamma`` from ``gamma_grid`` ("scale" is 1 / (n_features · Var X)) are chosen on the
  validation group, never the test group.
"""

from __future__ import annotations

from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from fer_bench.registry import ImageSpec
from fer_bench.sklearn_method import SklearnMethod


class PCASVM(SklearnMethod):
    name = "pca-svm"
    description = "Eigenfaces (PCA, whitened) → RBF SVM, C and gamma chosen on the validation group"
    citation = "Drume & Jalal, A multi-level classification approach for facial emotion recognition, ICCIC 2012"
    paper_oa = (89.14, 2.91)
    requirements = ("sklearn",)
    parameters = {
        "image_size": 64,
        "n_components": 0.95,
        "whiten": True,
        "C_grid": (1.0, 10.0, 100.0),
        "gamma_grid": ("scale",),
    }
    feature_parameters = ("image_size",)

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="gray")

    def build_pipeline(self, random_state: int, C: float = 1.0, gamma="scale"):
        return make_pipeline(
            StandardScaler(),
            PCA(n_components=self.n_components, whiten=self.whiten, svd_solver="full", random_state=random_state),
            SVC(C=C, gamma=gamma, kernel="rbf"),
        )

    def param_grid(self, n_train: int) -> dict[str, list]:
        return {"C": list(self.C_grid), "gamma": list(self.gamma_grid)}
