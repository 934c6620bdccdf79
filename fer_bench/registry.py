"""The method registry: one plugin API for fer-bench's own methods and everyone else's.

A method is a subclass of :class:`Method` made known under the entry-point group
``fer_bench.methods`` (``name = "package.module:ClassName"`` in its distribution's
``pyproject.toml``). fer-bench's own methods are registered exactly that way, so a
third-party package needs no change to the engine. In a notebook,
:func:`register_method` registers a class for the current process only.

The style follows timm (``create_model``/``list_models``) and benchopt (a plugin declares
its ``parameters`` and ``requirements``):

>>> import fer_bench
>>> fer_bench.list_methods("*svm")  # doctest: +SKIP
['hog-svm', 'hos-svm', 'lbp-svm', 'pca-svm']
>>> m = fer_bench.create_method("pca-svm", image_size=48)  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from .errors import UnknownMethodError

ENTRY_POINT_GROUP = "fer_bench.methods"


#: The face preprocessings (see :mod:`fer_bench.faces`).
FACE_MODES = ("none", "crop", "align")


@dataclass(frozen=True)
class ImageSpec:
    """How a method wants its images: the shared, cached preprocessing step.

    ``size`` is (height, width) after resizing; ``color`` is ``"gray"`` (2-D float32 in
    [0, 1]) or ``"rgb"`` (H×W×3, grayscale replicated to three channels). ``face`` is the
    face preprocessing (:mod:`fer_bench.faces`): ``"none"`` (the whole frame),
    ``"crop"`` (dlib's detector box, squared, with a margin) or ``"align"`` (eye centres
    and nose base mapped onto a canonical template by a similarity transform);
    ``landmarks`` the landmark model ``align`` uses (``shape_predictor_5``, or the
    non-commercial ``shape_predictor_68``). The default, ``face="none"``, keeps a
    third-party method's input unchanged; fer-bench's own methods declare theirs.
    """

    size: tuple[int, int] = (64, 64)
    color: str = "gray"
    face: str = "none"
    landmarks: str = "shape_predictor_5"

    def __post_init__(self):
        if self.color not in ("gray", "rgb"):
            raise ValueError(f"ImageSpec.color must be 'gray' or 'rgb', not {self.color!r}")
        if self.face not in FACE_MODES:
            raise UnknownMethodError(f"face preprocessing {self.face!r} is unknown; use one of {', '.join(FACE_MODES)}")
        if self.landmarks not in ("shape_predictor_5", "shape_predictor_68"):
            raise UnknownMethodError(
                f"landmark model {self.landmarks!r} is unknown; use shape_predictor_5 or shape_predictor_68"
            )
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    def key(self) -> list:
        """What identifies this preprocessing in a feature cache key (the landmark model
        only matters to ``align``)."""
        return [list(self.size), self.color, self.face] + ([self.landmarks] if self.face == "align" else [])

    def describe(self) -> str:
        """``"crop"``, ``"align (shape_predictor_5)"``, ``"none"``: for tables and logs."""
        return f"align ({self.landmarks})" if self.face == "align" else self.face


def with_face(spec: ImageSpec, face: str | None) -> ImageSpec:
    """``spec`` with its face preprocessing replaced by ``face`` (``None`` keeps the
    method's own): what a run-wide override (``--face``) does to every method.

    ``face`` is ``none``, ``crop``, ``align`` or ``align:shape_predictor_68``; raises
    :class:`~fer_bench.errors.UnknownMethodError` for anything else.
    """
    if face is None:
        return spec
    mode, _, landmarks = str(face).strip().partition(":")
    if mode not in FACE_MODES or (landmarks and mode != "align"):
        raise UnknownMethodError(
            f"--face {face!r}: use none, crop, align or align:shape_predictor_68 (the face preprocessing for every method)"
        )
    return replace(spec, face=mode, landmarks=(landmarks or spec.landmarks) if mode == "align" else spec.landmarks)


class Method:
    """Base class of every benchmarked method (a fer-bench plugin).

    Subclasses declare, as class attributes:

    - ``name``: the registry name (``"pca-svm"``); ``description``: one line;
      ``citation``: the publication the method re-implements;
      ``paper_oa``: the (mean, SD) overall accuracy in percent that the seed paper
      (or the method's own paper, see ``paper_oa_source``) reports, or ``None``;
    - ``parameters``: every tunable choice with its default. Constructor keyword
      arguments override them (``create_method("swe-bbo", level=3)``; on the command
      line ``--methods swe-bbo:level=3``);
    - ``feature_parameters``: the subset of ``parameters`` that changes the
      fold-independent features, so that the feature cache is keyed by them alone;
    - ``requirements``: importable modules the method needs.

    The engine calls, in this order: :meth:`input_spec` (shared preprocessing),
    :meth:`extract_features` once per dataset (cached; must not use labels), then per
    fold a *fresh* instance's :meth:`fit` with the training and validation groups only,
    and :meth:`predict` on the test group. The test group is never passed to ``fit``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    paper_oa: ClassVar[tuple[float, float] | None] = None
    paper_oa_source: ClassVar[str] = "Li 2021, Table 3"
    parameters: ClassVar[dict[str, Any]] = {}
    feature_parameters: ClassVar[tuple[str, ...]] = ()
    #: Parameters that change how, not what, is computed (e.g. ``device``): they are
    #: filled from run options and ignored when checking that a resumed run matches.
    runtime_parameters: ClassVar[tuple[str, ...]] = ()
    requirements: ClassVar[tuple[str, ...]] = ()
    #: Cap on BLAS/OpenMP threads while fitting one fold (None: no cap). Small dense
    #: problems run several times faster single-threaded, and parallel folds then use
    #: the cores instead of fighting over them.
    max_threads: ClassVar[int | None] = None
    #: True when ``extract_features`` treats every image on its own (no statistics over
    #: the dataset), so the engine may split the images into chunks and extract them in
    #: parallel with ``--jobs``. Off by default: a dataset-level transform would change.
    parallel_features: ClassVar[bool] = False
    #: Bump when the feature extraction code changes, so old cache entries are rebuilt.
    feature_version: ClassVar[str] = "1"
    #: The data the method's pretrained weights were trained on (``"ImageNet-1k"``,
    #: ``"FER2013"``), or ``None`` for a method that learns only from the benchmark's
    #: training groups. :meth:`pretraining` gives an instance's (``weights=none`` has
    #: none); :func:`fer_bench.pretraining.overlap` says when results on a dataset are
    #: not independent of it.
    pretrained_on: ClassVar[str | None] = None

    def __init__(self, **params: Any):
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise UnknownMethodError(
                f"method {self.name!r} has no parameter {unknown[0]!r}"
                + _suggest(unknown[0], self.parameters)
                + f"; its parameters are: {', '.join(self.parameters) or '(none)'}"
            )
        self.params: dict[str, Any] = {
            key: _coerce(key, value, self.parameters[key], self.name) for key, value in params.items()
        }
        for key, default in self.parameters.items():
            self.params.setdefault(key, default)
        self.fit_info_: dict[str, Any] = {}

    # -- scikit-learn style accessors -------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def __getattr__(self, key: str) -> Any:
        # Parameters read as attributes (self.n_components) without boilerplate.
        params = self.__dict__.get("params")
        if params is not None and key in params:
            return params[key]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {key!r}")

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if self.parameters.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    def clone(self) -> Method:
        """A fresh, unfitted instance with the same parameters."""
        return type(self)(**self.params)

    # -- the engine's calls ---------------------------------------------------------
    def input_spec(self) -> ImageSpec:
        """The preprocessing this method wants (size, colour, face preprocessing)."""
        return ImageSpec()

    def feature_key(self) -> dict[str, Any]:
        """What identifies this method's fold-independent features in the cache."""
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "version": self.feature_version,
            "spec": self.input_spec().key(),
            "params": {k: self.params[k] for k in self.feature_parameters},
        }

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """Per-image, label-free features, computed once per dataset (default: pixels).

        ``images`` is the preprocessed stack (N×H×W or N×H×W×3, float32 in [0, 1]);
        the result's first axis must be N.
        """
        return images

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int) -> Method:
        """Learn from the training group; the validation group may choose
        hyperparameters or stop training. Must return ``self``."""
        raise NotImplementedError

    def predict(self, X) -> np.ndarray:
        """Integer class predictions for the test group."""
        raise NotImplementedError

    def unmet_requirements(self, device: str = "cpu") -> list[str]:
        """Reasons this method cannot run here (empty when it can).

        The default checks that every module in ``requirements`` imports; methods with
        other needs (model weights, a GPU) extend it.
        """
        missing = [mod for mod in self.requirements if importlib.util.find_spec(mod) is None]
        reasons = [f"Python module {mod!r} is not installed" for mod in missing]
        spec = self.input_spec()
        if spec.face != "none":
            from .faces import unmet_requirements

            reasons += unmet_requirements(spec.face, spec.landmarks)
        return reasons

    def skip_reasons(self, device: str = "cpu") -> list[str]:
        """Why ``--methods all`` should leave this method out here (empty to run it).

        Includes :meth:`unmet_requirements`; methods add soft reasons, e.g. a large
        backbone's fine-tuning on a CPU. Naming the method explicitly runs it anyway.
        """
        return self.unmet_requirements(device)

    def pretraining(self) -> str | None:
        """The pretraining data of this instance's initial weights (``None``: none)."""
        return self.pretrained_on

    def fit_info(self) -> dict[str, Any]:
        """What the last :meth:`fit` chose (hyperparameters, epochs, …), stored per fold."""
        return dict(self.fit_info_)


# -- registry ---------------------------------------------------------------------------
_LOCAL: dict[str, type[Method]] = {}


def register_method(cls: type[Method] | None = None, *, name: str | None = None):
    """Register a :class:`Method` subclass for this process (notebooks, tests).

    Packages should register through the ``fer_bench.methods`` entry-point group
    instead, so that ``fer-bench`` on the command line finds them too.
    """

    def deco(klass: type[Method]) -> type[Method]:
        if not (isinstance(klass, type) and issubclass(klass, Method)):
            raise TypeError(f"{klass!r} is not a fer_bench.Method subclass")
        key = name or klass.name
        if not key:
            raise ValueError(f"{klass.__name__} has no name")
        _LOCAL[key] = klass
        return klass

    return deco(cls) if cls is not None else deco


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in eps:
        found.setdefault(ep.name, ep)
    return found


def available_methods() -> list[str]:
    """Every registered method name (entry points and local), sorted."""
    return sorted(set(_entry_points()) | set(_LOCAL))


def list_methods(pattern: str = "*") -> list[str]:
    """Registered method names matching a shell-style ``pattern`` (timm's ``list_models``)."""
    return [n for n in available_methods() if fnmatch.fnmatch(n, pattern)]


def get_method_class(name: str) -> type[Method]:
    """The class registered under ``name``; an unknown name suggests the closest ones."""
    if name in _LOCAL:
        return _LOCAL[name]
    eps = _entry_points()
    if name not in eps:
        raise UnknownMethodError(f"unknown method {name!r}" + _suggest(name, available_methods()))
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise UnknownMethodError(
            f"entry point {name!r} = {eps[name].value!r} does not name a fer_bench.Method subclass"
        )
    return cls


def create_method(name: str, **params: Any) -> Method:
    """Instantiate a registered method with parameter overrides (timm's ``create_model``)."""
    return get_method_class(name)(**params)


@dataclass(frozen=True)
class MethodSpec:
    """A method name plus the parameters a user set, e.g. ``swe-bbo:level=3,hidden=12``."""

    name: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """The column name in every table: the name, then the overrides in a fixed order."""
        if not self.overrides:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_format(v)}" for k, v in self.overrides)

    def create(self, **runtime: Any) -> Method:
        cls = get_method_class(self.name)
        params = dict(self.overrides)
        for key, value in runtime.items():
            if key in cls.parameters and key in cls.runtime_parameters and key not in params:
                params[key] = value
        return cls(**params)


def parse_method_list(text: str | list[str] | tuple[str, ...]) -> list[MethodSpec] | str:
    """Parse ``--methods``: ``all``, or a comma list with optional overrides.

    ``"pca-svm,swe-bbo:level=3,hidden=12,hog-svm"`` gives three methods; a comma item
    holding ``=`` but no ``:`` continues the previous method's overrides, since method
    names never contain ``=``. Returns ``"all"`` for ``all``.
    """
    items = [text] if isinstance(text, str) else list(text)
    pieces = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    if not pieces:
        raise UnknownMethodError("no method given; use --methods all or a comma list such as pca-svm")
    if pieces == ["all"]:
        return "all"
    specs: list[tuple[str, dict[str, Any]]] = []
    for piece in pieces:
        if "=" in piece and ":" not in piece:
            if not specs:
                raise UnknownMethodError(f"parameter {piece!r} comes before any method name")
            key, _, value = piece.partition("=")
            specs[-1][1][key.strip()] = _parse_value(value.strip())
            continue
        name, _, rest = piece.partition(":")
        overrides: dict[str, Any] = {}
        if rest:
            for assignment in rest.split(":"):
                key, eq, value = assignment.partition("=")
                if not eq:
                    raise UnknownMethodError(f"expected key=value after {name}:, got {assignment!r}")
                overrides[key.strip()] = _parse_value(value.strip())
        specs.append((name.strip(), overrides))
    result = []
    for name, overrides in specs:
        cls = get_method_class(name)  # raises with suggestions for unknown names
        instance = cls(**overrides)  # validates parameter names and types early
        resolved = tuple(sorted((k, instance.params[k]) for k in overrides))
        result.append(MethodSpec(name, resolved))
    return result


# -- helpers ----------------------------------------------------------------------------
def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    if not close:
        close = [c for c in choices if word.lower() in c.lower()][:3]
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _coerce(key: str, value: Any, default: Any, method: str) -> Any:
    """Bring an override to the type of its default, with a clear message if impossible."""
    if default is None or value is None:
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if isinstance(default, int) and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                # e.g. n_components may be an int or a variance fraction: keep the float.
                return value
            return int(value)
        if isinstance(default, float):
            # An int stays an int: for e.g. PCA's n_components an int (a count) and a
            # float (a variance fraction) mean different things.
            return value if isinstance(value, int) and not isinstance(value, bool) else float(value)
        if isinstance(default, tuple):
            # On the command line a tuple is written with "|" (commas separate methods):
            # pca-svm:C_grid=1|10|100.
            if isinstance(value, str):
                return tuple(_parse_value(part.strip()) for part in value.split("|") if part.strip())
            return tuple(value) if isinstance(value, (list, tuple)) else (value,)
    except (TypeError, ValueError):
        raise UnknownMethodError(
            f"parameter {key}={value!r} of method {method!r} should be a {type(default).__name__}"
        ) from None
    return value


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "|".join(_format(v) for v in value)
    return str(value)
