"""Compatibility module: the deep transfer methods live in :mod:`fer_bench.deep`.

The registered classes (``ResNet101FineTune``, ``ResNet101Probe``, ``MobileNetV2FineTune``,
``MobileNetV2Probe``, ``MiniXceptionFineTune``, ``MiniXceptionProbe`` and the partial
fine-tuning ones, ``ResNet101Partial``, ``MobileNetV2Partial``, ``MiniXceptionPartial``) belong to this module:
``pyproject.toml``'s entry points, stored results and feature-cache keys name them here.
They are made from :data:`fer_bench.deep.catalogue.CATALOGUE`; the building blocks are
re-exported under their old names (``TransferMethod``, ``TransferProbe`` and
``TransferFineTune`` are the strategies :class:`~fer_bench.deep.strategies.DeepMethod`,
:class:`~fer_bench.deep.strategies.Probe` and :class:`~fer_bench.deep.strategies.FineTune`).
"""

from __future__ import annotations

from .deep.backbones import (
    CPU_FINETUNE_SKIP,
    CPU_PROBE_LIMIT,
    MINI_XCEPTION_CPU_SKIP,
    Backbone,
    MiniXceptionBackbone,
    TorchvisionBackbone,
    build_backbone,
    final_linear,
    final_linear_name,
)
from .deep.catalogue import CATALOGUE, CLASSES, MINI_XCEPTION_CITATION, Entry, method_class
from .deep.strategies import CPU_INFERENCE_BATCH, DeepMethod, FineTune, PartialFineTune, Probe
from .deep.training import (
    augment,
    autocast,
    logits_of,
    precision_for,
    reproducible,
    to_tensor,
    torch_device,
)
from .weights import IMAGENET_MEAN, IMAGENET_STD, normalisation

ResNet101FineTune = CLASSES["ResNet101FineTune"]
ResNet101Probe = CLASSES["ResNet101Probe"]
MobileNetV2FineTune = CLASSES["MobileNetV2FineTune"]
MobileNetV2Probe = CLASSES["MobileNetV2Probe"]
MiniXceptionFineTune = CLASSES["MiniXceptionFineTune"]
MiniXceptionProbe = CLASSES["MiniXceptionProbe"]
ResNet101Partial = CLASSES["ResNet101Partial"]
MobileNetV2Partial = CLASSES["MobileNetV2Partial"]
MiniXceptionPartial = CLASSES["MiniXceptionPartial"]

TransferMethod = DeepMethod
TransferProbe = Probe
TransferFineTune = FineTune

__all__ = [
    "CATALOGUE", "CLASSES", "CPU_FINETUNE_SKIP", "CPU_INFERENCE_BATCH", "CPU_PROBE_LIMIT", "IMAGENET_MEAN",
    "IMAGENET_STD", "MINI_XCEPTION_CITATION", "MINI_XCEPTION_CPU_SKIP", "Backbone", "DeepMethod", "Entry", "FineTune",
    "MiniXceptionBackbone", "MiniXceptionFineTune", "MiniXceptionPartial", "MiniXceptionProbe", "MobileNetV2FineTune",
    "MobileNetV2Partial", "MobileNetV2Probe", "PartialFineTune", "Probe", "ResNet101FineTune", "ResNet101Partial",
    "ResNet101Probe", "TorchvisionBackbone", "TransferFineTune", "TransferMethod",
    "TransferProbe", "augment", "autocast", "build_backbone", "final_linear", "final_linear_name",
    "logits_of", "method_class", "normalisation", "precision_for", "reproducible", "to_tensor", "torch_device",
]
