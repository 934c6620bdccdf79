"""benchmarks/gpu_check.py: the prepared GPU check, run here on a tiny CPU setting.

This proves the script runs end to end (engine, checks, bare-rate measurement, output
files); it says nothing about a GPU's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--dry-run", "--results-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "gpu_check_dryrun.json").read_text())
    assert record["dry_run"] and record["passed"] and record["device"] == "cpu" and record["gpu"] is None
    assert any("resnet101 trained from scratch (weights=none)" in note for note in record["notes"])
    assert [row["method"] for row in record["methods"]] == ["resnet101", "minixception"]
    for row in record["methods"]:
        assert row["folds_completed"] == row["folds_expected"] == 3
        assert row["loss_falls_every_fold"] and all(last < first for first, last in row["loss_first_last"])
        assert row["train_images_per_s"] > 0 and row["bare_forward_backward_images_per_s"] > 0
        assert 0 < row["fraction_of_bare_rate"] and row["peak_gpu_memory_mib"] is None
        assert row["precision"] == "float32" and row["device_used"] == "cpu"
    assert "DRY RUN" in (tmp_path / "gpu_check_dryrun.md").read_text()


def test_gpu_check_refuses_to_run_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--results-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no CUDA GPU" in proc.stderr and not list(tmp_path.iterdir())
