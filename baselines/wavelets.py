"""Checking a wavelet method's PyWavelets choices when it is built, without importing
PyWavelets for the declared defaults.

``fer-bench methods`` builds every method with its defaults to show its input and unmet
requirements; it must not import PyWavelets, scikit-learn or SciPy to do so (issue 10:
under 2 s and 150 MB). So :func:`check_wavelet_choices` checks only the values that
differ from their declared defaults, which ``tests/test_baselines.py`` checks against
PyWavelets once. Without PyWavelets installed nothing is checked here:
:meth:`fer_bench.registry.Method.unmet_requirements` reports the missing module
(``requirements`` names ``pywt``), and the run refuses the method.
"""

from __future__ import annotations

import importlib.util

from fer_bench.errors import FerBenchError
from fer_bench.registry import Method


def check_wavelet_choices(method: Method, keys: tuple[str, ...] = ("wavelet",)) -> None:
    """Raise :class:`~fer_bench.errors.FerBenchError` when a non-default value of one of
    ``keys`` is not known to PyWavelets.

    ``keys`` names declared parameters of ``method``: ``"wavelet"`` must be in
    ``pywt.wavelist(kind="discrete")``, ``"wavelet_mode"`` in ``pywt.Modes.modes`` (the
    signal extension modes). Values equal to their declared default are not checked (see
    the module docstring); PyWavelets is imported only when a value is checked.
    """
    changed = {key: getattr(method, key) for key in keys if getattr(method, key) != method.parameters[key].default}
    if not changed or importlib.util.find_spec("pywt") is None:
        return
    import pywt

    if "wavelet" in changed and changed["wavelet"] not in pywt.wavelist(kind="discrete"):
        raise FerBenchError(f"{method.name}: wavelet={changed['wavelet']!r} is not a discrete wavelet known to PyWavelets")
    if "wavelet_mode" in changed and changed["wavelet_mode"] not in pywt.Modes.modes:
        raise FerBenchError(f"{method.name}: wavelet_mode={changed['wavelet_mode']!r}; use one of {pywt.Modes.modes}")
