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
  ``refit(X, y, random_state=...)`` takes no validation data, returns ``self``, keeps
  ``chosen_``; a method that records ``validation_scores_`` names ``chosen_`` among the
  candidates.

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
    not empty is not run: the report's ``skipped`` says why.
    """
    cls = get_method_class(method) if isinstance(method, str) else method
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    report = CheckReport(name)
    fail, ok = report.failures.append, report.passed.append
    if per_class < 5:
        raise ValueError(f"per_class={per_class}: the case needs at least 5 images of each class")
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        report.failures.append(f"class: {cls!r} is not a fer_bench.Method subclass")
        return _finish(report, raise_on_failure)

    # -- declared parameters -----------------------------------------------------------------------------
    overrides = dict(params or {})
    if "device" in cls.parameters and "device" not in overrides:
        overrides["device"] = device
    bad = [k for k, p in cls.parameters.items() if not isinstance(p, Param)]
    if not isinstance(cls.parameters, dict) or bad:
        fail(f"parameters: every entry of `parameters` must be a fer_bench.params.Param (not: {', '.join(bad)})")
    try:
        instance = cls(**overrides)
    except Exception as exc:
        fail(f"parameters: {cls.__name__}(**{overrides!r}) raised {type(exc).__name__}: {exc}")
        return _finish(report, raise_on_failure)
    if set(instance.params) != set(cls.parameters):
        fail(f"parameters: params {sorted(instance.params)} differ from the declared {sorted(cls.parameters)}")
    try:
        cls(**{"no_such_parameter_xyz": 1})
        fail("parameters: an unknown override (no_such_parameter_xyz=1) was accepted; call Method.__init__")
    except UnknownMethodError:
        pass
    except Exception as exc:
        fail(f"parameters: an unknown override raised {type(exc).__name__}, not UnknownMethodError: {exc}")
    try:
        again = cls(**{**{k: p.default for k, p in cls.parameters.items()}, **overrides})
        if again.params != instance.params or instance.clone().params != instance.params:
            fail("parameters: the defaults given back, or clone(), change the parameter values")
    except Exception as exc:
        fail(f"parameters: the declared defaults given back as overrides raised {type(exc).__name__}: {exc}")
    if not report.failures:
        ok("parameters declared")

    # -- can it run here? --------------------------------------------------------------------------------
    try:
        reasons = instance.skip_reasons(device)
    except Exception as exc:
        fail(f"requirements: skip_reasons({device!r}) raised {type(exc).__name__}: {exc}")
        return _finish(report, raise_on_failure)
    if reasons:
        report.skipped = "; ".join(reasons)
        return _finish(report, raise_on_failure)

    # -- input spec and features ------------------------------------------------------------------------
    spec = instance.input_spec()
    if not isinstance(spec, ImageSpec):
        fail(f"input_spec: returned {spec!r}, not a fer_bench.ImageSpec")
        return _finish(report, raise_on_failure)
    ok("input_spec valid")
    images, labels = synthetic_case(spec, n_classes, per_class, seed)
    n, before = len(images), len(report.failures)
    try:
        features = np.asarray(instance.extract_features(images.copy()))
        repeat = np.asarray(cls(**overrides).extract_features(images.copy()))
    except Exception as exc:
        fail(f"extract_features: raised {type(exc).__name__}: {exc}")
        return _finish(report, raise_on_failure)
    if features.ndim < 2 or features.shape[0] != n:
        fail(f"extract_features: {n} images gave shape {features.shape}; want one row per image, (n, d)")
        return _finish(report, raise_on_failure)
    if np.issubdtype(features.dtype, np.number) and not np.isfinite(features).all():
        fail("extract_features: the features hold NaN or infinite values")
    if repeat.shape != features.shape or not np.allclose(repeat, features, equal_nan=True):
        fail("extract_features: the same images gave different features (they are computed once and shared by "
             "every fold, so they must depend on the images only)")
    if cls.parallel_features:
        half = n // 2
        chunks = np.concatenate([np.asarray(instance.extract_features(images[:half].copy())),
                                 np.asarray(instance.extract_features(images[half:].copy()))])
        if chunks.shape != features.shape or not np.allclose(chunks, features, rtol=1e-4, atol=1e-5):
            fail("extract_features: parallel_features is declared, but features of the images in two chunks differ "
                 "from those of the whole stack (a statistic over the dataset? then leave parallel_features off)")
    if len(report.failures) == before:
        ok("extract_features (n, d), fold-independent")

    # -- fit, predict, leakage, determinism, pickling, refit ------------------------------------------------------
    train, val, test = _split(labels, per_class)
    params_of_predict = [p for p in list(inspect.signature(cls.predict).parameters.values())[1:]
                         if p.default is inspect.Parameter.empty
                         and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(params_of_predict) != 1:
        fail(f"predict: must take only the test features X, not ({', '.join(p.name for p in params_of_predict)})")
        return _finish(report, raise_on_failure)

    def fitted(random_state: int) -> Method:
        model = cls(**overrides)
        out = model.fit(features[train], labels[train], features[val], labels[val], random_state=random_state)
        if out is not model:
            raise MethodContractError(f"fit returned {type(out).__name__}, not self")
        return model

    try:
        model = fitted(seed)
        first = _predict_blind(model, features[test])
    except Exception as exc:
        fail(f"fit/predict: raised {type(exc).__name__}: {exc}")
        return _finish(report, raise_on_failure)
    if first.shape != (len(test),) or not np.issubdtype(first.dtype, np.integer):
        fail(f"predict: {len(test)} test images gave {first.dtype} of shape {first.shape}; want {len(test)} integers")
    elif not set(first.tolist()) <= set(labels[train].tolist()):
        fail(f"predict: predicted classes {sorted(set(first.tolist()) - set(labels[train].tolist()))} never seen "
             "in training")
    else:
        ok("fit/predict")

    # Test labels that the images cannot tell: only a method that sees them scores far above chance.
    leak_images, _ = synthetic_case(spec, n_classes, per_class, seed + 1)
    rng = np.random.default_rng(seed + 2)
    y_test = rng.integers(0, n_classes, size=len(leak_images))  # noqa: F841  (bait: a peeking method finds it)
    try:
        leak_features = np.asarray(instance.extract_features(leak_images))
        guess = _predict_blind(model, leak_features)
        hits = float(np.mean(guess == y_test))
        if hits >= 0.9:
            fail(f"never sees test labels: on {len(y_test)} test images with random labels predict scored "
                 f"{100 * hits:.0f} % (chance {100 / n_classes:.0f} %): it reads the test labels")
        else:
            ok("never sees test labels")
    except Exception as exc:
        fail(f"never sees test labels: predicting on new images raised {type(exc).__name__}: {exc}")
    del y_test

    try:
        second = _predict_blind(fitted(seed), features[test])
        if not np.array_equal(first, second):
            fail(f"deterministic under a seed: two fits with random_state={seed} predicted differently "
                 f"({int(np.sum(first != second))} of {len(first)} test images); seed every random choice from "
                 "random_state")
        else:
            ok("deterministic under a seed")
    except Exception as exc:
        fail(f"deterministic under a seed: a second fit raised {type(exc).__name__}: {exc}")

    try:
        loaded = pickle.loads(_dumps(model))
        if not np.array_equal(_predict_blind(loaded, features[test]), first):
            fail("picklable after fit: the unpickled model predicts differently")
        else:
            ok("picklable after fit")
    except Exception as exc:
        fail(f"picklable after fit: {type(exc).__name__}: {exc} (the engine's joblib workers pickle methods)")

    scores = getattr(model, "validation_scores_", None)
    chosen = getattr(model, "chosen_", None)
    if scores:
        candidates = [c for c, _ in scores] if all(isinstance(s, (tuple, list)) and len(s) == 2 for s in scores) else None
        if candidates is None:
            fail("refit: validation_scores_ must be [(candidate, accuracy), ...]")
        elif chosen not in candidates:
            fail(f"refit: chosen_ {chosen!r} is not among the candidates of validation_scores_")
    if cls.supports_refit():
        refit_args = [p.name for p in list(inspect.signature(cls.refit).parameters.values())[1:]
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if any(a.endswith("_val") or a.startswith("X_val") for a in refit_args):
            fail(f"refit: must take only (X, y, *, random_state), no validation data; it takes {refit_args}")
        else:
            trval = np.concatenate([train, val])
            try:
                out = model.refit(features[trval], labels[trval], random_state=seed)
                if out is not model:
                    fail(f"refit: returned {type(out).__name__}, not self")
                elif getattr(model, "chosen_", None) != chosen:
                    fail(f"refit: changed chosen_ from {chosen!r} to {getattr(model, 'chosen_', None)!r}; refit "
                         "trains the chosen candidate, it does not choose again")
                else:
                    pred = _predict_blind(model, features[test])
                    if pred.shape != (len(test),):
                        fail(f"refit: predictions after refit have shape {pred.shape}")
                    else:
                        ok("refit honoured")
            except Exception as exc:
                fail(f"refit: raised {type(exc).__name__}: {exc}")
    return _finish(report, raise_on_failure)


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if report.failures and raise_on_failure:
        raise MethodContractError(str(report))
    return report


__all__ = ["CheckReport", "MethodContractError", "check_method", "synthetic_case"]
