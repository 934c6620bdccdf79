"""The registry and declared parameters: parsing, coercion, validation, roles, listing."""

from __future__ import annotations

import numpy as np
import pytest

import fer_bench
from fer_bench.errors import UnknownMethodError
from fer_bench.params import Param
from fer_bench.registry import MethodSpec, available_methods, get_method_class, parse_method_list
from tests.conftest import cli


@fer_bench.register_method
class Declared(fer_bench.Method):
    """A method declared the current way."""

    name = "test-declared"
    citation = "Nobody, A test, 2026"
    parameters = {
        "size": Param(16, role="features", low=4, high=256, doc="image side, px"),
        "C_grid": Param((1.0, 10.0), role="fit", low=0, aliases=("C",), doc="candidates"),
        "kernel": Param("rbf", role="fit", choices=("rbf", "linear")),
        "threshold": Param(0.5, role="fit", low=0.0, high=1.0),
        "device": Param("cpu", role="runtime"),
    }


class Legacy(fer_bench.Method):
    """A plugin declared the fer-bench 0.1 way (plain values and tuples)."""

    name = "test-legacy"
    parameters = {"size": 16, "delay": 0.0, "device": "cpu"}
    feature_parameters = ("size",)
    runtime_parameters = ("device",)


class LegacyNoTuple(fer_bench.Method):
    name = "test-legacy-bare"
    parameters = {"size": 16, "delay": 0.0}


def test_values_are_coerced_and_become_attributes():
    m = Declared(size="32", C_grid="1|100", threshold=1)
    assert (m.size, m.C_grid, m.threshold) == (32, (1.0, 100.0), 1.0)
    assert isinstance(m.size, int) and all(isinstance(v, float) for v in m.C_grid)
    assert m.params == {"size": 32, "C_grid": (1.0, 100.0), "kernel": "rbf", "threshold": 1.0, "device": "cpu"}
    assert m.clone().params == m.params and m.clone() is not m


def test_an_alias_sets_a_grid_to_one_value():
    assert Declared(C=10).C_grid == (10.0,)
    (spec,) = parse_method_list("test-declared:C=10")
    assert spec == MethodSpec("test-declared", (("C_grid", (10.0,)),)) and spec.label == "test-declared:C_grid=10.0"
    (spec,) = parse_method_list("pca-svm:C=10")  # the documented name works for a built-in method too
    assert spec.create().C_grid == (10.0,)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"size": 2}, r"parameter size=2 of method 'test-declared': 2 is below the minimum 4"),
        ({"size": "big"}, r"parameter size=big of method 'test-declared' should be a int"),
        ({"kernel": "poly"}, r"poly is not one of rbf, linear"),
        ({"threshold": 1.5}, r"1.5 is above the maximum 1.0"),
        ({"C_grid": "1|-1"}, r"-1.0 is below the minimum 0"),
        ({"sizes": 3}, r"method 'test-declared' has no parameter 'sizes' \(did you mean 'size'\?\)\. Its parameters"),
        ({"size": 3.5}, r"should be a int"),
    ],
)
def test_bad_values_name_the_parameter_in_one_line(override, message):
    with pytest.raises(UnknownMethodError, match=message) as info:
        Declared(**override)
    assert "\n" not in str(info.value) and "?;" not in str(info.value)


def test_roles_drive_cache_key_and_identity():
    m = Declared(size=32, kernel="linear", device="cuda")
    assert m.feature_key()["params"] == {"size": 32}
    assert "device" not in m.identity_params() and m.identity_params()["kernel"] == "linear"
    assert Declared.parameter_names("runtime") == ("device",)


def test_legacy_declarations_are_read_safely():
    assert Legacy.parameter_names("features") == ("size",)
    assert Legacy.parameter_names("runtime") == ("device",)
    assert Legacy.parameter_names("fit") == ("delay",)
    # no feature tuple at all: every parameter keys the cache (never stale features)
    assert LegacyNoTuple.parameter_names("features") == ("size", "delay")


def test_help_shows_citation_and_declared_parameters():
    doc = get_method_class("pca-svm").__doc__
    assert "Citation: Drume & Jalal" in doc and "Parameters (declared):" in doc and "image_size" in doc
    assert "size: int, default 16, in [4, 256], role features: image side, px" in Declared.__doc__


def test_a_parameter_may_not_hide_an_attribute():
    with pytest.raises(TypeError, match="would hide"):
        type("Bad", (fer_bench.Method,), {"name": "bad", "parameters": {"fit": Param(1)}})


def test_methods_verbose_lists_every_declared_parameter():
    proc = cli("methods", "-v")
    assert "pca-svm: " in proc.stdout and "C_grid: tuple of float" in proc.stdout and "role features" in proc.stdout


def test_extract_features_depends_only_on_feature_parameters():
    """For every registered method that runs here: changing a parameter that is not a
    feature parameter changes neither the cache key nor the extracted features."""
    rng = np.random.default_rng(0)
    for name in available_methods():
        cls = get_method_class(name)
        base = cls()
        if base.unmet_requirements("cpu"):
            continue
        spec = base.input_spec()
        if spec.size[0] * spec.size[1] > 128 * 128:  # large backbones: the key check alone
            images = None
        else:
            shape = (3, *spec.size) + ((3,) if spec.color == "rgb" else ())
            images = rng.random(shape, dtype=np.float32)
        reference = None if images is None else np.asarray(base.extract_features(images))
        for pname, param in cls.parameters.items():
            if param.role == "features":
                continue
            other = _another_value(param)
            if other is None:
                continue
            changed = cls(**{pname: other})
            assert changed.feature_key() == base.feature_key(), (name, pname)
            if images is not None and pname != "device":
                assert np.array_equal(np.asarray(changed.extract_features(images)), reference), (name, pname)


def _another_value(param: Param):
    default = param.default
    if param.choices:
        return next((c for c in param.choices if c != default), None)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        candidate = default + 1
        return candidate if param.high is None or candidate <= param.high else default - 1
    if isinstance(default, float):
        candidate = default * 0.5 if default else 0.1
        return candidate if param.low is None or candidate >= param.low else None
    if isinstance(default, tuple) and default:
        return default[:1]
    return None


def test_all_beside_named_variants_adds_them_and_only_all_methods_are_skipped():
    """``--methods all,pca-svm:classifier=logistic``: every registered method, plus the named
    variant; a method that came with "all" is skipped when it cannot run, a named one is not."""
    from fer_bench.config import RunConfig
    from fer_bench.registry import includes_all
    from fer_bench.runner import plan

    text = "all,pca-svm:classifier=logistic"
    assert includes_all(text) and not includes_all("pca-svm,hog-svm")
    with pytest.raises(UnknownMethodError, match="follows no method name"):
        parse_method_list("all,C=10")  # never silently dropped
    assert [s.label for s in parse_method_list(text)] == ["pca-svm:classifier=logistic"]
    the_plan = plan(RunConfig(methods=text, dataset="synthetic?subjects=4&per_expression=2&size=64", runs=1,
                              folds=3))
    labels = [s.label for s in the_plan.specs]
    assert labels[:len(available_methods())] == available_methods()
    assert labels[-1] == "pca-svm:classifier=logistic" and the_plan.run_all
    assert the_plan.named == {"pca-svm:classifier=logistic"}
