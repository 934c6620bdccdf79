"""On-disk cache of fold-independent arrays (preprocessed images, per-image features).

Entries are keyed by a JSON description (dataset fingerprint, preprocessing, method
feature parameters, code version), stored as ``<sha>.npy`` plus a ``<sha>.json`` sidecar
that records the key, shape, dtype and the SHA-256 of the array file. An entry whose
sidecar is missing, unreadable, from another fer-bench version or whose bytes do not
match its hash is rebuilt, never trusted. Writes go to a temporary file then
``os.replace``, so a killed process leaves no half-written entry and concurrent workers
can share one cache. Arrays are returned memory-mapped read-only, so parallel workers
share pages instead of copying features.

A cache that cannot be written (its disk is full, over quota or read-only) is not an
error: a warning names it and says what to do, and the run carries on without it
(:meth:`ArrayCache.disable`). An array filled through a memory map has its disk space
reserved first (``posix_fallocate``), so a full disk is an ``OSError`` here rather than
a SIGBUS when a page of a sparse file cannot be backed. Temporary files
(``<2 hex>/tmp*.npy.tmp``, ``tmp*.json.tmp``) are locked while written; stale ones, left by
a killed process, are removed by :meth:`ArrayCache.remove_stale_temporaries`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import files

log = logging.getLogger(__name__)

#: Bump when the layout of cache entries changes.
CACHE_FORMAT = 1

#: The temporary files of entries being written (relative to the cache root).
TEMPORARY_PATTERNS = ("??/tmp*.npy.tmp", "??/tmp*.json.tmp")

#: Caches this process has already warned about (one warning per cache, not per entry).
_WARNED: set[str] = set()


def default_cache_dir() -> Path:
    """``$FER_BENCH_CACHE``, else ``$XDG_CACHE_HOME/fer-bench``, else ``~/.cache/fer-bench``."""
    if os.environ.get("FER_BENCH_CACHE"):
        return Path(os.environ["FER_BENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return files.expand_user(Path(base) / "fer-bench")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArrayCache:
    """A directory of verified ``.npy`` entries. ``root=None`` disables caching."""

    def __init__(self, root: str | Path | None):
        self.root = files.expand_user(root) if root is not None else None
        self.hits = 0
        self.misses = 0
        self.rebuilt = 0
        #: Why the cache was turned off during this run (a full or read-only disk), else None.
        self.disabled: str | None = None

    def disable(self, exc: OSError) -> bool:
        """Turn the cache off after ``exc``, when it means the cache's disk is full or not
        writable: logs one warning naming the cache and what to do, and returns True.
        Returns False (nothing changed) for any other error, which the caller re-raises."""
        error = files.storage_error(
            exc, self.root, "feature cache",
            "carrying on without the cache (slower; free some space or choose another --cache-dir / $FER_BENCH_CACHE "
            "to use it again)",
        )
        if error is None:
            return False
        if str(self.root) not in _WARNED:
            _WARNED.add(str(self.root))
            log.warning("%s", error)
        self.disabled = str(error)
        self.root = None
        return True

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove the temporary files of entries that no process is writing any more."""
        return [] if self.root is None else files.remove_stale_temporaries(self.root, TEMPORARY_PATTERNS)

    @staticmethod
    def key_hash(key: dict[str, Any]) -> str:
        """The entry name of ``key``: 40 hex digits of a SHA-256 over the key, the cache format and the fer-bench version."""
        from . import __version__

        text = json.dumps({"key": key, "format": CACHE_FORMAT, "fer_bench": __version__}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def paths(self, key: dict[str, Any]) -> tuple[Path, Path]:
        """(array file, JSON sidecar) of ``key``'s entry, in a sub-folder named by the hash's first two digits."""
        name = self.key_hash(key)
        folder = self.root / name[:2]
        return folder / f"{name}.npy", folder / f"{name}.json"

    def load(self, key: dict[str, Any]) -> np.ndarray | None:
        """The verified array for ``key``, or ``None`` (absent, corrupt or stale)."""
        if self.root is None:
            return None
        data_path, meta_path = self.paths(key)
        if not data_path.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            expected = self.key_hash(key)
            if meta.get("hash") != expected:
                raise ValueError("sidecar belongs to another key or version")
            if _file_sha256(data_path) != meta["sha256"]:
                raise ValueError("array bytes do not match their recorded SHA-256")
            array = np.load(data_path, mmap_mode="r", allow_pickle=False)
            if list(array.shape) != meta["shape"] or str(array.dtype) != meta["dtype"]:
                raise ValueError("array shape or dtype differ from the sidecar")
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            log.warning("cache entry %s is unusable (%s); rebuilding it", data_path, exc)
            self.rebuilt += 1
            for path in (data_path, meta_path):
                path.unlink(missing_ok=True)
            return None
        return array

    def store(self, key: dict[str, Any], array: np.ndarray) -> np.ndarray:
        """Write ``array`` atomically and return it memory-mapped from the cache."""
        array = np.ascontiguousarray(array)
        if self.root is None:
            return array
        data_path, meta_path = self.paths(key)
        tmp = None
        try:
            data_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _locked_temporary(data_path.parent, ".npy.tmp")
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
                handle.flush()
                sha = _file_sha256(Path(tmp))
                os.replace(tmp, data_path)
            self._write_meta(key, data_path, meta_path, array.shape, array.dtype, sha)
            return np.load(data_path, mmap_mode="r", allow_pickle=False)
        except OSError as exc:
            _remove(tmp)
            if not self.disable(exc):
                raise
            return array
        except BaseException:
            _remove(tmp)
            raise

    def get_or_fill(
        self, key: dict[str, Any], shape: tuple[int, ...], dtype, fill: Callable[[np.ndarray], None]
    ) -> np.ndarray:
        """Like :meth:`get_or_compute`, for arrays built row by row: ``fill(out)`` writes
        into a memory-mapped file in the cache, so a dataset larger than memory never has
        to be held in RAM (e.g. 35,887 images at 224×224×3 float32 is 21 GB)."""
        cached = self.load(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        if self.root is None:
            out = np.empty(shape, dtype=dtype)
            fill(out)
            return out
        data_path, meta_path = self.paths(key)
        fd = tmp = None
        try:
            try:  # the file, its space reserved: a full disk fails here, not as a SIGBUS in fill()
                data_path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = _locked_temporary(data_path.parent, ".npy.tmp")
                out = _reserved_memmap(fd, tmp, shape, dtype)
            except OSError as exc:
                _remove(tmp)
                if not self.disable(exc):
                    raise
                out = np.empty(shape, dtype=dtype)
                fill(out)
                return out
            fill(out)
            try:
                out.flush()
                sha = _file_sha256(Path(tmp))
                os.replace(tmp, data_path)
                self._write_meta(key, data_path, meta_path, shape, np.dtype(dtype), sha)
            except OSError as exc:
                if not self.disable(exc):
                    raise
                kept = np.array(out)  # computed: keep it in memory, the cache file goes
                del out
                _remove(tmp)
                return kept
            del out
            return np.load(data_path, mmap_mode="r", allow_pickle=False)
        except BaseException:
            _remove(tmp)
            raise
        finally:
            if fd is not None:
                os.close(fd)

    def _write_meta(self, key, data_path: Path, meta_path: Path, shape, dtype, sha: str) -> None:
        meta = {"hash": self.key_hash(key), "key": key, "shape": list(shape), "dtype": str(dtype), "sha256": sha}
        tmp_meta = None
        try:
            fd, tmp_meta = _locked_temporary(data_path.parent, ".json.tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(meta, handle, sort_keys=True, default=str)
                handle.flush()
                os.replace(tmp_meta, meta_path)
        except BaseException:
            _remove(tmp_meta)
            data_path.unlink(missing_ok=True)  # an array without its sidecar is never trusted anyway
            raise

    def discard(self, key: dict[str, Any]) -> None:
        """Remove ``key``'s entry (array and sidecar) if present."""
        if self.root is None:
            return
        for path in self.paths(key):
            path.unlink(missing_ok=True)

    def get_or_compute(self, key: dict[str, Any], compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The verified cached array of ``key``, else ``compute()`` stored and returned memory-mapped."""
        cached = self.load(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        return self.store(key, compute())


def _locked_temporary(folder: Path, suffix: str) -> tuple[int, str]:
    """A new temporary file in ``folder`` (``tmp*<suffix>``), locked with ``flock`` so that
    :meth:`ArrayCache.remove_stale_temporaries` of another process leaves it alone."""
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, tmp


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)


def _reserved_memmap(fd: int, tmp: str, shape, dtype) -> np.memmap:
    """A writable ``.npy`` memory map of ``shape``/``dtype`` in ``tmp`` (open as ``fd``), with
    all its disk blocks allocated before any page is touched.

    ``numpy``'s ``open_memmap`` makes a sparse file: writing a page the disk has no room
    for then kills the process with SIGBUS. Reserving the space first turns a full disk
    into an ``OSError`` (ENOSPC / EDQUOT) here. Uses ``posix_fallocate``, else (file
    systems or platforms without it) writes zeros.
    """
    header = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    offset = header.offset
    del header  # only the header and the last byte are written; no page of the map was touched
    size = os.fstat(fd).st_size
    try:
        if not hasattr(os, "posix_fallocate"):
            raise OSError(errno.EOPNOTSUPP, "posix_fallocate is not available")
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        block = bytes(1 << 20)
        position = offset  # the header before it is written already
        while position < size:
            position += os.pwrite(fd, block[: min(len(block), size - position)], position)
        os.fsync(fd)
    return np.load(tmp, mmap_mode="r+", allow_pickle=False)
