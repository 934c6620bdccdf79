"""Every run option is declared once (fer_bench.options.RUN_OPTIONS); the CLI, RunConfig, the run
record, the store's identity, the gate and compare are derived from that declaration (issue 23)."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from fer_bench import config, gate, options, store
from fer_bench.config import RunConfig
from fer_bench.options import RUN_OPTIONS, Compared, RunOption

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    options.add_run_arguments(parser)
    return parser


def test_every_runconfig_field_is_declared_in_order():
    assert [f.name for f in dataclasses.fields(RunConfig)] == [o.name for o in RUN_OPTIONS] == config.config_fields()


def test_cli_defaults_equal_runconfig_defaults():
    parsed = vars(_parser().parse_args([]))
    built = RunConfig(**{k: v for k, v in parsed.items() if v is not None or k != "jobs"})
    plain = RunConfig()
    for option in RUN_OPTIONS:
        if option.flags:
            assert getattr(built, option.name) == getattr(plain, option.name), option.name
            assert getattr(plain, option.name) == config.default_of(option.name) or option.name == "protocol"


def test_the_derived_lists_are_todays():
    assert store.IDENTITY_KEYS == ("dataset_fingerprint", "test_dataset_spec", "protocol", "folds", "runs", "seed",
                                   "refit", "selection", "face", "classes", "several_faces")
    assert gate.CHECKED_KEYS == ("dataset_fingerprint", "protocol", "runs", "folds", "seed", "refit", "selection",
                                 "face", "several_faces")
    assert RunConfig(methods=["a", "b"], out="x", face="crop", several_faces="central", refit=False).as_command() == (
        "fer-bench run --methods a,b --dataset synthetic --protocol paper --runs 10 --folds 10 --seed 0 --no-refit "
        "--face crop --several-faces central --out x")


@pytest.fixture
def with_fake_option(monkeypatch):
    """RUN_OPTIONS plus a fake option `--widget` (identity, checked, compared), RunConfig rebuilt from it."""
    fake = RunOption("widget", "str", "plain", flags=("--widget",), choices=("plain", "fancy"), help="a widget",
                     record="widget", identity=True, checked=True, command=lambda v, d: [] if v == d else ["--widget", v],
                     compare=Compared("widget"))
    monkeypatch.setattr(options, "RUN_OPTIONS", (*RUN_OPTIONS, fake))
    monkeypatch.setattr(config, "RUN_OPTIONS", options.RUN_OPTIONS)
    methods = {k: vars(config.RunConfig)[k] for k in ("__post_init__", "replace", "as_command")}
    return config._declared_fields(type("RunConfig", (), dict(methods)))


def test_a_new_option_is_one_declaration(with_fake_option, tmp_path):
    Fake = with_fake_option
    args = _parser().parse_args(["--widget", "fancy"])
    assert args.widget == "fancy" and "--widget" in _parser().format_help()
    cfg = Fake(widget="fancy")
    assert "widget" in [f.name for f in dataclasses.fields(Fake)] and Fake().widget == "plain"
    assert cfg.as_command().endswith("--widget fancy")
    assert options.recorded_options(cfg)["widget"] == "fancy"
    assert "widget" in options.identity_keys()
    assert "widget" in [o.record for o in options.checked_options()]
    # the gate checks it and re-runs a reference with it
    seen = {}

    class _Results:
        config = {"widget": "fancy"}
        out = "dir"

    with pytest.raises(Exception, match="widget: reference 'plain', results 'fancy'"):
        gate.check_config(_Results, {"config": {"widget": "plain"}})
    ref_cfg = {"runs": 1, "folds": 3, "widget": "fancy"}
    seen.update({o.name: o.from_record(ref_cfg, none_is_default=True) for o in options.checked_options()})
    assert seen["widget"] == "fancy"
    # compare names it
    from fer_bench.reporting.compare import setting_differences

    class _R:
        def __init__(self, widget):
            self.config = {"widget": widget}

    assert setting_differences(_R("plain"), _R("fancy")) == ["widget plain against fancy"]


def test_no_option_list_or_default_is_written_twice():
    """cli.py, gate.py and compare.py name no list of run options and copy no default."""
    for path in ("fer_bench/cli.py", "fer_bench/gate.py", "fer_bench/reporting/compare.py", "fer_bench/store.py",
                 "fer_bench/runner.py"):
        text = (ROOT / path).read_text(encoding="utf-8")
        assert not re.search(r"\(\s*\"(face|seed|selection|refit|runs|folds)\",\s*\"", text), path
        assert not re.search(r"default_of\(|run_p\.add_argument|\"several_faces\":", text), path
