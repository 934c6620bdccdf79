"""The CI accuracy gate: reference files, `fer-bench check`, failing on a regression."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fer_bench
from fer_bench.gate import REFERENCE_FORMAT, ReferenceCheckError, check, check_results, load_reference, make_reference
from tests.conftest import cli


def run_args(manifest, out, *extra):
    return ("run", "--methods", "pca-svm", "--dataset", f"manifest:{manifest}", "--runs", "2", "--folds", "3",
            "--out", str(out), "-q", *extra)


@pytest.fixture
def recorded(tmp_path, tiny_manifest):
    """A pca-svm benchmark and its reference file, both made through the CLI."""
    out = tmp_path / "bench"
    cli(*run_args(tiny_manifest, out))
    ref = tmp_path / "ref.json"
    proc = cli("check", "--write-reference", str(ref), "--results", str(out), "--tolerance", "1.5")
    assert "reference written" in proc.stdout
    return out, ref


def _edit(ref, change):
    record = json.loads(ref.read_text())
    change(record)
    ref.write_text(json.dumps(record))


def test_reference_file_records_configuration_values_and_commands(recorded, tiny_manifest):
    out, ref = recorded
    record = json.loads(ref.read_text())
    res = fer_bench.load_results(out)
    assert record["format"] == REFERENCE_FORMAT
    assert record["config"] == {
        "methods": ["pca-svm"], "dataset_spec": f"manifest:{tiny_manifest}",
        "dataset_fingerprint": res.config["dataset_fingerprint"], "protocol": "paper", "runs": 2, "folds": 3,
        "seed": 0, "refit": True, "selection": "validation", "face_crop": False,
    }
    mean, sd, n = res.oa_summary("pca-svm")
    assert record["methods"]["pca-svm"] == {"oa_mean": round(mean, 4), "oa_sd": round(sd, 4), "runs": 2}
    assert record["tolerance"] == 1.5
    assert record["run_command"].startswith("fer-bench run --methods pca-svm")
    assert record["command"].startswith("fer-bench check --write-reference")
    assert load_reference(ref) == record


def test_check_passes_on_the_same_results_and_within_tolerance(recorded):
    out, ref = recorded
    proc = cli("check", "--reference", str(ref), "--results", str(out))
    assert proc.returncode == 0 and "PASS" in proc.stdout and "| pca-svm |" in proc.stdout
    # 1.0 point above the measured value, tolerance 1.5 (from the file): still passes
    _edit(ref, lambda r: r["methods"]["pca-svm"].update(oa_mean=r["methods"]["pca-svm"]["oa_mean"] + 1.0))
    proc = cli("check", "--reference", str(ref), "--results", str(out))
    assert proc.returncode == 0, proc.stdout


def test_check_fails_naming_the_method_that_fell(recorded):
    out, ref = recorded
    _edit(ref, lambda r: r["methods"]["pca-svm"].update(oa_mean=r["methods"]["pca-svm"]["oa_mean"] + 2.0))
    proc = cli("check", "--reference", str(ref), "--results", str(out), check=False)
    assert proc.returncode == 1
    assert "FAIL: more than 1.5 OA points below the reference: pca-svm" in proc.stdout
    # a wider tolerance on the command line lets it pass
    assert cli("check", "--reference", str(ref), "--results", str(out), "--tolerance", "2.5").returncode == 0


def test_check_fails_naming_every_missing_method(recorded):
    out, ref = recorded
    _edit(ref, lambda r: r["methods"].update({"hos-svm": {"oa_mean": 50.0, "oa_sd": 1.0, "runs": 2},
                                              "lbp-svm": {"oa_mean": 60.0, "oa_sd": 1.0, "runs": 2}}))
    proc = cli("check", "--reference", str(ref), "--results", str(out), check=False)
    assert proc.returncode == 1
    assert "missing (not run, skipped or incomplete): hos-svm, lbp-svm" in proc.stdout
    assert "more than" not in proc.stdout  # pca-svm itself still holds


def test_check_runs_the_reference_benchmark(recorded, tmp_path):
    _, ref = recorded
    rerun = tmp_path / "rerun"
    proc = cli("check", "--reference", str(ref), "--out", str(rerun), "-q")
    assert proc.returncode == 0 and "PASS" in proc.stdout
    res = fer_bench.load_results(rerun)
    assert (res.protocol, res.n_runs, res.n_folds, res.methods) == ("paper", 2, 3, ["pca-svm"])


def test_check_refuses_other_configurations_and_bad_files(recorded, tmp_path, tiny_manifest):
    _, ref = recorded
    other = tmp_path / "seed1"
    cli(*run_args(tiny_manifest, other, "--seed", "1"))
    proc = cli("check", "--reference", str(ref), "--results", str(other), check=False)
    assert proc.returncode == 2 and "not comparable" in proc.stderr and "seed" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = cli("check", "--reference", str(bad), "--results", str(other), check=False)
    assert proc.returncode == 2 and "not readable JSON" in proc.stderr
    proc = cli("check", "--results", str(other), check=False)
    assert proc.returncode == 2 and "--reference" in proc.stderr


# -- through the Python API: a method that gets worse ------------------------------------------


class _Nearest(fer_bench.Method):
    """1-nearest-neighbour on pixels: accurate on the tiny data set."""

    name = "test-gate-flaky"
    description = "1-NN (good version)"

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        self.X_, self.y_ = X_train.reshape(len(X_train), -1), np.asarray(y_train)
        return self

    def predict(self, X):
        X = X.reshape(len(X), -1)
        d = ((X[:, None, :] - self.X_[None, :, :]) ** 2).sum(axis=2)
        return self.y_[d.argmin(axis=1)]


class _Broken(_Nearest):
    """The same method after a regression: it always answers class 0."""

    description = "1-NN (broken version)"

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)


def test_gate_catches_a_regressed_method(tmp_path, tiny_manifest):
    fer_bench.register_method(_Nearest)
    try:
        good = fer_bench.run(methods=["test-gate-flaky"], dataset=f"manifest:{tiny_manifest}", runs=2, folds=3,
                             out=tmp_path / "good", progress=False, echo=lambda _: None)
        reference = make_reference(good, tolerance=1.0)
        assert check_results(good, reference).passed
        fer_bench.register_method(_Broken)  # the same name now runs the broken code
        report = check(reference, out=tmp_path / "after")
    finally:
        from fer_bench.registry import _LOCAL

        _LOCAL.pop("test-gate-flaky", None)
    assert not report.passed and report.failed == ["test-gate-flaky"] and report.missing == []
    row = report.table.set_index("method").loc["test-gate-flaky"]
    assert row.status == "FAIL" and row.delta < -1.0
    assert "FAIL" in report.summary() and "test-gate-flaky" in report.summary()
    with pytest.raises(ReferenceCheckError, match="not a fer-bench reference"):
        load_reference(_write(tmp_path, {"a": 1}))


def _write(tmp_path, obj):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(obj))
    return path


def test_several_references_and_a_method_not_installed(recorded, tmp_path):
    _, ref = recorded
    second = tmp_path / "second.json"
    second.write_text(ref.read_text())
    _edit(second, lambda r: r["methods"].update({"no-such-method": {"oa_mean": 50.0, "oa_sd": 1.0, "runs": 2}}))
    proc = cli("check", "--reference", str(ref), str(second), "--out", str(tmp_path / "runs"), "-q", check=False)
    assert proc.returncode == 1
    assert proc.stdout.count("fer-bench check against") == 2 and "PASS" in proc.stdout
    assert "missing (not run, skipped or incomplete): no-such-method" in proc.stdout
    assert "no-such-method cannot run here" in proc.stderr
    assert (tmp_path / "runs" / "ref" / "results.sqlite").is_file()
    assert (tmp_path / "runs" / "second" / "results.sqlite").is_file()
