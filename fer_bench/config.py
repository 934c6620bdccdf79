"""One frozen object for the options of a benchmark run.

The command line (``fer-bench run``), the Python API (:func:`fer_bench.run`) and the
accuracy gate (``fer-bench check``) all build a :class:`RunConfig` and hand it to
:func:`fer_bench.runner.execute`; nothing re-passes the options one by one. Validation
happens here, at the edge, with one-line errors naming the option.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import FerBenchError
from .files import expand_user
from .folds import SELECTIONS
from .model_selection import PROTOCOLS

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


@dataclass(frozen=True)
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

    methods: tuple[str, ...] | str = "all"
    dataset: str = "synthetic"
    test_dataset: str | None = None
    protocol: str | None = None
    runs: int = 10
    folds: int = 10
    seed: int = 0
    refit: bool = True
    selection: str = "validation"
    out: Path | None = None
    jobs: int = field(default_factory=available_cores)
    backend: str = "auto"
    scheduler: str | None = None
    device: str = "auto"
    face: str | None = None
    several_faces: str = "largest"
    cache_dir: Path | None = None
    progress: bool = True
    command: str | None = None

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
        """The ``fer-bench run`` command line that gives this configuration."""
        methods = self.methods if isinstance(self.methods, str) else ",".join(self.methods)
        parts = ["fer-bench", "run", "--methods", methods, "--dataset", self.dataset]
        if self.test_dataset:
            parts += ["--test-dataset", self.test_dataset]
        parts += ["--protocol", self.protocol,
                 "--runs", str(self.runs), "--folds", str(self.folds), "--seed", str(self.seed)]
        if not self.refit:
            parts.append("--no-refit")
        if self.selection != "validation":
            parts += ["--selection", self.selection]
        if self.face is not None:
            parts += ["--face", self.face]
        if self.several_faces != default_of("several_faces"):
            parts += ["--several-faces", self.several_faces]
        if self.out is not None:
            parts += ["--out", str(self.out)]
        return shlex.join(parts)


def default_of(name: str):
    """The default of :class:`RunConfig`'s option ``name`` (its ``default_factory`` called
    where it has one): the one place a run's defaults are written, for code that rebuilds
    a run from a partial record (the gate). Raises KeyError for an unknown option."""
    from dataclasses import MISSING

    option = next((f for f in fields(RunConfig) if f.name == name), None)
    if option is None:
        raise KeyError(name)
    return option.default_factory() if option.default is MISSING else option.default


def config_fields() -> list[str]:
    """The option names of :class:`RunConfig`, in order."""
    return [f.name for f in fields(RunConfig)]
