"""mini-Xception: the port from Keras is exact, it reads expressions, and its two methods
(probe and fine-tune) follow the fit/refit contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fer_bench
from fer_bench import ImageSpec, load_dataset, transfer
from fer_bench.cache import ArrayCache
from fer_bench.preprocess import load_images
from fer_bench.pretraining import overlap
from fer_bench.registry import create_method
from tests.conftest import cli
from tests.data.make_mini_xception_reference import inputs_sha256, reference_inputs
from tests.models import session_models

REFERENCE = Path(__file__).parent / "data" / "mini_xception_reference.json"
TINY = "synthetic?subjects=4&per_expression=2&size=64"


@pytest.fixture
def models(tmp_path_factory, monkeypatch):
    folder = session_models(tmp_path_factory, "mini_xception")
    monkeypatch.setenv("FER_BENCH_MODELS", str(folder))
    return folder


@pytest.fixture
def network(models):
    from fer_bench import mini_xception, weights

    return mini_xception.load_pretrained(weights.model_path("mini_xception"))


def probabilities(model, gray01: np.ndarray) -> np.ndarray:
    import torch

    from fer_bench.mini_xception import scale_input

    with torch.inference_mode():
        x = scale_input(torch.from_numpy(np.ascontiguousarray(gray01, dtype=np.float32))[:, None])
        return torch.softmax(model(x), 1).numpy()


# -- the port ------------------------------------------------------------------------------
def test_tensorflow_same_padding_is_asymmetric_on_even_sizes():
    from fer_bench.mini_xception import tf_same_pad

    assert tf_same_pad(60, 3, 2) == (0, 1)  # torch's padding=1 would shift every window
    assert tf_same_pad(15, 3, 2) == (1, 1)
    assert tf_same_pad(8, 3, 2) == (0, 1)
    assert tf_same_pad(60, 1, 2) == (0, 0)


def test_port_matches_keras_outputs(network):
    """Outputs of Keras itself on the original HDF5 (tests/data/make_mini_xception_reference.py)."""
    import torch

    reference = json.loads(REFERENCE.read_text())
    x = reference_inputs()
    assert inputs_sha256(x) == reference["inputs_sha256"], "the test inputs are not those Keras saw"
    assert sum(p.numel() for p in network.parameters()) + sum(b.numel() for n, b in network.named_buffers()
                                                              if "num_batches" not in n) == 58423  # Keras' count
    np.testing.assert_allclose(probabilities(network, x), reference["probabilities"], atol=2e-6)
    with torch.inference_mode():
        pooled = network.pooled((torch.from_numpy(x)[:, None] - 0.5) * 2).numpy()
    np.testing.assert_allclose(pooled, reference["pooled"], rtol=1e-4, atol=1e-5)
    assert reference["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_a_wrong_layer_layout_is_not_the_port(network):
    """Control: torch's symmetric pooling padding or torch's BatchNorm epsilon changes the outputs,
    so the match above cannot come from a lenient comparison."""
    import torch.nn.functional as F

    from fer_bench import mini_xception

    reference = json.loads(REFERENCE.read_text())
    x = reference_inputs()
    for block in network.modules():
        if isinstance(block, torch_bn()):
            block.eps = 1e-5
    assert not np.allclose(probabilities(network, x), reference["probabilities"], atol=2e-6)
    for block in network.modules():
        if isinstance(block, torch_bn()):
            block.eps = 1e-3
    original = mini_xception.ResidualModule.forward

    def symmetric(self, inp):
        residual = self.shortcut_bn(self.shortcut(inp))
        y = self.bn2(self.sep2(F.relu(self.bn1(self.sep1(inp)))))
        return F.max_pool2d(y, 3, stride=2, padding=1) + residual

    try:
        mini_xception.ResidualModule.forward = symmetric
        assert not np.allclose(probabilities(network, x), reference["probabilities"], atol=2e-6)
    finally:
        mini_xception.ResidualModule.forward = original


def torch_bn():
    from torch import nn

    return nn.BatchNorm2d


def test_a_smiling_face_comes_out_as_happiness(network):
    from fer_bench.mini_xception import FER2013_CLASSES

    proba = probabilities(network, reference_inputs()[:2])  # the astronaut and her mirror image
    assert [FER2013_CLASSES[i] for i in proba.argmax(1)] == ["happy", "happy"]
    assert (proba[:, 3] > 0.9).all()


def test_smiling_jaffe_faces_come_out_as_happiness(jaffe_path, network, tmp_path):
    from fer_bench.mini_xception import FER2013_CANONICAL

    ds = load_dataset(f"jaffe:{jaffe_path}")
    names = list(ds.samples["sample_id"])
    chosen = [names.index(n) for n in ("KA.HA1.29.tiff", "KL.HA1.158.tiff", "KM.HA1.4.tiff")]
    images = load_images(ds, ImageSpec((64, 64), "gray", "crop"), ArrayCache(tmp_path / "c"))
    proba = probabilities(network, np.asarray(images)[chosen])
    assert [FER2013_CANONICAL[i] for i in proba.argmax(1)] == ["happiness"] * 3


def test_the_file_is_refused_when_it_is_not_the_network(tmp_path):
    import h5py

    from fer_bench import mini_xception

    bad = tmp_path / "other.hdf5"
    with h5py.File(bad, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {"layers": []}})
        f.create_group("model_weights")
    with pytest.raises(fer_bench.FerBenchError, match="no layer 'conv2d_1'"):
        mini_xception.keras_state_dict(bad)
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(fer_bench.FerBenchError, match="not a readable HDF5"):
        mini_xception.keras_state_dict(tmp_path / "junk.hdf5")


# -- the methods ---------------------------------------------------------------------------
def test_methods_are_registered_with_their_input_and_pretraining(models):
    probe = create_method("minixception-probe")
    assert probe.input_spec() == ImageSpec((64, 64), "gray", face="crop")
    assert probe.pretraining == "FER2013" and create_method("minixception", weights="none").pretraining == ""
    assert create_method("mobilenetv2-probe").pretraining == "ImageNet-1k"
    assert create_method("mobilenetv2-probe", weights="/x/my-weights.pth").pretraining.startswith("unknown")
    assert probe.unmet_requirements("cpu") == []
    # too slow for the main job's CPU budget (benchmarks/bench_minixception.py): skipped under `all` there
    assert create_method("minixception").skip_reasons("cpu") == [transfer.MINI_XCEPTION_CPU_SKIP]
    assert create_method("minixception").unmet_requirements("cpu") == []


def test_missing_weights_name_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_BENCH_MODELS", str(tmp_path / "none"))
    reasons = create_method("minixception-probe").unmet_requirements("cpu")
    assert len(reasons) == 1 and "fer-bench weights install mini_xception" in reasons[0]


def test_fer2013_results_are_flagged_as_not_independent():
    assert overlap("FER2013", "manifest:/data/fer2013/train.csv")
    assert overlap("FER2013", {"name": "ferplus", "spec": "folder:/d"})  # FER+ relabels FER2013's images
    assert overlap("FER2013", {"name": "mine", "spec": "manifest:x.csv", "notes": {"source": "FER-2013"}})
    assert overlap("FER2013", "jaffe:/data/jaffe") is None
    assert overlap(None, "fer2013") is None
    assert overlap("ImageNet-1k", "fer2013") is None


def test_probe_chooses_C_on_validation_and_refits_on_train_and_val(models):
    probe = create_method("minixception-probe")
    images, y, split = transfer_bars()
    features = probe.extract_features(images)
    assert features.shape == (len(images), 2, 128) and features.dtype == np.float32
    train, val, test = split == 0, split == 1, split == 2
    model = probe.clone().fit(features[train], y[train], features[val], y[val], random_state=0)
    chosen = model.selection_.params
    assert [c.params for c in model.selection_.candidates] == [{"C": c} for c in sorted(probe.C_grid)]
    assert chosen["C"] in probe.C_grid and model.fit_info()["chosen"] == chosen
    before = model.model_
    both = train | val
    model.refit(features[both], y[both], random_state=0)
    assert model.model_ is not before and model.model_[-1].C == chosen["C"]
    assert model.fit_info()["refit_training"] == {"C": chosen["C"], "n_images": int(both.sum())}
    assert np.mean(model.predict(features[test]) == y[test]) > 0.6  # chance is 1/3


def transfer_bars():
    images, y, split = bar_images()
    return images.mean(axis=3), y, split


def bar_images(n_per_class=12, size=64, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    images = rng.uniform(0, 0.25, (len(y), size, size, 3)).astype(np.float32)
    band = size // 3
    for i, c in enumerate(y):
        images[i, c * band + 2 : c * band + band - 2, :] += 0.6
    return images, y, np.arange(len(y)) % 3


@pytest.mark.slow
def test_finetune_chooses_epochs_on_validation_and_refits_exactly_that_many(models):
    images, y, split = transfer_bars()
    train, val = split == 0, split == 1
    method = create_method("minixception", epochs=4, patience=4, batch_size=8)
    method.fit(images[train], y[train], images[val], y[val], random_state=3)
    candidates = method.selection_.candidates
    assert [c.params for c in candidates] == [{"epochs": e} for e in range(1, 5)]
    chosen = method.selection_.params["epochs"]
    assert chosen == method.fit_info()["best_epoch"] and method.model_.head.out_channels == 3
    # The declared secondary key (the validation loss) is stated and recorded with every epoch's value.
    tiebreak = method.fit_info()["validation_tiebreak"]
    assert tiebreak["name"] == "validation loss" and tiebreak["lower_wins"] is True
    assert [v for _, v in tiebreak["values"]] == [round(c.tiebreak, 6) for c in candidates]
    first, last = method.fit_info()["train_loss_first_last"]
    both = train | val
    method.refit(images[both], y[both], random_state=3)
    refit = method.fit_info()["refit_training"]
    assert refit["epochs"] == chosen and refit["n_images"] == int(both.sum())
    assert method.predict(images[split == 2]).shape == (int((split == 2).sum()),)
    assert last < first  # the training loss falls


@pytest.mark.slow
def test_minixception_probe_through_the_cli_records_pretraining(tmp_path, models):
    out = tmp_path / "o"
    cli("run", "--methods", "minixception-probe", "--dataset", TINY, "--runs", "1", "--folds", "3",
        "--device", "cpu", "--out", str(out), "-q", env={"FER_BENCH_MODELS": str(models)})
    info = list(fer_bench.load_results(out).folds["info"])
    assert len(info) == 3 and all(i["pretraining"] == "FER2013" and i["backbone"] == "mini_xception" for i in info)
    assert all("emotion_model.hdf5" in i["weights"] for i in info)
    # The engine's refit flag and the method's record of the refit are both stored (the flag
    # once overwrote a record kept under the same name).
    assert all(i["refit"] is True and i["refit_training"]["C"] == i["chosen"]["C"] for i in info)


def test_transfer_uses_one_gray_channel():
    x = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    assert tuple(transfer.to_tensor(x, 1).shape) == (2, 1, 8, 8)
    assert tuple(transfer.to_tensor(x).shape) == (2, 3, 8, 8)
