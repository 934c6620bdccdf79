"""Plugins, interruption, locking, cache integrity, duplicates, parallel backends."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fer_bench.cache import ArrayCache
from fer_bench.store import ResultsStore
from tests.conftest import cli
from tests.plugins.make_plugin import make_plugin

TABLES = ("table1_centroid.csv", "table2.csv", "table3.csv", "leaderboard.md", "fold_accuracy.csv")


def same_tables(a: Path, b: Path) -> None:
    """Every table identical; the leaderboard may differ only in the command that made it."""
    for name in TABLES:
        left, right = (a / name).read_text(), (b / name).read_text()
        if name == "leaderboard.md":
            left, right = (t.split("Produced by:")[0] for t in (left, right))
        assert left == right, name
SMALL = "synthetic?subjects=6&per_expression=2&size=64"


@pytest.fixture
def plugin_env(tmp_path):
    root = make_plugin(tmp_path / "plugin")
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def args(out, *extra, methods="centroid"):
    return ("run", "--methods", methods, "--dataset", SMALL, "--runs", "3", "--folds", "4", "--out", str(out), "-q",
            "--jobs", "1", *extra)


@pytest.mark.slow
def test_third_party_plugin_is_found_through_entry_points(plugin_env, tmp_path):
    proc = cli("methods", env=plugin_env)
    assert "centroid: Nearest class centroid" in proc.stdout
    cli(*args(tmp_path / "o"), env=plugin_env)
    assert (tmp_path / "o" / "table1_centroid.csv").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_to_the_uninterrupted_tables(plugin_env, tmp_path, sig):
    reference = tmp_path / "reference"
    cli(*args(reference), env=plugin_env)
    out = tmp_path / "interrupted"
    exe = Path(sys.executable).with_name("fer-bench")
    env = {**os.environ, **plugin_env}
    # A shell running this suite in the background ignores SIGINT and children inherit
    # that; restore the default so the child gets Python's KeyboardInterrupt as a user would.
    proc = subprocess.Popen([str(exe), *args(out, methods="centroid:delay=0.3")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    db = out / "results.sqlite"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 2:
        time.sleep(0.1)
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    done = conn.execute("SELECT COUNT(*) FROM folds").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finished = {r for r in conn.execute("SELECT run, fold, fit_seconds FROM folds")}
    assert 0 < len(finished) < 12, "the run was not interrupted mid-way"
    # Resume (delay is a runtime-only choice here, so use the plain method as the reference did).
    resumed = cli(*args(out, methods="centroid:delay=0.3"), env=plugin_env)
    with sqlite3.connect(db) as conn:
        after = {r for r in conn.execute("SELECT run, fold, fit_seconds FROM folds")}
    assert finished <= after, "finished folds were recomputed"
    assert len(after) == 12
    for name in ("table2.csv", "table3.csv", "fold_accuracy.csv"):
        ref = (reference / name).read_text().replace("centroid", "X")
        got = (out / name).read_text().replace("centroid:delay=0.3", "X")
        assert got == ref, name
    assert resumed.returncode == 0


@pytest.mark.slow
def test_second_writer_is_refused(plugin_env, tmp_path):
    out = tmp_path / "o"
    with ResultsStore(out, write=True):
        proc = cli(*args(out), env=plugin_env, check=False)
    assert proc.returncode == 2
    assert "in use by fer-bench pid" in proc.stderr
    cli(*args(out), env=plugin_env)  # free again once the first writer is done


def test_corrupt_or_stale_cache_entries_are_rebuilt(tmp_path):
    cache = ArrayCache(tmp_path / "c")
    key = {"kind": "test", "n": 1}
    array = np.arange(12.0).reshape(3, 4)
    cache.store(key, array)
    data, meta = cache.paths(key)
    np.testing.assert_array_equal(cache.load(key), array)
    # flip one byte of the array: detected by its SHA-256
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert cache.load(key) is None and not data.exists()
    assert cache.rebuilt == 1
    # an entry written by another version: its sidecar hash does not match this version's
    cache.store(key, array)
    meta.write_text(meta.read_text().replace(cache.key_hash(key), "0" * 40))
    calls = []
    result = cache.get_or_compute(key, lambda: calls.append(1) or array * 2)
    assert calls == [1] and result[0, 1] == 2.0
    # a truncated sidecar
    meta.write_text("{")
    assert cache.load(key) is None


@pytest.mark.slow
def test_duplicate_images_are_reported(tmp_path, tiny_folder):
    import shutil

    shutil.copy(tiny_folder / "sad" / "001.png", tiny_folder / "sad" / "dup.png")
    out = tmp_path / "o"
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
               "--out", str(out), "-q")
    assert "groups of identical images" in proc.stderr and "sad/001.png" in proc.stderr
    assert "sad/dup.png" in (out / "leaderboard.md").read_text()


@pytest.mark.slow
def test_parallel_jobs_give_the_serial_tables(plugin_env, tmp_path):
    cli(*args(tmp_path / "serial"), env=plugin_env)
    cli(*args(tmp_path / "jobs2", "--jobs", "2"), env=plugin_env)
    same_tables(tmp_path / "jobs2", tmp_path / "serial")


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_tables(plugin_env, tmp_path):
    pytest.importorskip("dask.distributed")
    cli(*args(tmp_path / "serial"), env=plugin_env)
    cli(*args(tmp_path / "dask", "--backend", "dask", "--jobs", "2"), env=plugin_env)
    same_tables(tmp_path / "dask", tmp_path / "serial")


@pytest.mark.slow
def test_dask_scheduler_address(plugin_env, tmp_path, monkeypatch):
    """A real dask.distributed cluster (processes on loopback) reached by its address."""
    distributed = pytest.importorskip("dask.distributed")
    cli(*args(tmp_path / "serial"), env=plugin_env)
    # The scheduler (here) and the workers (its child processes) must import the plugin,
    # as on a real cluster where it is installed everywhere.
    monkeypatch.setenv("PYTHONPATH", plugin_env["PYTHONPATH"])
    monkeypatch.syspath_prepend(plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        cli(*args(tmp_path / "dask", "--backend", "dask", "--scheduler", cluster.scheduler_address), env=plugin_env)
    same_tables(tmp_path / "dask", tmp_path / "serial")


@pytest.mark.slow
def test_classical_and_probe_tables_are_byte_identical_across_runs(tmp_path):
    """The same command twice: identical tables, statistics and figures (every method kind)."""
    # Every method kind; the two swarm-trained networks with a short budget (identity across
    # runs does not depend on its length, and the default one is most of this test's time).
    methods = ("pca-svm,hos-svm,dwt-pca-cso:max_iterations=150,swe-bbo:max_iterations=150,bwe-fsvm,lbp-svm,hog-svm,"
               "mobilenetv2-probe:weights=none,image_size=32")
    outputs = []
    for _ in range(2):
        out = tmp_path / "out"
        # an emptied feature cache each time, so the features are recomputed too
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
        cli("run", "--methods", methods, "--dataset", SMALL, "--runs", "1", "--folds", "3", "--device", "cpu",
            "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "-q")
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".csv", ".md", ".json", ".png", ".svg", ".html")})
        shutil.rmtree(out)
    assert outputs[0].keys() == outputs[1].keys() and len(outputs[0]) > 20
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], name


@pytest.mark.slow
def test_chunked_and_parallel_feature_extraction_equal_one_call(monkeypatch):
    """Features are extracted chunk by chunk (bounded memory) and, for methods that declare
    per-image features, across processes: both give exactly the array of one call on the
    whole preprocessed stack."""
    from fer_bench import create_method, list_methods, runner
    from fer_bench.cache import ArrayCache
    from fer_bench.datasets import load_dataset
    from fer_bench.preprocess import effective_spec, load_images

    monkeypatch.setattr(runner, "FEATURE_CHUNK", 7)  # several chunks, the last one short
    ds = load_dataset("synthetic?subjects=3&per_expression=1&size=64")  # 21 images
    checked = 0
    for name in list_methods():
        # Deep methods at 64 px: chunking does not depend on the input size, and an ImageNet
        # network at its default 224 px was most of this test's time.
        method = create_method(name)
        if "torch" in method.requirements and "image_size" in method.parameters:
            method = create_method(name, image_size=64)
        if not method.parallel_features or method.unmet_requirements("cpu"):
            continue
        images = load_images(ds, effective_spec(method, "none"), ArrayCache(None))
        if "torch" in method.requirements:  # the engine extracts with one thread (see extract_range)
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            whole = method.extract_features(images)
            torch.set_num_threads(threads)
        else:
            whole = method.extract_features(images)
        serial = runner.method_features(method, ds, ArrayCache(None), "none", jobs=1)
        parallel = runner.method_features(method, ds, ArrayCache(None), "none", jobs=2)
        np.testing.assert_array_equal(serial, whole, err_msg=name)
        np.testing.assert_array_equal(parallel, whole, err_msg=name)
        checked += 1
    assert checked >= 6


def test_interrupted_feature_extraction_resumes_from_finished_parts(tmp_path, monkeypatch):
    """A large dataset's features are stored part by part: after a crash in the middle,
    the next run computes only the parts that were not finished, gives the same array,
    and leaves only the whole entry in the cache."""
    from fer_bench import create_method, runner
    from fer_bench.cache import ArrayCache
    from fer_bench.datasets import load_dataset

    monkeypatch.setattr(runner, "FEATURE_PART", 5)  # 21 images: parts of 5, 5, 5, 5, 1
    monkeypatch.setattr(runner, "FEATURE_CHUNK", 5)
    ds = load_dataset("synthetic?subjects=3&per_expression=1&size=64")
    method = create_method("hog-svm")
    calls = []
    original = type(method).extract_features

    def crashing(self, images):
        calls.append(len(images))
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user stops the run during the third part
        return original(self, images)

    monkeypatch.setattr(type(method), "extract_features", crashing)
    cache = ArrayCache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt):
        runner.method_features(method, ds, cache, "none", jobs=1)
    calls.clear()
    monkeypatch.setattr(type(method), "extract_features", lambda self, images: calls.append(len(images)) or original(self, images))
    resumed = runner.method_features(method, ds, cache, "none", jobs=1)
    assert calls == [5, 5, 1]  # parts 3-5 only
    fresh = runner.method_features(method, ds, ArrayCache(None), "none", jobs=1)
    np.testing.assert_array_equal(resumed, fresh)
    entries = sorted(p for p in (tmp_path / "cache").rglob("*.json"))
    kinds = [json.loads(p.read_text())["key"]["kind"] for p in entries]
    assert kinds.count("features-part") == 0 and kinds.count("features") == 1
