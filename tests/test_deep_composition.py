"""The deep methods as backbone × strategy (fer_bench/deep): every catalogue entry builds and
resolves under its old name, no class has two Method bases, a new strategy is one class,
and only fer_bench/weights.py knows about weight files."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import fer_bench
from fer_bench import transfer
from fer_bench.deep import backbones, catalogue, strategies
from fer_bench.params import Param
from fer_bench.registry import Method

PACKAGE = Path(fer_bench.__file__).resolve().parent
DEEP_SOURCES = sorted((PACKAGE / "deep").glob("*.py")) + [PACKAGE / "transfer.py"]


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no user cache, no download


@pytest.mark.parametrize("entry", catalogue.CATALOGUE, ids=lambda e: e.name)
def test_every_catalogue_entry_builds_under_its_registered_name(entry):
    cls = fer_bench.get_method_class(entry.name)  # through the entry point in pyproject.toml
    assert cls is catalogue.CLASSES[entry.class_name] is getattr(transfer, entry.class_name)
    assert (cls.__module__, cls.__qualname__) == ("fer_bench.transfer", entry.class_name)  # stored identities
    assert issubclass(cls, entry.strategy) and cls.backbone_type is entry.backbone
    assert cls.parameters == entry.strategy.declare(entry.backbone, entry.defaults)
    for name in ("backbone", "weights"):
        if name in cls.parameters:  # the strategy decides what the network's parameters change
            assert cls.parameters[name].role == entry.strategy.network_role
    method = cls(weights="none")
    assert isinstance(method.network, entry.backbone) and method.network.weights == "none"
    assert method.pretraining == "" and method.unmet_requirements("cpu") == []
    assert method.input_spec() == method.network.input_spec()
    assert pickle.loads(pickle.dumps(method)).params == method.params
    assert "Parameters (declared)" in cls.__doc__ and entry.name in cls.__doc__


def test_backbone_and_weights_parameters_still_select_the_network():
    method = fer_bench.registry.parse_method_list("resnet101-probe:backbone=resnet50")[0].create()
    assert method.backbone == "resnet50" and method.network.name == "resnet50"
    assert "ResNet50_Weights.IMAGENET1K_V1" in method.feature_key()["weights_source"]
    assert fer_bench.create_method("minixception", weights=None).network.weights == "none"


def all_classes():
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="fer_bench."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module.__name__ or info.name == "fer_bench.transfer":
                yield obj


def test_no_class_in_fer_bench_has_two_method_base_classes():
    checked = 0
    for cls in all_classes():
        for klass in cls.__mro__:
            method_bases = [b for b in klass.__bases__ if isinstance(b, type) and issubclass(b, Method)]
            assert len(method_bases) <= 1, f"{klass.__qualname__} has Method bases {method_bases}"
        checked += issubclass(cls, Method)
    assert checked >= 6 + 3  # the registered deep methods and their strategies at least


# -- a third strategy is one class ---------------------------------------------------------
class NearestMean(strategies.DeepMethod):
    """Frozen network features → the nearest class mean (a toy strategy for this test)."""

    strategy = "nearest-mean"
    network_role = "features"
    parallel_features = True
    strategy_parameters = {"batch_size": Param(4, role="runtime", low=1, doc="images per forward pass")}

    def extract_features(self, images):
        import torch

        device = torch.device("cpu")
        model = self.frozen_network(device, seed=0)
        mean, std = self.network.normalisation()
        with torch.inference_mode():
            parts = [model(self._prepare(images[i : i + self.batch_size], device, mean, std)).flatten(1).numpy()
                     for i in range(0, len(images), self.batch_size)]
        return np.concatenate(parts)

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        self.classes_ = np.unique(y_train)
        self.means_ = np.stack([X_train[y_train == c].mean(0) for c in self.classes_])
        self.fit_info_ = {"weights": self.network.weights_description(), **self.network.record()}
        return self

    def predict(self, X):
        return self.classes_[((X[:, None, :] - self.means_[None]) ** 2).sum(-1).argmin(1)]


def test_a_third_strategy_is_one_class_composed_with_an_existing_backbone():
    entry = catalogue.Entry("toy-nearest-mean", "ToyNearestMean", backbones.TorchvisionBackbone, NearestMean,
                            description="toy", citation="none", doc="A toy.",
                            defaults={"backbone": "resnet18", "weights": "none", "image_size": 32})
    cls = catalogue.method_class(entry, module=__name__)
    assert list(cls.parameters) == ["backbone", "weights", "device", "image_size", "batch_size"]
    assert cls.parameter_names("features") == ("backbone", "weights", "image_size")
    method = cls(device="cpu")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 6)
    images = rng.uniform(0, 0.3, (len(y), 32, 32, 3)).astype(np.float32)
    for i, c in enumerate(y):
        images[i, c * 10 + 1 : c * 10 + 9, :] += 0.6
    features = method.extract_features(images)
    assert features.shape == (len(y), 512)  # resnet18's pooled features
    train = np.arange(len(y)) % 2 == 0
    pred = method.fit(features[train], y[train], features[:0], y[:0], random_state=0).predict(features[~train])
    assert pred.shape == (int((~train).sum()),) and set(pred) <= {0, 1, 2}
    assert method.fit_info()["backbone"] == "resnet18" and "random initialisation" in method.fit_info()["weights"]
    assert method.feature_key()["class"] == f"{__name__}.ToyNearestMean"


# -- layout -----------------------------------------------------------------------------------
#: Names only fer_bench/weights.py may use: hashes, the model file table, caches, checkpoint
#: loading, the weights enums' transforms, weights records.
WEIGHTS_KNOWLEDGE = {"hashlib", "MODEL_FILES", "IMAGENET_FILES", "file_sha256", "sha256", "checkpoints_dir",
                     "cached_path", "models_dir", "model_path", "ResolvedWeights",
                     "load_state_dict_from_url", "transforms", "get_model_weights", "hub"}


def code_names(path: Path) -> set[str]:
    """Every identifier the code of ``path`` uses (names, attributes, imports; not its docs)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {part for alias in node.names for part in alias.name.split(".")}
    return names


def test_weights_knowledge_lives_in_weights_py_only():
    for path in DEEP_SOURCES:
        found = code_names(path) & WEIGHTS_KNOWLEDGE
        assert not found, f"{path.name} knows about weight files: {sorted(found)}"
    # The request's description and the resolved weights' agree (both come from weights.py).
    network = fer_bench.create_method("minixception-probe", weights="none").network
    assert network.weights_description() == network.build()[1].describe()


def test_no_function_in_the_deep_package_is_over_80_lines():
    for path in DEEP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 80, f"{path.name}:{node.name}"


def test_cost_messages_point_to_the_measurements_instead_of_copying_them():
    reasons = fer_bench.create_method("mobilenetv2-probe", device="cpu").size_skip_reasons(20_000)
    assert len(reasons) == 1 and "benchmarks/results/holdout_scale.md" in reasons[0]
    assert not re.search(r"\d+ (ms|s)\b", reasons[0])
    assert "benchmarks/results/minixception_cpu.md" in backbones.MINI_XCEPTION_CPU_SKIP
    assert not re.search(r"\d+ minutes", backbones.MINI_XCEPTION_CPU_SKIP)
    assert fer_bench.create_method("minixception-probe").size_skip_reasons(10**6) == []
