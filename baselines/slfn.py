"""A single-hidden-layer feedforward network trained by a population-based optimiser.

The network is x → sigmoid(x·W1 + b1) → ·W2 + b2 (``output="linear"``) or a softmax of
that (``output="softmax"``); it predicts the class of the largest output. Its weights
and biases, for every candidate network, are one flat vector laid out as
``[W1 (d×h), b1 (h), W2 (h×c), b2 (c)]``. The fitness of a whole population (P × dim) is
the mean squared error against one-hot targets on the training group, evaluated in one
batched matrix product (P × n × h) with no Python loop over candidates, which is what
makes cat swarm and biogeography-based training affordable (see
``benchmarks/bench_population.py``).

:class:`OptimisedSLFNMethod` is the common fer-bench method base of dwt-pca-cso and
swe-bbo: it fits the per-fold preprocessing (standardisation, and PCA where a subclass
asks for it) on the training group only, trains the network with the optimiser on the
training group only (until the training fitness stalls, :class:`StallRule`, or the
budget ends), and uses the validation group to choose among checkpoints of the
optimiser's best-so-far network (validation early stopping) and, if ``hidden_grid``
holds sizes, the hidden size; ``refit`` retrains on training + validation groups for
exactly the chosen number of iterations. The test group is never seen by ``fit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_bench.errors import FerBenchError
from fer_bench.params import Param

from .optimisers import OPTIMISERS
from .selection import CLASSIFIER_PARAMETERS, FeatureClassifierMethod


def _sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, in place, as 0.5·(1 + tanh(z/2)): never overflows for wild
    candidate weights and is faster than 1 / (1 + exp(−z))."""
    np.multiply(z, 0.5, out=z)
    np.tanh(z, out=z)
    z += 1.0
    z *= 0.5
    return z


class SLFN:
    """Shapes, flat-vector layout and batched forward pass of a one-hidden-layer network."""

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, output: str = "linear"):
        if min(n_inputs, n_hidden, n_outputs) < 1:
            raise ValueError(f"network sizes must be positive, got {n_inputs}, {n_hidden}, {n_outputs}")
        if output not in ("linear", "softmax"):
            raise ValueError(f"output must be 'linear' or 'softmax', got {output!r}")
        self.d, self.h, self.c, self.output = int(n_inputs), int(n_hidden), int(n_outputs), output
        self.n_weights = self.d * self.h + self.h + self.h * self.c + self.c

    def unpack(self, flat: np.ndarray):
        """``(P × n_weights)`` → W1 (P×d×h), b1 (P×h), W2 (P×h×c), b2 (P×c)."""
        flat = np.atleast_2d(flat)
        if flat.shape[1] != self.n_weights:
            raise ValueError(f"expected {self.n_weights} weights per network, got {flat.shape[1]}")
        d, h, c = self.d, self.h, self.c
        i1, i2, i3 = d * h, d * h + h, d * h + h + h * c
        P = flat.shape[0]
        return (
            flat[:, :i1].reshape(P, d, h),
            flat[:, i1:i2],
            flat[:, i2:i3].reshape(P, h, c),
            flat[:, i3:],
        )

    def forward(self, flat: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Outputs of every candidate on every sample: (P × n × c), one batched product."""
        W1, b1, W2, b2 = self.unpack(flat)
        # einsum(optimize=True) turns each layer into one batched GEMM over the
        # population: measured 2–5× faster than np.matmul's broadcasting here.
        hidden = np.einsum("nd,pdh->pnh", X, W1, optimize=True)  # P×n×h
        hidden += b1[:, None, :]
        _sigmoid_inplace(hidden)
        out = np.einsum("pnh,phc->pnc", hidden, W2, optimize=True)  # P×n×c
        out += b2[:, None, :]
        if self.output == "softmax":
            # Hidden units lie in (0, 1), so |output| ≤ (h + 1)·max|W2, b2|; below exp's
            # overflow point the usual max-subtraction (slow: a reduction over a c-wide
            # axis, 3× the cost of the whole forward pass) is unnecessary.
            if (self.h + 1) * max(np.abs(W2).max(), np.abs(b2).max()) > 700:
                out -= out.max(axis=2, keepdims=True)
            np.exp(out, out=out)
            out /= np.einsum("pnc->pn", out)[:, :, None]
        return out

    def mse(self, flat: np.ndarray, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Mean squared error of every candidate against ``targets`` (n × c): P values."""
        err = self.forward(flat, X) - targets[None, :, :]
        return np.einsum("pnc,pnc->p", err, err) / (targets.shape[0] * targets.shape[1])

    def mse_loop(self, flat: np.ndarray, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The same fitness one candidate at a time (the slow reference of the benchmark)."""
        return np.array([self.mse(w[None, :], X, targets)[0] for w in np.atleast_2d(flat)])

    def predict(self, flat: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Classes (n,) predicted by one network ``flat`` (n_weights,) for ``X`` (n × d)."""
        W1, b1, W2, b2 = (a[0] for a in self.unpack(flat))
        # One network: two plain matrix products (einsum's path search would cost more
        # than the products; this runs at every validation checkpoint of a training).
        # The output's argmax is the same before and after the softmax.
        return np.argmax(_sigmoid_inplace(X @ W1 + b1) @ W2 + b2, axis=1)

    def layer_fan_in(self) -> np.ndarray:
        """The fan-in of the unit each weight feeds, per position of the flat vector:
        ``d + 1`` for W1 and b1 (inputs and bias), ``h + 1`` for W2 and b2."""
        first = self.d * self.h + self.h
        fan_in = np.empty(self.n_weights)
        fan_in[:first] = self.d + 1
        fan_in[first:] = self.h + 1
        return fan_in

    def bounds(self, weight_bound: float, scaling: str = "fan_in") -> tuple[np.ndarray, np.ndarray]:
        """Per-weight search box.

        ``scaling="none"``: every weight and bias in ± ``weight_bound``.
        ``scaling="fan_in"``: the weights and bias of a unit with fan-in m (counting the
        bias) lie in ± ``weight_bound``·√(3/m), so that with unit-variance inputs a unit's
        pre-activation has standard deviation at most ``weight_bound`` when its weights
        are spread uniformly over the box (LeCun/Glorot-style scaling, per layer).
        """
        if weight_bound <= 0:
            raise ValueError(f"weight_bound must be positive, got {weight_bound}")
        if scaling == "none":
            high = np.full(self.n_weights, float(weight_bound))
        elif scaling == "fan_in":
            high = weight_bound * np.sqrt(3.0 / self.layer_fan_in())
        else:
            raise ValueError(f"bound_scaling must be 'fan_in' or 'none', got {scaling!r}")
        return -high, high

    def initial_population(self, rng: np.random.Generator, n: int, low: np.ndarray, high: np.ndarray,
                           init: str = "uniform") -> np.ndarray | None:
        """Starting candidates: ``"uniform"`` returns None (the optimiser draws uniformly in
        its box); ``"glorot"`` draws each weight from N(0, 2/(fan_in + fan_out)) (Glorot &
        Bengio 2010), biases 0 ± the same spread, clipped to the box."""
        if init == "uniform":
            return None
        if init != "glorot":
            raise ValueError(f"init must be 'uniform' or 'glorot', got {init!r}")
        first = self.d * self.h + self.h
        std = np.empty(self.n_weights)
        std[:first] = np.sqrt(2.0 / (self.d + self.h))
        std[first:] = np.sqrt(2.0 / (self.h + self.c))
        return np.clip(rng.normal(0.0, 1.0, size=(n, self.n_weights)) * std, low, high)


class PopulationFitness:
    """The training MSE of every network of a population: the optimisers' hot loop.

    ``PopulationFitness(net, X, targets)(population)``: population (P × n_weights,
    float64) → P float64 values, equal to :meth:`SLFN.mse` up to float32 rounding
    (relative error below 1e-5). Computed in float32, in one layout that turns each
    layer into one large matrix product:

    - layer 1 for the whole population is one GEMM, (P·h × (d + 1)) · ((d + 1) × n),
      with the biases as an extra input row of ones;
    - layer 2 is one batched product (P × c × h) · (P × h × n), and the softmax sums
      run over the c rows of each (P × c × n) slab, contiguous in memory.

    ``backend="torch"`` runs the same computation with PyTorch on the CPU, whose
    vectorised sigmoid and exp are several times faster than NumPy's tanh and exp;
    "numpy" is the fallback (sigmoid as 0.5·(1 + tanh(z/2)), never overflowing);
    "auto" picks torch when it imports. Measured in ``benchmarks/bench_population.py``.
    Threads: the caller's (the engine limits BLAS to one thread per fold; the torch
    backend sets torch's intra-op threads to 1 while evaluating and restores them).
    """

    def __init__(self, net: SLFN, X: np.ndarray, targets: np.ndarray, backend: str = "auto"):
        if backend == "auto":
            import importlib.util

            backend = "torch" if importlib.util.find_spec("torch") is not None else "numpy"
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend must be 'auto', 'numpy' or 'torch', got {backend!r}")
        self.net, self.backend = net, backend
        X = np.asarray(X, dtype=np.float32)
        self.n = X.shape[0]
        self.X_aug = np.ascontiguousarray(np.vstack([X.T, np.ones((1, self.n), dtype=np.float32)]))  # (d+1) × n
        self.targets_T = np.ascontiguousarray(np.asarray(targets, dtype=np.float32).T)  # c × n
        if backend == "torch":
            import torch

            self._torch = torch
            self._X = torch.from_numpy(self.X_aug)
            self._T = torch.from_numpy(self.targets_T)

    def _layers(self, population: np.ndarray):
        net = self.net
        d, h, c = net.d, net.h, net.c
        P = population.shape[0]
        W = np.asarray(population, dtype=np.float32)
        i1, i2, i3 = d * h, d * h + h, d * h + h + h * c
        first = np.empty((P, h, d + 1), dtype=np.float32)
        first[:, :, :d] = W[:, :i1].reshape(P, d, h).transpose(0, 2, 1)
        first[:, :, d] = W[:, i1:i2]
        W2_T = np.ascontiguousarray(W[:, i2:i3].reshape(P, h, c).transpose(0, 2, 1))  # P × c × h
        b2 = W[:, i3:].reshape(P, c, 1)
        big = net.output == "softmax" and (h + 1) * float(np.abs(W[:, i2:]).max(initial=0.0)) > 80.0
        return first.reshape(P * h, d + 1), W2_T, b2, big

    def __call__(self, population: np.ndarray) -> np.ndarray:
        population = np.atleast_2d(population)
        first, W2_T, b2, big = self._layers(population)
        P, h, c, n = population.shape[0], self.net.h, self.net.c, self.n
        if self.backend == "torch":
            torch = self._torch
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                hidden = torch.sigmoid_(torch.from_numpy(first) @ self._X).view(P, h, n)
                out = torch.baddbmm(torch.from_numpy(b2), torch.from_numpy(W2_T), hidden)  # P × c × n
                if self.net.output == "softmax":
                    if big:  # possible float32 overflow: the usual max-subtraction
                        out -= out.amax(dim=1, keepdim=True)
                    out.exp_()
                    out /= out.sum(dim=1, keepdim=True)
                out -= self._T
                values = out.square_().view(P, c * n).sum(dim=1).numpy()  # 4× faster than torch.einsum
            finally:
                torch.set_num_threads(threads)
        else:
            hidden = first @ self.X_aug  # (P·h) × n
            hidden *= 0.5
            np.tanh(hidden, out=hidden)
            hidden += 1.0
            hidden *= 0.5
            out = np.matmul(W2_T, hidden.reshape(P, h, n))
            out += b2
            if self.net.output == "softmax":
                if big:
                    out -= out.max(axis=1, keepdims=True)
                np.exp(out, out=out)
                out /= out.sum(axis=1, keepdims=True)
            out -= self.targets_T
            err = out.reshape(P, c * n)
            values = np.einsum("pk,pk->p", err, err)
        return np.asarray(values, dtype=np.float64) / (n * c)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    targets = np.zeros((len(y), n_classes))
    targets[np.arange(len(y)), y] = 1.0
    return targets


class StallRule:
    """Stop when the best training fitness has stalled.

    ``stalled(history)`` is True once the best-so-far fitness improved by less than
    ``tolerance`` (relative) over the last ``patience`` iterations:
    ``f[t − patience] − f[t] < tolerance · |f[t − patience]|``. ``patience`` 0 never
    stalls. The rule looks at the training fitness only.
    """

    def __init__(self, patience: int, tolerance: float):
        if patience < 0 or tolerance < 0:
            raise ValueError(f"stall patience and tolerance must be ≥ 0, got {patience}, {tolerance}")
        self.patience, self.tolerance = int(patience), float(tolerance)

    def stalled(self, history: list[float]) -> bool:
        if not self.patience or len(history) <= self.patience:
            return False
        before, now = history[-1 - self.patience], history[-1]
        return before - now < self.tolerance * abs(before)


def train_slfn(
    X_train: np.ndarray,
    y_train: np.ndarray,
    n_classes: int,
    *,
    hidden: int,
    optimiser: str,
    optimiser_params: dict[str, Any],
    iterations: int,
    weight_bound: float,
    output: str = "softmax",
    bound_scaling: str = "fan_in",
    init: str = "uniform",
    stall: StallRule | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    checkpoint_every: int = 10,
    backend: str = "auto",
    random_state: int | None = None,
):
    """Train one network by minimising its training MSE with ``optimiser``.

    Runs at most ``iterations`` iterations (CSO) or generations (BBO), fewer when
    ``stall`` says the training fitness has converged. With a validation group, the
    best-so-far network is scored on it every ``checkpoint_every`` iterations and at the
    end: those checkpoints are the candidates of validation early stopping. Returns
    ``(net, weights, info, checkpoints)``: ``weights`` the final best-so-far network,
    ``checkpoints`` a list of ``(iteration, validation accuracy, weights)`` (empty
    without a validation group), ``info`` the training facts (``iterations`` run,
    ``evaluations``, training MSE and accuracy of ``weights``, ``history``: the
    best-so-far training MSE after every iteration).
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    net = SLFN(X_train.shape[1], hidden, n_classes, output)
    targets = one_hot(y_train, n_classes)
    X_train = np.ascontiguousarray(X_train, dtype=np.float64)
    use_val = X_val is not None and y_val is not None and len(y_val) > 0
    checkpoints: list[tuple[int, float, np.ndarray]] = []
    history: list[float] = []

    def score(iteration: int, x: np.ndarray) -> None:
        checkpoints.append((iteration, float(np.mean(net.predict(x, X_val) == y_val)), x.copy()))

    def callback(iteration: int, x: np.ndarray, f: float) -> bool:
        history.append(f)
        if use_val and iteration % checkpoint_every == 0:
            score(iteration, x)
        return stall is not None and stall.stalled(history)

    low, high = net.bounds(weight_bound, bound_scaling)
    budget = {"generations": iterations} if optimiser == "bbo" else {"iterations": iterations}
    optimiser_object = OPTIMISERS[optimiser](random_state=random_state, **budget, **optimiser_params)
    # The starting population has its own seed stream so that init="uniform" reproduces
    # the optimiser's own uniform draw exactly.
    start = net.initial_population(
        np.random.default_rng([0 if random_state is None else random_state, 1]),
        optimiser_object.population_size, low, high, init,
    )
    fitness = PopulationFitness(net, X_train, targets, backend)
    result = optimiser_object.minimize(fitness, dim=net.n_weights, bounds=(low, high), init=start,
                                       callback=callback)
    if use_val and (not checkpoints or checkpoints[-1][0] != result.iterations):
        score(result.iterations, result.x)  # the final network is always a candidate
    info = {
        "train_mse": round(float(net.mse(result.x, X_train, targets)[0]), 6),
        "train_accuracy": round(100 * float(np.mean(net.predict(result.x, X_train) == y_train)), 4),
        "iterations": result.iterations,
        "evaluations": result.n_evaluations,
        "stalled": bool(stall is not None and stall.stalled(history)),
        "history": [float(v) for v in result.history],
    }
    return net, result.x, info, checkpoints


class TrainedSLFN:
    """A trained network as a classifier: ``predict(Z)`` → class indices."""

    def __init__(self, net: SLFN, weights: np.ndarray, info: dict[str, Any]):
        self.net, self.weights, self.info = net, weights, info

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self.net.predict(self.weights, np.asarray(Z, dtype=np.float64))


class OptimisedSLFNMethod(FeatureClassifierMethod):
    """A fer-bench method: features → per-fold transform → SLFN trained by an optimiser.

    Subclasses set ``published_classifier`` to "cso" or "bbo" (the optimiser), declare
    in ``parameters`` the network's ``hidden``, ``hidden_grid`` (empty: just ``hidden``;
    several sizes: chosen on the validation group), ``output``, ``weight_bound``,
    ``bound_scaling`` ("fan_in" or "none", see :meth:`SLFN.bounds`), ``init``
    ("uniform" or "glorot", see :meth:`SLFN.initial_population`), the budget
    ``fitness_budget`` and ``max_iterations`` (:meth:`iteration_budget`) with the stall
    rule ``stall_patience`` / ``stall_tolerance`` (:class:`StallRule`),
    ``checkpoint_every``, ``fitness_backend`` and the optimiser's
    own parameters (listed in ``optimiser_parameters``), plus
    :data:`~fer_bench_baselines.selection.CLASSIFIER_PARAMETERS` for the ablation
    classifiers; they may override :meth:`transforms` to add e.g. PCA.

    The refit contract: ``fit`` trains one network per hidden size on the training group
    (until the stall rule or ``max_iterations``) and scores the best-so-far network on
    the validation group every ``checkpoint_every`` iterations; the candidates are
    ``{"hidden": h, "iterations": t}`` for every checkpoint t, in that order (smaller
    networks and fewer iterations first, so ties choose the simpler one). ``refit``
    trains a fresh network of the chosen size on training + validation groups for
    exactly the chosen number of iterations (no stall rule, no validation data).
    """

    #: Names in ``parameters`` that are passed to the optimiser's constructor.
    optimiser_parameters: tuple[str, ...] = ()

    def __init__(self, **params):
        super().__init__(**params)
        if self.bound_scaling not in ("fan_in", "none"):
            raise FerBenchError(f"{self.name}: bound_scaling={self.bound_scaling!r}; use 'fan_in' or 'none'")
        if self.init not in ("uniform", "glorot"):
            raise FerBenchError(f"{self.name}: init={self.init!r}; use 'uniform' or 'glorot'")
        if self.output not in ("softmax", "linear"):
            raise FerBenchError(f"{self.name}: output={self.output!r}; use 'softmax' or 'linear'")
        if not self.weight_bound > 0:
            raise FerBenchError(f"{self.name}: weight_bound={self.weight_bound} must be positive")
        if self.max_iterations < 1 or self.checkpoint_every < 1 or self.fitness_budget < 1:
            raise FerBenchError(f"{self.name}: fitness_budget, max_iterations and checkpoint_every must be at least 1")
        if self.stall_patience < 0 or self.stall_tolerance < 0:
            raise FerBenchError(f"{self.name}: stall_patience and stall_tolerance must be ≥ 0")
        if self.fitness_backend not in ("auto", "numpy", "torch"):
            raise FerBenchError(f"{self.name}: fitness_backend={self.fitness_backend!r}; use auto, numpy or torch")
        if any(not isinstance(h, int) or h < 1 for h in (self.hidden, *self.hidden_grid)):
            raise FerBenchError(f"{self.name}: hidden sizes must be positive integers")

    @property
    def optimiser(self) -> str:
        return self.published_classifier

    def optimiser_object(self, iterations: int = 1, random_state: int | None = None):
        """The optimiser with this method's parameters (and ``iterations`` as its budget)."""
        budget = {"generations": iterations} if self.optimiser == "bbo" else {"iterations": iterations}
        params = {k: self.params[k] for k in self.optimiser_parameters}
        return OPTIMISERS[self.optimiser](random_state=random_state, **budget, **params)

    def iteration_budget(self, n_train: int) -> int:
        """Iterations ``fit`` may run on ``n_train`` training images: ``fitness_budget``
        (evaluations of one network on one training image) divided by the cost of one
        iteration (evaluations per iteration × n_train), at most ``max_iterations``.

        A fixed amount of computation per training: the fitness costs time in
        proportion to the training images, so a small dataset gets more iterations
        for the same time (the stall rule still ends training once it has converged).
        """
        per_iteration = self.optimiser_object().evaluations_per_iteration * max(1, int(n_train))
        return int(max(1, min(self.max_iterations, self.fitness_budget // per_iteration)))

    def size_skip_reasons(self, n_train: int) -> list[str]:
        """At scale the optimiser's time stays bounded (``fitness_budget`` fixes the
        computation) but its iterations shrink as 1/n: on FER2013's 28,709 training
        images the default budget buys about 29 CSO or BBO iterations, and the network
        stays near its random start (``benchmarks/results/convergence.md``: on the
        synthetic set's 560 training images the training MSE stalls only after
        1,300-2,150 iterations).
        ``--methods all`` skips the method when the budget allows fewer than
        ``min_iterations`` (500, a third of what the stall rule needs on the synthetic
        set: below it the network is far from trained and its accuracy would misrepresent
        the method) on ``n_train`` images, about 1,650 training images at the default
        budget; named explicitly it runs (raise ``fitness_budget`` for more iterations at
        proportional time). The ablation classifiers (``classifier=svm`` …) are not
        limited by the budget."""
        if self.classifier != self.optimiser:
            return []
        iterations = self.iteration_budget(n_train)
        if iterations >= self.min_iterations:
            return []
        return [f"fitness_budget={self.fitness_budget} allows only {iterations} {self.optimiser.upper()} iterations on "
                f"{n_train} training images (fewer than min_iterations={self.min_iterations}): the network would be far "
                f"from trained; name the method to run it anyway, with a larger fitness_budget for more "
                f"iterations (time grows in proportion)"]

    def _train(self, Z, y, n_classes, hidden, iterations, stall, Z_val, y_val, random_state):
        return train_slfn(
            Z, y, n_classes, hidden=int(hidden), optimiser=self.optimiser,
            optimiser_params={k: self.params[k] for k in self.optimiser_parameters},
            iterations=int(iterations), weight_bound=self.weight_bound, output=self.output,
            bound_scaling=self.bound_scaling, init=self.init, stall=stall, X_val=Z_val, y_val=y_val,
            checkpoint_every=self.checkpoint_every, backend=self.fitness_backend, random_state=random_state,
        )

    def classifier_scores(self, Z_train, y_train, Z_val, y_val, random_state, prefix):
        if self.classifier != self.optimiser:
            return super().classifier_scores(Z_train, y_train, Z_val, y_val, random_state, prefix)
        self.n_classes_ = int(max(y_train.max(), y_val.max() if len(y_val) else 0)) + 1
        stall = StallRule(self.stall_patience, self.stall_tolerance)
        scores = []
        for hidden in (tuple(self.hidden_grid) or (self.hidden,)):
            net, _, info, checkpoints = self._train(Z_train, y_train, self.n_classes_, hidden,
                                                    self.iteration_budget(len(Z_train)), stall, Z_val, y_val,
                                                    random_state)
            if not checkpoints:  # no validation group: the final network is the only candidate
                checkpoints = [(info["iterations"], 0.0, _)]
            for iteration, accuracy_, weights in checkpoints:
                model = TrainedSLFN(net, weights, {**info, "chosen_iteration": iteration})
                scores.append(({**prefix, "hidden": int(hidden), "iterations": int(iteration)}, accuracy_, model))
        return scores

    def train_classifier(self, candidate, Z, y, random_state):
        if self.classifier != self.optimiser:
            return super().train_classifier(candidate, Z, y, random_state)
        n_classes = max(getattr(self, "n_classes_", 0), int(np.max(y)) + 1)
        net, weights, info, _ = self._train(Z, y, n_classes, candidate["hidden"], candidate["iterations"], None,
                                            None, None, random_state)
        return TrainedSLFN(net, weights, info)

    def extra_info(self, refit: bool) -> dict[str, Any]:
        model = getattr(self, "model_", None)
        if not isinstance(model, TrainedSLFN):
            return {}
        info = model.info
        prefix = "refit_" if refit else ""
        facts = {f"{prefix}train_accuracy": info["train_accuracy"], f"{prefix}train_mse": info["train_mse"],
                 f"{prefix}iterations": info["iterations"], f"{prefix}evaluations": info["evaluations"]}
        if not refit:
            facts["stalled"] = info["stalled"]
        return facts

    @staticmethod
    def slfn_parameters(**defaults) -> dict[str, Param]:
        """The network, budget and ablation parameters every optimiser-trained method
        declares, with their shared defaults (a subclass passes its own as keywords)."""
        d = {
            "hidden": 10, "weight_bound": 3.0, "fitness_budget": 15_000_000, "max_iterations": 5000,
            "stall_patience": 100, "stall_tolerance": 0.01, **defaults,
        }
        return {
            "hidden": Param(d["hidden"], role="fit", low=1, doc="sigmoid hidden units"),
            "hidden_grid": Param((), role="fit", kind=tuple, element_kinds=(int,),
                                 doc="hidden sizes chosen on the validation group (empty: just hidden)"),
            "output": Param("softmax", role="fit", choices=("softmax", "linear"), doc="output units"),
            "weight_bound": Param(d["weight_bound"], role="fit", low=0, doc="search box of the weights (see bound_scaling)"),
            "bound_scaling": Param("fan_in", role="fit", choices=("fan_in", "none"),
                                   doc="fan_in: a unit with fan-in m has weights in ± weight_bound·√(3/m)"),
            "init": Param("uniform", role="fit", choices=("uniform", "glorot"), doc="starting population"),
            "fitness_budget": Param(d["fitness_budget"], role="fit", low=1,
                                    doc="evaluations of one network on one training image per training"),
            "max_iterations": Param(d["max_iterations"], role="fit", low=1, doc="cap on iterations per training"),
            "stall_patience": Param(d["stall_patience"], role="fit", low=0,
                                    doc="stall rule: iterations looked back (0: off)"),
            "stall_tolerance": Param(d["stall_tolerance"], role="fit", low=0,
                                     doc="stall rule: relative training-MSE improvement that counts as progress"),
            "checkpoint_every": Param(10, role="fit", low=1, doc="iterations between validation checkpoints"),
            "min_iterations": Param(500, role="runtime", low=1,
                                    doc="--methods all skips the method when fitness_budget allows fewer iterations "
                                        "on the largest training group (named explicitly, it runs)"),
            "fitness_backend": Param("auto", role="fit", choices=("auto", "numpy", "torch"),
                                     doc="population fitness in float32 NumPy or PyTorch (CPU); auto: torch"),
            **CLASSIFIER_PARAMETERS,
            "backprop_hidden": Param(None, role="fit", kind=int, low=1, nullable=True,
                                     doc="hidden units of the back-propagation ablation (None: the same as hidden)"),
        }
