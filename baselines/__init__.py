"""fer-bench's re-implementations of the classical FER methods.

Imported as ``fer_bench_baselines`` (this folder is mapped to that name in
``pyproject.toml``, so it cannot clash with other packages called ``baselines``). Each
method lives in one module and is registered through the ``fer_bench.methods``
entry-point group exactly as a third-party plugin would be.
"""
