"""Paths given by users, and writing output files safely.

* :func:`user_path` expands ``~`` / ``~user`` in a path option (an argparse ``type=``, used by
  every path option of every sub-command, so the shell's quoting never decides where files go).
* :func:`storage_error` turns the operating system's "disk full" / "read-only" ``OSError`` into a
  :class:`~fer_bench.errors.StorageError` naming the path; :func:`write_atomic` and
  :func:`writable_directory` raise those.
* Temporary files are locked (``flock``) while being written, so :func:`remove_stale_temporaries`
  can tell a temporary left by a dead process from one another process is writing.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import time
from pathlib import Path

from .errors import DiskFullError, FerBenchError, NotWritableError, StorageError

#: errno values meaning "no room": the file system is full, or the user's quota is used up.
NO_SPACE = frozenset(e for e in (getattr(errno, "ENOSPC", None), getattr(errno, "EDQUOT", None)) if e is not None)
#: errno values meaning "may not write here": a read-only file system, or no permission.
NOT_WRITABLE = frozenset((errno.EROFS, errno.EACCES, errno.EPERM))

#: The names :func:`write_atomic` gives its temporary files in a results folder (``.table1.csv.tmp``).
ATOMIC_TEMPORARIES = tuple(f".*.{ext}.tmp" for ext in ("csv", "md", "json", "gz", "svg", "png", "pdf", "html"))

#: Seconds a temporary file must be older than before it may be taken for a dead process's.
STALE_AFTER = 10.0


def expand_user(path: str | os.PathLike) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded (as a shell would), as a :class:`Path`.

    Raises :class:`~fer_bench.errors.FerBenchError` when ``~user`` names no user (rather
    than creating a folder literally named ``~user``).
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text.startswith("~"):
        return Path(text)
    expanded = os.path.expanduser(text)
    if expanded.startswith("~"):
        user = text[1:].split(os.sep, 1)[0]
        raise FerBenchError(f"{text}: cannot expand '~{user}' (no such user, or no HOME); write the path in full")
    return Path(expanded)


def user_path(text: str) -> Path:
    """argparse ``type=`` of every path option: ``text`` with ``~`` / ``~user`` expanded.

    An unknown ``~user`` is an argparse error (one line, exit 2).
    """
    try:
        return expand_user(text)
    except FerBenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def storage_error(exc: OSError, path: str | os.PathLike, what: str = "", hint: str | None = None) -> StorageError | None:
    """The :class:`StorageError` for an ``OSError`` that means "no space" or "not writable"
    while writing ``path`` (``None`` for any other error, which the caller re-raises).

    ``what`` describes the path (``"results folder"``, ``"feature cache"``); ``hint`` says
    what to do (default: free some space / choose another output location).
    """
    if exc.errno in NO_SPACE:
        cls, state = DiskFullError, "the disk is full"
        hint = hint or "free some space, or choose another --out"
    elif exc.errno in NOT_WRITABLE:
        cls, state = NotWritableError, "not writable"
        hint = hint or "choose another --out"
    else:
        return None
    reason = exc.strerror or str(exc)
    where = f"{what} {path}" if what else str(path)
    return cls(f"cannot write {where}: {state} ({reason}); {hint}", path=Path(path), reason=reason)


def write_atomic(path: Path, data: str | bytes, *, hint: str | None = None) -> Path:
    """Write a file so that an interrupted run leaves the old or the new one, never half.

    The data go to ``.<name>.tmp`` (locked while written, removed on any failure), then
    ``os.replace``. Raises :class:`~fer_bench.errors.DiskFullError` /
    :class:`~fer_bench.errors.NotWritableError` naming ``path`` (with ``hint``, what to do)
    when the disk is full or the folder is read-only.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view):]
        os.replace(tmp, path)
    except BaseException as exc:  # OSError, Ctrl-C: no temporary is left behind
        if fd is not None:
            tmp.unlink(missing_ok=True)
        error = storage_error(exc, path, hint=hint) if isinstance(exc, OSError) else None
        if error is not None:
            raise error from None
        raise
    finally:
        if fd is not None:
            os.close(fd)
    return path


def writable_directory(path: Path, option: str, hint: str | None = None) -> Path:
    """``path``, created if needed, after checking a file can be written there.

    Raises :class:`~fer_bench.errors.NotWritableError` (or
    :class:`~fer_bench.errors.DiskFullError`) naming ``option`` (``--out``, ``--cache-dir``)
    when ``path`` is a file, cannot be created or is read-only; ``hint`` replaces the
    default "choose another ``option``".
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".fer-bench-write-check-{os.getpid()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = hint or f"choose another {option}"
        if exc.errno in NO_SPACE:
            raise DiskFullError(f"{option} {path}: the disk is full ({reason}); free some space, or {hint}",
                                path=path, reason=reason) from None
        if exc.errno in NOT_WRITABLE:
            raise NotWritableError(f"{option} {path}: not a writable directory ({reason}); {hint}",
                                   path=path, reason=reason) from None
        raise FerBenchError(f"{option} {path}: not a writable directory ({reason}); {hint}") from None
    return path


def remove_stale_temporaries(folder: Path, patterns: tuple[str, ...], min_age: float = STALE_AFTER) -> list[Path]:
    """Remove the temporary files matching ``patterns`` (globs, relative to ``folder``) that
    no process is writing: not locked, and older than ``min_age`` seconds. Returns those
    removed; never raises (a folder that cannot be listed or changed is left alone)."""
    removed: list[Path] = []
    now = time.time()
    for pattern in patterns:
        try:
            candidates = sorted(Path(folder).glob(pattern))
        except OSError:
            continue
        for tmp in candidates:
            try:
                if not tmp.is_file() or now - tmp.stat().st_mtime < min_age:
                    continue
                fd = os.open(tmp, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                tmp.unlink()
                removed.append(tmp)
            except OSError:  # locked: another process is writing it; or it cannot be removed
                pass
            finally:
                os.close(fd)
    return removed
