"""The deep transfer learners: probe and fine-tuning, through the CLI and in-process.

Tiny and CPU-only: random-initialised (``weights=none``) resnet18 / mobilenet_v2 at
32×32, 1–10 epochs. Every test has its own TORCH_HOME, so the user's cache is untouched.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import fer_bench
from fer_bench import transfer, weights
from fer_bench.registry import create_method
from tests.conftest import cli

TINY = "synthetic?subjects=4&per_expression=2&size=64"


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def save_resnet18(folder: Path, seed: int = 0, name: str | None = None, num_classes: int = 1000) -> Path:
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(resnet18(num_classes=num_classes).state_dict(), tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    return tmp.rename(folder / (name or f"resnet18-{sha[:8]}.pth"))


def bar_images(n_per_class=12, size=32, seed=0):
    """3 classes of noise images with a bright horizontal bar whose height is the class
    (horizontal, so that mirroring keeps the class)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    images = rng.uniform(0, 0.25, (len(y), size, size, 3)).astype(np.float32)
    band = size // 3
    for i, c in enumerate(y):
        images[i, c * band + 2 : c * band + band - 2, :] += 0.6
    split = np.arange(len(y)) % 3  # 0 train, 1 validation, 2 test
    return images, y, split


def fold_info(out: Path) -> list[dict]:
    return list(fer_bench.load_results(out).folds["info"])


# -- registration and parameters --------------------------------------------------------
def test_four_methods_are_registered_with_their_backbones():
    assert {"resnet101", "resnet101-probe", "mobilenetv2", "mobilenetv2-probe"} <= set(fer_bench.list_methods())
    assert create_method("resnet101").backbone == "resnet101"
    assert create_method("mobilenetv2-probe").backbone == "mobilenet_v2"
    assert fer_bench.get_method_class("resnet101").paper_oa == (96.29, 0.78)
    assert create_method("resnet101-probe").input_spec() == fer_bench.ImageSpec((224, 224), "rgb", face="align")
    assert "device" in create_method("resnet101").parameter_names("runtime")


def test_transfer_parameters_are_declared_with_roles_and_docs():
    """Every parameter is a declared Param with a doc (not a legacy plain value), and the
    roles say what each changes: a probe's cached features depend on the network and its
    input, a fine-tuned network's cache is the image stack, whose batch size is the SGD
    mini-batch (it changes the result, so it is no runtime choice there)."""
    from fer_bench.params import Param

    for name in ("resnet101", "resnet101-probe", "mobilenetv2", "mobilenetv2-probe", "minixception",
                 "minixception-probe"):
        declared = fer_bench.get_method_class(name).parameters
        for pname, param in declared.items():
            assert isinstance(param, Param) and not param.inferred and param.doc, f"{name}:{pname}"
        assert declared["device"].role == "runtime"
        assert declared["image_size"].role == "features"
        if name.endswith("-probe"):
            assert set(fer_bench.get_method_class(name).parameter_names("features")) == (
                {"weights", "image_size", "flip_views", "init_seed"} | ({"backbone"} if "backbone" in declared else set()))
            assert declared["batch_size"].role == "runtime" and declared["C_grid"].role == "fit"
        else:
            assert fer_bench.get_method_class(name).parameter_names("features") == ("image_size",)
            assert declared["batch_size"].role == "fit" and declared["epochs"].role == "fit"
    # A probe's inference batch is chosen per device unless given (8 on a CPU, 64 on a GPU).
    assert create_method("minixception-probe").batch_size is None
    assert create_method("minixception-probe", batch_size=16).batch_size == 16
    assert create_method("minixception").batch_size == 64  # fine-tuning: the SGD mini-batch
    assert create_method("resnet101-probe", C=1).C_grid == (1.0,)
    with pytest.raises(fer_bench.errors.UnknownMethodError, match="batch_size"):
        create_method("resnet101-probe", batch_size=0)
    proc = cli("methods", "-v")
    assert "C_grid: tuple of float, default 0.01|0.1|1.0|10.0, in [0, inf], alias C, role fit: inverse L2" in proc.stdout


def test_bad_backbone_or_weights_fail_at_the_edge():
    with pytest.raises(weights.UnknownBackboneError, match="resnet18"):
        create_method("resnet101-probe", backbone="resnet_18")
    with pytest.raises(weights.UnknownBackboneError, match="IMAGENET1K_V1"):
        create_method("resnet101", weights="IMAGENET9K")
    with pytest.raises(fer_bench.errors.FerBenchError, match="optimi[sz]er"):
        create_method("resnet101", optimizer="lbfgs")
    # `weights=none` on the command line stays the text "none" (the parameter is a str)
    (spec,) = fer_bench.registry.parse_method_list("resnet101:weights=none")
    assert spec.create().weights == "none"


def test_requirements_and_skip_reasons(torch_home):
    pretrained = create_method("resnet101-probe")
    reasons = pretrained.unmet_requirements("cpu")
    assert len(reasons) == 1 and "fer-bench weights install resnet101 --from FILE" in reasons[0]
    assert not (torch_home / "hub" / "checkpoints").exists()  # no download attempted

    scratch_probe = create_method("resnet101-probe", weights="none")
    assert scratch_probe.unmet_requirements("cpu") == [] and scratch_probe.skip_reasons("cpu") == []
    scratch_finetune = create_method("resnet101", weights="none")
    assert scratch_finetune.unmet_requirements("cpu") == []
    assert any("GPU" in r for r in scratch_finetune.skip_reasons("cpu"))
    assert create_method("mobilenetv2", weights="/no/such/mobilenet_v2-b0353104.pth").unmet_requirements("cpu") == [
        "weights file /no/such/mobilenet_v2-b0353104.pth does not exist"
    ]


# -- building blocks --------------------------------------------------------------------
def test_augment_without_crop_rotation_or_flip_is_the_identity():
    import torch

    batch = torch.rand(4, 3, 16, 16)
    generator = torch.Generator().manual_seed(0)
    same = transfer.augment(batch, generator, crop_scale=1.0, max_rotation=0.0, flip=False)
    assert torch.allclose(same, batch, atol=1e-5)
    moved = transfer.augment(batch, generator, crop_scale=0.8, max_rotation=10.0, flip=True)
    assert moved.shape == batch.shape and not torch.allclose(moved, batch, atol=1e-3)


def test_weights_from_a_file_are_the_files_tensors(tmp_path):
    import torch

    path = save_resnet18(tmp_path / "w", seed=3)
    saved = torch.load(path, weights_only=True)
    model, resolved = transfer.build_backbone("resnet18", str(path))
    assert resolved.source == "file" and resolved.path == path
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    # a checkpoint fine-tuned for another task (7 outputs): the body loads, the head is ignored
    seven = save_resnet18(tmp_path / "w7", seed=4, num_classes=7)
    model7, _ = transfer.build_backbone("resnet18", str(seven))
    assert torch.equal(model7.conv1.weight, torch.load(seven, weights_only=True)["conv1.weight"])
    # a file for another architecture is refused with the reason
    with pytest.raises(weights.WeightsIntegrityError, match="does not fit backbone mobilenet_v2"):
        transfer.build_backbone("mobilenet_v2", str(path))


def test_probe_features_hold_the_image_and_its_mirror():
    images, y, split = bar_images()
    probe = create_method("resnet101-probe", backbone="resnet18", weights="none", image_size=32, batch_size=16)
    features = probe.extract_features(images)
    assert features.shape == (len(images), 2, 512) and features.dtype == np.float32
    mirrored = probe.extract_features(images[:, :, ::-1].copy())
    np.testing.assert_allclose(mirrored[:, 0], features[:, 1], rtol=1e-4, atol=1e-5)
    # the same seeded random network gives the same (cacheable) features
    np.testing.assert_array_equal(probe.extract_features(images), features)

    model = probe.clone().fit(features[split == 0], y[split == 0], features[split == 1], y[split == 1], random_state=0)
    accuracy = np.mean(model.predict(features[split == 2]) == y[split == 2])
    assert accuracy >= 0.9, accuracy  # random conv features keep a bar's position
    info = model.fit_info()
    assert info["chosen"]["C"] in probe.C_grid and "random initialisation" in info["weights"]


@pytest.mark.slow
def test_finetune_is_deterministic_on_cpu_and_learns():
    import torch

    images, y, split = bar_images()
    train, val, test = split == 0, split == 1, split == 2
    params = dict(backbone="resnet18", weights="none", image_size=32, epochs=2, batch_size=8)
    first = create_method("resnet101", **params).fit(images[train], y[train], images[val], y[val], random_state=5)
    second = create_method("resnet101", **params).fit(images[train], y[train], images[val], y[val], random_state=5)
    for (name, a), b in zip(first.model_.state_dict().items(), second.model_.state_dict().values()):
        assert torch.equal(a, b), name
    other = create_method("resnet101", **params).fit(images[train], y[train], images[val], y[val], random_state=6)
    assert not torch.equal(first.model_.fc.weight, other.model_.fc.weight)
    info = first.fit_info()
    assert info["epochs_run"] == 2 and 1 <= info["best_epoch"] <= 2 and info["precision"] == "float32"
    assert info["seconds_per_epoch"] > 0 and "random initialisation" in info["weights"]
    assert first.model_.fc.out_features == 3

    longer = create_method("resnet101", **{**params, "epochs": 10}).fit(
        images[train], y[train], images[val], y[val], random_state=0
    )
    assert np.mean(longer.predict(images[test]) == y[test]) > 0.5  # chance is 1/3


def test_early_stopping_keeps_the_best_validation_epoch(monkeypatch):
    images, y, split = bar_images(n_per_class=4)
    scores = iter([0.2, 0.6, 0.4, 0.4, 0.4, 0.9])  # best at epoch 2, then 3 epochs without gain

    def fake_evaluate(self, model, X, y_, device, dtype, mean, std):
        return None, next(scores), 1.0

    monkeypatch.setattr(transfer.FineTune, "_evaluate", fake_evaluate)
    method = create_method("resnet101", backbone="resnet18", weights="none", image_size=32, epochs=6, patience=3)
    info = method.fit(images[split == 0], y[split == 0], images[split == 1], y[split == 1], random_state=0).fit_info()
    assert (info["epochs_run"], info["best_epoch"], info["best_val_accuracy"]) == (5, 2, 60.0)


# -- through the command line -----------------------------------------------------------
@pytest.mark.slow
def test_probe_and_finetune_through_the_cli(tmp_path, torch_home):
    env = {"TORCH_HOME": str(torch_home)}
    out = tmp_path / "out"
    methods = (
        "resnet101-probe:backbone=resnet18:weights=none:image_size=32,"
        "mobilenetv2:weights=none:image_size=32:epochs=1:batch_size=16"
    )
    proc = cli("run", "--methods", methods, "--dataset", TINY, "--runs", "1", "--folds", "3",
               "--device", "cpu", "--out", str(out), "-q", env=env)
    assert "resnet101-probe:backbone=resnet18,image_size=32,weights=none" in proc.stdout
    results = fer_bench.load_results(out)
    folds = results.folds
    assert len(folds) == 6 and set(folds["method"]) == {
        "resnet101-probe:backbone=resnet18,image_size=32,weights=none",
        "mobilenetv2:batch_size=16,epochs=1,image_size=32,weights=none",
    }
    for info in folds["info"]:
        assert "random initialisation" in info["weights"]
    finetune_info = [i for m, i in zip(folds["method"], folds["info"]) if m.startswith("mobilenetv2")]
    assert all(i["epochs_run"] == 1 and i["best_epoch"] == 1 and i["backbone"] == "mobilenet_v2" for i in finetune_info)


@pytest.mark.slow
def test_cli_weights_from_files_and_refusals(tmp_path, torch_home):
    env = {"TORCH_HOME": str(torch_home)}
    good = save_resnet18(tmp_path / "w")
    wrong = tmp_path / "w" / "resnet18-0badbeef.pth"
    shutil.copyfile(good, wrong)
    base = ("--dataset", TINY, "--runs", "1", "--folds", "3", "--device", "cpu", "-q")

    cli("run", "--methods", f"resnet101-probe:backbone=resnet18:image_size=32:weights={good}",
        "--out", str(tmp_path / "good"), *base, env=env)
    info = fold_info(tmp_path / "good")[0]
    assert info["weights"] == f"file {good}"

    refused = cli("run", "--methods", f"resnet101-probe:backbone=resnet18:image_size=32:weights={wrong}",
                  "--out", str(tmp_path / "wrong"), *base, check=False, env=env)
    assert refused.returncode == 2 and "0badbeef" in refused.stderr and "refusing" in refused.stderr

    missing = cli("run", "--methods", "resnet101-probe:backbone=resnet18:image_size=32",
                  "--out", str(tmp_path / "missing"), *base, check=False, env=env)
    assert missing.returncode == 2
    assert "resnet18-f37072fd.pth" in missing.stderr
    assert "fer-bench weights install resnet18 --from FILE" in missing.stderr
