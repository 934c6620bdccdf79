"""What a result was computed on: packages, CPU/GPU, git revision (benchopt-style)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = (
    "fer-bench", "numpy", "scipy", "scikit-learn", "scikit-image", "PyWavelets", "pandas",
    "torch", "torchvision", "Pillow", "joblib",
)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_revision() -> str | None:
    """The fer-bench source tree's commit (with ``-dirty`` if modified), if it is a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_info() -> list[str]:
    """Names of visible CUDA devices, without importing torch unless it is already loaded."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return []
    try:
        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:
        pass
    return []


def collect_environment() -> dict:
    """What the results record about the machine: Python, platform, CPU, GPUs, package versions, git revision."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_info(),
        "packages": {p: v for p in PACKAGES if (v := _version(p))},
        "git_revision": git_revision(),
    }
