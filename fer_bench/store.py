"""The results store: one SQLite file per output directory.

It owns what is known about a benchmark: its configuration, the environment, the
dataset's samples and fingerprint, the splits, the methods with their parameters and,
per (method, run, fold), the predictions, the accuracy and the timings. Each fold is
committed in its own transaction as it finishes, so a run killed at any moment leaves a
consistent store and re-running the same command resumes where it stopped.

Only one process writes to a directory at a time: :class:`ResultsStore` holds an
exclusive ``flock`` on ``.lock`` (released by the kernel even on SIGKILL).

A full disk or a read-only folder is a :class:`~fer_bench.errors.DiskFullError` /
:class:`~fer_bench.errors.NotWritableError` naming the results folder (every statement
goes through :class:`_Connection`, which translates SQLite's "database or disk is full"
and "attempt to write a readonly database"); the folds committed before are kept. A store
is opened read-only by its path quoted into a ``file:`` URI (``#``, ``?`` and ``%`` are
legal in folder names) with ``mode=ro``, which needs no write access to the folder.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigMismatchError, DiskFullError, FerBenchError, NotWritableError, StoreLockedError
from .files import expand_user, storage_error
from .options import identity_keys

log = logging.getLogger(__name__)

STORE_NAME = "results.sqlite"
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    idx INTEGER PRIMARY KEY, sample_id TEXT NOT NULL, label TEXT NOT NULL, subject TEXT);
CREATE TABLE IF NOT EXISTS splits (
    run INTEGER NOT NULL, idx INTEGER NOT NULL, grp INTEGER NOT NULL, PRIMARY KEY (run, idx));
CREATE TABLE IF NOT EXISTS methods (
    method TEXT PRIMARY KEY, name TEXT NOT NULL, params TEXT NOT NULL, identity TEXT NOT NULL,
    position INTEGER NOT NULL, record TEXT);
CREATE TABLE IF NOT EXISTS folds (
    method TEXT NOT NULL, run INTEGER NOT NULL, fold INTEGER NOT NULL,
    accuracy REAL NOT NULL, n_train INTEGER, n_val INTEGER, n_test INTEGER,
    features_seconds REAL, fit_seconds REAL, predict_seconds REAL, info TEXT,
    PRIMARY KEY (method, run, fold));
CREATE TABLE IF NOT EXISTS predictions (
    method TEXT NOT NULL, run INTEGER NOT NULL, fold INTEGER NOT NULL, idx INTEGER NOT NULL,
    y_true INTEGER NOT NULL, y_pred INTEGER NOT NULL, PRIMARY KEY (method, run, idx));
CREATE TABLE IF NOT EXISTS skipped (method TEXT PRIMARY KEY, reason TEXT NOT NULL);
"""

#: Configuration keys that must match for a directory to be resumed: the data's and those of the
#: options declared ``identity=True`` in :data:`fer_bench.config.RUN_OPTIONS`.
IDENTITY_KEYS = identity_keys()


#: What to do when the results folder is full (the folds committed before stay in the store; the
#: runner says so when there are some).
_FULL_HINT = "free some space and re-run the same command to resume, or choose another --out"


def store_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` read-only: the whole path percent-quoted, so a
    ``#``, ``?`` or ``%XX`` in a folder name is part of the name, not of the URI."""
    return "file:" + urllib.parse.quote(str(Path(path).absolute()), safe="/") + "?mode=ro"


def _storage_error(exc: sqlite3.Error, out: Path, write: bool) -> FerBenchError | None:
    """The :class:`~fer_bench.errors.StorageError` meaning of an SQLite error on the store in
    ``out`` (``None`` when it is not about the disk: a programming error, re-raised as is)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    where = f"results folder {out} ({STORE_NAME})"
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return DiskFullError(f"cannot write {where}: the disk is full ({text}); {_FULL_HINT}", path=out, reason=text)
    if primary == sqlite3.SQLITE_IOERR:
        try:  # an I/O error on a file system with no room left is a full disk
            full = shutil.disk_usage(out).free < (1 << 20)
        except OSError:
            full = False
        if full:
            return DiskFullError(f"cannot write {where}: the disk is full ({text}); {_FULL_HINT}", path=out, reason=text)
        return None
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM) or "readonly" in text:
        if write:
            return NotWritableError(f"cannot write {where}: not writable ({text}); choose another --out",
                                    path=out, reason=text)
        return NotWritableError(
            f"cannot read {where} read-only ({text}): it holds an unfinished transaction (a {STORE_NAME}-journal "
            "file) that only a writable copy can roll back; copy the folder somewhere writable and read the copy",
            path=out, reason=text)
    if primary == sqlite3.SQLITE_CANTOPEN and write:
        return NotWritableError(f"cannot write {where}: {text}; choose another --out", path=out, reason=text)
    return None


class _Connection(sqlite3.Connection):
    """An SQLite connection whose statements raise :class:`~fer_bench.errors.StorageError`
    naming the results folder when its disk is full or read-only."""

    out: Path = Path(".")
    writing: bool = False

    def _translated(self, exc: sqlite3.Error) -> BaseException:
        return _storage_error(exc, self.out, self.writing) or exc

    def execute(self, *args, **kwargs):
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.Error as exc:
            raise self._translated(exc) from None

    def executemany(self, *args, **kwargs):
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.Error as exc:
            raise self._translated(exc) from None

    def executescript(self, *args, **kwargs):
        try:
            return super().executescript(*args, **kwargs)
        except sqlite3.Error as exc:
            raise self._translated(exc) from None


def _connect(target: str | Path, out: Path, write: bool, **kwargs) -> _Connection:
    try:
        conn = sqlite3.connect(target, timeout=30, factory=_Connection, **kwargs)
    except sqlite3.Error as exc:
        raise _storage_error(exc, out, write) or exc from None
    conn.out, conn.writing = out, write
    return conn


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class ResultsStore:
    """Read or write the store of one output directory.

    ``ResultsStore(out, write=True)`` creates the directory and takes the lock;
    ``write=False`` opens an existing store read-only (for reports).
    """

    def __init__(self, out: str | Path, write: bool = True):
        self.out = expand_user(out)
        self.path = self.out / STORE_NAME
        self.write = write
        self._lock_handle = None
        self.conn = None
        if write:
            try:
                self.out.mkdir(parents=True, exist_ok=True)
                self._lock()
            except OSError as exc:
                raise storage_error(exc, self.out, "results folder", _FULL_HINT) or exc from None
            try:
                self._open_for_writing()
            except BaseException:
                self.close()
                raise
        else:
            if not self.path.exists():
                raise FerBenchError(f"no results in {self.out}: {STORE_NAME} is missing")
            self.conn = _connect(store_uri(self.path), self.out, False, uri=True)

    def _open_for_writing(self) -> None:
        """Open (or create) the store for writing and bring its schema up to date."""
        self.conn = _connect(self.path, self.out, True, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(_SCHEMA)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(methods)")}
        if "record" not in columns:  # a store written by schema 1
            self.conn.execute("ALTER TABLE methods ADD COLUMN record TEXT")

    # -- locking ------------------------------------------------------------------------
    def _lock(self) -> None:
        handle = open(self.out / ".lock", "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreLockedError(
                f"output directory {self.out} is in use by {holder}; wait for it to finish "
                "or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"fer-bench pid {os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` in the ``meta`` table, or ``default``."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key``, replacing any earlier value."""
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True))
            )

    def initialise(self, config: dict, dataset_samples, groups_by_run: dict[int, np.ndarray]) -> bool:
        """Record a new benchmark, or check that ``config`` matches the stored one.

        Returns True when the store was new. A mismatch raises
        :class:`ConfigMismatchError` naming every differing key; nothing is changed.
        A store that holds no finished fold yet (a run that stopped on bad input before
        its first fold) is not results: another configuration takes it over, with a
        logged warning, so a corrected dataset re-runs in the same ``--out``.
        """
        stored = self.get_meta("config")
        if stored is not None:
            changed = [key for key in identity_keys() if stored.get(key) != config.get(key)]
            changed_splits = [
                run
                for run, groups in groups_by_run.items()
                if [r[0] for r in self.conn.execute("SELECT grp FROM splits WHERE run = ? ORDER BY idx", (run,))]
                != [int(g) for g in groups]
            ]
            if (changed or changed_splits) and not self._has_finished_folds():
                log.warning(
                    "output directory %s held no finished fold of its earlier configuration (%s differed): "
                    "taking it over for this one",
                    self.out,
                    ", ".join(changed) or "splits",
                )
                self._clear()
                return self.initialise(config, dataset_samples, groups_by_run)
            if changed:
                diffs = [f"{key}: stored {stored.get(key)!r}, requested {config.get(key)!r}" for key in changed]
                raise ConfigMismatchError(
                    f"output directory {self.out} holds results of another configuration "
                    f"({'; '.join(diffs)}); use another --out, or delete that directory to start over"
                )
            if changed_splits:
                raise ConfigMismatchError(
                    f"the stored splits of run {changed_splits[0] + 1} in {self.out} differ from the ones computed "
                    "now (another fer-bench version?); use another --out"
                )
            return False
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)", (json.dumps(config, sort_keys=True),)
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (json.dumps(SCHEMA_VERSION),)
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('created', ?)", (json.dumps(_now()),)
            )
            self.conn.executemany(
                "INSERT INTO samples (idx, sample_id, label, subject) VALUES (?, ?, ?, ?)",
                [
                    (i, str(r.sample_id), str(r.label), None if r.subject is None else str(r.subject))
                    for i, r in enumerate(dataset_samples.itertuples(index=False))
                ],
            )
            self.conn.executemany(
                "INSERT INTO splits (run, idx, grp) VALUES (?, ?, ?)",
                [(run, i, int(g)) for run, groups in groups_by_run.items() for i, g in enumerate(groups)],
            )
            self.conn.execute("COMMIT")
        return True

    def _has_finished_folds(self) -> bool:
        return self.conn.execute("SELECT 1 FROM folds LIMIT 1").fetchone() is not None

    def _clear(self) -> None:
        """Empty every table (used only when no fold result is stored)."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for table in ("meta", "samples", "splits", "methods", "folds", "predictions", "skipped"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("COMMIT")

    # -- methods ------------------------------------------------------------------------
    def register_method(self, label: str, name: str, params: dict, identity: dict, record: dict | None = None) -> None:
        """Add a method, or check its parameters match the ones stored under ``label``.

        ``record`` is what reports show about the method (citation, published OA, …),
        stored so that reports never need to import the plugin; it is refreshed on resume.
        """
        row = self.conn.execute("SELECT identity FROM methods WHERE method = ?", (label,)).fetchone()
        identity_json = json.dumps(identity, sort_keys=True, default=str)
        if row is not None:
            if row[0] != identity_json:
                stored = json.loads(row[0])
                diffs = [k for k in sorted(set(stored) | set(identity)) if stored.get(k) != identity.get(k)]
                raise ConfigMismatchError(
                    f"method {label!r} in {self.out} was run with other parameters "
                    f"({', '.join(diffs)} differ); use another --out or name the change "
                    f"explicitly (e.g. {name}:{diffs[0]}=...)"
                )
            if record is not None:
                with self.conn:
                    self.conn.execute("UPDATE methods SET record = ? WHERE method = ?",
                                      (json.dumps(record, sort_keys=True, default=str), label))
            return
        position = self.conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM methods").fetchone()[0]
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO methods (method, name, params, identity, position, record) VALUES (?, ?, ?, ?, ?, ?)",
                (label, name, json.dumps(params, sort_keys=True, default=str), identity_json, position,
                 None if record is None else json.dumps(record, sort_keys=True, default=str)),
            )
            self.conn.execute("DELETE FROM skipped WHERE method = ?", (label,))
            self.conn.execute("COMMIT")

    def record_skipped(self, label: str, reason: str) -> None:
        """Record that method ``label`` was skipped, and why (shown in every leaderboard)."""
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO skipped (method, reason) VALUES (?, ?)", (label, reason))

    def methods(self) -> list[str]:
        """Method labels in the order they were first run."""
        return [r[0] for r in self.conn.execute("SELECT method FROM methods ORDER BY position")]

    def method_params(self, label: str) -> dict:
        """Every parameter value of method ``label`` as run (empty if unknown)."""
        row = self.conn.execute("SELECT params FROM methods WHERE method = ?", (label,)).fetchone()
        return json.loads(row[0]) if row else {}

    def method_record(self, label: str) -> dict:
        """What was recorded about a method at run time (name, citation, published OA, …)."""
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(methods)")}
        if "record" not in columns:  # schema 1: nothing recorded
            row = self.conn.execute("SELECT name FROM methods WHERE method = ?", (label,)).fetchone()
            return {"name": row[0]} if row else {}
        row = self.conn.execute("SELECT name, record FROM methods WHERE method = ?", (label,)).fetchone()
        if not row:
            return {}
        record = json.loads(row[1]) if row[1] else {}
        record.setdefault("name", row[0])
        return record

    def skipped(self) -> dict[str, str]:
        """Skipped method label → reason."""
        return dict(self.conn.execute("SELECT method, reason FROM skipped ORDER BY method"))

    # -- folds --------------------------------------------------------------------------
    def finished_folds(self, label: str) -> set[tuple[int, int]]:
        """(run, fold) pairs (0-based) of method ``label`` already committed."""
        return {(r, f) for r, f in self.conn.execute("SELECT run, fold FROM folds WHERE method = ?", (label,))}

    def record_fold(
        self,
        label: str,
        run: int,
        fold: int,
        test_idx: Iterable[int],
        y_true: Iterable[int],
        y_pred: Iterable[int],
        accuracy: float,
        sizes: tuple[int, int, int],
        timings: dict[str, float],
        info: dict,
    ) -> None:
        """Commit one finished fold (its predictions and summary) in one transaction."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM predictions WHERE method = ? AND run = ? AND fold = ?", (label, run, fold))
            self.conn.executemany(
                "INSERT INTO predictions (method, run, fold, idx, y_true, y_pred) VALUES (?, ?, ?, ?, ?, ?)",
                [(label, run, fold, int(i), int(t), int(p)) for i, t, p in zip(test_idx, y_true, y_pred)],
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO folds (method, run, fold, accuracy, n_train, n_val, n_test, "
                "features_seconds, fit_seconds, predict_seconds, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    label,
                    run,
                    fold,
                    float(accuracy),
                    *map(int, sizes),
                    timings.get("features"),
                    timings.get("fit"),
                    timings.get("predict"),
                    json.dumps(info, sort_keys=True, default=_json_default),
                ),
            )
            self.conn.execute("COMMIT")

    # -- reading ------------------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a read query (used by :class:`~fer_bench.results.Results`)."""
        return self.conn.execute(sql, params).fetchall()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
