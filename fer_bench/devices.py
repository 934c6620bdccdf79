"""The one place that turns ``--device`` into a device name."""

from __future__ import annotations

from .errors import FerBenchError


def resolve_device(device: str | None) -> str:
    """``auto`` (or ``None``) becomes ``cuda`` when PyTorch sees a GPU, else ``cpu``;
    ``cpu``, ``cuda`` and ``cuda:N`` are returned as given.

    Raises :class:`~fer_bench.errors.FerBenchError` for another value, or for a CUDA
    device when PyTorch sees none. PyTorch is imported only when needed (``auto`` or
    ``cuda``), so listing and classical runs never load it.
    """
    if device is None or device == "auto":
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        try:
            import torch
        except ImportError:
            raise FerBenchError(f"--device {device}: PyTorch is not installed") from None
        if not torch.cuda.is_available():
            raise FerBenchError(f"--device {device}: PyTorch sees no CUDA GPU here; use --device cpu or auto")
        return device
    raise FerBenchError(f"--device {device!r}: use auto, cpu, cuda or cuda:N")
