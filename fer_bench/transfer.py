"""Deep transfer learning: torchvision backbones, fine-tuned or linearly probed.

Citations:

- B. Li, "Facial expression recognition via transfer learning", EAI Endorsed
  Transactions on e-Learning 7(21) e4, 2021, doi:10.4108/eai.8-4-2021.169180 — the seed
  paper: ResNet-101 transfer learning, 96.29 ± 0.78 % overall accuracy (Tables 2 and 3).
- K. He, X. Zhang, S. Ren & J. Sun, "Deep residual learning for image recognition",
  CVPR 2016 (ResNet).
- M. Sandler, A. Howard, M. Zhu, A. Zhmoginov & L.-C. Chen, "MobileNetV2: inverted
  residuals and linear bottlenecks", CVPR 2018 (MobileNetV2).

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
- Input: the whole face image resized to ``image_size`` × ``image_size`` (224, bicubic;
  no 256-resize-then-centre-crop, which would cut into face-centred crops), grayscale
  replicated to three channels, normalised by the weights' ImageNet mean and std.
- ``finetune`` (the paper's method; ``resnet101``, ``mobilenetv2``): the new layer has
  ``n_classes`` outputs; all layers train. SGD with momentum 0.9 and weight decay 1e-4
  (``optimizer="adamw"`` also works); learning rate ``lr`` 0.01 for the new layer and
  ``lr × backbone_lr_factor`` (0.1) for pretrained layers (all layers at ``lr`` when
  training from scratch); a cosine schedule over ``epochs`` (30); batch size 32;
  augmentation per batch: random crop of ``crop_scale``–100 % of each side with a random
  position, horizontal flip, rotation up to ±``max_rotation`` (10°), all in one affine
  resampling; early stopping after ``patience`` (8) epochs without a better validation
  accuracy, and the model of the best validation epoch (ties: lower validation loss)
  predicts the test group. The test group never influences training or selection.
- ``probe`` (``resnet101-probe``, ``mobilenetv2-probe``): the backbone is frozen; its
  pooled penultimate features of each image and of its mirror image are computed once per
  dataset (cached); per fold a multinomial logistic regression on standardised features
  is trained on both views, ``C`` from ``C_grid`` chosen on the validation group, and a
  test image's class probabilities are the mean over its two views.
- On CUDA: channels-last memory format and mixed precision (bfloat16 where supported,
  else float16 with a gradient scaler); cuDNN autotuning, so GPU runs are not bitwise
  reproducible. On the CPU, float32 and deterministic algorithms: the same seed gives the
  same fold results. (The CUDA paths have not been run on a GPU by the authors yet.)
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from typing import Any

import numpy as np

from . import weights as weights_mod
from .errors import FerBenchError
from .registry import ImageSpec, Method

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CPU_FINETUNE_SKIP = (
    "fine-tuning 100 folds on a CPU takes hours; use a GPU (--device cuda) or name the method "
    "explicitly to force it"
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


def to_tensor(images: np.ndarray):
    """N×H×W×3 float32 in [0, 1] (or N×H×W gray) → an N×3×H×W CPU tensor."""
    import torch

    array = np.ascontiguousarray(images, dtype=np.float32)
    if not array.flags.writeable:  # a read-only cache memory-map: torch wants its own copy
        array = array.copy()
    if array.ndim == 3:
        array = np.repeat(array[..., None], 3, axis=3)
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
class TorchvisionTransfer(Method):
    """What fine-tuning and probing share: backbone, weights, device, input."""

    citation = (
        "Li, Facial expression recognition via transfer learning, EAI Endorsed Trans. e-Learning 7(21) e4, 2021, "
        "doi:10.4108/eai.8-4-2021.169180"
    )
    requirements = ("torch", "torchvision")
    runtime_parameters = ("device",)
    parameters: dict[str, Any] = {
        "backbone": "resnet101",
        "weights": "imagenet",
        "device": "auto",
        "image_size": 224,
        "batch_size": 32,
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.params["weights"] is None:  # `weights=none` on the command line parses to None
            self.params["weights"] = "none"
        self.params["weights"] = str(self.params["weights"])
        # Validate at the edge: an unknown backbone or weights enum fails before any work.
        weights_mod.describe_request(self.backbone, self.weights)
        for key in ("image_size", "batch_size"):
            if not isinstance(self.params[key], int) or self.params[key] < 1:
                raise FerBenchError(f"parameter {key}={self.params[key]!r} of method {self.name!r} must be a positive integer")

    def input_spec(self) -> ImageSpec:
        return ImageSpec(size=(self.image_size, self.image_size), color="rgb")

    def weights_description(self) -> str:
        return weights_mod.describe_request(self.backbone, self.weights)

    def unmet_requirements(self, device: str = "cpu") -> list[str]:
        reasons = super().unmet_requirements(device)
        if reasons:
            return reasons
        # No download here: a requirement check must be quick and side-effect free.
        missing = weights_mod.availability(self.backbone, self.weights)
        if missing:
            reasons.append(missing)
        if str(device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                reasons.append(f"device {device!r} requested but PyTorch sees no CUDA GPU")
        return reasons

    def _prepare(self, images, device, mean, std):
        """A CPU N×H×W×3 array slice → a normalised N×3×H×W tensor on ``device``."""
        import torch

        batch = to_tensor(images).to(device, non_blocking=True)
        mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)
        batch = (batch - mean_t) / std_t
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


class TorchvisionProbe(TorchvisionTransfer):
    """Frozen backbone features (original + mirrored view) → logistic regression."""

    strategy = "probe"
    max_threads = 1  # the per-fold fit is a small dense problem; threads only add overhead
    feature_version = "1"
    parameters = {
        **TorchvisionTransfer.parameters,
        "flip_views": True,
        "C_grid": (0.01, 0.1, 1.0, 10.0),
        "max_iter": 1000,
        "init_seed": 0,
    }
    feature_parameters = ("backbone", "weights", "image_size", "flip_views", "init_seed")

    def feature_key(self) -> dict[str, Any]:
        key = super().feature_key()
        # Key on what the weights *are*: a file by its content, an enum by its hashed name.
        if weights_mod.is_file_spec(self.weights):
            key["weights_sha256"] = weights_mod.verify_file(self.weights)
        else:
            key["weights_source"] = self.weights_description()
        return key

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """N × views × D pooled penultimate features (views: original, mirrored)."""
        import torch
        from torch import nn

        device = torch_device(self.device)
        with reproducible(device, self.init_seed):  # random-init backbones are seeded
            model, _ = build_backbone(self.backbone, self.weights)
        parent, attr, _ = final_linear(model)
        setattr(parent, attr, nn.Identity())
        model.eval().to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        dtype, _ = precision_for(device)
        mean, std = normalisation(self.backbone)
        n_views = 2 if self.flip_views else 1
        out: np.ndarray | None = None
        with torch.inference_mode(), autocast(device, dtype):
            for start in range(0, len(images), self.batch_size):
                batch = self._prepare(images[start : start + self.batch_size], device, mean, std)
                views = [batch, batch.flip(-1)][:n_views]
                feats = torch.stack([logits_of(model(v)).float().flatten(1) for v in views], 1).cpu().numpy()
                if out is None:
                    out = np.empty((len(images), n_views, feats.shape[-1]), dtype=np.float32)
                out[start : start + len(feats)] = feats
        if out is None:
            raise FerBenchError("no images to extract features from")
        return out

    @staticmethod
    def _views(X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return X[:, None, :] if X.ndim == 2 else X

    def _proba(self, model, X) -> np.ndarray:
        """Class probabilities averaged over each image's views."""
        n, v, d = X.shape
        return model.predict_proba(X.reshape(n * v, d)).reshape(n, v, -1).mean(1)

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X_train, X_val = self._views(X_train), self._views(X_val)
        n, v, d = X_train.shape
        flat = X_train.reshape(n * v, d)
        targets = np.repeat(np.asarray(y_train), v)
        scaler = StandardScaler().fit(flat)
        flat_scaled = scaler.transform(flat)
        # Warm-started along an increasing C path: each fit starts from the last optimum.
        classifier = LogisticRegression(max_iter=self.max_iter, warm_start=True, random_state=random_state)
        best: tuple[Any, float | None, float] = (None, None, -1.0)
        for C in sorted(self.C_grid):
            classifier.set_params(C=C).fit(flat_scaled, targets)
            model = make_pipeline(scaler, copy.deepcopy(classifier))
            score = float(np.mean(model.classes_[self._proba(model, X_val).argmax(1)] == y_val)) if len(y_val) else 0.0
            if score > best[2]:  # ties keep the smaller C (the stronger regularisation)
                best = (model, C, score)
        self.model_ = best[0]
        self.fit_info_ = {
            "chosen": {"C": best[1]},
            "val_accuracy": round(100 * best[2], 4),
            "backbone": self.backbone,
            "weights": self.weights_description(),
        }
        return self

    def predict(self, X) -> np.ndarray:
        proba = self._proba(self.model_, self._views(X))
        return self.model_.classes_[proba.argmax(1)]


class TorchvisionFineTune(TorchvisionTransfer):
    """All layers trained with a new classification layer (the paper's transfer learning)."""

    strategy = "finetune"
    parameters = {
        **TorchvisionTransfer.parameters,
        "epochs": 30,
        "patience": 8,
        "optimizer": "sgd",
        "lr": 0.01,
        "backbone_lr_factor": 0.1,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "schedule": "cosine",
        "label_smoothing": 0.0,
        "crop_scale": 0.85,
        "max_rotation": 10.0,
        "flip": True,
        "amp": True,
    }
    # The input is the cached preprocessed image stack itself (no feature step).
    feature_parameters = ("image_size",)  # it sets the input spec (the cached preprocessing)

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.optimizer not in ("sgd", "adamw"):
            raise FerBenchError(f"parameter optimizer={self.optimizer!r} of method {self.name!r}: use sgd or adamw")
        if self.schedule not in ("cosine", "step", "constant"):
            raise FerBenchError(f"parameter schedule={self.schedule!r} of method {self.name!r}: use cosine, step or constant")
        if not 0 < self.crop_scale <= 1:
            raise FerBenchError(f"parameter crop_scale={self.crop_scale!r} of method {self.name!r} must be in (0, 1]")
        if self.epochs < 1 or self.patience < 1:
            raise FerBenchError(f"method {self.name!r}: epochs and patience must be at least 1")

    def skip_reasons(self, device: str = "cpu") -> list[str]:
        reasons = self.unmet_requirements(device)
        if not reasons and not str(device).startswith("cuda"):
            reasons.append(CPU_FINETUNE_SKIP)
        return reasons

    # -- training -------------------------------------------------------------------
    def _optimizer(self, model, pretrained: bool):
        import torch

        _, _, head = final_linear(model)
        head_ids = {id(p) for p in head.parameters()}
        body = [p for p in model.parameters() if id(p) not in head_ids]
        body_lr = self.lr * (self.backbone_lr_factor if pretrained else 1.0)
        groups = [{"params": body, "lr": body_lr}, {"params": list(head.parameters()), "lr": self.lr}]
        if self.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def _scheduler(self, optimizer):
        import torch

        if self.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs)
        if self.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, self.epochs // 3), gamma=0.1)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)

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

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        import torch
        import torch.nn.functional as F
        from torch import nn

        device = torch_device(self.device)
        y_train = np.asarray(y_train, dtype=np.int64)
        y_val = np.asarray(y_val, dtype=np.int64)
        n_classes = int(max(y_train.max(), y_val.max() if len(y_val) else 0)) + 1
        dtype, precision = precision_for(device)
        if not self.amp:
            dtype, precision = None, "float32"
        mean, std = normalisation(self.backbone)
        generator = torch.Generator().manual_seed(random_state)
        X_all = to_tensor(X_train)  # CPU; each batch moves to the device
        targets = torch.as_tensor(y_train)

        with reproducible(device, random_state):
            model, resolved = build_backbone(self.backbone, self.weights)
            parent, attr, head = final_linear(model)
            setattr(parent, attr, nn.Linear(head.in_features, n_classes))
            model.to(device)
            if device.type == "cuda":
                model = model.to(memory_format=torch.channels_last)
            optimizer = self._optimizer(model, resolved.pretrained)
            scheduler = self._scheduler(optimizer)
            scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
            mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
            std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)

            best_key, best_state, best_epoch, best_acc = None, None, 0, 0.0
            epoch_seconds: list[float] = []
            for epoch in range(1, self.epochs + 1):
                start = time.perf_counter()
                model.train()
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
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                scheduler.step()
                _, val_acc, val_loss = self._evaluate(model, X_val, y_val, device, dtype, mean, std)
                epoch_seconds.append(time.perf_counter() - start)
                key = (val_acc, -val_loss)
                if best_key is None or key > best_key:
                    best_key, best_epoch, best_acc = key, epoch, val_acc
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                elif epoch - best_epoch >= self.patience:
                    break
            model.load_state_dict(best_state)
        model.eval()
        self.model_, self.device_, self.dtype_ = model, device, dtype
        self.fit_info_ = {
            "backbone": self.backbone,
            "weights": resolved.describe(),
            "epochs_run": epoch,
            "best_epoch": best_epoch,
            "best_val_accuracy": round(100 * best_acc, 4),
            "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 4),
            "device": str(device),
            "precision": precision,
        }
        return self

    def predict(self, X) -> np.ndarray:
        mean, std = normalisation(self.backbone)
        pred, _, _ = self._evaluate(self.model_, np.asarray(X), None, self.device_, self.dtype_, mean, std)
        return pred


# -- registered methods -----------------------------------------------------------------
class ResNet101FineTune(TorchvisionFineTune):
    name = "resnet101"
    description = (
        "ResNet-101 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned with augmentation, "
        "best validation epoch kept (Li 2021)"
    )
    paper_oa = (96.29, 0.78)
    paper_oa_source = "Li 2021, Tables 2 and 3"
    parameters = {**TorchvisionFineTune.parameters, "backbone": "resnet101"}


class ResNet101Probe(TorchvisionProbe):
    name = "resnet101-probe"
    description = (
        "Frozen ResNet-101 features (ImageNet weights; weights=none: random network), image + mirror → "
        "logistic regression, C chosen on the validation group"
    )
    citation = TorchvisionTransfer.citation + "; He et al., Deep residual learning for image recognition, CVPR 2016"
    parameters = {**TorchvisionProbe.parameters, "backbone": "resnet101"}


class MobileNetV2FineTune(TorchvisionFineTune):
    name = "mobilenetv2"
    description = (
        "MobileNetV2 (ImageNet weights; weights=none trains from scratch), all layers fine-tuned as resnet101"
    )
    citation = "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks, CVPR 2018; training as Li 2021"
    parameters = {**TorchvisionFineTune.parameters, "backbone": "mobilenet_v2"}


class MobileNetV2Probe(TorchvisionProbe):
    name = "mobilenetv2-probe"
    description = (
        "Frozen MobileNetV2 features (ImageNet weights; weights=none: random network), image + mirror → "
        "logistic regression, C chosen on the validation group"
    )
    citation = "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks, CVPR 2018; transfer as Li 2021"
    parameters = {**TorchvisionProbe.parameters, "backbone": "mobilenet_v2"}
