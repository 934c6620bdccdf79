"""fer-bench: facial expression recognition methods compared under one protocol.

The Python API is the product; the ``fer-bench`` command is a thin layer over it:

>>> import fer_bench
>>> res = fer_bench.run(methods=["pca-svm"], dataset="jaffe:../shared/datasets/jaffe",
...                     protocol="subject", runs=10, out="results/jaffe-subject")  # doctest: +SKIP
>>> res.table2()                                    # doctest: +SKIP
>>> fer_bench.load_results("results/jaffe-subject").table3()  # doctest: +SKIP

Modules by concern: :mod:`~fer_bench.datasets` (sources, fingerprints),
:mod:`~fer_bench.preprocess` (shared, cached image preparation),
:mod:`~fer_bench.model_selection` (the protocols' splits, validation-group selection),
:mod:`~fer_bench.registry` (the method plugin API), :mod:`~fer_bench.metrics` (eqs. 7-8),
:mod:`~fer_bench.store` (SQLite results), :mod:`~fer_bench.results` and
:mod:`~fer_bench.report` (tables), :mod:`~fer_bench.runner` (the engine).
"""

__version__ = "0.1.0"

from .datasets import Dataset, load_dataset  # noqa: E402
from .errors import FerBenchError  # noqa: E402
from .registry import (  # noqa: E402
    ImageSpec,
    Method,
    create_method,
    get_method_class,
    list_methods,
    register_method,
)
from .results import Results, load_results  # noqa: E402
from .runner import run  # noqa: E402

__all__ = [
    "Dataset",
    "FerBenchError",
    "ImageSpec",
    "Method",
    "Results",
    "create_method",
    "get_method_class",
    "list_methods",
    "load_dataset",
    "load_results",
    "register_method",
    "run",
]
