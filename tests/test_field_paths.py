"""Field reports 3: paths given by users and the disks under them.

- tilde-out: ``~`` / ``~user`` expanded in every path option of every sub-command;
- special-chars-out: ``#``, ``?``, ``%20`` in a results path (the store reopened by a quoted URI),
  and a failed run never deletes folds it stored;
- report-readonly: ``report`` on a read-only folder says so in one line, ``report --out DIR``
  writes elsewhere; every writing command refuses a non-writable target in one line;
- disk-full: a full results folder or cache is one line (or, for the cache, a warning and a run
  without it), never a traceback or a SIGBUS; stored folds kept; no ``.tmp`` left.

Read-only and full file systems are real ones where ``unshare -m`` works (root, or user
namespaces); elsewhere those tests skip, and in-process tests inject the errno instead.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fer_bench
from fer_bench import cli as cli_module
from fer_bench.cache import ArrayCache
from fer_bench.errors import DiskFullError, FerBenchError, NotWritableError
from fer_bench.files import user_path, write_atomic
from fer_bench.store import ResultsStore
from tests.conftest import cli, write_images

FB = str(Path(sys.executable).with_name("fer-bench"))
RUN = ("run", "--methods", "pca-svm", "--runs", "1", "--folds", "3", "-q", "--jobs", "1")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A manifest dataset: 3 classes × 9 small images."""
    root = tmp_path_factory.mktemp("data")
    rows = [(f"img/{name}_{i}.png", c) for c, name in enumerate(["happy", "sad", "angry"]) for i in range(9)]
    write_images(root, rows)
    (root / "labels.csv").write_text("path,label\n" + "".join(f"{r},{['happy', 'sad', 'angry'][c]}\n" for r, c in rows))
    return root / "labels.csv"


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data, _session_models) -> Path:
    """A finished results folder (pca-svm, 1 run × 3 folds), shared by the module's tests: copy it before writing."""
    out = tmp_path_factory.mktemp("finished") / "res"
    cli(*RUN, "--dataset", f"manifest:{data}", "--out", str(out),
        env={"FER_BENCH_CACHE": str(tmp_path_factory.getbasetemp() / "fer-bench-cache"),
             "FER_BENCH_MODELS": str(_session_models)})
    return out


def _copy(finished: Path, to: Path) -> Path:
    shutil.copytree(finished, to)
    return to


def _one_line_error(proc, *words):
    """The process failed with exit 2 and one ``fer-bench: error:`` line naming ``words``."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("fer-bench: error:")]
    assert len(errors) == 1, proc.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.name.endswith(".tmp")]


# -- tilde-out -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tilde_is_expanded_in_run_report_compare_and_check(data, tmp_path):
    """--out=~/fer-out wrote into ./~/fer-out and said "written to ~/fer-out"."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {"HOME": str(home)}
    proc = cli(*RUN, "--dataset", f"manifest:{data}", "--out=~/fer-out", "--cache-dir=~/fbcache", cwd=cwd, env=env)
    assert (home / "fer-out" / "results.sqlite").is_file() and (home / "fbcache").is_dir()
    assert f"written to {home / 'fer-out'}" in proc.stdout
    cli("report", "~/fer-out", "--out", "~/rep", cwd=cwd, env=env)
    assert (home / "rep" / "report.html").is_file()
    cli("compare", "~/fer-out", "--out", "~/cmp/c.md", cwd=cwd, env=env)
    assert (home / "cmp" / "c.md").is_file()
    cli("check", "--results", "~/fer-out", "--write-reference", "~/ref/r.json", cwd=cwd, env=env)
    cli("check", "--results", "~/fer-out", "--reference", "~/ref/r.json", cwd=cwd, env=env)
    cli("rank", "~/fer-out", "--out", "~/rank", cwd=cwd, env=env, check=False)  # one dataset: may refuse
    assert (home / "ref" / "r.json").is_file()
    assert list(cwd.iterdir()) == [], "nothing is created in the working folder (no folder named '~')"


def test_unknown_user_is_one_line_not_a_folder(tmp_path):
    proc = cli("report", "~no-such-user-fer/x", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "~no-such-user-fer" in proc.stderr.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_every_path_option_expands_tilde():
    """Every path option and argument of every sub-command goes through user_path (a new one must too)."""
    paths = {"out", "cache_dir", "dir", "dirs", "reference", "write_reference", "results", "source"}

    def walk(parser, name=()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(sub, (*name, sub_name))
            elif action.dest in paths:
                yield " ".join(name) + " " + (action.option_strings or [action.dest])[0], action.type

    found = dict(walk(cli_module.build_parser()))
    for option in ("run --out", "run --cache-dir", "report dir", "report --out", "compare dirs", "compare --out",
                   "rank dirs", "rank --out", "check --reference", "check --write-reference", "check --results",
                   "check --out", "check --cache-dir", "weights install --from"):
        assert option in found, option
    assert {option: t for option, t in found.items() if t is not user_path} == {}
    assert fer_bench.RunConfig(out="~/x", cache_dir="~/c").out == Path.home() / "x"


# -- special-chars-out ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_hash_question_mark_and_percent_in_results_path(data, tmp_path):
    """The store was reopened as file:<path>?mode=ro unquoted: the run failed after its folds, deleted
    its folder and left a stray file named after the cut path; report and compare failed the same way."""
    parent = tmp_path / "out"
    parent.mkdir()
    out = parent / "run #1 what?v2 a%20b"
    proc = cli(*RUN, "--dataset", f"manifest:{data}", "--out", str(out))
    assert f"written to {out}" in proc.stdout and (out / "table3.csv").is_file()
    assert cli("report", str(out)).returncode == 0
    assert "| pca-svm |" in cli("compare", str(out)).stdout
    assert [p.name for p in parent.iterdir()] == [out.name], "nothing created outside the results folder"


def test_failure_after_folds_never_deletes_the_results(data, tmp_path, monkeypatch):
    """A run that fails after storing folds, in a folder it created, keeps it, even when the store
    cannot be read back (the old check counted an unreadable store as empty and deleted it)."""
    from fer_bench import runner

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(runner, "write_report", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    out = tmp_path / "res"
    with pytest.raises(RuntimeError, match="boom"):
        fer_bench.run(methods=["pca-svm"], dataset=f"manifest:{data}", runs=1, folds=3, out=out, jobs=1,
                      progress=False)
    assert (out / "results.sqlite").is_file()
    assert not runner._nothing_stored(out)
    monkeypatch.setattr(sqlite3, "connect", broken)  # unreadable: counts as holding results
    assert not runner._nothing_stored(out)
    assert runner._nothing_stored(tmp_path / "absent")


# -- report-readonly -----------------------------------------------------------------------------------
def _refuse_writes_in(monkeypatch, folder: Path, code=errno.EROFS):
    """Make every file creation under ``folder`` fail with ``code`` (as a read-only mount does for root)."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(path).startswith(str(folder)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


def test_report_on_read_only_folder_is_one_line_and_out_writes_elsewhere(finished, tmp_path, monkeypatch, capsys):
    """`fer-bench report DIR` on read-only results was a 25-line traceback, and had no --out."""
    res = _copy(finished, tmp_path / "res")
    before = {p.name: p.stat().st_mtime_ns for p in res.iterdir()}
    _refuse_writes_in(monkeypatch, res)
    assert cli_module.main(["report", str(res)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("fer-bench: error: results folder") and str(res) in err
    assert "Read-only file system" in err and "--out" in err
    assert cli_module.main(["report", str(res), "--out", str(tmp_path / "tables")]) == 0
    assert (tmp_path / "tables" / "report.html").is_file() and (tmp_path / "tables" / "table3.csv").is_file()
    assert {p.name: p.stat().st_mtime_ns for p in res.iterdir()} == before, "the read-only store is only read"


def test_writing_commands_refuse_a_non_writable_target_in_one_line(finished, tmp_path):
    """compare --out, rank --out, check --write-reference, report --out: a target that cannot be
    written (here: below a file) is one line naming it, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    for args in (("compare", str(finished), "--out", f"{blocker}/c.md"),
                 ("rank", str(finished), "--out", f"{blocker}/rank"),
                 ("check", "--results", str(finished), "--write-reference", f"{blocker}/r.json"),
                 ("report", str(finished), "--out", f"{blocker}/rep")):
        _one_line_error(cli(*args, check=False), str(blocker))


def test_storage_errors_name_the_path_and_remove_the_temporary(tmp_path, monkeypatch):
    """write_atomic: ENOSPC / EDQUOT / EROFS / EACCES become one-line errors naming the file; other
    errors stay what they are; the temporary file never stays behind."""
    target = tmp_path / "table3.csv"
    for code, cls in ((errno.ENOSPC, DiskFullError), (errno.EDQUOT, DiskFullError),
                      (errno.EROFS, NotWritableError), (errno.EACCES, NotWritableError), (errno.EIO, OSError)):
        def fake_write(fd, data, code=code):
            raise OSError(code, os.strerror(code))

        with monkeypatch.context() as patch:
            patch.setattr(os, "write", fake_write)
            with pytest.raises(cls) as info:
                write_atomic(target, "a,b\n")
        if cls is not OSError:
            assert str(target) in str(info.value) and isinstance(info.value, FerBenchError)
        assert list(tmp_path.iterdir()) == []


# -- disk-full -----------------------------------------------------------------------------------------
def test_results_on_a_full_disk_is_one_line_and_keeps_the_folds(data, tmp_path, monkeypatch, capsys):
    """SQLite's real "database or disk is full" (max_page_count reached after the first fold): one line
    naming the results folder; the stored fold is kept; the same command resumes once there is room."""
    out = tmp_path / "res"
    real = ResultsStore.record_fold
    calls = []

    def record_then_fill(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # the disk is full now: SQLite's own SQLITE_FULL on the next write
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            self.conn.execute(f"PRAGMA max_page_count = {pages}")
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('filler', zeroblob(200000))")
        real(self, *args, **kwargs)

    argv = ["run", "--methods", "pca-svm", "--dataset", f"manifest:{data}", "--runs", "1", "--folds", "3",
            "--out", str(out), "-q", "--jobs", "1", "--backend", "serial"]
    with monkeypatch.context() as patch:
        patch.setattr(ResultsStore, "record_fold", record_then_fill)
        assert cli_module.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("fer-bench: error: cannot write results folder") and str(out) in err
    assert "disk is full" in err and "kept" in err and "--out" in err
    with sqlite3.connect(out / "results.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM folds").fetchone()[0] >= 1
    assert _temporaries(out) == []
    assert cli_module.main(argv) == 0  # room again: the same command resumes
    with sqlite3.connect(out / "results.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM folds").fetchone()[0] == 3


@pytest.mark.slow
def test_cache_on_a_full_disk_warns_and_carries_on(data, tmp_path, monkeypatch, caplog):
    """The cache's arrays were written through a memory map of a sparse file: SIGBUS on a full disk.
    The space is now reserved first, so a full disk is an OSError: a warning, and the run goes on
    without the cache; no temporary file stays."""
    cache = tmp_path / "cache"

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    results = fer_bench.run(methods=["pca-svm"], dataset=f"manifest:{data}", runs=1, folds=3, out=tmp_path / "res",
                            jobs=1, backend="serial", cache_dir=cache, progress=False)
    assert len(results.folds) == 3
    warnings = [r.getMessage() for r in caplog.records if "feature cache" in r.getMessage()]
    assert warnings and str(cache) in warnings[0] and "without the cache" in warnings[0]
    assert _temporaries(cache) == []


def test_cache_reserves_space_and_falls_back_to_zeros(tmp_path, monkeypatch):
    """Where posix_fallocate is not supported, the file is filled with zeros before it is mapped."""
    cache = ArrayCache(tmp_path)
    monkeypatch.setattr(os, "posix_fallocate", lambda *a: (_ for _ in ()).throw(OSError(errno.EOPNOTSUPP, "no")))
    array = cache.get_or_fill({"k": 1}, (4, 3), np.float32, lambda out: out.__setitem__(slice(None), 7.0))
    assert array.shape == (4, 3) and float(array.sum()) == 84.0 and cache.root is not None
    assert np.array_equal(ArrayCache(tmp_path).load({"k": 1}), array)


# -- leftover temporaries ------------------------------------------------------------------------------
@pytest.mark.slow
def test_stale_temporaries_are_removed_but_not_ones_being_written(data, finished, tmp_path):
    """A later report (and run) removes the .tmp files a failed one left, in the results folder and
    the cache, but never one another process holds locked, nor files of other names."""
    res = _copy(finished, tmp_path / "res")
    cache = tmp_path / "cache"
    old = time.time() - 3600
    stale = [res / ".table1.csv.tmp", cache / "ab" / "tmpdeadbeef.npy.tmp", cache / "ab" / "tmpdeadbeef.json.tmp"]
    busy, other = res / ".table9.csv.tmp", res / ".notes.tmp"  # names report does not write
    for path in (*stale, busy, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        os.utime(path, (old, old))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); "
        "time.sleep(60)"), str(busy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        cli("report", str(res))
        assert not stale[0].exists() and busy.exists() and other.exists()
    finally:
        holder.kill()
        holder.wait()
    cli(*RUN, "--dataset", f"manifest:{data}", "--out", str(tmp_path / "res2"), "--cache-dir", str(cache))
    assert not any(p.exists() for p in stale[1:])


# -- real read-only and full file systems (private mount namespace) -------------------------------------
def _namespace_command() -> list[str] | None:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return None
    for command in (["unshare", "-m", "--propagation", "private"], ["unshare", "-rm", "--propagation", "private"]):
        probe = subprocess.run([*command, "true"], capture_output=True)
        if probe.returncode == 0:
            return command
    return None


def _in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    command = _namespace_command()
    if command is None:
        pytest.skip("needs `unshare -m` (root or user namespaces) for a read-only or small file system")
    proc = subprocess.run([*command, "bash", "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{Path(FB).parent}:{os.environ['PATH']}"}, cwd=tmp_path)
    if "MOUNT-FAILED" in proc.stdout:
        pytest.skip(f"cannot mount in this namespace: {proc.stderr.strip()[-200:]}")
    return proc


@pytest.mark.slow
def test_real_read_only_mount(finished, tmp_path):
    """report, compare --out and rank --out on a read-only bind mount: one line each; report --out works."""
    ro = tmp_path / "ro"
    ro.mkdir()
    q = shlex.quote
    proc = _in_namespace(f"""
        mount --bind {q(str(finished))} {q(str(ro))} && mount -o remount,bind,ro {q(str(ro))} || {{ echo MOUNT-FAILED; exit; }}
        fer-bench report {q(str(ro))}; echo "report rc=$?"
        fer-bench report {q(str(ro))} --out {q(str(tmp_path / 'tables'))} > /dev/null; echo "report-out rc=$?"
        fer-bench compare {q(str(ro))} --out {q(str(ro / 'c.md'))} > /dev/null; echo "compare rc=$?"
        fer-bench rank {q(str(ro))} --out {q(str(ro / 'rank'))} > /dev/null; echo "rank rc=$?"
    """, tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "report rc=2" in proc.stdout and "report-out rc=0" in proc.stdout, proc.stdout + proc.stderr
    assert "compare rc=2" in proc.stdout and "rank rc=2" in proc.stdout, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("fer-bench: error:") for line in lines), proc.stderr
    assert "Read-only file system" in lines[0] and f"fer-bench report {ro} --out DIR" in lines[0]
    assert (tmp_path / "tables" / "report.html").is_file()


@pytest.mark.slow
def test_real_full_disks(data, tmp_path):
    """Results on a 48 KB tmpfs: one line, no traceback, no .tmp; the cache on a 64 KB tmpfs: no SIGBUS,
    a warning, and the run finishes without the cache."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    q = shlex.quote
    run = f"fer-bench {' '.join(RUN)} --dataset manifest:{q(str(data))}"
    proc = _in_namespace(f"""
        mount -t tmpfs -o size=48k tmpfs {q(str(mnt))} || {{ echo MOUNT-FAILED; exit; }}
        {run} --out {q(str(mnt / 'res'))} 2> {q(str(tmp_path / 'res.err'))}; echo "results rc=$?"
        ls -A {q(str(mnt / 'res'))} > {q(str(tmp_path / 'res.ls'))} 2>&1
        umount {q(str(mnt))}
        mount -t tmpfs -o size=64k tmpfs {q(str(mnt))}
        FER_BENCH_CACHE={q(str(mnt / 'cache'))} {run} --out {q(str(tmp_path / 'res2'))} \\
            2> {q(str(tmp_path / 'cache.err'))}; echo "cache rc=$?"
        find {q(str(mnt / 'cache'))} -name '*.tmp' > {q(str(tmp_path / 'cache.ls'))}
        umount {q(str(mnt))}
    """, tmp_path)
    results_err = (tmp_path / "res.err").read_text()
    assert "results rc=2" in proc.stdout, proc.stdout + results_err
    assert "Traceback" not in results_err and "disk is full" in results_err and str(mnt / "res") in results_err
    assert ".tmp" not in (tmp_path / "res.ls").read_text()
    cache_err = (tmp_path / "cache.err").read_text()
    assert "cache rc=0" in proc.stdout, proc.stdout + cache_err
    assert "feature cache" in cache_err and "without the cache" in cache_err and "Traceback" not in cache_err
    assert (tmp_path / "cache.ls").read_text().strip() == ""
    assert (tmp_path / "res2" / "table3.csv").is_file()


def test_weights_install_refuses_a_non_writable_model_folder(tmp_path, _session_models):
    """weights install into a folder that cannot be written: one line naming it, before any work."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    source = _session_models / "shape_predictor_5_face_landmarks.dat"
    if not source.is_file():
        pytest.skip(f"needs the installed landmark model {source}")
    proc = cli("weights", "install", "shape_predictor_5", "--from", str(source), check=False,
               env={"FER_BENCH_MODELS": str(blocker / "models")})
    _one_line_error(proc, str(blocker / "models"), "$FER_BENCH_MODELS")
