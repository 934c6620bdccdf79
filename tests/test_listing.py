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
    if args == ["weights", "list"]:  # nor the reporting stack (methods: scikit-learn, via the baselines, does)
        assert report["reporting"] == [], report


def test_the_probe_would_see_torch():
    """Control: the same probe reports torch when a command does import it (``--all``)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["weights", "list", "--all"])],
                          capture_output=True, text=True, timeout=300)
    assert "torch" in json.loads(proc.stdout.strip().splitlines()[-1])["loaded"]
