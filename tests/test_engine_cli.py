"""The engine end to end through the real ``fer-bench`` command, as a user runs it."""

import shutil
import sqlite3

import pandas as pd
import pytest

import fer_bench
from fer_bench.reporting import table1, table2, table3
from tests.conftest import cli

TABLES = ("table1_pca-svm.csv", "table1_pca-svm.md", "table2.csv", "table2.md", "table3.csv", "table3.md",
          "leaderboard.md", "run.json", "fold_accuracy.csv")


def run_args(dataset, out, *extra):
    return ("run", "--methods", "pca-svm", "--dataset", dataset, "--runs", "2", "--folds", "3",
            "--out", str(out), "-q", *extra)


@pytest.mark.slow
def test_run_writes_the_papers_tables(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    proc = cli(*run_args(f"manifest:{tiny_manifest}", out))
    assert "pca-svm" in proc.stdout and "image-level" in proc.stdout
    for name in TABLES:
        assert (out / name).is_file(), name
    table2 = pd.read_csv(out / "table2.csv", dtype=str, keep_default_na=False)
    assert list(table2["run"]) == ["1", "2", "Mean ± SD"]
    assert set(table2["protocol"]) == {"image-level"}
    table1 = pd.read_csv(out / "table1_pca-svm.csv", dtype=str, keep_default_na=False)
    assert list(table1.columns) == ["run", "anger", "happiness", "sadness", "protocol"]
    table3 = pd.read_csv(out / "table3.csv", keep_default_na=False)
    assert list(table3.columns[:7]) == ["method", "oa_mean", "oa_sd", "runs", "folds", "protocol", "paper_oa"]
    row = table3.iloc[0]
    assert (row.method, row.runs, row.folds, row.paper_oa) == ("pca-svm", 2, 3, "89.14 ± 2.91")
    assert "image-level" in (out / "table2.md").read_text()
    # the OA in table3 is the mean of the per-run OA, recomputed from the stored predictions
    res = fer_bench.load_results(out)
    oa = res.run_metrics("pca-svm")["oa"]
    assert row.oa_mean == pytest.approx(round(oa.mean(), 2))


def test_same_command_twice_gives_identical_tables(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    cli(*run_args(f"manifest:{tiny_manifest}", out))
    first = {name: (out / name).read_bytes() for name in TABLES}
    shutil.rmtree(out)
    cli(*run_args(f"manifest:{tiny_manifest}", out))
    for name in TABLES:
        assert (out / name).read_bytes() == first[name], name


def test_resume_recomputes_only_unfinished_folds(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    cli(*run_args(f"manifest:{tiny_manifest}", out))
    before = {name: (out / name).read_bytes() for name in TABLES}
    db = out / "results.sqlite"
    with sqlite3.connect(db) as conn:
        kept = dict(((r, f), s) for r, f, s in conn.execute("SELECT run, fold, fit_seconds FROM folds"))
        conn.execute("DELETE FROM folds WHERE run = 1")
        conn.execute("DELETE FROM predictions WHERE run = 1")
    proc = cli(*run_args(f"manifest:{tiny_manifest}", out))
    with sqlite3.connect(db) as conn:
        after = dict(((r, f), s) for r, f, s in conn.execute("SELECT run, fold, fit_seconds FROM folds"))
    assert set(after) == set(kept)
    assert all(after[k] == kept[k] for k in kept if k[0] == 0), "finished folds were recomputed"
    for name in TABLES:
        assert (out / name).read_bytes() == before[name], name
    # a complete store: nothing left to do
    proc = cli(*run_args(f"manifest:{tiny_manifest}", out))
    assert "already in the store" in proc.stderr


def test_other_configuration_is_refused_and_store_kept(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    cli(*run_args(f"manifest:{tiny_manifest}", out))
    stored = (out / "results.sqlite").read_bytes()
    proc = cli(*run_args(f"manifest:{tiny_manifest}", out, "--seed", "1"), check=False)
    assert proc.returncode == 2
    assert "another configuration" in proc.stderr and "seed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (out / "results.sqlite").read_bytes() == stored


def test_subject_protocol(tiny_manifest, tmp_path):
    out = tmp_path / "subj"
    cli(*run_args(f"manifest:{tiny_manifest}", out, "--protocol", "subject"))
    table3 = pd.read_csv(out / "table3.csv")
    assert table3.loc[0, "protocol"] == "subject-independent"
    assert "subject-independent" in (out / "leaderboard.md").read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (("--methods", "pca-svn"), "unknown method 'pca-svn' (did you mean 'pca-svm'"),
        (("--methods", "pca-svm:n_comp=3"), "no parameter 'n_comp' (did you mean 'n_components'"),
        (("--methods", "pca-svm:C=-1"), "parameter C=-1 of method 'pca-svm': -1.0 is below the minimum 0"),
        (("--protocol", "subject"), "needs a subject (person) id"),
        (("--folds", "20"), "class 'anger' has 12 images, class 'happiness' has 12 images, class 'sadness' has 12 images; --folds 20"),
        (("--selection", "inner-cv", "--no-refit"), "--selection inner-cv chooses on the non-test groups and needs the refit step"),
        (("--dataset", "nowhere:/x"), "unknown dataset source 'nowhere'"),
    ],
)
def test_bad_input_gets_one_line_error(tiny_folder, tmp_path, args, message):
    base = ["run", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3", "--out", str(tmp_path / "o"), "-q"]
    if "--methods" not in args:
        base += ["--methods", "pca-svm"]
    proc = cli(*base, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert proc.stderr.startswith("fer-bench: error:") and len(proc.stderr.strip().splitlines()) == 1


def test_default_output_is_untracked_and_progress_is_logged(tiny_folder, tmp_path):
    """No --out: results go to fer-bench-results/ in the current directory (never the
    repository's tracked results/), and without a terminal the run prints progress lines."""
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
               "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path)  # a fresh cache: every step runs
    out = tmp_path / "fer-bench-results" / "folder-tiny-paper"
    assert (out / "table3.csv").is_file() and not (tmp_path / "results").exists()
    assert "written to fer-bench-results/folder-tiny-paper" in proc.stdout
    assert "pca-svm: 3/3 folds," in proc.stderr and "elapsed" in proc.stderr
    # The long steps before the folds report too: face detection, landmarks, the images.
    for step in ("face detection", "landmarks", "features"):
        assert f"pca-svm {step}: " in proc.stderr and " images, " in proc.stderr, step
    # One run is "1 run", in the run's first line and in the leaderboard.
    assert "1 run × 3 folds" in proc.stderr and "1 runs" not in proc.stderr
    assert "1 run × 3 folds," in (out / "leaderboard.md").read_text()
    html = (out / "report.html").read_text()
    assert "1 run × 3 folds" in html and "1 runs" not in html


@pytest.mark.slow
def test_incomplete_method_is_not_ranked(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    cli("run", "--methods", "pca-svm,hog-svm", "--dataset", f"manifest:{tiny_manifest}", "--runs", "2", "--folds", "3",
        "--out", str(out), "-q")
    with sqlite3.connect(out / "results.sqlite") as conn:
        conn.execute("DELETE FROM folds WHERE method = 'hog-svm' AND run = 1 AND fold = 2")
    cli("report", str(out))
    board = (out / "leaderboard.md").read_text()
    ranked, _, unranked = board.partition("Incomplete methods")
    assert "| 1 | pca-svm |" in ranked and "hog-svm" not in ranked.split("| rank |")[1].split("\n\n")[0]
    assert "| hog-svm |" in unranked and "incomplete" in unranked
    t3 = pd.read_csv(out / "table3.csv", keep_default_na=False)
    assert list(t3["method"]) == ["pca-svm", "hog-svm"] and t3.loc[1, "significance"] == "incomplete"


def test_committed_results_without_store_can_be_compared_and_reported(tiny_manifest, tmp_path):
    paper, subject = tmp_path / "p", tmp_path / "s"
    for out, protocol in ((paper, "paper"), (subject, "subject")):
        cli("run", "--methods", "pca-svm", "--dataset", f"manifest:{tiny_manifest}", "--protocol", protocol,
            "--runs", "1", "--folds", "3", "--out", str(out), "-q")
    before = cli("compare", str(paper), str(subject)).stdout
    # Every table and export (selection.csv needs each fold's info: fold_info.json.gz).
    written = {p.name: p.read_bytes() for p in paper.iterdir()
               if p.suffix in (".csv", ".md", ".json", ".gz") and p.name != "run.json"}
    assert "selection.csv" in written and "fold_info.json.gz" in written
    for out in (paper, subject):
        (out / "results.sqlite").unlink()
    assert cli("compare", str(paper), str(subject)).stdout == before
    assert "Leakage view" in before
    cli("report", str(paper))
    rewritten = {name: (paper / name).read_bytes() for name in written}
    assert [name for name in written if rewritten[name] != written[name]] == []


def test_corrupt_image_is_named_and_other_results_kept(tiny_folder, tmp_path):
    (tiny_folder / "sad" / "007.png").write_bytes(b"\x89PNG broken")
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3",
               "--out", str(tmp_path / "o"), "-q", check=False)
    assert proc.returncode == 2
    assert "sad/007.png" in proc.stderr


def test_python_api_matches_cli(tiny_manifest, tmp_path):
    res = fer_bench.run(methods=["pca-svm"], dataset=f"manifest:{tiny_manifest}", runs=2, folds=3,
                        out=tmp_path / "api", progress=False, echo=lambda s: None)
    assert isinstance(table2(res), pd.DataFrame)
    assert list(table1(res, "pca-svm").index) == ["1", "2", "Mean ± SD"]
    assert table3(res).loc[0, "method"] == "pca-svm"
    cli(*run_args(f"manifest:{tiny_manifest}", tmp_path / "cli"))
    assert (tmp_path / "api" / "table2.csv").read_bytes() == (tmp_path / "cli" / "table2.csv").read_bytes()


def test_report_rewrites_tables(tiny_manifest, tmp_path):
    out = tmp_path / "out"
    cli(*run_args(f"manifest:{tiny_manifest}", out))
    original = (out / "table3.csv").read_bytes()
    (out / "table3.csv").unlink()
    cli("report", str(out))
    assert (out / "table3.csv").read_bytes() == original


def test_methods_and_datasets_listing():
    proc = cli("methods")
    assert "pca-svm" in proc.stdout and "Drume" in proc.stdout and "89.14" in proc.stdout
    proc = cli("datasets")
    for source in ("synthetic", "folder", "manifest", "jaffe", "ckplus", "kdef"):
        assert source in proc.stdout


@pytest.mark.slow
def test_jaffe_image_level_far_above_subject_independent(jaffe_path, tmp_path):
    oa = {}
    for protocol in ("paper", "subject"):
        out = tmp_path / protocol
        # 2 runs of 10 folds: the gap (about 43 points, docs/results.md) is far larger than a run's spread.
        cli("run", "--methods", "pca-svm", "--dataset", f"jaffe:{jaffe_path}", "--protocol", protocol, "--runs", "2",
            "--out", str(out), "-q")
        oa[protocol] = pd.read_csv(out / "table3.csv").loc[0, "oa_mean"]
    # Leakage: the same people in training and test inflate image-level accuracy.
    assert oa["paper"] > 75 and oa["subject"] < 55 and oa["paper"] - oa["subject"] > 25, oa


@pytest.mark.slow
def test_methods_all_runs_what_it_can_and_lists_what_it_skipped(tmp_path):
    out = tmp_path / "all"
    # An empty torchvision cache: no ImageNet weights here, so the transfer methods are skipped.
    proc = cli("run", "--methods", "all", "--dataset", "synthetic?subjects=4&per_expression=2&size=64", "--runs", "1",
               "--folds", "3", "--device", "cpu", "--out", str(out), "-q", env={"TORCH_HOME": str(tmp_path / "torch")})
    table3 = pd.read_csv(out / "table3.csv")
    classical = {"pca-svm", "hos-svm", "dwt-pca-cso", "swe-bbo", "bwe-fsvm", "lbp-svm", "hog-svm"}
    assert classical <= set(table3["method"])
    board = (out / "leaderboard.md").read_text()
    for skipped in ("resnet101", "resnet101-probe", "mobilenetv2", "mobilenetv2-probe"):
        assert f"`{skipped}`" in board and f"skipped {skipped}" in proc.stderr
    assert "fer-bench weights install" in board


@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
def test_an_output_or_cache_path_that_is_a_file_is_one_line(tmp_path, option):
    """A file where a directory is needed: one line naming the option, exit 2, no traceback."""
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    out = afile if option == "--out" else tmp_path / "o"
    args = ["run", "--methods", "pca-svm", "--dataset", "synthetic?subjects=4&per_expression=2&size=64", "--runs", "1",
            "--folds", "3", "--out", str(out), "-q"]
    if option == "--cache-dir":
        args += ["--cache-dir", str(afile)]
    proc = cli(*args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{option} {afile}: not a writable directory" in proc.stderr


def test_a_variant_equal_to_the_default_is_the_method_itself():
    from fer_bench.registry import parse_method_list

    labels = [s.label for s in parse_method_list("pca-svm,pca-svm:classifier=svm,pca-svm:classifier=logistic")]
    assert labels == ["pca-svm", "pca-svm:classifier=logistic"]


@fer_bench.register_method
class AlwaysFails(fer_bench.Method):
    """A method whose every fit raises (a stand-in for a broken plugin)."""

    name = "test-always-fails"
    description = "raises in fit"

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        raise RuntimeError("broken on purpose")

    def predict(self, X):  # pragma: no cover - never reached
        raise RuntimeError("broken on purpose")


@pytest.mark.slow
def test_a_run_that_computes_nothing_leaves_no_results_directory(tiny_manifest, tmp_path):
    """A newcomer's failed run left a directory of empty tables and a report that looked
    like a finished run. Nothing computed → no directory of its own; one that existed
    before is kept; with another method's results the directory stays as it was."""
    from fer_bench.runner import MethodFailedError

    options = dict(dataset=f"manifest:{tiny_manifest}", runs=1, folds=3, progress=False, echo=lambda _: None,
                   face="none")
    out = tmp_path / "nothing"
    with pytest.raises(MethodFailedError, match="broken on purpose.*no method produced a result"):
        fer_bench.run(methods=["test-always-fails"], out=out, **options)
    assert not out.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(MethodFailedError):
        fer_bench.run(methods=["test-always-fails"], out=existing, **options)
    assert existing.is_dir() and not (existing / "leaderboard.md").exists()
    mixed = tmp_path / "mixed"
    with pytest.raises(MethodFailedError, match=f"results of the other methods are in {mixed}"):
        fer_bench.run(methods=["pca-svm", "test-always-fails"], out=mixed, **options)
    assert "| pca-svm |" in (mixed / "leaderboard.md").read_text()


def test_every_subcommand_help_says_what_it_does():
    """`fer-bench report --help` had no description line (nor methods, datasets, weights …)."""
    import argparse

    from fer_bench.cli import build_parser

    def parsers(parser, path=()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield (*path, name), sub
                    yield from parsers(sub, (*path, name))

    found = dict(parsers(build_parser()))
    assert {("run",), ("report",), ("weights", "install"), ("compare",)} <= set(found)
    missing = [" ".join(path) for path, sub in found.items() if not (sub.description or "").strip()]
    assert not missing, f"subcommands without a description: {missing}"
