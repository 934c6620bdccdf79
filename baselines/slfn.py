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
training group only, and uses the validation group to choose among checkpoints of the
optimiser's best-so-far network (validation early stopping) and, if ``hidden_grid``
holds sizes, the hidden size. The test group is never seen by ``fit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_bench.registry import Method

from .optimisers import OPTIMISERS


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
        return np.argmax(self.forward(flat, X)[0], axis=1)

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


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    targets = np.zeros((len(y), n_classes))
    targets[np.arange(len(y)), y] = 1.0
    return targets


def train_slfn(
    X_train: np.ndarray,
    y_train: np.ndarray,
    n_classes: int,
    *,
    hidden: int,
    optimiser: str,
    optimiser_params: dict[str, Any],
    weight_bound: float,
    output: str = "linear",
    bound_scaling: str = "none",
    init: str = "uniform",
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    checkpoint_every: int = 10,
    random_state: int | None = None,
):
    """Train one network; returns ``(net, weights, info)``.

    The optimiser minimises the training MSE. When a validation group is given, the
    best-so-far network is scored on it every ``checkpoint_every`` iterations and at the
    end, and the checkpoint with the best validation accuracy is returned (the latest on
    ties, i.e. the one with the lower training error); otherwise the final best-so-far
    network.
    """
    net = SLFN(X_train.shape[1], hidden, n_classes, output)
    targets = one_hot(y_train, n_classes)
    X_train = np.ascontiguousarray(X_train, dtype=np.float64)
    use_val = X_val is not None and y_val is not None and len(y_val) > 0
    best = {"acc": -1.0, "x": None, "iteration": 0}

    def score(iteration: int, x: np.ndarray) -> None:
        acc = float(np.mean(net.predict(x, X_val) == y_val))
        # Ties keep the later checkpoint: same validation accuracy, lower training error.
        if acc >= best["acc"]:
            best.update(acc=acc, x=x.copy(), iteration=iteration)

    def checkpoint(iteration: int, x: np.ndarray, f: float) -> None:
        if use_val and iteration % checkpoint_every == 0:
            score(iteration, x)

    low, high = net.bounds(weight_bound, bound_scaling)
    optimiser_object = OPTIMISERS[optimiser](random_state=random_state, **optimiser_params)
    # The starting population has its own seed stream so that init="uniform" reproduces
    # the optimiser's own uniform draw exactly.
    start = net.initial_population(
        np.random.default_rng([0 if random_state is None else random_state, 1]),
        optimiser_object.population_size, low, high, init,
    )
    result = optimiser_object.minimize(
        lambda population: net.mse(population, X_train, targets),
        dim=net.n_weights,
        bounds=(low, high),
        init=start,
        callback=checkpoint,
    )
    if use_val:
        if result.iterations % checkpoint_every:
            score(result.iterations, result.x)  # the final network is always a candidate
        weights, chosen_iteration, val_acc = best["x"], best["iteration"], best["acc"]
    else:
        weights, chosen_iteration, val_acc = result.x, result.iterations, None
    info = {
        "train_mse": round(float(net.mse(weights, X_train, targets)[0]), 6),
        "train_accuracy": round(100 * float(np.mean(net.predict(weights, X_train) == y_train)), 4),
        "final_train_mse": round(float(result.fun), 6),
        "iterations": result.iterations,
        "chosen_iteration": chosen_iteration,
        "evaluations": result.n_evaluations,
    }
    if val_acc is not None:
        info["val_accuracy"] = round(100 * val_acc, 4)
    return net, weights, info


class OptimisedSLFNMethod(Method):
    """A fer-bench method: features → per-fold scaling → SLFN trained by ``optimiser``.

    Subclasses set ``optimiser`` ("cso" or "bbo"), declare ``parameters`` including
    ``hidden``, ``hidden_grid`` (empty: just ``hidden``; several sizes: chosen on the
    validation group), ``output``, ``weight_bound``, ``bound_scaling`` ("fan_in" or
    "none", see :meth:`SLFN.bounds`), ``init`` ("uniform" or "glorot", see
    :meth:`SLFN.initial_population`), ``checkpoint_every`` and the
    optimiser's own parameters (listed in ``optimiser_parameters``), and may override
    :meth:`fit_transform_inputs` to add e.g. PCA.
    """

    optimiser: str = ""
    #: Names in ``parameters`` that are passed to the optimiser's constructor.
    optimiser_parameters: tuple[str, ...] = ()
    # Small dense matmuls: threads would only add overhead; parallel folds use the cores.
    max_threads = 1

    def __init__(self, **params):
        super().__init__(**params)
        from fer_bench.errors import FerBenchError

        if self.bound_scaling not in ("fan_in", "none"):
            raise FerBenchError(f"{self.name}: bound_scaling={self.bound_scaling!r}; use 'fan_in' or 'none'")
        if self.init not in ("uniform", "glorot"):
            raise FerBenchError(f"{self.name}: init={self.init!r}; use 'uniform' or 'glorot'")
        if not self.weight_bound > 0:
            raise FerBenchError(f"{self.name}: weight_bound={self.weight_bound} must be positive")

    def fit_transform_inputs(self, X_train: np.ndarray, random_state: int):
        """Fit the input transform on the training group; returns (Z_train, transform)."""
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), scaler.transform

    def fit(self, X_train, y_train, X_val, y_val, *, random_state: int):
        X_train = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
        X_val = np.asarray(X_val, dtype=np.float64).reshape(len(X_val), -1)
        y_train, y_val = np.asarray(y_train, dtype=np.int64), np.asarray(y_val, dtype=np.int64)
        Z_train, transform = self.fit_transform_inputs(X_train, random_state)
        Z_val = transform(X_val) if len(X_val) else X_val
        n_classes = int(max(y_train.max(), y_val.max() if len(y_val) else 0)) + 1
        grid = tuple(self.hidden_grid) if self.hidden_grid else (self.hidden,)
        optimiser_params = {k: self.params[k] for k in self.optimiser_parameters}
        best = None
        for hidden in grid:
            net, weights, info = train_slfn(
                Z_train, y_train, n_classes,
                hidden=int(hidden), optimiser=self.optimiser, optimiser_params=optimiser_params,
                weight_bound=self.weight_bound, output=self.output,
                bound_scaling=self.bound_scaling, init=self.init,
                X_val=Z_val, y_val=y_val, checkpoint_every=self.checkpoint_every,
                random_state=random_state,
            )
            score = info.get("val_accuracy", -1.0)
            if best is None or score > best[3].get("val_accuracy", -1.0):
                best = (net, weights, hidden, info)
        self.net_, self.weights_, self.transform_ = best[0], best[1], transform
        self.fit_info_ = {"chosen": {"hidden": int(best[2])}, **best[3]}
        return self

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return self.net_.predict(self.weights_, self.transform_(X))
