"""Declared method parameters: one declaration drives validation, parsing, listing and caching.

Every tunable choice of a method is a :class:`Param` in the method's ``parameters`` dict:

>>> from fer_bench.params import Param
>>> parameters = {
...     "image_size": Param(64, role="features", low=8, doc="side of the square grayscale input, px"),
...     "C_grid": Param((1.0, 10.0, 100.0), role="fit", low=0, aliases=("C",), doc="SVM C candidates"),
...     "device": Param("auto", role="runtime", doc="torch device"),
... }

From that one declaration come:

- validation and coercion of overrides (``create_method("pca-svm", image_size="48")``, and
  ``--methods pca-svm:image_size=48`` on the command line), with one-line errors naming the
  method, the parameter and what is allowed;
- ``fer-bench methods -v`` and ``help(MethodClass)`` (every parameter with its default, type,
  range or choices, role and description);
- the feature-cache key (only ``role="features"`` parameters), so a parameter that changes the
  features can never be served stale features;
- the identity checked when a results directory is resumed (every role but ``runtime``);
- :meth:`fer_bench.registry.Method.clone`.

Roles:

``features``
    changes the fold-independent features computed by ``extract_features`` (or the
    preprocessing of ``input_spec``): part of the feature-cache key.
``fit``
    changes training or model selection on a fold; not part of the cache key.
``runtime``
    changes how, not what, is computed (device, batch size, threads): filled from run
    options and ignored when checking that a resumed run matches.

A tuple-valued parameter is a candidate list (a grid) searched on the validation group. Its
``aliases`` accept the scalar name used in the method's documentation: ``pca-svm:C=10`` fixes
the grid ``C_grid`` to ``(10.0,)``.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownMethodError

ROLES = ("features", "fit", "runtime")


@dataclass(frozen=True)
class Param:
    """One declared parameter of a method.

    ``default`` is the value used when the user sets none; its type (bool, int, float,
    str, tuple, or ``None`` for "no value") is the parameter's type unless ``kind`` names
    another (``kind=float`` for a parameter whose default is an int but that accepts
    fractions). ``choices`` lists the allowed values; ``low``/``high`` bound numbers (and
    every element of a tuple), inclusive. ``aliases`` are other accepted names.
    ``nullable`` accepts ``None`` even when the default is not ``None``.
    """

    default: Any
    role: str = "fit"
    doc: str = ""
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    aliases: tuple[str, ...] = ()
    kind: type | None = None
    nullable: bool = False
    element_kinds: tuple[type, ...] = field(default=(), repr=False)
    #: True for a Param made from a plain value of a legacy declaration (its role is
    #: re-derived from the legacy tuples of each subclass that inherits it).
    inferred: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"Param role must be one of {', '.join(ROLES)}, not {self.role!r}")
        if self.kind is None and self.default is not None:
            object.__setattr__(self, "kind", type(self.default) if not isinstance(self.default, list) else tuple)
        if self.kind is tuple and not self.element_kinds:
            kinds = tuple(dict.fromkeys(type(v) for v in (self.default or ())))
            object.__setattr__(self, "element_kinds", kinds)
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    # -- description ----------------------------------------------------------------------
    def type_name(self) -> str:
        """The parameter's type as shown to users (``int``, ``tuple of float``, ``any``)."""
        if self.kind is None:
            return "any"
        if self.kind is tuple:
            inner = "|".join(k.__name__ for k in self.element_kinds) or "any"
            return f"tuple of {inner}"
        return self.kind.__name__

    def describe(self) -> str:
        """``type, default …, range/choices, role: doc`` on one line."""
        parts = [self.type_name(), f"default {format_value(self.default)}"]
        if self.choices is not None:
            parts.append("one of " + ", ".join(format_value(c) for c in self.choices))
        if self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else format_value(self.low)
            hi = "inf" if self.high is None else format_value(self.high)
            parts.append(f"in [{lo}, {hi}]")
        if self.aliases:
            parts.append("alias " + ", ".join(self.aliases))
        parts.append(f"role {self.role}")
        text = ", ".join(parts)
        return f"{text}: {self.doc}" if self.doc else text

    # -- validation -----------------------------------------------------------------------
    def coerce(self, value: Any, *, name: str, method: str) -> Any:
        """``value`` converted to this parameter's type and checked; raises
        :class:`~fer_bench.errors.UnknownMethodError` with a one-line reason."""
        where = f"parameter {name}={format_value(value)} of method {method!r}"
        if value is None:
            if self.default is None or self.nullable:
                return None
            raise UnknownMethodError(f"{where}: a value is required ({self.type_name()})")
        if isinstance(value, str) and self.kind is not str:
            value = parse_value(value) if self.kind is not tuple else value
            if value is None:
                return self.coerce(None, name=name, method=method)
        try:
            converted = self._convert(value)
        except (TypeError, ValueError):
            raise UnknownMethodError(f"{where} should be a {self.type_name()}") from None
        items = converted if isinstance(converted, tuple) else (converted,)
        if self.kind is tuple and not converted and self.default:
            raise UnknownMethodError(f"{where}: give at least one value (write a list as a|b|c)")
        for item in items:
            if self.choices is not None and item not in self.choices:
                allowed = ", ".join(format_value(c) for c in self.choices)
                raise UnknownMethodError(f"{where}: {format_value(item)} is not one of {allowed}")
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if self.low is not None and item < self.low:
                    raise UnknownMethodError(f"{where}: {format_value(item)} is below the minimum {format_value(self.low)}")
                if self.high is not None and item > self.high:
                    raise UnknownMethodError(f"{where}: {format_value(item)} is above the maximum {format_value(self.high)}")
        return converted

    def _convert(self, value: Any) -> Any:
        kind = self.kind
        if kind is None:
            return value
        if kind is bool:
            return _to_bool(value)
        if kind is int:
            if isinstance(value, bool):
                raise TypeError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise TypeError(value)
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError(value)
            return value
        if kind is tuple:
            # On the command line a tuple is written with "|" (commas separate methods):
            # pca-svm:C_grid=1|10|100.
            if isinstance(value, str):
                parts = [parse_value(p.strip()) for p in value.split("|") if p.strip()]
            elif isinstance(value, (list, tuple)):
                parts = list(value)
            else:
                parts = [value]
            return tuple(self._convert_element(p) for p in parts)
        return kind(value)

    def _convert_element(self, value: Any) -> Any:
        kinds = self.element_kinds
        if not kinds or type(value) in kinds:
            return value
        # Numbers in a numeric grid keep the grid's type (10 in a float grid becomes 10.0);
        # a grid mixing types (e.g. floats and "scale") accepts any of them.
        for kind in kinds:
            if kind in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                if kind is int and isinstance(value, float) and not value.is_integer():
                    continue
                return kind(value)
        if str in kinds and isinstance(value, str):
            return value
        raise TypeError(value)


# -- a method's declaration -------------------------------------------------------------------
def normalise_declaration(
    parameters: Mapping[str, Any],
    feature_names: tuple[str, ...] | None = None,
    runtime_names: tuple[str, ...] = (),
) -> dict[str, Param]:
    """Every entry of a ``parameters`` dict as a :class:`Param`.

    Entries that are already :class:`Param` are kept. A plain value (the declaration style
    of fer-bench 0.1, still accepted from third-party plugins) becomes a Param whose role
    comes from the legacy tuples: ``runtime`` if its name is in ``runtime_names``;
    ``features`` if it is in ``feature_names``, or if the class declares no
    ``feature_parameters`` at all (the safe default: an undeclared parameter can then
    only cost a recomputation, never serve stale cached features); ``fit`` otherwise.
    """
    declared: dict[str, Param] = {}
    for name, entry in parameters.items():
        if isinstance(entry, Param) and not entry.inferred:
            declared[name] = entry
            continue
        value = entry.default if isinstance(entry, Param) else entry
        if name in runtime_names:
            role = "runtime"
        elif feature_names is None or name in feature_names:
            role = "features"
        else:
            role = "fit"
        declared[name] = Param(value, role=role, inferred=True)
    return declared


def resolve_name(name: str, declared: Mapping[str, Param], method: str) -> str:
    """The declared name for ``name`` (itself or an alias); unknown names suggest the closest."""
    if name in declared:
        return name
    for real, param in declared.items():
        if name in param.aliases:
            return real
    names = list(declared) + [a for p in declared.values() for a in p.aliases]
    raise UnknownMethodError(
        f"method {method!r} has no parameter {name!r}"
        + suggestion(name, names)
        + f". Its parameters: {', '.join(declared) or '(none)'} (fer-bench methods -v lists them)"
    )


def suggestion(word: str, choices) -> str:
    """``" (did you mean 'x' or 'y'?)"`` for the closest choices, or an empty string."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    if not close:
        close = [c for c in choices if word.lower() in c.lower()][:3]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


# -- text forms -------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A command-line value: ``none``, ``true``/``false``, a Python literal, else the text."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def format_value(value: Any) -> str:
    """A value as written on the command line (tuples with ``|``)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "|".join(format_value(v) for v in value)
    return str(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ValueError(value)
