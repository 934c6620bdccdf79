"""fer-bench: facial expression recognition methods compared under one protocol.

The Python API is the product; the ``fer-bench`` command is a thin layer over it:

>>> import fer_bench
>>> from fer_bench.reporting import table2, table3
>>> res = fer_bench.run(methods=["pca-svm"], dataset="jaffe:../shared/datasets/jaffe",
...                     protocol="subject", runs=10)  # doctest: +SKIP
>>> table2(res)                                    # doctest: +SKIP
>>> table3(fer_bench.load_results(res.out))        # doctest: +SKIP

Modules by concern: :mod:`~fer_bench.datasets` (sources, fingerprints),
:mod:`~fer_bench.preprocess` (shared, cached image preparation),
:mod:`~fer_bench.model_selection` (protocols, splits and their invariants, validation-group
selection), :mod:`~fer_bench.registry` and :mod:`~fer_bench.params` (the method plugin API and
declared parameters), :mod:`~fer_bench.config` (the run options), :mod:`~fer_bench.folds` (one
fold's fit, refit and predict), :mod:`~fer_bench.runner` and :mod:`~fer_bench.executors` (the
engine), :mod:`~fer_bench.store` (SQLite results), :mod:`~fer_bench.metrics` (eqs. 7-8),
:mod:`~fer_bench.results` (read-only results) and :mod:`~fer_bench.reporting` (tables,
statistics, plots, HTML, compare).
"""

__version__ = "0.1.0"

from .config import RunConfig  # noqa: E402
from .datasets import Dataset, load_dataset  # noqa: E402
from .errors import FerBenchError  # noqa: E402
from .registry import (  # noqa: E402
    ImageSpec,
    Method,
    MethodSpec,
    create_method,
    get_method_class,
    list_methods,
    register_method,
)
from .results import Results, load_results  # noqa: E402
from .runner import run  # noqa: E402

__all__ = [
    "Dataset",
    "RunConfig",
    "FerBenchError",
    "ImageSpec",
    "Method",
    "MethodSpec",
    "Results",
    "create_method",
    "get_method_class",
    "list_methods",
    "load_dataset",
    "load_results",
    "register_method",
    "run",
]
