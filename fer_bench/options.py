"""Every option of a benchmark run, declared once: :class:`RunOption` and :data:`RUN_OPTIONS`.

The ``run`` sub-command's arguments, :class:`~fer_bench.config.RunConfig`'s fields and
defaults, ``as_command``, the run record, the store's identity
(:data:`fer_bench.store.IDENTITY_KEYS`), the accuracy gate's checked keys, reference and
re-run (:mod:`fer_bench.gate`) and ``compare``'s list of what differs are all derived from
this one declaration; adding an option is one entry here plus the code that uses it.

This module is light and upstream of everything (the store and reporting read it): it
imports no engine module. Choices that live in the engine are named as ``"module:attribute"``
and read when the parser is built; validation beyond choices is
:meth:`fer_bench.config.RunConfig.__post_init__`'s.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import user_path

#: Where results go when ``--out`` is not given: a folder of the current directory that
#: the repository ignores, never the tracked ``results/`` (which holds references).
DEFAULT_RESULTS_ROOT = Path("fer-bench-results")
BACKENDS = ("auto", "serial", "joblib", "dask")


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


#: "Not given" for :class:`RunOption`'s ``cli_default`` and ``absent`` (None is a value there).
_SAME = "<the option's default>"


def _protocol_help() -> str:
    from .model_selection import PROTOCOLS

    return "; ".join(f"{name}: {cls.title}" for name, cls in PROTOCOLS.items()) + " (default paper; holdout with --test-dataset)"


def _protocol_names() -> list[str]:
    from .model_selection import PROTOCOLS

    return list(PROTOCOLS)


def _resolve(reference: str):
    """The object a ``"module:attribute"`` reference names (imported now)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Compared:
    """How ``fer-bench compare`` names an option among the settings that differ between the two
    runs of a leakage view: ``words``; ``at``: its place among compare's lines (default: its
    place in :data:`RUN_OPTIONS`); ``show``: the name of the
    :mod:`fer_bench.reporting.markdown` function that writes the values in words (options
    sharing one :class:`Compared`, such as runs and folds, are shown together, their values
    in order; None: the value itself, None as "each method's default");
    ``none_is_unused``: a recorded ``None`` means the option was not applied (no line then)."""

    words: str
    at: float | None = None
    show: str | None = None
    none_is_unused: bool = False


def _always(flag: str) -> Callable[[Any, Any], list[str]]:
    """``flag value``, always (a sequence of method specs as a comma list)."""
    return lambda value, default: [flag, value if isinstance(value, str) else
                                   ",".join(value) if isinstance(value, (tuple, list)) else str(value)]


def _when_set(flag: str) -> Callable[[Any, Any], list[str]]:
    return lambda value, default: [] if value is None else [flag, str(value)]


def _unless_default(flag: str) -> Callable[[Any, Any], list[str]]:
    return lambda value, default: [] if value == default else [flag, str(value)]


@dataclass(frozen=True)
class RunOption:
    """One option of a benchmark run, declared once (see the module docstring).

    ``name``: the :class:`RunConfig` field and keyword of :func:`fer_bench.run`;
    ``annotation``: its type, as text; ``default``/``default_factory``: its default;
    ``flags``: its ``fer-bench run`` flags (none: not on the command line); ``type``: the
    argparse converter (``bool`` options are switches: ``action``); ``cli_default``: the
    parser's default where it differs from ``default`` (``--jobs``: None, the cores then);
    ``choices``: the allowed values, a callable giving them or a ``"module:attribute"``
    naming them, read when the parser is built (registries and the engine are read then, not
    at import); ``help``: text or a callable giving it;
    ``record``: its key in the run record (``results.sqlite`` meta ``config``, ``run.json``;
    None: not recorded); ``absent``: the value a record without that key stands for (records
    written before the option existed; default: ``default``); ``identity``: a different value
    refuses to resume a results directory; ``identity_at``: its place in the store's refusal
    (default: its place here); ``checked``: the accuracy gate compares it with a reference's
    and re-runs the reference with it; ``command``: how :meth:`RunConfig.as_command` writes it,
    ``(value, default) -> [words]`` (None: not written); ``command_at``: its place there;
    ``compare``: how ``fer-bench compare`` names it (:class:`Compared`; None: not compared).
    """

    name: str
    annotation: str
    default: Any = None
    default_factory: Callable[[], Any] | None = None
    flags: tuple[str, ...] = ()
    type: Callable | None = None
    cli_default: Any = _SAME
    choices: Sequence | Callable[[], Sequence] | str | None = None
    metavar: str | None = None
    help: str | Callable[[], str] = ""
    record: str | None = None
    absent: Any = _SAME
    identity: bool = False
    identity_at: float | None = None
    checked: bool = False
    command: Callable[[Any, Any], list[str]] | None = None
    command_at: float | None = None
    compare: Compared | None = None

    def default_value(self):
        """The default (its factory called where it has one)."""
        return self.default_factory() if self.default_factory is not None else self.default

    def from_record(self, record: dict, none_is_default: bool = False):
        """The option's value in a run record or reference ``config`` (``absent`` where the
        key is missing; the default where the value is then None and ``none_is_default``, for
        re-running a run), converted by ``type`` (``int``, ``bool``) where it is not None."""
        value = record.get(self.record, self.default_value() if self.absent is _SAME else self.absent)
        if value is None and none_is_default:
            value = self.default_value()
        return self.type(value) if self.type in (int, bool) and value is not None else value

    def add_argument(self, parser) -> None:
        """Add this option's flags to ``parser`` (an ``argparse`` parser or group)."""
        if not self.flags:
            return
        default = self.default_value() if self.cli_default is _SAME else self.cli_default
        kwargs: dict[str, Any] = {"dest": self.name}
        if self.type is bool:  # a switch that turns the default off (--no-refit) or on
            kwargs["action"] = "store_false" if default else "store_true"
        else:
            kwargs["default"] = default
            if self.type is not None:
                kwargs["type"] = self.type
            if self.choices is not None:
                choices = self.choices
                choices = choices() if callable(choices) else _resolve(choices) if isinstance(choices, str) else choices
                kwargs["choices"] = list(choices)
            if self.metavar is not None:
                kwargs["metavar"] = self.metavar
        kwargs["help"] = self.help() if callable(self.help) else self.help
        parser.add_argument(*self.flags, **kwargs)


_SIZE = Compared("size", at=-1, show="runs_by_folds")

#: Every option of a benchmark run, in the order of ``fer-bench run --help``.
RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption("methods", "tuple[str, ...] | str", "all", flags=("--methods",), command=_always("--methods"),
              help="'all' or a comma list, e.g. pca-svm,swe-bbo:level=3 (default all; see fer-bench methods -v)"),
    RunOption("dataset", "str", "synthetic", flags=("--dataset",), record="dataset_spec", command=_always("--dataset"),
              help="synthetic (default), jaffe:PATH, folder:PATH, manifest:CSV, ckplus:PATH, kdef:PATH, fer2013:PATH, "
                   "rafdb:PATH (see fer-bench datasets)"),
    RunOption("test_dataset", "str | None", None, flags=("--test-dataset",), metavar="SPEC",
              record="test_dataset_spec", identity=True,
              command=lambda value, default: ["--test-dataset", value] if value else [],
              help="cross-dataset: train and choose on --dataset, test on this dataset (shared classes only; "
                   "implies --protocol holdout)"),
    RunOption("protocol", "str | None", None, flags=("--protocol",), choices=_protocol_names,
              help=_protocol_help, record="protocol", absent="paper", identity=True, checked=True,
              command=_always("--protocol")),
    RunOption("runs", "int", 10, flags=("--runs",), type=int, record="runs", identity=True, checked=True,
              command=_always("--runs"), compare=_SIZE,
              help="repetitions with reshuffled groups (default 10)"),
    RunOption("folds", "int", 10, flags=("--folds",), type=int, record="folds", identity=True, identity_at=3.5,
              checked=True, command=_always("--folds"), compare=_SIZE,
              help="groups K per run (default 10; with --protocol subject, the number of people is "
                   "leave-one-subject-out)"),
    RunOption("seed", "int", 0, flags=("--seed",), type=int, record="seed", absent=None, identity=True, checked=True,
              command=_always("--seed"), compare=Compared("seed"),
              help="seed of the splits and fits (default 0)"),
    RunOption("refit", "bool", True, flags=("--no-refit",), type=bool, record="refit", identity=True, checked=True,
              command=lambda value, default: [] if value else ["--no-refit"], compare=Compared("refit"),
              help="keep the model trained on the training groups instead of retraining the chosen one on "
                   "training + validation (Li 2021 §3.6; refit is the default)"),
    RunOption("selection", "str", "validation", flags=("--selection",), choices="fer_bench.folds:SELECTIONS", record="selection",
              identity=True, checked=True, command=_unless_default("--selection"),
              compare=Compared("model selection", at=6.5),
              help="validation: each fold's validation group chooses hyperparameters (default); inner-cv: the K-1 "
                   "non-test groups in turn (K-1 times the fits)"),
    RunOption("out", "Path | None", None, flags=("--out",), type=user_path, command=_when_set("--out"), command_at=99,
              help=f"results directory (default {DEFAULT_RESULTS_ROOT}/<dataset>-<protocol>)"),
    RunOption("device", "str", "auto", flags=("--device",),
              help="auto, cpu or cuda for methods that use PyTorch"),
    RunOption("face", "str | None", None, flags=("--face",), record="face", identity=True, checked=True,
              command=_when_set("--face"), compare=Compared("face preprocessing", at=5.1),
              help="face preprocessing for every method: none, crop or align (default: each method's own, "
                   "see `fer-bench methods`, except none on fer2013 and rafdb's aligned images, which are registered "
                   "face crops); method: each method's own on those too"),
    RunOption("several_faces", "str", "largest", flags=("--several-faces",), choices="fer_bench.faces:SEVERAL_FACES",
              record="several_faces", absent=None, identity=True, checked=True,
              command=_unless_default("--several-faces"),
              compare=Compared("rule for images with several faces", at=5.2, none_is_unused=True),
              help="which face crop and align use when several are found in an image: largest (default; then "
                   "the most central, then the detector's score), central (then the largest), or drop (leave "
                   "such images out before the split); counted and named in the output and run.json"),
    RunOption("jobs", "int", default_factory=available_cores, flags=("--jobs",), type=int, cli_default=None,
              help=lambda: f"processes fitting folds in parallel (default: the available cores, {available_cores()} here)"),
    RunOption("backend", "str", "auto", flags=("--backend",), choices=BACKENDS, help="parallel backend"),
    RunOption("scheduler", "str | None", None, flags=("--scheduler",),
              help="Dask scheduler address (with --backend dask)"),
    RunOption("cache_dir", "Path | None", None, flags=("--cache-dir",), type=user_path,
              help="feature cache (default $FER_BENCH_CACHE or ~/.cache/fer-bench)"),
    RunOption("progress", "bool", True, flags=("-q", "--quiet"), type=bool,
              help="no progress bars or progress lines"),
    RunOption("command", "str | None", None),  # the command line recorded with the results; set by the CLI
)

#: Record keys that come from the data, not from an option, and where they stand in the
#: store's identity (a place among :data:`RUN_OPTIONS`' ``identity_at`` positions).
DATA_IDENTITY = {"dataset_fingerprint": -1, "classes": 11.5}


def _ordered(options, at: Callable[[RunOption], float | None]) -> list[RunOption]:
    """``options`` ordered by ``at`` (their place in :data:`RUN_OPTIONS` where it is None)."""
    index = {o.name: i for i, o in enumerate(RUN_OPTIONS)}
    return sorted(options, key=lambda o: index[o.name] if at(o) is None else at(o))


def run_option(name: str) -> RunOption:
    """The declaration of option ``name``; KeyError for an unknown option."""
    for option in RUN_OPTIONS:
        if option.name == name:
            return option
    raise KeyError(name)


def add_run_arguments(parser) -> None:
    """Add every declared option with flags to ``parser`` (the ``run`` sub-command), in order."""
    for option in RUN_OPTIONS:
        option.add_argument(parser)


def identity_keys() -> tuple[str, ...]:
    """The run record's keys that must match for a results directory to be resumed."""
    index = {o.name: i for i, o in enumerate(RUN_OPTIONS)}
    places = dict(DATA_IDENTITY)
    for option in RUN_OPTIONS:
        if option.identity:
            places[option.record] = index[option.name] if option.identity_at is None else option.identity_at
    return tuple(sorted(places, key=places.get))


def checked_options() -> list[RunOption]:
    """The options the accuracy gate compares with a reference and re-runs it with, in order."""
    return [o for o in RUN_OPTIONS if o.checked]


def compared_options() -> list[list[RunOption]]:
    """The options ``compare`` names, grouped by their :class:`Compared` (shown together), in compare's order."""
    groups: dict[int, list[RunOption]] = {}
    for option in _ordered([o for o in RUN_OPTIONS if o.compare], lambda o: o.compare.at):
        groups.setdefault(id(option.compare), []).append(option)
    return list(groups.values())


def recorded_options(config, **values) -> dict[str, Any]:
    """The run record's entries of ``config``'s recorded options (key ``record``), each
    ``getattr(config, name)`` (``config``: a :class:`~fer_bench.config.RunConfig`) unless ``values`` gives what the run resolved it to (e.g. the
    dataset spec as loaded)."""
    return {o.record: values[o.name] if o.name in values else getattr(config, o.name)
            for o in RUN_OPTIONS if o.record}
