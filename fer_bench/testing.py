"""The method contract as a test kit: :func:`check_method` runs a method on a small synthetic case
and checks what every fer-bench method must and must not do.

A third-party package calls it from its own tests (``fer-bench``'s suite runs it over every
registered method, as timm's tests run over every model)::

    import pytest
    from fer_bench.testing import check_method

    from my_package import PixelRidge


    def test_pixel_ridge_keeps_the_fer_bench_contract():
        report = check_method(PixelRidge)  # raises MethodContractError naming every broken rule
        if report.skipped:
            pytest.skip(report.skipped)

The rules (each failure names the rule and what was seen):

- **declared parameters**: ``parameters`` maps names to :class:`fer_bench.params.Param`; an
  unknown override is refused (:class:`~fer_bench.errors.UnknownMethodError`), every default
  is accepted back, ``clone()`` keeps the values;
- **input spec**: :meth:`~fer_bench.registry.Method.input_spec` returns an
  :class:`~fer_bench.imagespec.ImageSpec`;
- **features**: :meth:`~fer_bench.registry.Method.extract_features` returns an array with one
  finite row per image, the same for the same images (features are computed once per dataset
  and shared by every fold), and, for a method declaring ``parallel_features``, the same in
  chunks as in one go; for a 2-D result that is ``(n, d)``;
- **never sees test labels**: ``predict`` takes only ``X``; on test images whose labels are
  random (unrelated to the images) its accuracy is at chance, never near 100 %;
- **fit**: returns ``self``; predictions are integers, one per test image, among the training
  classes;
- **deterministic under a seed**: two fresh instances fitted with the same ``random_state``
  predict the same;
- **picklable after fit** (the engine's joblib workers): a pickled and loaded fitted method
  predicts the same;
- **refit honoured** (when the method implements :meth:`~fer_bench.registry.Method.refit`):
  ``refit(X, y, random_state=...)`` takes no validation data, returns ``self`` and keeps
  the choice ``fit`` made (``selection_.params``; an earlier-contract method's ``chosen_``,
  which must be among the candidates of its ``validation_scores_``).

A method that cannot run here (:meth:`~fer_bench.registry.Method.skip_reasons`: a missing
library or model file, fine-tuning on a CPU) is reported as skipped with its reasons, not as
failed. The case is small (4 classes, 40 images at the method's input size) so a classical
method is checked in seconds.
"""

from __future__ import annotations

import inspect
import io
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UnknownMethodError
from .imagespec import ImageSpec
from .params import Param
from .registry import Method, get_method_class


class MethodContractError(AssertionError):
    """A method breaks the fer-bench method contract; the message lists every broken rule."""


@dataclass
class CheckReport:
    """What :func:`check_method` found: ``failures`` (rule: what was seen), ``skipped`` (why the
    method could not run here, or ``None``) and ``passed`` (the rules checked and kept)."""

    method: str
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.method}: skipped ({self.skipped})"
        if self.failures:
            return f"{self.method} breaks the method contract:\n" + "\n".join(f"  - {f}" for f in self.failures)
        return f"{self.method}: keeps the method contract ({', '.join(self.passed)})"


def synthetic_case(spec: ImageSpec, n_classes: int = 4, per_class: int = 10, seed: int = 0):
    """Images at ``spec``'s size and colour (float32 in [0, 1]) with class-dependent patterns:
    class ``c`` is brighter in the ``c``-th horizontal band, plus noise. Returns ``(images,
    labels)``, ``labels`` int64 with ``per_class`` images of each class, in class order."""
    rng = np.random.default_rng(seed)
    h, w = spec.size
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), per_class)
    images = rng.uniform(0.2, 0.5, size=(len(labels), h, w)).astype(np.float32)
    band = max(1, h // n_classes)
    for i, c in enumerate(labels):
        images[i, c * band:(c + 1) * band] += 0.4
    images = np.clip(images, 0, 1)
    if spec.color == "rgb":
        images = np.repeat(images[..., None], 3, axis=-1)
    return images, labels


def _split(labels: np.ndarray, per_class: int):
    """Train / validation / test indices: half, a fifth and the rest of every class."""
    n_train, n_val = per_class // 2, max(1, per_class // 5)
    train, val, test = [], [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        train += idx[:n_train].tolist()
        val += idx[n_train:n_train + n_val].tolist()
        test += idx[n_train + n_val:].tolist()
    return np.array(train), np.array(val), np.array(test)


def _dumps(obj: Any) -> bytes:
    """Pickle ``obj`` as the engine's joblib (loky) workers would: with cloudpickle when it is
    there (it handles classes defined in a function), else with :mod:`pickle`."""
    try:
        from joblib.externals import cloudpickle
    except ImportError:  # pragma: no cover - joblib is a dependency
        return pickle.dumps(obj)
    buffer = io.BytesIO()
    cloudpickle.dump(obj, buffer)
    return buffer.getvalue()


def _predict_blind(model: Method, X_test: np.ndarray) -> np.ndarray:
    """``model.predict(X_test)`` with nothing else in reach: a separate frame holding no labels."""
    return np.asarray(model.predict(X_test))


def check_method(method: type[Method] | str, *, params: dict[str, Any] | None = None, device: str = "cpu",
                 n_classes: int = 4, per_class: int = 10, seed: int = 0, raise_on_failure: bool = True
                 ) -> CheckReport:
    """Check that ``method`` (a :class:`~fer_bench.registry.Method` subclass or a registered name)
    keeps the fer-bench method contract (the rules: see :mod:`fer_bench.testing`).

    ``params`` are parameter overrides for every instance (e.g. a smaller grid); ``device`` is
    passed to a method with a runtime ``device`` parameter and to its ``skip_reasons``. The case
    has ``n_classes`` classes of ``per_class`` images (at least 5).

    Returns a :class:`CheckReport`; with ``raise_on_failure`` (the default) a broken rule raises
    :class:`MethodContractError` listing all of them. A method whose ``skip_reasons(device)`` is
    not empty is not run: the report's ``skipped`` says why. The checks run in order, one
    function each; a check that leaves nothing to check further stops the rest.
    """
    cls = get_method_class(method) if isinstance(method, str) else method
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    report = CheckReport(name)
    if per_class < 5:
        raise ValueError(f"per_class={per_class}: the case needs at least 5 images of each class")
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        report.failures.append(f"class: {cls!r} is not a fer_bench.Method subclass")
        return _finish(report, raise_on_failure)
    case = _Case(cls, dict(params or {}), report, device, n_classes, per_class, seed)
    for check in (_check_parameters, _check_can_run, _check_features, _check_fit_predict,
                  _check_blind_to_test_labels, _check_deterministic, _check_picklable, _check_refit):
        if not check(case):
            break
    return _finish(report, raise_on_failure)


@dataclass
class _Case:
    """What :func:`check_method`'s checks share: the method, its small case, what was fitted."""

    cls: type[Method]
    overrides: dict[str, Any]
    report: CheckReport
    device: str
    n_classes: int
    per_class: int
    seed: int
    instance: Method | None = None
    spec: ImageSpec | None = None
    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # train, val, test rows
    model: Method | None = None
    first: np.ndarray | None = None  # the fitted model's test predictions

    def fail(self, text: str) -> None:
        self.report.failures.append(text)

    def ok(self, text: str) -> None:
        self.report.passed.append(text)

    def fitted(self, random_state: int) -> Method:
        train, val, _ = self.parts
        model = self.cls(**self.overrides)
        out = model.fit(self.features[train], self.labels[train], self.features[val], self.labels[val],
                        random_state=random_state)
        if out is not model:
            raise MethodContractError(f"fit returned {type(out).__name__}, not self")
        return model


def _check_parameters(case: _Case) -> bool:
    """Declared parameters: Params, unknown overrides refused, defaults and clone round-trip."""
    cls, before = case.cls, len(case.report.failures)
    if "device" in cls.parameters and "device" not in case.overrides:
        case.overrides["device"] = case.device
    bad = [k for k, p in cls.parameters.items() if not isinstance(p, Param)]
    if not isinstance(cls.parameters, dict) or bad:
        case.fail(f"parameters: every entry of `parameters` must be a fer_bench.params.Param (not: {', '.join(bad)})")
    try:
        case.instance = cls(**case.overrides)
    except Exception as exc:
        case.fail(f"parameters: {cls.__name__}(**{case.overrides!r}) raised {type(exc).__name__}: {exc}")
        return False
    if set(case.instance.params) != set(cls.parameters):
        case.fail(f"parameters: params {sorted(case.instance.params)} differ from the declared {sorted(cls.parameters)}")
    try:
        cls(**{"no_such_parameter_xyz": 1})
        case.fail("parameters: an unknown override (no_such_parameter_xyz=1) was accepted; call Method.__init__")
    except UnknownMethodError:
        pass
    except Exception as exc:
        case.fail(f"parameters: an unknown override raised {type(exc).__name__}, not UnknownMethodError: {exc}")
    try:
        again = cls(**{**{k: p.default for k, p in cls.parameters.items()}, **case.overrides})
        if again.params != case.instance.params or case.instance.clone().params != case.instance.params:
            case.fail("parameters: the defaults given back, or clone(), change the parameter values")
    except Exception as exc:
        case.fail(f"parameters: the declared defaults given back as overrides raised {type(exc).__name__}: {exc}")
    if len(case.report.failures) == before:
        case.ok("parameters declared")
    return True


def _check_can_run(case: _Case) -> bool:
    """A method that cannot run here (skip_reasons) is reported as skipped, not run."""
    try:
        reasons = case.instance.skip_reasons(case.device)
    except Exception as exc:
        case.fail(f"requirements: skip_reasons({case.device!r}) raised {type(exc).__name__}: {exc}")
        return False
    if reasons:
        case.report.skipped = "; ".join(reasons)
        return False
    return True


def _check_features(case: _Case) -> bool:
    """A valid input spec; features (n, d), finite, depending on the images only (and the
    same in chunks when ``parallel_features`` is declared)."""
    cls, spec = case.cls, case.instance.input_spec()
    if not isinstance(spec, ImageSpec):
        case.fail(f"input_spec: returned {spec!r}, not a fer_bench.ImageSpec")
        return False
    case.ok("input_spec valid")
    case.spec = spec
    images, case.labels = synthetic_case(spec, case.n_classes, case.per_class, case.seed)
    n, before = len(images), len(case.report.failures)
    try:
        features = np.asarray(case.instance.extract_features(images.copy()))
        repeat = np.asarray(cls(**case.overrides).extract_features(images.copy()))
    except Exception as exc:
        case.fail(f"extract_features: raised {type(exc).__name__}: {exc}")
        return False
    if features.ndim < 2 or features.shape[0] != n:
        case.fail(f"extract_features: {n} images gave shape {features.shape}; want one row per image, (n, d)")
        return False
    if np.issubdtype(features.dtype, np.number) and not np.isfinite(features).all():
        case.fail("extract_features: the features hold NaN or infinite values")
    if repeat.shape != features.shape or not np.allclose(repeat, features, equal_nan=True):
        case.fail("extract_features: the same images gave different features (they are computed once and shared by "
                  "every fold, so they must depend on the images only)")
    if cls.parallel_features:
        half = n // 2
        chunks = np.concatenate([np.asarray(case.instance.extract_features(images[:half].copy())),
                                 np.asarray(case.instance.extract_features(images[half:].copy()))])
        if chunks.shape != features.shape or not np.allclose(chunks, features, rtol=1e-4, atol=1e-5):
            case.fail("extract_features: parallel_features is declared, but features of the images in two chunks "
                      "differ from those of the whole stack (a statistic over the dataset? then leave "
                      "parallel_features off)")
    if len(case.report.failures) == before:
        case.ok("extract_features (n, d), fold-independent")
    case.features = features
    return True


def _check_fit_predict(case: _Case) -> bool:
    """predict takes only X; fit returns self; predictions are integers among the training classes."""
    cls = case.cls
    case.parts = train, _, test = _split(case.labels, case.per_class)
    params_of_predict = [p for p in list(inspect.signature(cls.predict).parameters.values())[1:]
                         if p.default is inspect.Parameter.empty
                         and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(params_of_predict) != 1:
        case.fail(f"predict: must take only the test features X, not ({', '.join(p.name for p in params_of_predict)})")
        return False
    try:
        case.model = case.fitted(case.seed)
        case.first = first = _predict_blind(case.model, case.features[test])
    except Exception as exc:
        case.fail(f"fit/predict: raised {type(exc).__name__}: {exc}")
        return False
    trained = set(case.labels[train].tolist())
    if first.shape != (len(test),) or not np.issubdtype(first.dtype, np.integer):
        case.fail(f"predict: {len(test)} test images gave {first.dtype} of shape {first.shape}; "
                  f"want {len(test)} integers")
    elif not set(first.tolist()) <= trained:
        case.fail(f"predict: predicted classes {sorted(set(first.tolist()) - trained)} never seen in training")
    else:
        case.ok("fit/predict")
    return True


def _check_blind_to_test_labels(case: _Case) -> bool:
    """Test labels that the images cannot tell: only a method that sees them scores far above chance."""
    leak_images, _ = synthetic_case(case.spec, case.n_classes, case.per_class, case.seed + 1)
    rng = np.random.default_rng(case.seed + 2)
    y_test = rng.integers(0, case.n_classes, size=len(leak_images))  # noqa: F841  (bait: a peeking method finds it)
    try:
        leak_features = np.asarray(case.instance.extract_features(leak_images))
        guess = _predict_blind(case.model, leak_features)
        hits = float(np.mean(guess == y_test))
        if hits >= 0.9:
            case.fail(f"never sees test labels: on {len(y_test)} test images with random labels predict scored "
                      f"{100 * hits:.0f} % (chance {100 / case.n_classes:.0f} %): it reads the test labels")
        else:
            case.ok("never sees test labels")
    except Exception as exc:
        case.fail(f"never sees test labels: predicting on new images raised {type(exc).__name__}: {exc}")
    del y_test
    return True


def _check_deterministic(case: _Case) -> bool:
    """Two fits with the same random_state predict the same."""
    test = case.parts[2]
    try:
        second = _predict_blind(case.fitted(case.seed), case.features[test])
        if not np.array_equal(case.first, second):
            case.fail(f"deterministic under a seed: two fits with random_state={case.seed} predicted differently "
                      f"({int(np.sum(case.first != second))} of {len(case.first)} test images); seed every random "
                      "choice from random_state")
        else:
            case.ok("deterministic under a seed")
    except Exception as exc:
        case.fail(f"deterministic under a seed: a second fit raised {type(exc).__name__}: {exc}")
    return True


def _check_picklable(case: _Case) -> bool:
    """The fitted method survives pickling (the engine's joblib workers pickle methods)."""
    try:
        loaded = pickle.loads(_dumps(case.model))
        if not np.array_equal(_predict_blind(loaded, case.features[case.parts[2]]), case.first):
            case.fail("picklable after fit: the unpickled model predicts differently")
        else:
            case.ok("picklable after fit")
    except Exception as exc:
        case.fail(f"picklable after fit: {type(exc).__name__}: {exc} (the engine's joblib workers pickle methods)")
    return True


def _choice_of(model):
    """The candidate a fitted method chose: ``selection_.params`` (:meth:`Method.fit`), or an
    earlier-contract method's ``chosen_``."""
    chosen = getattr(model, "selection_", None)
    return chosen.params if chosen is not None else getattr(model, "chosen_", None)


def _check_refit(case: _Case) -> bool:
    """refit takes (X, y, *, random_state) only, returns self and trains the chosen candidate."""
    model, train, val, test = case.model, *case.parts
    scores = getattr(model, "validation_scores_", None)  # the earlier contract's record
    chosen = _choice_of(model)
    if scores:
        candidates = [c for c, _ in scores] if all(isinstance(s, (tuple, list)) and len(s) == 2 for s in scores) else None
        if candidates is None:
            case.fail("refit: validation_scores_ must be [(candidate, accuracy), ...]")
        elif chosen not in candidates:
            case.fail(f"refit: chosen_ {chosen!r} is not among the candidates of validation_scores_")
    if not case.cls.supports_refit():
        return True
    refit_args = [p.name for p in list(inspect.signature(case.cls.refit).parameters.values())[1:]
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if any(a.endswith("_val") or a.startswith("X_val") for a in refit_args):
        case.fail(f"refit: must take only (X, y, *, random_state), no validation data; it takes {refit_args}")
        return True
    trval = np.concatenate([train, val])
    try:
        out = model.refit(case.features[trval], case.labels[trval], random_state=case.seed)
        if out is not model:
            case.fail(f"refit: returned {type(out).__name__}, not self")
        elif _choice_of(model) != chosen:
            case.fail(f"refit: changed the chosen candidate from {chosen!r} to {_choice_of(model)!r}; refit "
                      "trains the chosen candidate, it does not choose again")
        else:
            pred = _predict_blind(model, case.features[test])
            if pred.shape != (len(test),):
                case.fail(f"refit: predictions after refit have shape {pred.shape}")
            else:
                case.ok("refit honoured")
    except Exception as exc:
        case.fail(f"refit: raised {type(exc).__name__}: {exc}")
    return True


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if report.failures and raise_on_failure:
        raise MethodContractError(str(report))
    return report


__all__ = ["CheckReport", "MethodContractError", "check_method", "synthetic_case"]
