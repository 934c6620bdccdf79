"""Cat swarm and biogeography-based optimisation: benchmark functions, seeding, networks.

Thresholds were set from measured results with a margin (10 seeds, 200 iterations /
generations, default parameters otherwise; measured worst case in brackets):

======================  ==============  ==============  =====================
function, dim           CSO limit       BBO limit       best of 50 random
======================  ==============  ==============  =====================
sphere 10               1.5   (0.55)    0.5   (0.13)    33
sphere 30               40    (19.5)    3     (1.1)     171
Rastrigin 10            80    (45.7)    10    (3.9)     96
Rastrigin 30            330   (254)     60    (30.2)    409
shifted sphere 10       8     (3.7)     1     (0.28)    95
shifted sphere 30       120   (78.9)    6     (2.4)     391
======================  ==============  ==============  =====================

Pure random search with CSO's budget (~24 000 points) reaches only 26 (10-D) and 243
(30-D) on the shifted sphere, so a CSO whose seeking copies were fresh random points
would fail the shifted limits.
"""

from __future__ import annotations

import numpy as np
import pytest
from fer_bench_baselines.optimisers import BiogeographyOptimizer, CatSwarmOptimizer
from fer_bench_baselines.slfn import SLFN, PopulationFitness, StallRule, one_hot, train_slfn

import fer_bench


def sphere(P):
    return np.sum(P**2, axis=1)


def shifted_sphere(P):
    return np.sum((P - 2.5) ** 2, axis=1)


def rastrigin(P):
    return 10 * P.shape[1] + np.sum(P**2 - 10 * np.cos(2 * np.pi * P), axis=1)


FUNCTIONS = {
    "sphere": (sphere, (-5.12, 5.12)),
    "rastrigin": (rastrigin, (-5.12, 5.12)),
    "shifted": (shifted_sphere, (-5.0, 10.0)),
}
LIMITS = {
    ("cso", "sphere", 10): 1.5, ("cso", "sphere", 30): 40, ("cso", "rastrigin", 10): 80,
    ("cso", "rastrigin", 30): 330, ("cso", "shifted", 10): 8, ("cso", "shifted", 30): 120,
    ("bbo", "sphere", 10): 0.5, ("bbo", "sphere", 30): 3, ("bbo", "rastrigin", 10): 10,
    ("bbo", "rastrigin", 30): 60, ("bbo", "shifted", 10): 1, ("bbo", "shifted", 30): 6,
}


def make(kind, seed, **kw):
    if kind == "cso":
        return CatSwarmOptimizer(iterations=200, random_state=seed, **kw)
    return BiogeographyOptimizer(generations=200, random_state=seed, **kw)


@pytest.mark.parametrize("kind", ["cso", "bbo"])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("dim", [10, 30])
def test_minimises_benchmark_functions(kind, function, dim):
    f, bounds = FUNCTIONS[function]
    random_start = np.min(f(np.random.default_rng(123).uniform(*bounds, size=(50, dim))))
    for seed in range(3):
        result = make(kind, seed).minimize(f, dim, bounds)
        assert result.fun < LIMITS[kind, function, dim] < random_start / 1.2
        assert result.fun == pytest.approx(f(result.x[None])[0])
        assert np.all(result.x >= bounds[0]) and np.all(result.x <= bounds[1])
        # Best-so-far is kept: the trace never gets worse.
        assert np.all(np.diff(result.history) <= 0)


@pytest.mark.parametrize("kind", ["cso", "bbo"])
def test_same_seed_same_result_and_different_seeds_differ(kind):
    f, bounds = FUNCTIONS["rastrigin"]
    a = make(kind, 7).minimize(f, 10, bounds)
    b = make(kind, 7).minimize(f, 10, bounds)
    c = make(kind, 8).minimize(f, 10, bounds)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.history == b.history
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("kind", ["cso", "bbo"])
def test_fitness_gets_whole_population_once_per_iteration(kind):
    calls = []

    def fitness(P):
        calls.append(P.shape)
        return shifted_sphere(P)

    opt = CatSwarmOptimizer(n_cats=20, iterations=15, random_state=0) if kind == "cso" else \
        BiogeographyOptimizer(population=20, generations=15, random_state=0)
    result = opt.minimize(fitness, 6, (-5, 10))
    assert len(calls) == 16  # the initial population, then one batch per iteration
    assert all(len(shape) == 2 and shape[1] == 6 for shape in calls)
    assert result.n_evaluations == sum(shape[0] for shape in calls)
    if kind == "cso":
        # 20 cats, MR 0.2: 4 tracing cats + 16 seeking cats × (SMP − 1 = 4) copies.
        assert calls[1][0] == 4 + 16 * 4
    else:
        # Every habitat, then every generation all but the 2 elites, whose fitness is known;
        # all 20 when the duplicate clearing replaced an elite (a habitat that did not change).
        sizes = [shape[0] for shape in calls[1:]]
        assert calls[0][0] == 20 and set(sizes) <= {18, 20} and 18 in sizes


def test_cso_seeking_and_tracing_each_make_progress():
    # MR=0 (seeking only) must still converge: copies are perturbed cats, not random points;
    # MR=1 (tracing only) must converge: the velocity really is updated.
    f, bounds = FUNCTIONS["shifted"]
    random_start = np.min(f(np.random.default_rng(0).uniform(*bounds, size=(24000, 10))))  # ≈ 26
    for mr, limit in [(0.0, 20.0), (1.0, 12.0)]:  # measured worst over 6 seeds: 13.3, 8.1
        for seed in range(3):
            assert make("cso", seed, MR=mr).minimize(f, 10, bounds).fun < limit < random_start


def test_cso_roulette_prefers_better_candidates():
    rng = np.random.default_rng(0)
    fitness = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    picks = np.array([CatSwarmOptimizer._roulette(rng, fitness) for _ in range(3000)])
    first = np.bincount(picks[:, 0], minlength=3) / len(picks)
    # P ∝ |FS_i − FS_worst|: 2 : 1 : 0.
    assert first[2] == 0 and first[0] == pytest.approx(2 / 3, abs=0.04)
    second = np.bincount(picks[:, 1], minlength=3) / len(picks)
    assert np.all(np.abs(second - 1 / 3) < 0.04)  # all equal: uniform


def test_bbo_clears_duplicates():
    rng = np.random.default_rng(0)
    habitats = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    cleared = BiogeographyOptimizer._clear_duplicates(rng, habitats, np.zeros(2) - 10, np.zeros(2) + 10)
    assert len(np.unique(cleared, axis=0)) == 4
    np.testing.assert_array_equal(cleared[[0, 2]], habitats[[0, 2]])


@pytest.mark.parametrize("bad", [dict(MR=1.5), dict(CDC=0), dict(SMP=1), dict(srd_scale="x")])
def test_cso_rejects_bad_parameters(bad):
    with pytest.raises(ValueError):
        CatSwarmOptimizer(**bad)


def test_wrong_fitness_shape_is_reported():
    with pytest.raises(ValueError, match="whole population"):
        BiogeographyOptimizer(random_state=0).minimize(lambda P: 1.0 * P.sum(), 3, (-1, 1))


def test_batched_network_fitness_equals_one_at_a_time():
    rng = np.random.default_rng(0)
    net = SLFN(5, 4, 3, output="softmax")
    X, targets = rng.normal(size=(40, 5)), np.eye(3)[rng.integers(0, 3, 40)]
    population = rng.uniform(-1, 1, size=(17, net.n_weights))
    np.testing.assert_allclose(net.mse(population, X, targets), net.mse_loop(population, X, targets), rtol=1e-12)


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = np.repeat(np.arange(3), 60)
    X = centres[y] + rng.normal(scale=0.7, size=(len(y), 2))
    X = (X - X.mean(0)) / X.std(0)
    order = rng.permutation(len(y))
    return X[order], y[order]


@pytest.mark.parametrize("kind, params", [
    ("cso", dict(n_cats=30)),
    ("bbo", dict(population=50)),
])
def test_network_trained_by_optimiser_separates_blobs(kind, params):
    X, y = blobs()
    train, val, test = slice(0, 100), slice(100, 140), slice(140, None)
    net, weights, info, checkpoints = train_slfn(
        X[train], y[train], 3, hidden=5, optimiser=kind, optimiser_params=params, iterations=100,
        weight_bound=1.0, bound_scaling="none", output="softmax", X_val=X[val], y_val=y[val], random_state=0,
    )
    assert np.mean(net.predict(weights, X[test]) == y[test]) > 0.9
    assert checkpoints[-1][0] == 100 and checkpoints[-1][1] > 0.9


def test_fan_in_bounds_and_glorot_start_are_per_layer():
    net = SLFN(11, 5, 3)
    low, high = net.bounds(3.0, "fan_in")
    first = 11 * 5 + 5
    np.testing.assert_allclose(high[:first], 3.0 * np.sqrt(3 / 12))  # fan-in 11 inputs + bias
    np.testing.assert_allclose(high[first:], 3.0 * np.sqrt(3 / 6))  # 5 hidden + bias
    np.testing.assert_array_equal(low, -high)
    np.testing.assert_array_equal(net.bounds(2.0, "none")[1], np.full(net.n_weights, 2.0))
    start = net.initial_population(np.random.default_rng(0), 400, low, high, "glorot")
    assert start.shape == (400, net.n_weights) and np.all((start >= low) & (start <= high))
    assert start[:, :first].std() == pytest.approx(np.sqrt(2 / 16), rel=0.1)
    assert net.initial_population(np.random.default_rng(0), 4, low, high, "uniform") is None
    with pytest.raises(ValueError, match="bound_scaling"):
        net.bounds(1.0, "fan_out")
    with pytest.raises(ValueError, match="init"):
        net.initial_population(np.random.default_rng(0), 4, low, high, "he")


@pytest.mark.parametrize("kind, params", [
    ("cso", dict(n_cats=30)),
    ("bbo", dict(population=50)),
])
def test_fan_in_bounded_glorot_started_network_separates_blobs(kind, params):
    X, y = blobs(1)
    train, val, test = slice(0, 100), slice(100, 140), slice(140, None)
    net, weights, info, _ = train_slfn(
        X[train], y[train], 3, hidden=5, optimiser=kind, optimiser_params=params, iterations=100, weight_bound=3.0,
        bound_scaling="fan_in", init="glorot", output="softmax", X_val=X[val], y_val=y[val], random_state=0,
    )
    low, high = net.bounds(3.0, "fan_in")
    assert np.all((weights >= low) & (weights <= high))
    assert np.mean(net.predict(weights, X[test]) == y[test]) > 0.9
    assert info["train_accuracy"] > 90


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("output", ["softmax", "linear"])
def test_population_fitness_equals_the_float64_reference(backend, output):
    rng = np.random.default_rng(0)
    net = SLFN(9, 4, 5, output=output)
    X, targets = rng.normal(size=(60, 9)), np.eye(5)[rng.integers(0, 5, 60)]
    population = rng.uniform(-2, 2, size=(13, net.n_weights))
    reference = net.mse(population, X, targets)
    np.testing.assert_allclose(PopulationFitness(net, X, targets, backend)(population), reference, rtol=2e-5)
    # Weights large enough to overflow float32's exp without the max-subtraction.
    np.testing.assert_allclose(PopulationFitness(net, X, targets, backend)(population * 60),
                               net.mse(population * 60, X, targets), rtol=1e-4, atol=1e-7)


def test_stall_rule_needs_a_relative_improvement_over_the_window():
    rule = StallRule(patience=3, tolerance=0.1)
    assert not rule.stalled([1.0, 0.99, 0.98])  # too short to judge
    assert rule.stalled([1.0, 0.99, 0.98, 0.95])  # 5 % < 10 % over 3 iterations
    assert not rule.stalled([1.0, 0.9, 0.85, 0.8])  # 20 %
    assert not StallRule(0, 0.5).stalled([1.0] * 50)  # patience 0: never


def blobs4(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(3, 4))
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + rng.normal(size=(len(y), 4))
    return (X - X.mean(0)) / X.std(0), y


def gradient_optimum(net, X, targets, low, high, starts=5):
    """The lowest training MSE L-BFGS-B (exact gradients by autograd) finds in the same box."""
    import torch
    from scipy.optimize import minimize

    Xt, Tt = torch.tensor(X), torch.tensor(targets)
    d, h, c = net.d, net.h, net.c

    def loss(w):
        wt = torch.tensor(w, requires_grad=True)
        hidden = torch.sigmoid(Xt @ wt[: d * h].reshape(d, h) + wt[d * h : d * h + h])
        out = torch.softmax(hidden @ wt[d * h + h : d * h + h + h * c].reshape(h, c) + wt[d * h + h + h * c :], dim=1)
        value = ((out - Tt) ** 2).mean()
        value.backward()
        return value.item(), wt.grad.numpy().copy()

    rng = np.random.default_rng(0)
    return min(minimize(loss, rng.uniform(low, high), jac=True, method="L-BFGS-B", bounds=list(zip(low, high)),
                        options={"maxiter": 5000}).fun for _ in range(starts))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["swe-bbo", "dwt-pca-cso"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_budget_brings_a_small_problem_near_its_optimum(name, seed):
    """With every default of the method (network, bounds, optimiser parameters, fitness
    budget and stall rule), the optimiser removes at least 85 % of the gap between the
    best random network and the optimum that gradient descent finds for the same network
    and weight box (measured: 93-100 % for BBO, 97-100 % for CSO)."""
    method = fer_bench.create_method(name)
    X, y = blobs4(seed)
    net = SLFN(X.shape[1], method.hidden, 3, method.output)
    low, high = net.bounds(method.weight_bound, method.bound_scaling)
    optimum = gradient_optimum(net, X, one_hot(y, 3), low, high)
    stall = StallRule(method.stall_patience, method.stall_tolerance)
    _, weights, info, _ = method._train(X, y, 3, method.hidden, method.iteration_budget(len(X)), stall,
                                        None, None, seed)
    start = info["history"][0]
    assert start - optimum > 0.05  # there is something to learn
    assert (start - info["train_mse"]) / (start - optimum) > 0.85
    assert info["stalled"]  # converged (by the stall rule) within the default budget
