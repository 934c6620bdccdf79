"""Listing methods, datasets and model files must not import the deep learning stack
(issue 10: ``fer-bench methods`` used to import torch, ~0.9 GB and tens of seconds)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, json, sys
from fer_bench.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(json.loads(sys.argv[1]))
print(json.dumps({"exit": code, "lines": len(out.getvalue().splitlines()),
                  "loaded": sorted(m for m in ("torch", "torchvision", "dlib", "h5py") if m in sys.modules),
                  "reporting": sorted(m for m in ("pandas", "scipy") if m in sys.modules)}))
"""


@pytest.mark.parametrize("args", [["methods"], ["methods", "-v"], ["weights", "list"], ["datasets"]])
def test_listing_does_not_import_torch(args):
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0 and report["lines"] > 3
    assert report["loaded"] == [], f"fer-bench {' '.join(args)} imported {report['loaded']}"
    if args != ["datasets"]:  # nor the reporting stack (describing the datasets reads tables with pandas)
        assert report["reporting"] == [], report


@pytest.mark.slow
def test_the_probe_would_see_torch():
    """Control: the same probe reports torch when a command does import it (``--all``)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["weights", "list", "--all"])],
                          capture_output=True, text=True, timeout=300)
    assert "torch" in json.loads(proc.stdout.strip().splitlines()[-1])["loaded"]


HEAVY = ("torch", "torchvision", "sklearn", "scipy", "pandas", "pywt", "skimage", "matplotlib")
#: Runs the listing with some modules made unimportable (``sys.modules[name] = None``: ``import``
#: raises ModuleNotFoundError and ``importlib.util.find_spec`` answers None, as for a module that
#: is not installed), then reports the output and which heavy modules were imported.
LISTING_PROBE = """
import contextlib, io, json, sys
blocked, heavy, args = (json.loads(a) for a in sys.argv[1:4])
for name in blocked:
    sys.modules[name] = None
from fer_bench.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(args)
print(json.dumps({"exit": code, "output": out.getvalue(),
                  "imported": sorted(m for m in heavy if m not in blocked and sys.modules.get(m) is not None)}))
"""


def run_listing(args, blocked=()):
    proc = subprocess.run([sys.executable, "-c", LISTING_PROBE, json.dumps(list(blocked)), json.dumps(HEAVY),
                           json.dumps(args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["methods"], ["methods", "-v"]])
def test_methods_listing_imports_no_numerical_stack(args):
    """Issue 10: listing the methods (their metadata, parameters and unmet requirements) loads
    none of the libraries the classical baselines compute with, nor torch or matplotlib."""
    report = run_listing(args)
    assert report["exit"] == 0 and "requirements: pywt, sklearn" in report["output"]
    assert report["imported"] == [], f"fer-bench {' '.join(args)} imported {report['imported']}"


def test_methods_listing_reports_a_missing_library_as_unmet():
    """Without PyWavelets the wavelet methods are still listed, each with PyWavelets unmet."""
    report = run_listing(["methods"], blocked=["pywt"])
    assert report["exit"] == 0, report
    entries = report["output"].split("\n")
    for name in ("dwt-pca-cso", "swe-bbo", "bwe-fsvm"):
        line = next(i for i, text in enumerate(entries) if text.startswith(f"{name}: "))
        requirements = next(text for text in entries[line:] if "requirements:" in text)
        assert "[unmet: Python module 'pywt' is not installed" in requirements, requirements
    pca = next(i for i, text in enumerate(entries) if text.startswith("pca-svm: "))
    assert "unmet" not in next(text for text in entries[pca:] if "requirements:" in text)
