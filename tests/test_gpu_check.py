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
        [sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--dry-run", "--bare-seconds", "1",
         "--results-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    record = json.loads((tmp_path / "gpu_check_dryrun.json").read_text())
    assert record["dry_run"] and record["device"] == "cpu" and record["gpu"] is None
    assert any("resnet101 trained from scratch (weights=none)" in note for note in record["notes"])
    assert [row["method"] for row in record["methods"]] == ["resnet101", "minixception"]
    for row in record["methods"]:
        assert row["error"] is None and row["folds_completed"] == row["folds_expected"] == 3
        assert row["test_oa_mean"] is not None and row["epochs_run"] == [3, 3, 3]
        # the checks are computed from what each fold recorded (a 3-epoch CPU run may or may not
        # lower a random network's loss: that is the GPU run's question, not this test's)
        falls = [last < first for first, last in row["loss_first_last"]]
        assert len(falls) == 3 and row["loss_falls_every_fold"] == all(falls)
        assert row["passed"] == all(falls)
        assert row["train_images_per_s"] > 0 and row["bare_forward_backward_images_per_s"] > 0
        assert row["fraction_of_bare_rate"] > 0 and row["peak_gpu_memory_mib"] is None
        assert row["precision"] == "float32" and row["device_used"] == "cpu"
    assert record["passed"] == all(row["passed"] for row in record["methods"])
    assert proc.returncode == (0 if record["passed"] else 1), proc.stderr[-2000:]
    assert "DRY RUN" in (tmp_path / "gpu_check_dryrun.md").read_text()


def test_gpu_check_refuses_to_run_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--results-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no CUDA GPU" in proc.stderr and not list(tmp_path.iterdir())
