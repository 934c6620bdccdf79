"""Torch utilities the deep strategies share: device, tensors, precision, seeding,
augmentation, input normalisation. torch is imported inside each function, so importing
this module (and listing methods) never imports torch.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from ..errors import FerBenchError


def torch_device(device: str):
    """``auto`` → CUDA when available, else the CPU; anything else as given."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FerBenchError(f"device {device!r} requested but PyTorch sees no CUDA GPU")
    return dev


def to_tensor(images: np.ndarray, channels: int = 3):
    """N×H×W×3 float32 in [0, 1] (or N×H×W gray) → an N×C×H×W CPU tensor: gray is
    replicated to 3 channels, or kept as 1 (``channels=1``; RGB is then averaged)."""
    import torch

    array = np.ascontiguousarray(images, dtype=np.float32)
    if not array.flags.writeable:  # a read-only cache memory-map: torch wants its own copy
        array = array.copy()
    if array.ndim == 3:
        array = array[..., None]
    if channels == 3 and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=3)
    elif channels == 1 and array.shape[-1] == 3:
        array = array.mean(axis=3, keepdims=True)
    return torch.from_numpy(array).permute(0, 3, 1, 2)


def logits_of(output):
    """Inception-style models return a named tuple in training mode."""
    return output.logits if hasattr(output, "logits") else output


def precision_for(device) -> tuple[Any, str]:
    """(autocast dtype or None, label): bfloat16 where the GPU supports it, else float16."""
    import torch

    if device.type != "cuda":
        return None, "float32"
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, "bfloat16"
    return torch.float16, "float16"


def autocast(device, dtype):
    """``torch.autocast`` on ``device.type`` with ``dtype`` (from :func:`precision_for`), or a
    no-op context when ``dtype`` is ``None`` (the CPU, or ``amp=False``: float32 throughout).
    Inside it, matrix products and convolutions run in ``dtype``; losses are computed on
    ``.float()`` logits outside the low-precision path (PyTorch AMP docs, "Autocasting")."""
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@contextlib.contextmanager
def reproducible(device, seed: int):
    """Seed torch for this block only (the global RNG state is restored afterwards) and,
    on the CPU, use deterministic algorithms; on CUDA let cuDNN pick the fastest ones."""
    import torch

    devices = [device.index or 0] if device.type == "cuda" else []
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    was_benchmark = torch.backends.cudnn.benchmark
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        else:
            torch.backends.cudnn.benchmark = True
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
            torch.backends.cudnn.benchmark = was_benchmark


def augment(batch, generator, crop_scale: float, max_rotation: float, flip: bool):
    """Random crop (side fraction in [crop_scale, 1], anywhere in the image), horizontal
    flip and rotation, as one affine resampling of the whole batch (on its device).

    Parameters are drawn on the CPU ``generator``, so a seed gives the same augmentation
    on any device.
    """
    import torch
    import torch.nn.functional as F

    n = batch.shape[0]
    scale = crop_scale + (1.0 - crop_scale) * torch.rand(n, generator=generator)
    angle = (2 * torch.rand(n, generator=generator) - 1) * math.radians(max_rotation)
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    shift = (2 * torch.rand(n, 2, generator=generator) - 1) * (1 - scale)[:, None]
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # theta maps output coordinates to input coordinates in [-1, 1]: a crop of side
    # `scale` centred at `shift`, rotated, mirrored in x.
    theta = torch.stack(
        [torch.stack([cos * mirror, -sin, shift[:, 0]], 1), torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1
    ).to(device=batch.device, dtype=batch.dtype)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def prepare(images, device, mean, std, channels: int, channels_last: bool | None = None):
    """A CPU N×H×W(×3) array slice → an N×``channels``×H×W tensor on ``device``,
    normalised by per-channel ``mean`` and ``std``, in channels-last memory order on a GPU
    (or when ``channels_last`` says so)."""
    import torch

    batch = to_tensor(images, channels).to(device, non_blocking=True)
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    batch = (batch - mean_t) / std_t
    if channels_last or (channels_last is None and device.type == "cuda"):
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def view_geometry(n_views: int, seed: int, crop_scale: float, max_rotation: float) -> list[tuple[float, ...]]:
    """The fixed geometry of views 2 … ``n_views``-1 (views 0 and 1 are the image and its
    mirror): one (scale, angle in radians, shift x, shift y, mirror ±1) per view, drawn from
    ``numpy.random.default_rng([seed, view])``: a crop of side ``scale`` ∈ [``crop_scale``, 1]
    of the image side at a random position inside it, rotated by up to ±``max_rotation``
    degrees; odd views are also mirrored. Every image gets the same view k, so a view of an
    image does not depend on the other images (the features may be extracted in chunks)."""
    out = []
    for view in range(2, n_views):
        rng = np.random.default_rng([seed, view])
        scale = crop_scale + (1.0 - crop_scale) * rng.random()
        angle = (2 * rng.random() - 1) * math.radians(max_rotation)
        shift_x, shift_y = (2 * rng.random(2) - 1) * (1 - scale)
        out.append((scale, angle, shift_x, shift_y, -1.0 if view % 2 else 1.0))
    return out


def fixed_views(batch, geometry: list[tuple[float, ...]]) -> list:
    """[batch, its mirror, one affine resampling of it per entry of ``geometry``
    (:func:`view_geometry`; bilinear, reflection padding)], each N×C×H×W on the batch's device."""
    import torch
    import torch.nn.functional as F

    views = [batch, batch.flip(-1)]
    for scale, angle, shift_x, shift_y, mirror in geometry:
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        theta = torch.tensor([[cos * mirror, -sin, shift_x], [sin * mirror, cos, shift_y]],
                             dtype=batch.dtype, device=batch.device).expand(batch.shape[0], 2, 3)
        grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
        views.append(F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False))
    return views


def shuffled_batches(n: int, batch_size: int, generator) -> list:
    """A random order of ``range(n)`` (drawn on ``generator``) in batches of ``batch_size``;
    a last batch of one image joins the one before (BatchNorm cannot train on one image)."""
    import torch

    order = torch.randperm(n, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2] = torch.cat([batches[-2], batches.pop()])
    return batches
