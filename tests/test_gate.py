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
        "seed": 0, "refit": True, "selection": "validation", "face": None, "several_faces": "largest",
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
    assert "PASS: every method within 1.5 OA points of its reference" in proc.stdout
    proc = cli("check", "--reference", str(ref), "--results", str(out), "--tolerance", "1")
    assert "PASS: every method within 1 OA point of its reference" in proc.stdout, proc.stdout


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
        fer_bench.registry.METHODS.unregister("test-gate-flaky")  # a name taken is refused to another class
        fer_bench.register_method(_Broken)  # the same name now runs the broken code
        report = check(reference, out=tmp_path / "after")
    finally:
        fer_bench.registry.METHODS.unregister("test-gate-flaky")
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


# -- where a reference's data are: fingerprint first, --data-root, FER_BENCH_DATA_*, skipping -------

_SYN = "synthetic?subjects=2&per_expression=3&size=32"


def _synthetic_reference(path):
    """A tiny reference on a built-in synthetic set (42 images), written by hand; any OA passes."""
    from fer_bench.datasets import load_dataset

    ds = load_dataset(_SYN)
    record = {
        "format": REFERENCE_FORMAT,
        "config": {"methods": ["pca-svm"], "dataset_spec": ds.spec, "dataset_fingerprint": ds.fingerprint,
                   "protocol": "paper", "runs": 1, "folds": 3, "seed": 0, "face_crop": False},
        "methods": {"pca-svm": {"oa_mean": 0.0, "oa_sd": None, "runs": 1}},
        "tolerance": 1.0,
    }
    path.write_text(json.dumps(record))
    return path


def _move_data(tiny_manifest, tmp_path):
    """Move the manifest's folder away from the path the reference recorded; return the new CSV."""
    import shutil

    moved = tmp_path / "elsewhere" / "man"
    moved.parent.mkdir()
    shutil.move(str(tiny_manifest.parent), moved)
    return moved / tiny_manifest.name


def _error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer-bench: error: "), proc.stderr
    return lines[0]


def test_fingerprint_is_compared_before_anything_is_computed(recorded, tmp_path, tiny_manifest):
    import shutil

    from PIL import Image

    from fer_bench.datasets import load_dataset

    _, ref = recorded
    other = tmp_path / "other"
    shutil.copytree(tiny_manifest.parent, other)
    first = sorted((other / "img").iterdir())[0]
    Image.fromarray(np.full((32, 32), 7, np.uint8)).save(first)  # one image differs: other data
    recorded_fp = json.loads(ref.read_text())["config"]["dataset_fingerprint"]
    other_fp = load_dataset(f"manifest:{other / 'labels.csv'}").fingerprint
    never = tmp_path / "never"
    proc = cli("check", "--reference", str(ref), "--dataset", f"manifest:{other / 'labels.csv'}", "--out", str(never),
               "-q", check=False)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert recorded_fp in line and other_fp in line and "(from --dataset)" in line
    assert "other data" in line and "another version of its generator" in line and "nothing was run" in line
    assert not never.exists()  # nothing was computed, not even the results directory


def test_missing_data_says_where_the_path_comes_from(recorded, tmp_path, tiny_manifest):
    _, ref = recorded
    moved = _move_data(tiny_manifest, tmp_path)
    proc = cli("check", "--reference", str(ref), "-q", check=False)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert f"dataset manifest:{tiny_manifest} not found (the path comes from the reference file {ref}" in line
    assert "--data-root manifest=PATH" in line and "FER_BENCH_DATA_MANIFEST=PATH" in line
    assert "--skip-missing-data" in line
    # An override that points nowhere is named as the origin of the path.
    proc = cli("check", "--reference", str(ref), "--data-root", f"manifest={tmp_path / 'nowhere.csv'}", check=False)
    assert proc.returncode == 2 and f"the path comes from --data-root manifest={tmp_path / 'nowhere.csv'}" in proc.stderr
    assert moved.is_file()


def test_data_root_option_and_environment_variable(recorded, tmp_path, tiny_manifest):
    _, ref = recorded
    moved = _move_data(tiny_manifest, tmp_path)
    proc = cli("check", "--reference", str(ref), "--out", str(tmp_path / "b"), "-q",
               env={"FER_BENCH_DATA_MANIFEST": str(moved)})
    assert "PASS" in proc.stdout and f"manifest:{moved} (paper" in proc.stdout
    # --data-root, and it wins over the environment variable.
    proc = cli("check", "--reference", str(ref), "--data-root", f"manifest={moved}", "--out", str(tmp_path / "c"),
               "-q", env={"FER_BENCH_DATA_MANIFEST": str(tmp_path / "nowhere.csv")})
    assert "PASS" in proc.stdout and f"manifest:{moved} (paper" in proc.stdout
    proc = cli("check", "--reference", str(ref), "--data-root", "jaffe=/x", check=False)
    assert proc.returncode == 2 and "no reference uses a jaffe dataset" in _error_line(proc)
    proc = cli("check", "--reference", str(ref), "--data-root", "manifest", check=False)
    assert proc.returncode == 2 and "expected SOURCE=PATH" in _error_line(proc)


@pytest.mark.slow
def test_dataset_applies_to_the_references_of_its_source(recorded, tmp_path, tiny_manifest):
    _, ref = recorded
    twin = tmp_path / "twin.json"
    twin.write_text(ref.read_text())
    syn = _synthetic_reference(tmp_path / "syn.json")
    moved = _move_data(tiny_manifest, tmp_path)
    runs = tmp_path / "runs"
    proc = cli("check", "--reference", str(ref), str(twin), str(syn), "--dataset", f"manifest:{moved}",
               "--out", str(runs), "-q")
    assert proc.stdout.count("fer-bench check against") == 3
    assert f"check against {syn}: {_SYN} (paper" in proc.stdout  # the synthetic reference keeps its dataset
    assert proc.stdout.count(f"manifest:{moved} (paper") == 2
    assert "fer-bench check: 3 reference(s) passed, 0 failed" in proc.stdout
    # Ambiguous: two references of the same source recorded different data.
    _edit(twin, lambda r: r["config"].update(dataset_spec="manifest:/some/other/labels.csv"))
    proc = cli("check", "--reference", str(ref), str(twin), "--dataset", f"manifest:{moved}", check=False)
    assert proc.returncode == 2 and "is ambiguous" in _error_line(proc)
    proc = cli("check", "--reference", str(ref), str(syn), "--dataset", "jaffe:/x", check=False)
    assert proc.returncode == 2 and "none of the references uses a jaffe dataset" in _error_line(proc)


@pytest.mark.slow
def test_skip_missing_data(recorded, tmp_path, tiny_manifest):
    _, ref = recorded
    syn = _synthetic_reference(tmp_path / "syn.json")
    _move_data(tiny_manifest, tmp_path)
    runs = tmp_path / "runs"
    # Without the option: an error before anything runs, even for the reference whose data are here.
    proc = cli("check", "--reference", str(syn), str(ref), "--out", str(runs), "-q", check=False)
    assert proc.returncode == 2 and "not found" in _error_line(proc) and not runs.exists()
    proc = cli("check", "--reference", str(syn), str(ref), "--out", str(runs), "-q", "--skip-missing-data")
    assert proc.returncode == 0
    assert f"fer-bench check: skipped {ref}: its dataset manifest:{tiny_manifest} is absent" in proc.stderr
    assert "the path comes from the reference file" in proc.stderr
    assert proc.stdout.count("fer-bench check against") == 1 and "PASS" in proc.stdout
    assert (f"fer-bench check: 1 reference(s) passed, 0 failed, 1 skipped because their data are absent ({ref})"
            in proc.stdout)
    assert (runs / "syn" / "results.sqlite").is_file() and not (runs / "ref").exists()


def test_resolve_dataset_precedence():
    from fer_bench.gate import data_env_var, parse_data_roots, resolve_dataset

    ref = {"config": {"dataset_spec": "kdef:../data/kdef?poses=all"}}
    env = {"FER_BENCH_DATA_KDEF": "/env/kdef"}
    assert data_env_var("kdef") == "FER_BENCH_DATA_KDEF" and data_env_var("my-src") == "FER_BENCH_DATA_MY_SRC"
    recorded = resolve_dataset(ref, environ={}, name="r.json")
    assert (recorded.spec, recorded.origin) == ("kdef:../data/kdef?poses=all", "the reference file r.json")
    assert resolve_dataset(ref, environ=env).spec == "kdef:/env/kdef?poses=all"  # options kept
    roots = parse_data_roots(["kdef=/root/kdef"])
    choice = resolve_dataset(ref, data_roots=roots, environ=env)
    assert (choice.spec, choice.origin) == ("kdef:/root/kdef?poses=all", "--data-root kdef=/root/kdef")
    assert resolve_dataset(ref, "kdef:/x", roots, environ=env).spec == "kdef:/x"
    with pytest.raises(ReferenceCheckError, match="takes no path"):
        resolve_dataset({"config": {"dataset_spec": "synthetic"}}, environ={"FER_BENCH_DATA_SYNTHETIC": "/x"})
    with pytest.raises(ReferenceCheckError, match="given twice"):
        parse_data_roots(["kdef=/a", "kdef=/b"])
