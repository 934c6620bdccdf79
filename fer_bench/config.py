"""One frozen object for the options of a benchmark run.

Its fields, types and defaults come from the one declaration of every run option,
:data:`fer_bench.options.RUN_OPTIONS` (re-exported here), as do the CLI's ``run``
arguments, :meth:`RunConfig.as_command`, the run record, the store's identity, the
accuracy gate's checked keys and ``compare``'s list of what differs.

The command line (``fer-bench run``), the Python API (:func:`fer_bench.run`) and the
accuracy gate (``fer-bench check``) all build a :class:`RunConfig` and hand it to
:func:`fer_bench.runner.execute`; nothing re-passes the options one by one. Validation
happens here, at the edge, with one-line errors naming the option.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, fields, replace

from .errors import FerBenchError
from .files import expand_user
from .folds import SELECTIONS
from .model_selection import PROTOCOLS
from .options import (  # noqa: F401 (re-exported: the declaration's public names)
    BACKENDS,
    DEFAULT_RESULTS_ROOT,
    RUN_OPTIONS,
    Compared,
    RunOption,
    _ordered,
    add_run_arguments,
    available_cores,
    checked_options,
    compared_options,
    identity_keys,
    recorded_options,
    run_option,
)


def _declared_fields(cls):
    """Make ``cls`` the frozen dataclass of :data:`RUN_OPTIONS`' fields, in their order."""
    cls.__annotations__ = {o.name: o.annotation for o in RUN_OPTIONS}
    for o in RUN_OPTIONS:
        setattr(cls, o.name, field(default_factory=o.default_factory) if o.default_factory else o.default)
    return dataclass(frozen=True)(cls)


@_declared_fields
class RunConfig:
    """Every option of a benchmark run (``fer-bench run --help`` describes each).

    ``methods``: ``"all"`` or method specs (``"pca-svm"``, ``"swe-bbo:level=3"``);
    ``dataset``: a spec (``"jaffe:PATH"``); ``test_dataset``: another dataset to test on
    (cross-dataset: train and choose on ``dataset``, test on this one, on the classes both
    have; needs ``protocol="holdout"``, the default then); ``protocol``: a registered
    protocol name (:data:`fer_bench.model_selection.PROTOCOLS`; default ``"paper"``); ``runs``/``folds``/``seed``: the
    protocol's R, K and seed; ``refit``: retrain the chosen model on training +
    validation before testing (Li 2021, §3.6); ``selection``: ``"validation"`` (the
    fold's validation group chooses) or ``"inner-cv"`` (the K−1 non-test groups in turn);
    ``out``: the results directory (default ``fer-bench-results/<dataset>-<protocol>``);
    ``jobs``: parallel processes (default: the available cores); ``backend``/``scheduler``:
    where folds run; ``device``: ``auto``, ``cpu`` or ``cuda`` for PyTorch methods;
    ``face``: the face preprocessing for every method (``none``, ``crop``, ``align``;
    ``method``: each method's own, :mod:`fer_bench.faces`; ``None``: each method's own,
    except ``none`` on datasets of registered face crops, FER2013 and RAF-DB's aligned
    images, see ``Dataset.registered_faces``); ``several_faces``: which face ``crop`` and
    ``align`` use when the detector finds several in an image (``largest``, the default;
    ``central``; or ``drop``: leave such images out before the split; see
    :data:`fer_bench.faces.SEVERAL_FACES`; irrelevant when every method uses ``none``);
    ``cache_dir``: the feature cache;
    ``progress``: progress bars on a terminal, periodic lines otherwise; ``command``:
    the command line recorded with the results.
    """

    # The fields, their types and defaults come from RUN_OPTIONS (see _declared_fields).

    def __post_init__(self):
        methods = self.methods
        if not isinstance(methods, str):
            object.__setattr__(self, "methods", tuple(str(m) for m in methods))
        if self.protocol is None:  # the seed paper's, or holdout when testing on another dataset
            object.__setattr__(self, "protocol", "holdout" if self.test_dataset else "paper")
        if self.protocol not in PROTOCOLS:
            raise FerBenchError(f"--protocol {self.protocol!r}: use one of {', '.join(PROTOCOLS)}")
        if self.test_dataset and self.protocol != "holdout":
            raise FerBenchError(
                f"--test-dataset evaluates once on another dataset: use --protocol holdout (not {self.protocol})"
            )
        fixed = PROTOCOLS[self.protocol].fixed_folds
        if fixed is not None and self.folds != fixed:
            object.__setattr__(self, "folds", fixed)  # e.g. holdout: one test evaluation per run
        if self.selection not in SELECTIONS:
            raise FerBenchError(f"--selection {self.selection!r}: use one of {', '.join(SELECTIONS)}")
        if self.selection == "inner-cv" and not PROTOCOLS[self.protocol].rotating:
            raise FerBenchError(f"--selection inner-cv needs a cross-validation protocol, not {self.protocol}")
        if self.selection == "inner-cv" and not self.refit:
            raise FerBenchError("--selection inner-cv chooses on the non-test groups and needs the refit step; drop --no-refit")
        if self.face is not None:
            from .registry import ImageSpec, with_face

            with_face(ImageSpec(), self.face)  # a bad --face fails before any work
        from .faces import check_rule

        check_rule(self.several_faces)  # a bad --several-faces too
        if self.jobs < 1:
            raise FerBenchError(f"--jobs {self.jobs}: need at least 1")
        if self.backend not in BACKENDS:
            raise FerBenchError(f"--backend {self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.scheduler and self.backend not in ("dask", "auto"):
            raise FerBenchError("--scheduler goes with --backend dask")
        for name in ("out", "cache_dir"):  # "~/x" is the home folder's x, as on the command line
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, expand_user(value))

    def replace(self, **changes) -> RunConfig:
        """A copy with some options changed (validated again)."""
        return replace(self, **changes)

    def as_command(self) -> str:
        """The ``fer-bench run`` command line that gives this configuration (each option as
        its :attr:`RunOption.command` writes it)."""
        parts = ["fer-bench", "run"]
        for option in _ordered([o for o in RUN_OPTIONS if o.command], lambda o: o.command_at):
            parts += option.command(getattr(self, option.name), option.default_value())
        return shlex.join(parts)


def default_of(name: str):
    """The default of the run option ``name`` (its ``default_factory`` called where it has
    one), as declared in :data:`RUN_OPTIONS`. Raises KeyError for an unknown option."""
    return run_option(name).default_value()


def config_fields() -> list[str]:
    """The option names of :class:`RunConfig`, in order."""
    return [f.name for f in fields(RunConfig)]
