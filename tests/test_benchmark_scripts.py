"""Every script in benchmarks/ still fits the package it measures.

The scripts are not run by the suite (they take minutes to hours), so a rename in
``fer_bench`` used to break one silently: ``bench_feature_cache.py`` imported
``make_groups`` for months after it was removed. These checks are cheap: every
``from fer_bench… import name`` in a script, at module level or inside a function,
names something that exists, and every script answers ``--help``.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def fer_bench_imports(path: Path) -> list[tuple[str, str, int]]:
    """(module, name, line) of every ``from fer_bench[...] import name`` in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in (
            "fer_bench", "fer_bench_baselines"
        ):
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


def test_scripts_are_found():
    assert len(SCRIPTS) >= 10 and any(p.name == "bench_feature_cache.py" for p in SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_imported_name_exists(path):
    missing = []
    for module, name, line in fer_bench_imports(path):
        imported = importlib.import_module(module)
        if not hasattr(imported, name):
            try:  # a submodule imported by name (from fer_bench import weights)
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{path.name}:{line}: {module}.{name}")
    assert not missing, "names the benchmarks import that fer_bench no longer has: " + ", ".join(missing)


def test_the_check_finds_a_removed_name(tmp_path):
    script = tmp_path / "bench_old.py"
    script.write_text("def main():\n    from fer_bench.model_selection import make_groups\n")
    assert fer_bench_imports(script) == [("fer_bench.model_selection", "make_groups", 2)]
    assert not hasattr(importlib.import_module("fer_bench.model_selection"), "make_groups")


@pytest.mark.parametrize("path", [p for p in SCRIPTS if "argparse" in p.read_text()], ids=lambda p: p.name)
def test_every_script_answers_help(path):
    proc = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120,
                          cwd=BENCHMARKS.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout
