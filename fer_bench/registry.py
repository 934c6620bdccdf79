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

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import selection
from .errors import FerBenchError, UnknownMethodError
from .imagespec import FACE_MODES, ImageSpec, with_face
from .params import Param, format_value, normalise_declaration, resolve_name
from .registries import Registry

__all__ = ["FACE_MODES", "ImageSpec", "METHODS", "Method", "MethodSpec", "available_methods", "create_method",
           "get_method_class", "list_methods", "parse_method_list", "register_method", "with_face"]

ENTRY_POINT_GROUP = "fer_bench.methods"


class Method:
    """Base class of every benchmarked method (a fer-bench plugin).

    Subclasses declare, as class attributes:

    - ``name``: the registry name (``"pca-svm"``); ``description``: one line;
      ``citation``: the publication the method re-implements;
      ``paper_oa``: the (mean, SD) overall accuracy in percent that the seed paper
      (or the method's own paper, see ``paper_oa_source``) reports, or ``None``;
      ``pretraining``: the data a pretrained component was trained on (``"ImageNet-1k"``,
      ``"FER2013"``), empty for methods trained from scratch on each fold;
    - ``parameters``: every tunable choice, name → :class:`~fer_bench.params.Param` (its
      default, type, range or choices, role and description). Constructor keyword
      arguments override them (``create_method("swe-bbo", level=3)``; on the command line
      ``--methods swe-bbo:level=3``); the values are then instance attributes
      (``self.level``). Roles: ``features`` (part of the feature-cache key), ``fit``,
      ``runtime`` (see :mod:`fer_bench.params`);
    - ``requirements``: importable modules the method needs.

    The engine calls, in this order: :meth:`input_spec` (shared preprocessing),
    :meth:`extract_features` once per dataset (cached; must not use labels), then per
    fold a *fresh* instance's :meth:`fit` with the training and validation groups, then
    (the paper's refit step, Li 2021 §3.6, on by default) :meth:`refit` on the training
    and validation groups together with the choices :meth:`fit` made, and
    :meth:`predict` on the test group. The test group is never passed to ``fit`` or
    ``refit``.

    Selection contract (the engine owns the choice, :mod:`fer_bench.selection`): a method
    implements :meth:`candidates`, which trains on the training group and returns every
    candidate it can be (hyperparameters, a number of iterations or epochs) with its
    validation accuracy, in declared order, simplest first, and, where the training path
    gives it for free, the method fitted with that candidate; and :meth:`train`, which fits
    the method on the data it is given with a candidate's parameters fixed and no
    validation data. The engine chooses (one tie rule,
    :data:`fer_bench.selection.TIE_RULE`), averages over inner folds under
    ``--selection inner-cv``, refits the choice on training + validation (Li 2021 §3.6,
    on by default) and stores the choice per fold. :meth:`fit` and :meth:`refit` are then
    derived (for use outside the engine). Methods written for the earlier contract
    (``fit`` recording ``validation_scores_`` and ``chosen_``, ``refit``) still run, through
    :func:`fer_bench.selection.legacy_selection`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    paper_oa: ClassVar[tuple[float, float] | None] = None
    paper_oa_source: ClassVar[str] = "Li 2021, Table 3"
    pretraining: ClassVar[str] = ""
    #: The features in words, for a method made of features + a classifier (the ablation
    #: table's "features" column, recorded with the results); empty for other methods.
    feature_description: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Param]] = {}
    requirements: ClassVar[tuple[str, ...]] = ()
    #: Cap on BLAS/OpenMP threads while fitting one fold (None: no cap). Small dense
    #: problems run several times faster single-threaded, and parallel folds then use
    #: the cores instead of fighting over them.
    max_threads: ClassVar[int | None] = None
    #: True when ``extract_features`` treats every image on its own (no statistics over
    #: the dataset), so the engine may split the images into chunks (bounded memory,
    #: resumable parts) and extract them in parallel with ``--jobs``. Off by default: a
    #: dataset-level transform would change; such a method gets the whole stack at once.
    parallel_features: ClassVar[bool] = False
    #: Bump when the feature extraction code changes, so old cache entries are rebuilt.
    feature_version: ClassVar[str] = "1"

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # Plugins written for fer-bench 0.1 declare plain values plus the tuples
        # feature_parameters / runtime_parameters; they are read into Params here.
        legacy_features = next(
            (k.__dict__["feature_parameters"] for k in cls.__mro__ if "feature_parameters" in k.__dict__), None
        )
        legacy_runtime = next(
            (k.__dict__["runtime_parameters"] for k in cls.__mro__ if "runtime_parameters" in k.__dict__), ()
        )
        cls.parameters = normalise_declaration(cls.parameters, legacy_features, tuple(legacy_runtime))
        for pname in cls.parameters:
            if hasattr(cls, pname) and pname not in ("feature_parameters", "runtime_parameters"):
                raise TypeError(f"{cls.__name__}: parameter {pname!r} would hide the attribute of the same name")
        # help(cls) shows the citation and every declared parameter; a class without a
        # docstring of its own (the plugin files document the method in the module's) gets
        # the module's.
        own = cls.__dict__.get("__doc__") or getattr(sys.modules.get(cls.__module__), "__doc__", None) or ""
        if cls.parameters and "Parameters (declared)" not in own:
            lines = [f"    {pname}: {param.describe()}" for pname, param in cls.parameters.items()]
            head = [f"    Citation: {cls.citation}"] if cls.citation else []
            cls.__doc__ = own.rstrip() + "\n\n" + "\n".join(head + ["", "    Parameters (declared):"] + lines) + "\n"

    def __init__(self, **params: Any):
        values = {}
        for key, value in params.items():
            real = resolve_name(key, self.parameters, self.name)
            values[real] = self.parameters[real].coerce(value, name=key, method=self.name)
        for key, param in self.parameters.items():
            setattr(self, key, values.get(key, param.default))
        self.fit_info_: dict[str, Any] = {}

    # -- parameters (scikit-learn style) ---------------------------------------------------
    @classmethod
    def parameter_names(cls, role: str | None = None) -> tuple[str, ...]:
        """Declared parameter names, all or those of one ``role`` (features, fit, runtime)."""
        return tuple(k for k, p in cls.parameters.items() if role is None or p.role == role)

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter's current value, by declared name."""
        return {key: getattr(self, key) for key in self.parameters}

    def get_params(self) -> dict[str, Any]:
        return self.params

    def identity_params(self) -> dict[str, Any]:
        """The values that make a result what it is: every parameter but runtime ones."""
        return {k: v for k, v in self.params.items() if self.parameters[k].role != "runtime"}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if self.parameters[k].default != v}
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
        """What identifies this method's fold-independent features in the cache: the
        class, ``feature_version``, the input spec and every ``features`` parameter."""
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "version": self.feature_version,
            "spec": self.input_spec().key(),
            "params": {k: getattr(self, k) for k in self.parameter_names("features")},
        }

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """Per-image, label-free features, computed once per dataset (default: pixels).

        ``images`` is the preprocessed stack (N×H×W or N×H×W×3, float32 in [0, 1]);
        the result's first axis must be N. With ``parallel_features`` the engine calls it
        on consecutive chunks of the dataset (bounded memory, ``--jobs`` processes) and
        concatenates the results; otherwise once on the whole stack.
        """
        return images

    @selection.unimplemented
    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int) -> list:
        """Every candidate, trained on the training group and scored on the validation
        group: ``[fer_bench.selection.Candidate, ...]`` in declared order, simplest first
        (ties go to the earliest), each with its ``params``, validation ``score`` (a
        fraction), optionally a secondary ``tiebreak`` key (lower wins), and, when training
        produced it anyway, ``model``: a fitted copy of this method with those parameters.
        A method with nothing to choose returns one candidate (``params`` ``{}``). The
        engine never passes test data here."""
        raise NotImplementedError

    def train(self, params: dict[str, Any], X, y, *, random_state: int) -> Method:
        """Fit this instance on ``X, y`` with the candidate ``params`` fixed, using no
        validation data; returns ``self``. The engine calls it for the refit step (training
        + validation groups) and for a chosen candidate that came without a model."""
        raise NotImplementedError

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int) -> Method:
        """Outside the engine: choose on the validation group as the engine does
        (:func:`fer_bench.selection.select`) and become the chosen candidate fitted on the
        training group; ``selection_`` (a :class:`fer_bench.selection.Selection`, without
        models) holds the choice: ``selection_.params`` and every candidate with its score.
        Earlier-contract methods override it. Must return ``self``."""
        if not selection.uses_candidates(self):
            raise NotImplementedError
        chosen = selection.select(self, X_train, y_train, X_val, y_val, random_state=random_state)
        self.__dict__.update(chosen.model.__dict__)
        self.selection_ = selection.Selection([c.bare() for c in chosen.candidates], chosen.params, chosen.score, how=chosen.how)
        return self

    def refit(self, X, y, *, random_state: int) -> Method:
        """Train the final model on ``X, y`` (training + validation groups) with the
        choice :meth:`fit` made fixed, using no validation data (Li 2021, §3.6): derived
        from :meth:`train`. Must return ``self``. Methods that implement neither are
        evaluated with the model :meth:`fit` trained, and the results say so."""
        if not selection.uses_candidates(self) or type(self).train is Method.train:
            raise NotImplementedError
        if getattr(self, "selection_", None) is None:
            raise FerBenchError(f"{self.name}: refit called before fit chose a candidate")
        return self.train(dict(self.selection_.params or {}), X, y, random_state=random_state)

    @classmethod
    def supports_refit(cls) -> bool:
        """Whether the class can train a given candidate (:meth:`train`, or an earlier-contract :meth:`refit`)."""
        return cls.refit is not Method.refit or (cls.train is not Method.train and cls.candidates is not Method.candidates)

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

    def size_skip_reasons(self, n_train: int) -> list[str]:
        """Why ``--methods all`` should leave this method out of a run whose largest
        training group has ``n_train`` images (empty to run it): a method whose cost at
        that size is not sane on this machine says so here. Naming the method explicitly
        runs it anyway. Default: none."""
        return []

    def fit_info(self) -> dict[str, Any]:
        """Facts about the last training, stored per fold: what the method adds to
        ``fit_info_`` (epochs, training accuracy, …); the engine adds its choice
        (:meth:`fer_bench.selection.Selection.record`). After :meth:`fit` outside the
        engine, the same record of ``selection_``."""
        info = dict(self.fit_info_)
        chosen = getattr(self, "selection_", None)
        for key, value in (chosen.record() if chosen is not None else {}).items():
            info.setdefault(key, value)
        return info


# -- registry ---------------------------------------------------------------------------
def _not_a_method(obj: Any) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Method)):
        return f"{obj!r} is not a fer_bench.Method subclass"
    return None


#: Every method: fer-bench's own and third-party ones through the entry-point group
#: ``fer_bench.methods``, plus those registered in code (:func:`register_method`).
METHODS: Registry[type[Method]] = Registry(
    "method", ENTRY_POINT_GROUP, name_of=lambda cls: cls.name, check=_not_a_method, error=UnknownMethodError,
    see="fer-bench methods",
)


def register_method(cls: type[Method] | None = None, *, name: str | None = None):
    """Register a :class:`Method` subclass for this process (notebooks, tests); usable as a
    decorator, with an optional ``name`` (default ``cls.name``).

    Packages should register through the ``fer_bench.methods`` entry-point group
    instead, so that ``fer-bench`` on the command line finds them too. Registering the same
    class again is allowed; another class under a taken name raises
    :class:`~fer_bench.errors.DuplicateRegistrationError` naming both
    (:meth:`fer_bench.registries.Registry.register`; ``METHODS.registered(cls)`` registers
    for a ``with`` block only).
    """
    return METHODS.register(cls, name=name)


def available_methods() -> list[str]:
    """Every registered method name (entry points and local), sorted; imports no plugin."""
    return METHODS.list()


def list_methods(pattern: str = "*") -> list[str]:
    """Registered method names matching a shell-style ``pattern`` (timm's ``list_models``)."""
    return METHODS.list(pattern)


def get_method_class(name: str) -> type[Method]:
    """The class registered under ``name``; an unknown name suggests the closest ones
    (:class:`~fer_bench.errors.UnknownMethodError`), a name claimed by two classes raises
    :class:`~fer_bench.errors.DuplicateRegistrationError`."""
    return METHODS.get(name)


def create_method(name: str, **params: Any) -> Method:
    """Instantiate a registered method with parameter overrides (timm's ``create_model``)."""
    return get_method_class(name)(**params)


@dataclass(frozen=True)
class MethodSpec:
    """A method name plus the parameters a user set, e.g. ``swe-bbo:level=3,hidden=12``.

    Built once from the command line or the Python API (:func:`parse_method_list`) and
    passed as an object from then on; ``label`` names its column in every table.
    """

    name: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """The column name in every table: the name, then the overrides in a fixed order."""
        if not self.overrides:
            return self.name
        return self.name + ":" + ",".join(f"{k}={format_value(v)}" for k, v in self.overrides)

    def method_class(self) -> type[Method]:
        """The registered class of this spec's method."""
        return get_method_class(self.name)

    def create(self, **runtime: Any) -> Method:
        """An instance with the overrides, and ``runtime`` values (e.g. ``device``) for the
        method's runtime parameters that the user did not set."""
        cls = self.method_class()
        params = dict(self.overrides)
        for key, value in runtime.items():
            if key in cls.parameter_names("runtime") and key not in params:
                params[key] = value
        return cls(**params)


def includes_all(text: str | list[str] | tuple[str, ...]) -> bool:
    """Whether ``--methods`` names ``all``, alone or beside other methods
    (``all,swe-bbo:classifier=svm``: every registered method plus a variant)."""
    items = [text] if isinstance(text, str) else list(text)
    return any(p.strip() == "all" for item in items for p in str(item).split(","))


def parse_method_list(text: str | list[str] | tuple[str, ...]) -> list[MethodSpec] | str:
    """Parse ``--methods``: ``all``, or a comma list with optional overrides.

    ``"pca-svm,swe-bbo:level=3,hidden=12,hog-svm"`` gives three methods; a comma item
    holding ``=`` but no ``:`` continues the previous method's overrides, since method
    names never contain ``=``. Names and values are validated against each method's
    declared parameters (aliases resolved, values coerced). Returns ``"all"`` for ``all``
    alone; beside other methods ``all`` is left out of the list (see :func:`includes_all`).
    """
    items = [text] if isinstance(text, str) else list(text)
    pieces = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    if not pieces:
        raise UnknownMethodError("no method given; use --methods all or a comma list such as pca-svm")
    if pieces == ["all"]:
        return "all"
    specs: list[tuple[str, dict[str, Any]]] = []
    for piece in pieces:
        if piece == "all":  # "all,swe-bbo:classifier=svm": the runner adds every method (includes_all)
            specs.append(("", {}))
            continue
        if "=" in piece and ":" not in piece:
            if not specs or not specs[-1][0]:  # nothing before it, or "all" (whose methods take no overrides)
                raise UnknownMethodError(f"parameter {piece!r} follows no method name; write it as name:{piece}")
            key, _, value = piece.partition("=")
            specs[-1][1][key.strip()] = value.strip()
            continue
        name, _, rest = piece.partition(":")
        overrides: dict[str, Any] = {}
        if rest:
            for assignment in rest.split(":"):
                key, eq, value = assignment.partition("=")
                if not eq:
                    raise UnknownMethodError(f"expected key=value after {name}:, got {assignment!r}")
                overrides[key.strip()] = value.strip()  # typed by the parameter's declaration
        specs.append((name.strip(), overrides))
    result = []
    for name, overrides in specs:
        if not name:
            continue
        cls = get_method_class(name)  # raises with suggestions for unknown names
        instance = cls(**overrides)  # validates parameter names and values early
        names = {resolve_name(k, cls.parameters, name) for k in overrides}
        # A value equal to the default is no variant: "pca-svm:classifier=svm" is pca-svm.
        default = cls()
        resolved = tuple(sorted((k, getattr(instance, k)) for k in names if getattr(instance, k) != getattr(default, k)))
        spec = MethodSpec(name, resolved)
        if spec not in result:
            result.append(spec)
    return result
