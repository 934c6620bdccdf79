"""One registry for every kind of fer-bench plugin: methods, dataset sources, protocols.

Each kind is a :class:`Registry` with one entry-point group:

==================  ==========================  ==============================================
kind                group                       registry
==================  ==========================  ==============================================
method              ``fer_bench.methods``       :data:`fer_bench.registry.METHODS`
dataset source      ``fer_bench.datasets``      :data:`fer_bench.datasets.sources.SOURCES`
protocol            ``fer_bench.protocols``     :data:`fer_bench.model_selection.PROTOCOLS`
==================  ==========================  ==============================================

A package registers through its ``pyproject.toml`` (``[project.entry-points."fer_bench.methods"]
name = "package.module:Object"``); code registers for the current process with
:meth:`Registry.register`, also usable as a decorator, with an optional name. Entry points are
loaded lazily: listing the names (:meth:`Registry.names`, :meth:`Registry.list`) imports
nothing, :meth:`Registry.get` imports the one plugin asked for. The style follows timm
(``register_model``, ``list_models("pat")``), torchvision's ``models/_api.py`` and mmengine's
``Registry``: a name registered twice for two different objects is refused, with both
origins named (:class:`~fer_bench.errors.DuplicateRegistrationError`). The same object seen
twice (an editable install plus a wheel's dist-info, a notebook cell run again) is one
registration, not a duplicate.

This module imports only the standard library (the listing commands stay light).
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import DuplicateRegistrationError, FerBenchError
from .params import suggestion

T = TypeVar("T")


def target_of(obj: Any) -> str:
    """``"module:qualname"`` of a class or function: how an entry point would name it."""
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__qualname__)}"


#: Entry points by group, with the state of ``sys.path`` they were read under (see :func:`group_entry_points`).
_ENTRY_POINTS: dict[str, tuple[tuple, tuple[importlib.metadata.EntryPoint, ...]]] = {}


def _path_state() -> tuple:
    """``sys.path`` with each folder's modification time: it changes when a distribution is
    installed or removed there (a ``.dist-info`` folder appears) or the path itself changes."""
    state = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def group_entry_points(group: str) -> tuple[importlib.metadata.EntryPoint, ...]:
    """``importlib.metadata.entry_points(group=group)``, read again only when :func:`_path_state`
    changed: each call reads every installed distribution's metadata, and a run looks names
    up hundreds of times."""
    state = _path_state()
    cached = _ENTRY_POINTS.get(group)
    if cached is None or cached[0] != state:
        cached = (state, tuple(importlib.metadata.entry_points(group=group)))
        _ENTRY_POINTS[group] = cached
    return cached[1]


def _ep_target(ep: importlib.metadata.EntryPoint) -> str:
    return f"{ep.module}:{ep.attr}" if ep.attr else ep.module


def _ep_origin(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) or (dist.metadata["Name"] if dist is not None else None)
    return f"entry point {_ep_target(ep)}" + (f" (distribution {name})" if name else "")


class Registry(Generic[T]):
    """Named plugins of one ``kind``, from code (:meth:`register`) and from the entry-point
    ``group``.

    ``name_of(obj)`` gives an object's default name (``cls.name`` for methods and protocols,
    the function's ``__name__`` for dataset sources); ``check(obj)`` returns why an object is
    not a plugin of this kind (``None`` when it is); ``error`` is the
    :class:`~fer_bench.errors.FerBenchError` subclass :meth:`get` raises for an unknown name;
    ``see`` is what an unknown-name message points to instead of listing every name (e.g.
    ``"fer-bench methods"``).

    The registry reads like a read-only mapping: ``name in registry``, ``list(registry)``
    (the names, in registration order, then entry points), ``registry[name]`` (same as
    :meth:`get`) and :meth:`items`.
    """

    def __init__(self, kind: str, group: str, *, name_of: Callable[[Any], str],
                 check: Callable[[Any], str | None] = lambda obj: None,
                 error: type[FerBenchError] = FerBenchError, see: str | None = None):
        self.kind = kind
        self.group = group
        self._name_of = name_of
        self._check = check
        self._error = error
        self._see = see
        self._local: dict[str, T] = {}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, group={self.group!r}, {len(self._local)} registered in code)"

    # -- registering ----------------------------------------------------------------------------------
    def register(self, obj: T | None = None, *, name: str | None = None):
        """Register ``obj`` under ``name`` (default: its own name) for this process.

        Usable as ``registry.register(obj)``, ``@registry.register`` or
        ``@registry.register(name="x")``; returns ``obj``. Registering the same object again
        (or a new definition of the same ``module:qualname``, as when a notebook cell is run
        again) is allowed and keeps the newest; a different object under a taken name raises
        :class:`~fer_bench.errors.DuplicateRegistrationError` naming both; an object that is not
        a plugin of this kind raises ``TypeError``; one without a name ``ValueError``.
        """

        def deco(item: T) -> T:
            why = self._check(item)
            if why:
                raise TypeError(f"cannot register {item!r} as a {self.kind}: {why}")
            key = name or self._name_of(item)
            if not key or key.startswith("<"):  # "" or a lambda's "<lambda>"
                raise ValueError(f"{getattr(item, '__name__', item)!r} has no name; give one: register(obj, name=...)")
            old = self._local.get(key)
            if old is not None and old is not item and target_of(old) != target_of(item):
                raise DuplicateRegistrationError(self._twice(key, [self._code_origin(old), self._code_origin(item)]))
            for ep in self._entry_points().get(key, []):
                if not self._same(item, ep):
                    raise DuplicateRegistrationError(self._twice(key, [_ep_origin(ep), self._code_origin(item)]))
            self._local[key] = item
            return item

        return deco(obj) if obj is not None else deco

    def unregister(self, name: str) -> T | None:
        """Remove a registration made in code (entry points stay); returns what was there."""
        return self._local.pop(name, None)

    @contextlib.contextmanager
    def entry_points_only(self) -> Iterator[None]:
        """``with registry.entry_points_only():`` hides what was registered in code for the
        block, so that it sees what a new process would (tests that run the command line in
        this process); restored after it."""
        saved = dict(self._local)
        self._local.clear()
        try:
            yield
        finally:
            self._local.clear()
            self._local.update(saved)

    @contextlib.contextmanager
    def registered(self, obj: T, *, name: str | None = None) -> Iterator[T]:
        """``with registry.registered(obj):`` registers ``obj`` for the block only (tests).

        A registration of the same name that existed before the block is restored after it."""
        key = name or self._name_of(obj)
        before = self._local.pop(key, None)
        try:
            yield self.register(obj, name=key)
        finally:
            self._local.pop(key, None)
            if before is not None:
                self._local[key] = before

    # -- looking up ---------------------------------------------------------------------------------------
    def _entry_points(self) -> dict[str, list[importlib.metadata.EntryPoint]]:
        """Entry points of the group by name, each distinct target once (no import)."""
        found: dict[str, list[importlib.metadata.EntryPoint]] = {}
        for ep in group_entry_points(self.group):
            same_name = found.setdefault(ep.name, [])
            if all(_ep_target(other) != _ep_target(ep) for other in same_name):
                same_name.append(ep)
        return found

    def _same(self, obj: Any, ep: importlib.metadata.EntryPoint) -> bool:
        """Whether ``ep`` names ``obj`` (by its target, else by loading it: a re-export)."""
        if _ep_target(ep) == target_of(obj):
            return True
        try:
            return ep.load() is obj
        except Exception:  # a broken plugin is not the object; get() reports it
            return False

    def _code_origin(self, obj: Any) -> str:
        return f"{target_of(obj)} (registered in code)"

    def _twice(self, name: str, origins: list[str]) -> str:
        return (f"{self.kind} {name!r} is registered twice: by {' and by '.join(origins)}; "
                "uninstall one or register one under another name")

    def names(self) -> list[str]:
        """Every registered name: those registered in code, in order, then entry points (no import)."""
        names = list(self._local)
        return names + [n for n in self._entry_points() if n not in self._local]

    def entry_point_names(self) -> list[str]:
        """The names that come from entry points (installed packages, fer-bench's own included)."""
        return list(self._entry_points())

    def origin(self, name: str) -> str:
        """Where ``name`` comes from, without importing it: ``"entry point pkg.mod:Obj (distribution
        d)"`` or ``"pkg.mod:Obj (registered in code)"``; an unknown name raises like :meth:`get`."""
        if name in self._local:
            return self._code_origin(self._local[name])
        eps = self._entry_points().get(name)
        if not eps:
            self.get(name)
        return " and ".join(_ep_origin(ep) for ep in eps)

    def in_code(self, name: str) -> T | None:
        """The object registered in code under ``name``, or ``None`` (entry points are not loaded)."""
        return self._local.get(name)

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style ``pattern``, sorted (timm's ``list_models``)."""
        return sorted(n for n in self.names() if fnmatch.fnmatch(n, pattern))

    def get(self, name: str) -> T:
        """The object registered under ``name``, its entry point loaded on first use.

        Raises the registry's error for an unknown name (with the closest names: "did you
        mean"), for an entry point that does not load or names no plugin of this kind, and
        :class:`~fer_bench.errors.DuplicateRegistrationError` when two different objects claim
        the name.
        """
        eps = self._entry_points().get(name, [])
        if name in self._local:
            obj = self._local[name]
            for ep in eps:
                if not self._same(obj, ep):
                    raise DuplicateRegistrationError(self._twice(name, [_ep_origin(ep), self._code_origin(obj)]))
            return obj
        if not eps:
            known = self.names()
            where = f"; see {self._see}" if self._see else f"; use one of {', '.join(known)}"
            raise self._error(f"unknown {self.kind} {name!r}{suggestion(name, known)}{where}")
        loaded = []
        for ep in eps:
            try:
                obj = ep.load()
            except Exception as exc:
                raise self._error(f"{self.kind} {name!r}: {_ep_origin(ep)} cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}") from exc
            why = self._check(obj)
            if why:
                raise self._error(f"entry point {name!r} = {ep.value!r} does not name a {self.kind}: {why}")
            if all(obj is not other for other, _ in loaded):
                loaded.append((obj, ep))
        if len(loaded) > 1:
            raise DuplicateRegistrationError(self._twice(name, [_ep_origin(ep) for _, ep in loaded]))
        return loaded[0][0]

    # -- the mapping view ------------------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._local or name in self._entry_points())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def keys(self) -> list[str]:
        """The names, as :meth:`names` (a mapping's ``keys``)."""
        return self.names()

    def items(self) -> list[tuple[str, T]]:
        """(name, object) of every registration; loads every entry point."""
        return [(n, self.get(n)) for n in self.names()]
