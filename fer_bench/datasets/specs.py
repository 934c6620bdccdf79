"""What every dataset source shares: the image file extensions, path and option checks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import DatasetError
from ..store import STORE_NAME

#: Extensions read as images (any case). Pillow reads each of them.
IMAGE_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".dib",
    ".pgm", ".ppm", ".pbm", ".pnm", ".gif", ".webp",
}


def require_path(source: str, path: str | None, want_dir: bool = True) -> Path:
    """The existing path a source was given (a directory, or a file with ``want_dir=False``).

    Raises :class:`~fer_bench.errors.DatasetError` naming the source and the path.
    """
    if not path:
        raise DatasetError(f"the {source} source needs a path: {source}:PATH")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DatasetError(f"{source}: {resolved} does not exist")
    if want_dir and not resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is not a directory")
    if not want_dir and resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is a directory; give the CSV file")
    return resolved.resolve()


def check_options(source: str, options: dict, known: dict) -> None:
    """Refuse an option ``?key=value`` that ``source`` does not know, listing the ones it does."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise DatasetError(f"unknown option {unknown[0]!r} for dataset source {source} (options: {allowed})")


# -- fer-bench's own outputs are never data ------------------------------------------------
#: How an SQLite database file begins (https://www.sqlite.org/fileformat.html, "magic header string").
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Feature-cache layout (:class:`fer_bench.cache.ArrayCache`): ``<ab>/<ab + 38 hex>.npy`` and ``.json``.
_CACHE_SHARD = re.compile(r"^[0-9a-f]{2}$")
_CACHE_ENTRY = re.compile(r"^([0-9a-f]{2})[0-9a-f]{38}\.(?:npy|json)$")


def own_output(dirpath: str | Path, dirnames: list[str], filenames: list[str]) -> str | None:
    """What fer-bench output the folder ``dirpath`` is, by what it holds, or ``None``.

    A results folder holds the results store (``results.sqlite``, an SQLite database, as
    :mod:`fer_bench.store` writes it); a feature cache holds sub-folders named by two hex
    digits with ``<sha>.npy`` / ``<sha>.json`` entries whose names start with those digits
    (:mod:`fer_bench.cache`). Its name does not matter. ``dirnames`` / ``filenames``: the
    folder's listing (as :func:`os.walk` gives it).
    """
    if STORE_NAME in filenames:
        try:
            with open(os.path.join(dirpath, STORE_NAME), "rb") as handle:
                if handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
                    return f"results folder with {STORE_NAME}"
        except OSError:
            pass
    for shard in dirnames:
        if not _CACHE_SHARD.match(shard):
            continue
        try:
            names = os.listdir(os.path.join(dirpath, shard))
        except OSError:
            continue
        if any((m := _CACHE_ENTRY.match(n)) and m[1] == shard for n in names):
            return "feature cache"
    return None


def walk_data(root: Path, own: list[tuple[str, str]]) -> Iterator[tuple[str, list[str], list[str]]]:
    """:func:`os.walk` over ``root`` (following links) that never enters fer-bench's own
    outputs (:func:`own_output`); each one met is appended to ``own`` as (folder relative
    to ``root`` with a trailing ``/``, what it is). The caller may prune ``dirnames`` as
    with :func:`os.walk`."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        kind = own_output(dirpath, dirnames, filenames)
        if kind is not None:
            rel = os.path.relpath(dirpath, root)
            own.append(("./" if rel == "." else rel.replace(os.sep, "/") + "/", kind))
            dirnames[:] = []
            continue
        yield dirpath, dirnames, filenames


def own_output_notice(own: list[tuple[str, str]], root: Path) -> list[str]:
    """The one note line saying which of fer-bench's own outputs under ``root`` were not
    read as data (empty list when none)."""
    if not own:
        return []
    shown = ", ".join(f"{os.fsencode(rel).decode('utf-8', 'backslashreplace')} ({kind})" for rel, kind in own[:3])
    more = f" and {len(own) - 3} more" if len(own) > 3 else ""
    what = "output" if len(own) == 1 else f"{len(own)} outputs"
    return [f"note: fer-bench's own {what} under {root} not read as data: {shown}{more}"]


def data_files(directory: Path, own: list[tuple[str, str]], root: Path | None = None) -> list[Path]:
    """Every file under ``directory`` (sorted), following links (each real folder once),
    without entering fer-bench's own outputs; those met are appended to ``own`` (folders
    relative to ``root``, default ``directory``), as :func:`walk_data` does."""
    root = root or directory
    found: list[Path] = []
    seen = {os.path.realpath(directory)}
    met: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in walk_data(directory, met):
        keep = []
        for d in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, d))
            if real not in seen:
                seen.add(real)
                keep.append(d)
        dirnames[:] = keep
        found.extend(Path(dirpath) / name for name in filenames)
    for rel, kind in met:
        full = directory / rel
        own.append((os.path.relpath(full, root).replace(os.sep, "/") + "/", kind))
    return sorted(found)
