"""Issue 23: one Registry for methods, dataset sources and protocols (register, entry points,
names/list/get, duplicates refused naming both origins), and ImageSpec in the preprocessing layer."""

from __future__ import annotations

from pathlib import Path

import pytest

import fer_bench
from fer_bench.datasets import describe_sources, load_dataset
from fer_bench.datasets.sources import SOURCES
from fer_bench.errors import DatasetError, DuplicateRegistrationError, ProtocolError, UnknownMethodError
from fer_bench.model_selection import PROTOCOLS, ImageLevelKFold, register_protocol
from fer_bench.registry import METHODS
from tests.conftest import cli


def make_dist(root: Path, dist: str, module: str, source: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """A distribution as pip leaves it: ``module.py`` plus ``dist-1.0.dist-info`` with entry points."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in entry_points.items())
    )
    return root


PLUGIN = '''
import numpy as np
from fer_bench import Method
from fer_bench.model_selection import ImageLevelKFold


class Impostor(Method):
    name = "pca-svm"


class Other(Method):
    name = "test-ep-method"


class LeaveOneOut(ImageLevelKFold):
    name = "test-ep-protocol"
    title = "a third-party protocol"


def tiny(path, options):
    """A third-party dataset source (test)."""
    from fer_bench.datasets import load_dataset
    return load_dataset("synthetic?subjects=2&per_expression=1&size=32")
'''


class Named(fer_bench.Method):
    name = "test-registry-a"


class SameName(fer_bench.Method):
    name = "test-registry-a"


def test_register_is_idempotent_for_the_same_class_and_refuses_another():
    with METHODS.registered(Named):
        assert fer_bench.register_method(Named) is Named  # the same class again: allowed
        with pytest.raises(DuplicateRegistrationError) as info:
            fer_bench.register_method(SameName)
        text = str(info.value)
        assert "method 'test-registry-a' is registered twice" in text
        assert "tests.test_plugin_registry:Named" in text and "tests.test_plugin_registry:SameName" in text
        assert fer_bench.get_method_class("test-registry-a") is Named
    assert "test-registry-a" not in METHODS  # registered() undoes itself


def test_a_name_taken_by_an_entry_point_is_refused_to_another_class_but_not_to_its_own():
    from fer_bench_baselines.pca_svm import PCASVM

    class Impostor(fer_bench.Method):
        name = "pca-svm"

    with pytest.raises(DuplicateRegistrationError,
                       match=r"method 'pca-svm' is registered twice: by entry point fer_bench_baselines.pca_svm:PCASVM "
                             r"\(distribution fer-bench\) and by tests.test_plugin_registry:.*Impostor"):
        fer_bench.register_method(Impostor)
    with METHODS.registered(PCASVM):  # the entry point's own class: the same registration
        assert fer_bench.get_method_class("pca-svm") is PCASVM
    assert fer_bench.get_method_class("pca-svm") is PCASVM


def test_decorator_with_a_name_and_the_same_api_for_every_kind():
    @METHODS.register(name="test-registry-b")
    class B(fer_bench.Method):
        name = "ignored"

    try:
        assert fer_bench.list_methods("test-registry-*") == ["test-registry-b"]
        assert fer_bench.create_method("test-registry-b").__class__ is B
    finally:
        METHODS.unregister("test-registry-b")

    @register_protocol(name="test-registry-kfold")
    class KFold(ImageLevelKFold):
        pass

    try:
        assert PROTOCOLS.get("test-registry-kfold") is KFold and "test-registry-kfold" in list(PROTOCOLS)
        with pytest.raises(DuplicateRegistrationError, match="protocol 'paper' is registered twice"):
            register_protocol(KFold, name="paper")
        assert register_protocol(ImageLevelKFold) is ImageLevelKFold  # the same class again
    finally:
        PROTOCOLS.unregister("test-registry-kfold")

    with SOURCES.registered(lambda path, options: load_dataset("synthetic"), name="test-registry-source"):
        assert "test-registry-source" in [n for n, _ in describe_sources()]
        with pytest.raises(DuplicateRegistrationError, match="dataset source 'jaffe' is registered twice"):
            SOURCES.register(lambda path, options: None, name="jaffe")
    with pytest.raises(TypeError, match="not a fer_bench.Method subclass"):
        fer_bench.register_method(object)


@pytest.mark.parametrize(("lookup", "error", "message"), [
    (lambda: fer_bench.get_method_class("pca-svn"), UnknownMethodError,
     r"unknown method 'pca-svn' \(did you mean 'pca-svm'.*\); see fer-bench methods"),
    (lambda: PROTOCOLS.get("subjet"), ProtocolError,
     r"unknown protocol 'subjet' \(did you mean 'subject'\?\); use one of paper, subject, holdout"),
    (lambda: SOURCES.get("jafe"), DatasetError, r"unknown dataset source 'jafe' \(did you mean 'jaffe'.*\); see fer-bench datasets"),
])
def test_unknown_names_suggest_the_closest(lookup, error, message):
    with pytest.raises(error, match=message):
        lookup()


def test_entry_points_of_every_kind_are_lazy_and_duplicates_between_distributions_refused(tmp_path, monkeypatch):
    groups = {"fer_bench.methods": {"pca-svm": "ep_plugin:Impostor", "test-ep-method": "ep_plugin:Other"},
              "fer_bench.protocols": {"test-ep-protocol": "ep_plugin:LeaveOneOut"},
              "fer_bench.datasets": {"test-ep-data": "ep_plugin:tiny"}}
    monkeypatch.syspath_prepend(str(make_dist(tmp_path / "a", "ep-plugin", "ep_plugin", PLUGIN, groups)))
    # the same entry points seen twice (an editable install plus a wheel): one registration
    monkeypatch.syspath_prepend(str(make_dist(tmp_path / "b", "ep-plugin", "ep_plugin", PLUGIN, groups)))
    import sys

    assert "test-ep-method" in fer_bench.list_methods() and "ep_plugin" not in sys.modules  # listed, not imported
    assert "test-ep-protocol" in list(PROTOCOLS) and "test-ep-data" in SOURCES
    assert dict(describe_sources())["test-ep-data"].startswith("entry point ep_plugin:tiny (distribution ep-plugin)")
    assert "ep_plugin" not in sys.modules
    assert fer_bench.get_method_class("test-ep-method").__name__ == "Other"
    assert PROTOCOLS["test-ep-protocol"].title == "a third-party protocol"
    assert len(load_dataset("test-ep-data").labels) > 0
    with pytest.raises(DuplicateRegistrationError) as info:
        fer_bench.get_method_class("pca-svm")
    text = str(info.value)
    assert "method 'pca-svm' is registered twice" in text
    assert "entry point fer_bench_baselines.pca_svm:PCASVM (distribution fer-bench)" in text
    assert "entry point ep_plugin:Impostor (distribution ep-plugin)" in text and "\n" not in text


def test_a_plugin_claiming_a_taken_name_is_one_line_on_the_command_line(tmp_path):
    root = make_dist(tmp_path / "plugin", "ep-plugin", "ep_plugin", PLUGIN,
                     {"fer_bench.methods": {"pca-svm": "ep_plugin:Impostor"}})
    env = {"PYTHONPATH": f"{root}:{Path(__file__).resolve().parent.parent}"}
    proc = cli("run", "--methods", "pca-svm", "--dataset", "synthetic?subjects=2&size=32", "--runs", "1",
               "--folds", "3", "--out", str(tmp_path / "out"), check=False, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("fer-bench: error: method 'pca-svm' is registered twice: by entry point ")
    assert "fer_bench_baselines.pca_svm:PCASVM (distribution fer-bench)" in proc.stderr
    assert "ep_plugin:Impostor (distribution ep-plugin)" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_image_spec_lives_in_the_preprocessing_layer_and_stays_reachable():
    import fer_bench.imagespec as imagespec
    import fer_bench.preprocess as preprocess
    import fer_bench.registry as registry

    assert imagespec.ImageSpec.__module__ == "fer_bench.imagespec"
    assert registry.ImageSpec is preprocess.ImageSpec is fer_bench.ImageSpec is imagespec.ImageSpec
    assert registry.with_face is imagespec.with_face and registry.FACE_MODES == imagespec.FACE_MODES
    source = Path(registry.__file__).read_text()
    assert "class ImageSpec" not in source and "def with_face" not in source
