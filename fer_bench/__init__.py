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
declared parameters), :mod:`~fer_bench.registries` (the one registry of methods, dataset sources
and protocols), :mod:`~fer_bench.testing` (the method contract as a test kit),
:mod:`~fer_bench.imagespec` (how a method wants its images), :mod:`~fer_bench.config` (the run options), :mod:`~fer_bench.folds` (one
fold's fit, refit and predict), :mod:`~fer_bench.runner` and :mod:`~fer_bench.executors` (the
engine), :mod:`~fer_bench.store` (SQLite results), :mod:`~fer_bench.metrics` (eqs. 7-8),
:mod:`~fer_bench.results` (read-only results) and :mod:`~fer_bench.reporting` (tables,
statistics, plots, HTML, compare).
"""

__version__ = "0.1.0"

# The public names are imported on first use (PEP 562), so that ``import fer_bench``
# and the listing commands (``fer-bench methods``, ``datasets``, ``weights list``) do
# not pay for pandas, scikit-learn or torch (issue 10: listing under 2 s / 150 MB).
_EXPORTS = {
    "RunConfig": "config",
    "Dataset": "datasets",
    "load_dataset": "datasets",
    "FerBenchError": "errors",
    "ImageSpec": "imagespec",
    "Method": "registry",
    "MethodSpec": "registry",
    "create_method": "registry",
    "get_method_class": "registry",
    "list_methods": "registry",
    "register_method": "registry",
    "Results": "results",
    "load_results": "results",
    "run": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    import importlib

    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
