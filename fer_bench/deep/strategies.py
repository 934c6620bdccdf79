"""Strategies: how a backbone is trained. Each is a :class:`~fer_bench.registry.Method`
that holds a :class:`~fer_bench.deep.backbones.Backbone` (``self.network``), so a new way
of training any network is one new subclass of :class:`DeepMethod`, composed with a
backbone in :mod:`fer_bench.deep.catalogue`.

- :class:`Probe`: the backbone frozen; its pooled penultimate features of each image (and
  of its mirror image) are computed once per dataset and cached; per fold a logistic
  regression on them, ``C`` chosen on the validation group.
- :class:`FineTune`: a new output layer, all layers trained; the number of epochs chosen
  on the validation group (validation loss as the declared secondary key).
- :class:`PartialFineTune`: the network cut at a declared point (the backbone's
  :meth:`~fer_bench.deep.backbones.Backbone.split`); the frozen lower part's output maps of
  several fixed views of each image are computed once per dataset and cached; per fold the
  top (the deep layers and a new head) trains on them, epochs chosen as :class:`FineTune`'s.

Parameters: a method's are declared by its backbone (which network, which weights, the
input size) and its strategy (``strategy_parameters``), and combined once, by
:meth:`DeepMethod.declare`.
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from .. import weights as weights_mod
from ..errors import FerBenchError
from ..params import Param
from ..registry import ImageSpec, Method
from ..selection import Candidate, choose
from .backbones import PARTIAL_CPU_SKIP, Backbone
from .training import (
    augment,
    autocast,
    fixed_views,
    logits_of,
    precision_for,
    prepare,
    reproducible,
    shuffled_batches,
    to_tensor,
    torch_device,
    view_geometry,
)

#: Images per forward pass of a frozen network on a CPU (see ``Probe``'s ``batch_size``).
CPU_INFERENCE_BATCH = 8

#: Declared by every deep method, between its backbone's weights and input parameters.
DEVICE = Param("auto", role="runtime", doc="torch device: auto (CUDA when available, else cpu), cpu, cuda:0, …")


def train_epochs(model, train_epoch, scheduler, epochs: int, evaluate, patience: int) -> dict:
    """Run up to ``epochs`` epochs of ``train_epoch()`` (returns the epoch's mean training
    loss), each followed by ``scheduler.step()``; with a validation group (``evaluate()``
    returns (predictions, accuracy, loss), else None), keep ``model``'s weights of the best
    epoch under :func:`fer_bench.selection.choose` (accuracy, then the lower loss, then the
    earlier epoch: the engine's one tie rule) and stop after ``patience`` epochs without a
    better one. Returns per-epoch validation (accuracy, loss), training losses, the best
    epoch, the epochs run and the mean seconds per epoch. Shared by :class:`FineTune` and
    :class:`PartialFineTune`."""
    best_key, best_state, best_epoch = None, None, 0
    history, train_losses, seconds = [], [], []
    epoch = 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_losses.append(train_epoch())
        scheduler.step()
        scored = evaluate()
        seconds.append(time.perf_counter() - start)
        if scored is None:
            continue
        _, acc, loss = scored
        history.append((acc, loss))
        current = Candidate({"epochs": epoch}, acc, loss, "validation loss")
        if best_key is None or choose([best_key, current]) == 1:
            best_key, best_epoch = current, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = epoch
    return {"history": history, "train_losses": train_losses, "best_epoch": best_epoch, "epochs_run": epoch,
            "seconds_per_epoch": float(np.mean(seconds)) if seconds else 0.0}


def epoch_candidates(method, X_train, y_train, X_val, y_val, random_state: int) -> list[Candidate]:
    """The candidates of an epoch-trained strategy (``method._train``, ``method._fitted``):
    one per epoch run, ``{"epochs": e}`` (fewer epochs are simpler), scored by validation
    accuracy with the validation loss as the declared secondary key; the best checkpoint
    (:func:`train_epochs`) comes with its candidate (``build``). A network trained for e
    epochs from the same seed with the same schedule is that checkpoint, so ``train`` with
    ``{"epochs": e}`` is the refit of it (Li 2021 §3.6)."""
    y_train = np.asarray(y_train, dtype=np.int64)
    y_val = np.asarray(y_val, dtype=np.int64)
    n_classes = n_classes_of(y_train, y_val)
    run = method._train(X_train, y_train, n_classes, random_state, method.epochs, X_val, y_val)
    out = [Candidate({"epochs": e + 1}, acc, loss, "validation loss") for e, (acc, loss) in enumerate(run["history"])]
    if not out:  # no validation images: the last epoch is the only candidate
        out = [Candidate({"epochs": run["best_epoch"]}, 0.0)]
    best = out[run["best_epoch"] - 1] if run["history"] else out[0]
    best.build = method._fitted(run, n_classes)
    return out


def n_classes_of(y_train, y_val=None) -> int:
    """Output units of a new head: the largest class index seen in training or validation, + 1."""
    y_val = np.asarray(y_val if y_val is not None else [], dtype=np.int64)
    return int(max(np.max(y_train), y_val.max() if len(y_val) else 0)) + 1


class DeepMethod(Method):
    """A method made of a backbone (``backbone_type``, built per instance as
    ``self.network`` from the parameters it declares) and a way of training it (the
    subclass: ``strategy``, ``network_role``, ``strategy_parameters``, ``fit``, …).

    ``network_role`` is the role of the backbone's network and weights parameters under
    this strategy: ``features`` when they change cached features, ``fit`` when they only
    change training. Registered classes are made by :func:`fer_bench.deep.catalogue.method_class`.
    """

    backbone_type: ClassVar[type[Backbone]] = Backbone
    strategy: ClassVar[str] = ""
    network_role: ClassVar[str] = "features"
    strategy_parameters: ClassVar[dict[str, Param]] = {}

    @classmethod
    def declare(cls, backbone_type: type[Backbone], defaults: dict[str, Any] | None = None) -> dict[str, Param]:
        """The one place a deep method's parameters are combined: the backbone's network and
        weights (with this strategy's ``network_role``), ``device``, the backbone's input,
        then the strategy's own; ``defaults`` replaces declared defaults (a catalogue
        entry's). Raises ``TypeError`` for a default of an undeclared parameter."""
        declared = {**backbone_type.weights_parameters(cls.network_role), "device": DEVICE,
                    **backbone_type.input_parameters(), **cls.strategy_parameters}
        defaults = dict(defaults or {})
        unknown = sorted(set(defaults) - set(declared))
        if unknown:
            raise TypeError(f"defaults for undeclared parameters {unknown} of {backbone_type.__name__} + {cls.__name__}")
        return {k: replace(p, default=defaults[k]) if k in defaults else p for k, p in declared.items()}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.weights = "none" if self.weights is None else str(self.weights)  # Python's None means none too
        self.network = self.backbone_type(
            method=self.name, **{k: getattr(self, k) for k in self.backbone_type.parameter_names()}
        )
        # This instance's pretraining data: none when training from scratch, unknown for a user's file.
        self.pretraining = self.network.pretraining_data()

    def input_spec(self) -> ImageSpec:
        return self.network.input_spec()

    def unmet_requirements(self, device: str = "cpu") -> list[str]:
        reasons = super().unmet_requirements(device)
        if any("Python module" in r for r in reasons):
            return reasons
        # No download here: a requirement check must be quick and side-effect free.
        missing = self.network.weights_unavailable()
        if missing:
            reasons.append(missing)
        if str(device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                reasons.append(f"device {device!r} requested but PyTorch sees no CUDA GPU")
        return reasons

    def _prepare(self, images, device, mean, std, channels_last: bool | None = None):
        """:func:`fer_bench.deep.training.prepare` with the backbone's channels."""
        return prepare(images, device, mean, std, self.network.channels, channels_last)

    def frozen_network(self, device, seed: int):
        """The backbone's frozen feature network (eval mode, channels-last) on ``device``,
        a randomly initialised one seeded by ``seed``; built once per instance (the engine
        calls ``extract_features`` chunk by chunk) and never pickled with the method."""
        import torch

        cached = self.__dict__.get("_frozen")
        if cached is not None and cached[0] == str(device):
            return cached[1]
        with reproducible(device, seed):  # random-init networks are seeded
            model, _ = self.network.build()
        model = self.network.feature_network(model)
        # Channels-last on every device: on a CPU it speeds mini-Xception up and leaves
        # MobileNetV2 at batch 8 unchanged (benchmarks/results/probe_inference.md).
        model = model.eval().to(device).to(memory_format=torch.channels_last)
        self.__dict__["_frozen"] = (str(device), model)
        return model

    def weights_identity(self) -> dict[str, str]:
        """What the initial weights *are*, for a feature-cache key: a file by its content
        (``weights_sha256``), an enum or model file by its hashed name (``weights_source``)."""
        if self.network.weights_is_file():
            return {"weights_sha256": weights_mod.verify_file(self.weights)}
        return {"weights_source": self.network.weights_description()}

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_frozen", None)
        return state


class Probe(DeepMethod):
    """Frozen network features (original + mirrored view) → logistic regression, ``C``
    chosen on the validation group; :meth:`train` retrains it on training + validation."""

    strategy = "probe"
    network_role = "features"
    max_threads = 1  # the per-fold fit is a small dense problem; threads only add overhead
    feature_version = "2"  # 2: one thread, channels-last, CPU batch 8 (floats differ by ~1e-6)
    # Every image's features are its own (eval mode: BatchNorm uses its stored statistics),
    # so the engine may extract ranges of images in parallel processes (one thread each).
    parallel_features = True
    strategy_parameters: ClassVar[dict[str, Param]] = {
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
        return {**super().feature_key(), **self.weights_identity()}

    def size_skip_reasons(self, n_train: int) -> list[str]:
        """On a CPU, above the backbone's ``cpu_probe_limit`` training images (ImageNet
        backbones: :data:`~fer_bench.deep.backbones.CPU_PROBE_LIMIT`): the frozen network's
        features of so many images take as long as all the other default methods together
        (measured: ``benchmarks/results/holdout_scale.md``). With a GPU, or named
        explicitly, it runs."""
        limit = self.network.cpu_probe_limit
        if limit is None or n_train <= limit or str(self.device).startswith("cuda"):
            return []
        return [f"frozen-network features at {self.image_size} px on a CPU are slow (measured for MobileNetV2 with "
                f"the mirror view in benchmarks/results/holdout_scale.md; larger backbones cost more): over "
                f"{limit:,} training images ({n_train:,} here) that doubles the run; use a GPU "
                "(--device cuda) or name the method explicitly to force it"]

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """N × views × D pooled penultimate features (views: original, mirrored)."""
        import torch

        device = torch_device(self.device)
        model = self.frozen_network(device, self.init_seed)
        dtype, _ = precision_for(device)
        mean, std = self.network.normalisation()
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

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int):
        """One candidate per ``C`` (increasing: simplest first), scored on the validation
        group; the C path trains each model anyway, so each candidate comes with it."""
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
        out = []
        for C in sorted(self.C_grid):
            classifier.set_params(C=C).fit(flat_scaled, targets)
            model = make_pipeline(scaler, copy.deepcopy(classifier))
            score = float(np.mean(model.classes_[self._proba(model, X_val).argmax(1)] == y_val)) if len(y_val) else 0.0
            out.append(Candidate({"C": C}, score, build=self._fitted(model)))
        return out

    def _fitted(self, model):
        def build():
            fitted = copy.copy(self)
            fitted.model_ = model
            fitted.fit_info_ = {"weights": self.network.weights_description(), "pretraining": self.pretraining,
                                **self.network.record()}
            return fitted
        return build

    def train(self, params, X, y, *, random_state: int):
        """The logistic regression trained on ``X`` (the engine passes training +
        validation groups: Li 2021 §3.6's refit step) with ``params["C"]``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        flat, targets = self._flat(X, y)
        self.model_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=params["C"], max_iter=self.max_iter, random_state=random_state),
        ).fit(flat, targets)
        # Not "refit": the engine stores its own refit flag under that name (fer_bench.folds).
        self.fit_info_ = {**self.fit_info_, "refit_training": {"C": params["C"], "n_images": int(len(self._views(X)))}}
        return self

    def predict(self, X) -> np.ndarray:
        proba = self._proba(self.model_, self._views(X))
        return self.model_.classes_[proba.argmax(1)]


class FineTune(DeepMethod):
    """All layers trained with a new output layer (the paper's transfer learning); the
    number of epochs is chosen on the validation group (:meth:`candidates`), :meth:`train`
    retrains on training + validation for exactly that many epochs. The input is the cached image
    stack itself (no feature step), so the network and its weights are role ``fit``,
    and ``batch_size`` is the SGD mini-batch, which changes the result."""

    strategy = "finetune"
    network_role = "fit"
    strategy_parameters: ClassVar[dict[str, Param]] = {
        "batch_size": Param(32, role="fit", low=1,
                            doc="images per training step (SGD/AdamW mini-batch) and per evaluation pass"),
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
            reasons.append(self.network.cpu_finetune_skip)
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
        return shuffled_batches(n, self.batch_size, generator)

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

        device = torch_device(self.device)
        dtype, precision = precision_for(device)
        if not self.amp:
            dtype, precision = None, "float32"
        mean, std = self.network.normalisation()
        generator = torch.Generator().manual_seed(random_state)
        X_all = to_tensor(X_train, self.network.channels)  # CPU; each batch moves to the device
        targets = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
        validate = X_val is not None and len(X_val) > 0

        with reproducible(device, random_state):
            model, resolved = self.network.build()
            model, head = self.network.replace_head(model, n_classes)
            model.to(device)
            if device.type == "cuda":
                model = model.to(memory_format=torch.channels_last)
            optimiser = self._optimiser(model, head, resolved.pretrained)
            scheduler = self._scheduler(optimiser)
            scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
            mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
            std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)

            evaluate = (lambda: self._evaluate(model, X_val, y_val, device, dtype, mean, std)) if validate else (lambda: None)
            run = train_epochs(model, lambda: self._train_epoch(model, X_all, targets, generator, optimiser, scaler,
                                                                device, dtype, (mean_t, std_t)),
                               scheduler, epochs, evaluate, self.patience)
        model.eval()
        return {**run, "model": model, "resolved": resolved, "device": device, "dtype": dtype, "precision": precision}

    def _train_epoch(self, model, X_all, targets, generator, optimiser, scaler, device, dtype, norm) -> float:
        """One pass over the training images in shuffled batches, each augmented and
        normalised by ``norm`` = (mean, std) tensors; returns the mean training loss."""
        import torch
        import torch.nn.functional as F

        mean_t, std_t = norm
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
                loss = F.cross_entropy(logits.float(), targets[idx].to(device), label_smoothing=self.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            loss_sum += float(loss.detach()) * len(idx)
            seen += len(idx)
        return loss_sum / max(seen, 1)

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int):
        """Every epoch run, the best checkpoint with its network: :func:`epoch_candidates`."""
        return epoch_candidates(self, X_train, y_train, X_val, y_val, random_state)

    def _fitted(self, run: dict, n_classes: int):
        """A builder of a copy of this method holding ``run``'s network (the best checkpoint)."""
        def build():
            fitted = copy.copy(self)
            fitted.n_classes_ = n_classes
            fitted.model_, fitted.device_, fitted.dtype_ = run["model"], run["device"], run["dtype"]
            best_acc = run["history"][run["best_epoch"] - 1][0] if run["history"] else 0.0
            fitted.fit_info_ = {
                **self.network.record(),
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
            return fitted
        return build

    def train(self, params, X, y, *, random_state: int):
        """A fresh network trained on ``X`` (the engine passes training + validation
        groups) for exactly ``params["epochs"]`` epochs, with the same learning-rate
        schedule (its length stays ``epochs``), no validation data and no early stopping."""
        y = np.asarray(y, dtype=np.int64)
        n_classes = max(getattr(self, "n_classes_", 0), n_classes_of(y))
        run = self._train(X, y, n_classes, random_state, int(params["epochs"]))
        self.n_classes_ = n_classes
        self.model_, self.device_, self.dtype_ = run["model"], run["device"], run["dtype"]
        self.fit_info_ = {
            **self.fit_info_,
            "refit_training": {"epochs": run["epochs_run"], "n_images": int(len(y)),  # "refit": the engine's flag
                      "train_loss_first_last": [round(run["train_losses"][0], 4), round(run["train_losses"][-1], 4)]},
        }
        return self

    def predict(self, X) -> np.ndarray:
        mean, std = self.network.normalisation()
        pred, _, _ = self._evaluate(self.model_, np.asarray(X), None, self.device_, self.dtype_, mean, std)
        return pred


class PartialFineTune(DeepMethod):
    """Partial fine-tuning (Li 2021 §3.5, Fig. 9: keep the shallow layers, whose features are
    general, and retrain the deep ones with a new dense layer), made cheap by caching.

    The network is cut before the module ``cut`` names (the backbone declares the cuts and the
    default: :meth:`~fer_bench.deep.backbones.Backbone.split`). Features
    (:meth:`extract_features`, computed once per dataset and cached, in eval mode, never seeing
    a label): the frozen part's output maps, N × ``n_views`` × C × h × w, for fixed views made
    *before* the frozen part: view 0 the image, view 1 its mirror, views 2 … seeded crops
    (side ``view_crop_scale``–100 %, anywhere in the image) with small rotations (up to
    ±``view_max_rotation`` degrees), odd ones mirrored, the same geometry for every image
    (:func:`~fer_bench.deep.training.view_geometry`, from ``view_seed``). The augmentation
    is therefore those views only: it needs no forward pass of the frozen layers per epoch.
    Stored as ``map_dtype`` (float32; float16 halves the cache, relative error ~5e-4).

    Per fold (:meth:`candidates`): a fresh top (the layers after the cut, from the initial
    weights, and a new head) trains on the training images' cached maps, its BatchNorm in
    training mode, each epoch one view per image drawn at random (seeded from
    ``random_state``), with AdamW (or SGD with momentum) and a cosine schedule over
    ``epochs``; after each epoch it is scored on the validation images (probabilities averaged
    over view 0 and the mirror); every epoch is a candidate with the validation loss as the
    declared secondary key, early stopping after ``patience`` epochs without a better one,
    exactly as :class:`FineTune`. :meth:`train` (the refit): a fresh top trained on training +
    validation for exactly the chosen number of epochs. :meth:`predict`: the mean of the
    image's and its mirror's probabilities.

    Not yet in ``--methods all`` on a CPU (:meth:`skip_reasons`; the default job's time
    budget with it is measured later, issue 24): naming the method runs it.
    """

    strategy = "partial"
    network_role = "features"  # the network and its weights make the cached maps
    feature_version = "1"
    # Each image's maps are its own (eval mode: stored BatchNorm statistics; every image gets
    # the same fixed view geometry), so the engine may extract chunks in parallel.
    parallel_features = True
    strategy_parameters: ClassVar[dict[str, Param]] = {
        "cut": Param(None, role="features", kind=str, nullable=True,
                     doc="where the network is cut (the first trained module); None: the backbone's default "
                         "(ResNet: layer4; MobileNetV2: features.14; mini-Xception: blocks.3)"),
        "n_views": Param(4, role="features", low=1,
                         doc="views per image whose frozen maps are cached: the image, its mirror, then seeded "
                             "crops with small rotations"),
        "view_seed": Param(0, role="features", doc="seed of the crop/rotation geometry of views 2 …"),
        "view_crop_scale": Param(0.85, role="features", low=0, high=1,
                                 doc="smallest crop side of views 2 …, as a fraction of the image side (> 0)"),
        "view_max_rotation": Param(8.0, role="features", low=0, doc="largest rotation of views 2 …, degrees"),
        "map_dtype": Param("float32", role="features", choices=("float32", "float16"),
                           doc="how the cached maps are stored (float16: half the memory, relative error ~5e-4)"),
        "init_seed": Param(0, role="features", doc="torch seed of a randomly initialised network (weights=none)"),
        "inference_batch": Param(None, role="runtime", kind=int, low=1, nullable=True,
                                 doc=f"images per forward pass of the frozen part; None: {CPU_INFERENCE_BATCH} on a "
                                     "CPU, 64 on a GPU"),
        "batch_size": Param(32, role="fit", low=1, doc="images per training step of the top and per evaluation pass"),
        "epochs": Param(20, role="fit", low=1, doc="most training epochs (and the cosine schedule's length)"),
        "patience": Param(5, role="fit", low=1, doc="stop after this many epochs without a better validation accuracy"),
        "optimiser": Param("adamw", role="fit", choices=("adamw", "sgd"), aliases=("optimizer",),
                           doc="gradient optimiser of the top: AdamW, or SGD with momentum 0.9"),
        "lr": Param(1e-3, role="fit", low=0, doc="learning rate of the top (its pretrained layers and the new head)"),
        "weight_decay": Param(1e-4, role="fit", low=0, doc="weight decay (decoupled for adamw)"),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.cut = self.network.check_cut(self.cut)
        if not 0 < self.view_crop_scale <= 1:
            raise FerBenchError(f"parameter view_crop_scale={self.view_crop_scale!r} of method {self.name!r} "
                                "must be in (0, 1]")

    def skip_reasons(self, device: str = "cpu") -> list[str]:
        reasons = self.unmet_requirements(device)
        if not reasons and not str(device).startswith("cuda"):
            reasons.append(PARTIAL_CPU_SKIP)
        return reasons

    def feature_key(self) -> dict[str, Any]:
        return {**super().feature_key(), **self.weights_identity()}

    # -- the frozen part and its cached maps ---------------------------------------------
    def _network(self, n_classes: int, device):
        """(frozen part, top, resolved weights) on ``device``: the network built from its
        initial weights (a random one seeded by ``init_seed``, so it is the network whose
        maps were cached) and split at ``cut``; the new head draws on torch's current RNG."""
        import torch

        with reproducible(device, self.init_seed):
            model, resolved = self.network.build()
        frozen, top = self.network.split(model, self.cut, n_classes)
        return frozen.to(device).to(memory_format=torch.channels_last), top.to(device), resolved

    def frozen_network(self, device, seed: int):
        """The frozen part (eval mode, no gradients) on ``device``, built once per instance
        and never pickled with the method."""
        cached = self.__dict__.get("_frozen")
        if cached is not None and cached[0] == str(device):
            return cached[1]
        with reproducible(device, seed):
            frozen, _, _ = self._network(2, device)
        self.__dict__["_frozen"] = (str(device), frozen)
        return frozen

    def views(self, batch) -> list:
        """The ``n_views`` views of a normalised N×C×S×S batch (:func:`~fer_bench.deep.training.fixed_views`)."""
        geometry = view_geometry(self.n_views, self.view_seed, self.view_crop_scale, self.view_max_rotation)
        return fixed_views(batch, geometry)[: self.n_views]

    def extract_features(self, images: np.ndarray) -> np.ndarray:
        """N × ``n_views`` × C × h × w: the frozen part's output maps of each view of each
        image (``map_dtype``), e.g. N × 4 × 64 × 8 × 8 for mini-Xception cut at ``blocks.3``,
        N × 4 × 1024 × 14 × 14 for ResNet-101 cut at ``layer4`` at 224 px (3.2 MB an image
        in float32). Raises :class:`~fer_bench.errors.FerBenchError` for no images."""
        import torch

        device = torch_device(self.device)
        frozen = self.frozen_network(device, self.init_seed)
        dtype, _ = precision_for(device)
        mean, std = self.network.normalisation()
        batch_size = self.inference_batch or (64 if device.type == "cuda" else CPU_INFERENCE_BATCH)
        out: np.ndarray | None = None
        with torch.inference_mode(), autocast(device, dtype):
            for start in range(0, len(images), batch_size):
                batch = self._prepare(images[start : start + batch_size], device, mean, std, channels_last=True)
                maps = torch.stack([frozen(view).float() for view in self.views(batch)], 1).cpu().numpy()
                if out is None:
                    out = np.empty((len(images), *maps.shape[1:]), dtype=self.map_dtype)
                out[start : start + len(maps)] = maps
        if out is None:
            raise FerBenchError("no images to extract features from")
        return out

    @staticmethod
    def cached_source(maps: np.ndarray, device):
        """(rows, views) index tensors → the float32 batch ``maps[rows, views]`` on ``device``."""
        import torch

        def source(rows, views):
            batch = np.asarray(maps[rows.numpy(), views.numpy()], dtype=np.float32)
            return torch.from_numpy(batch).to(device, non_blocking=True)

        return source

    # -- training the top -------------------------------------------------------------------
    def _optimiser(self, top):
        import torch

        params = [p for p in top.parameters() if p.requires_grad]
        if self.optimiser == "adamw":
            optimiser = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        else:
            optimiser = torch.optim.SGD(params, lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)
        return optimiser, torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.epochs)

    def _epoch(self, top, source, n_views: int, targets, generator, optimiser, scaler, device, dtype) -> float:
        """One pass over the training images in shuffled batches, one view per image drawn
        on ``generator``, the top in training mode; returns the mean training loss."""
        import torch
        import torch.nn.functional as F

        top.train()
        drawn = torch.randint(n_views, (len(targets),), generator=generator)
        loss_sum = 0.0
        for idx in shuffled_batches(len(targets), self.batch_size, generator):
            inputs = source(idx, drawn[idx])
            with autocast(device, dtype):
                loss = F.cross_entropy(top(inputs).float(), targets[idx].to(device))
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            loss_sum += float(loss.detach()) * len(idx)
        return loss_sum / max(len(targets), 1)

    def _evaluate(self, top, X, y, device, dtype):
        """(predictions, accuracy, mean loss) of the top in eval mode on cached maps ``X``,
        each image's probabilities averaged over view 0 and its mirror (view 1, when cached)."""
        import torch
        import torch.nn.functional as F

        X = np.asarray(X)
        top.eval()
        views = [0, 1][: X.shape[1]] if len(X) else [0]
        probs = []
        with torch.inference_mode(), autocast(device, dtype):
            for start in range(0, len(X), self.batch_size):
                chunk = X[start : start + self.batch_size]
                p = [F.softmax(top(torch.from_numpy(np.asarray(chunk[:, v], dtype=np.float32)).to(device)).float(), 1)
                     for v in views]
                probs.append(torch.stack(p).mean(0).cpu())
        if not probs:
            return np.empty(0, dtype=np.int64), 0.0, 0.0
        proba = torch.cat(probs)
        pred = proba.argmax(1).numpy()
        if y is None or len(y) == 0:
            return pred, 0.0, 0.0
        target = torch.as_tensor(np.asarray(y, dtype=np.int64))
        loss = float(F.nll_loss(proba.clamp_min(1e-12).log(), target))
        return pred, float(np.mean(pred == np.asarray(y))), loss

    def _train(self, X_train, y_train, n_classes: int, random_state: int, epochs: int, X_val=None, y_val=None,
               source_of=None):
        """Train a fresh top for up to ``epochs`` epochs on cached maps ``X_train`` (early
        stopping and best-epoch selection when a validation group is given). ``source_of``
        (frozen part, device) → the batch source (default: :meth:`cached_source` of
        ``X_train``; a test passes one running the frozen part in the graph). Returns a dict:
        the top, resolved weights, per-epoch validation (accuracy, loss), training losses,
        the best epoch, timings."""
        import torch

        device = torch_device(self.device)
        dtype, precision = precision_for(device)
        maps = np.asarray(X_train)  # a view of a memory-mapped cache, not a copy
        targets = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
        generator = torch.Generator().manual_seed(random_state)
        with reproducible(device, random_state):
            frozen, top, resolved = self._network(n_classes, device)
            source = (source_of or (lambda _frozen, dev: self.cached_source(maps, dev)))(frozen, device)
            optimiser, scheduler = self._optimiser(top)
            scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
            validate = X_val is not None and len(X_val) > 0
            evaluate = (lambda: self._evaluate(top, X_val, y_val, device, dtype)) if validate else (lambda: None)
            run = train_epochs(top, lambda: self._epoch(top, source, maps.shape[1], targets, generator, optimiser,
                                                        scaler, device, dtype),
                               scheduler, epochs, evaluate, self.patience)
        top.eval()
        trainable = sum(p.numel() for p in top.parameters() if p.requires_grad)
        return {**run, "top": top, "resolved": resolved, "device": device, "dtype": dtype, "precision": precision,
                "map_shape": list(maps.shape[1:]), "trainable_parameters": int(trainable)}

    def candidates(self, X_train, y_train, X_val, y_val, *, random_state: int):
        """Every epoch run, the best checkpoint with its top: :func:`epoch_candidates`, as :class:`FineTune`."""
        return epoch_candidates(self, X_train, y_train, X_val, y_val, random_state)

    def _record(self, run: dict) -> dict[str, Any]:
        losses = run["train_losses"]
        return {"epochs_run": run["epochs_run"], "best_epoch": run["best_epoch"],
                "train_loss_first_last": [round(losses[0], 4), round(losses[-1], 4)],
                "seconds_per_epoch": round(run["seconds_per_epoch"], 4)}

    def _fitted(self, run: dict, n_classes: int):
        """A builder of a copy of this method holding ``run``'s top (the best checkpoint)."""
        def build():
            fitted = copy.copy(self)
            fitted.__dict__.pop("_frozen", None)
            fitted.n_classes_ = n_classes
            fitted.top_, fitted.device_, fitted.dtype_ = run["top"], run["device"], run["dtype"]
            best_acc = run["history"][run["best_epoch"] - 1][0] if run["history"] else 0.0
            fitted.fit_info_ = {
                **self.network.record(), "weights": run["resolved"].describe(), "pretraining": self.pretraining,
                "cut": self.cut, "n_views": self.n_views, "map_shape": run["map_shape"],
                "trainable_parameters": run["trainable_parameters"], **self._record(run),
                "best_val_accuracy": round(100 * best_acc, 4), "device": str(run["device"]),
                "precision": run["precision"],
            }
            return fitted
        return build

    def train(self, params, X, y, *, random_state: int):
        """A fresh top trained on the cached maps ``X`` (the engine passes training +
        validation groups) for exactly ``params["epochs"]`` epochs, same schedule (its length
        stays ``epochs``), no validation data, no early stopping."""
        y = np.asarray(y, dtype=np.int64)
        n_classes = max(getattr(self, "n_classes_", 0), n_classes_of(y))
        run = self._train(X, y, n_classes, random_state, int(params["epochs"]))
        self.n_classes_ = n_classes
        self.top_, self.device_, self.dtype_ = run["top"], run["device"], run["dtype"]
        # Not "refit": the engine stores its own refit flag under that name (fer_bench.folds).
        self.fit_info_ = {**self.fit_info_, "refit_training": {**self._record(run), "n_images": int(len(y))}}
        return self

    def predict(self, X) -> np.ndarray:
        """Class indices: the top's probabilities averaged over each image's view 0 and mirror."""
        pred, _, _ = self._evaluate(self.top_, X, None, self.device_, self.dtype_)
        return pred
