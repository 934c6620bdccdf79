"""On-disk cache of fold-independent arrays (preprocessed images, per-image features).

Entries are keyed by a JSON description (dataset fingerprint, preprocessing, method
feature parameters, code version), stored as ``<sha>.npy`` plus a ``<sha>.json`` sidecar
that records the key, shape, dtype and the SHA-256 of the array file. An entry whose
sidecar is missing, unreadable, from another fer-bench version or whose bytes do not
match its hash is rebuilt, never trusted. Writes go to a temporary file then
``os.replace``, so a killed process leaves no half-written entry and concurrent workers
can share one cache. Arrays are returned memory-mapped read-only, so parallel workers
share pages instead of copying features.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Bump when the layout of cache entries changes.
CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$FER_BENCH_CACHE``, else ``$XDG_CACHE_HOME/fer-bench``, else ``~/.cache/fer-bench``."""
    if os.environ.get("FER_BENCH_CACHE"):
        return Path(os.environ["FER_BENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer-bench"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArrayCache:
    """A directory of verified ``.npy`` entries. ``root=None`` disables caching."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0
        self.rebuilt = 0

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
        data_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_path.parent, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
            sha = _file_sha256(Path(tmp))
            os.replace(tmp, data_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._write_meta(key, data_path, meta_path, array.shape, array.dtype, sha)
        return np.load(data_path, mmap_mode="r", allow_pickle=False)

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
        data_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_path.parent, suffix=".npy.tmp")
        os.close(fd)
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            fill(out)
            out.flush()
            del out
            sha = _file_sha256(Path(tmp))
            os.replace(tmp, data_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._write_meta(key, data_path, meta_path, shape, np.dtype(dtype), sha)
        return np.load(data_path, mmap_mode="r", allow_pickle=False)

    def _write_meta(self, key, data_path: Path, meta_path: Path, shape, dtype, sha: str) -> None:
        meta = {"hash": self.key_hash(key), "key": key, "shape": list(shape), "dtype": str(dtype), "sha256": sha}
        fd, tmp_meta = tempfile.mkstemp(dir=data_path.parent, suffix=".json.tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(meta, handle, sort_keys=True, default=str)
        os.replace(tmp_meta, meta_path)

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
