"""Population-based optimisers used to train networks without backpropagation.

Two canonical, numpy-only, seeded implementations, with the published parameter names:

- :class:`CatSwarmOptimizer`: cat swarm optimisation, S.-C. Chu, P.-W. Tsai & J.-S. Pan,
  "Cat swarm optimization", PRICAI 2006, LNAI 4099, pp. 854–858.
- :class:`BiogeographyOptimizer`: biogeography-based optimisation, D. Simon,
  "Biogeography-based optimization", IEEE Trans. Evolutionary Computation 12(6), 2008,
  pp. 702–713.

Both minimise. The fitness function is *vectorised*: it receives the whole batch of
candidates (``n × dim``) and returns ``n`` values, so a caller can evaluate every
candidate of an iteration in one matrix product (see :mod:`fer_bench_baselines.slfn`).
Every random draw comes from one ``numpy.random.Generator`` seeded by ``random_state``,
so the same seed gives the same result.

>>> import numpy as np
>>> sphere = lambda P: np.sum((P - 2.5) ** 2, axis=1)
>>> res = BiogeographyOptimizer(random_state=0).minimize(sphere, dim=5, bounds=(-5, 10))
>>> bool(res.fun < 1.0)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

FitnessBatch = Callable[[np.ndarray], np.ndarray]
#: ``callback(iteration, best_x, best_f)``, called after every iteration; returning True stops.
Callback = Callable[[int, np.ndarray, float], "bool | None"]


@dataclass
class OptimizeResult:
    """The best point found, its fitness and the trace of the best-so-far fitness."""

    x: np.ndarray
    fun: float
    iterations: int
    n_evaluations: int
    history: list[float] = field(default_factory=list)


def _bounds(bounds, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` scalars or per-dimension arrays → two float arrays of length ``dim``."""
    if dim < 1:
        raise ValueError(f"dim must be at least 1, got {dim}")
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be (low, high), got {bounds!r}") from None
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), (dim,)).copy()
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), (dim,)).copy()
    if not np.all(high > low):
        raise ValueError(f"bounds: every high must exceed its low, got low={low.min()}, high={high.min()}")
    return low, high


def _evaluate(fitness_batch: FitnessBatch, points: np.ndarray) -> np.ndarray:
    values = np.asarray(fitness_batch(points), dtype=np.float64).reshape(-1)
    if values.shape[0] != points.shape[0]:
        raise ValueError(
            f"the fitness function returned {values.shape[0]} values for {points.shape[0]} candidates; "
            "it must take the whole population (n × dim) and return n values"
        )
    # A NaN/inf fitness (an overflowing candidate) must lose every comparison.
    return np.where(np.isfinite(values), values, np.inf)


_PROJECTIONS: dict[int, np.ndarray] = {}


def _projection_vector(dim: int) -> np.ndarray:
    """A fixed random direction per dimension (for hashing candidates by projection)."""
    if dim not in _PROJECTIONS:
        _PROJECTIONS[dim] = np.random.default_rng(0).standard_normal(dim)
    return _PROJECTIONS[dim]


def _initial(rng, n, low, high, init):
    population = rng.uniform(low, high, size=(n, low.size))
    if init is not None:
        init = np.atleast_2d(np.asarray(init, dtype=np.float64))
        if init.shape[1] != low.size:
            raise ValueError(f"init has {init.shape[1]} dimensions, expected {low.size}")
        population[: len(init)] = np.clip(init[:n], low, high)
    return population


class CatSwarmOptimizer:
    """Cat swarm optimisation (Chu, Tsai & Pan, PRICAI 2006), minimising.

    Every iteration a fraction ``MR`` (mixture ratio) of the cats, drawn at random, is in
    *tracing* mode and the others in *seeking* mode:

    - seeking: ``SMP`` candidate positions (seeking memory pool): ``SMP − 1`` copies of
      the cat plus the cat itself when ``SPC`` (self-position considering) is True, else
      ``SMP`` copies. In each copy a fraction ``CDC`` (counts of dimension to change) of
      the dimensions is moved by ± ``SRD`` (seeking range of the selected dimension)
      times the present value (the paper's rule; ``srd_scale="range"`` uses SRD times
      the width of the bounds instead, which also moves values at zero). The cat moves
      to a candidate chosen by roulette with P_i = |FS_i − FS_b| / (FS_max − FS_min),
      FS_b the worst fitness when minimising (all equal: uniform);
    - tracing: v ← v + r·c1·(x_best − x) with r ~ U(0, 1) per dimension, clamped to
      ± ``v_max`` (a fraction of the bounds' width), then x ← x + v.

    Positions are clipped to the bounds. The best-so-far position is kept (the paper's
    "keep the best cat in memory"). All candidates of one iteration (seeking copies and
    tracing moves) are evaluated in one call of the fitness function.

    Defaults: SMP 5, SRD 0.2, CDC 0.8, c1 2.0 (the paper's values); MR 0.2 (the paper
    uses a small MR; 0.2 is the top of the usual 0.02–0.2 range, more tracing for the
    short runs we can afford); ``v_max`` 0.2 of the width (the paper leaves it open).
    """

    def __init__(
        self,
        n_cats: int = 30,
        iterations: int = 100,
        MR: float = 0.2,
        SMP: int = 5,
        SRD: float = 0.2,
        CDC: float = 0.8,
        SPC: bool = True,
        c1: float = 2.0,
        v_max: float = 0.2,
        srd_scale: str = "value",
        random_state: int | None = None,
    ):
        if n_cats < 1 or iterations < 1:
            raise ValueError(f"n_cats and iterations must be at least 1, got {n_cats}, {iterations}")
        if not 0.0 <= MR <= 1.0:
            raise ValueError(f"MR (mixture ratio) must be in [0, 1], got {MR}")
        if not 0.0 < CDC <= 1.0:
            raise ValueError(f"CDC must be in (0, 1], got {CDC}")
        if SMP < 1 or (SPC and SMP < 2):
            raise ValueError(f"SMP must be at least {2 if SPC else 1} (SPC={SPC}), got {SMP}")
        if srd_scale not in ("value", "range"):
            raise ValueError(f"srd_scale must be 'value' or 'range', got {srd_scale!r}")
        if SRD < 0 or v_max <= 0 or c1 < 0:
            raise ValueError("SRD and c1 must be non-negative and v_max positive")
        self.n_cats, self.iterations = int(n_cats), int(iterations)
        self.MR, self.SMP, self.SRD, self.CDC, self.SPC = float(MR), int(SMP), float(SRD), float(CDC), bool(SPC)
        self.c1, self.v_max, self.srd_scale = float(c1), float(v_max), srd_scale
        self.random_state = random_state

    @property
    def population_size(self) -> int:
        return self.n_cats

    @property
    def evaluations_per_iteration(self) -> int:
        """Fitness evaluations of one iteration: every tracing cat once, every seeking
        cat's copies (SMP − 1 with SPC, else SMP)."""
        n_trace = int(round(self.MR * self.n_cats))
        return n_trace + (self.n_cats - n_trace) * (self.SMP - 1 if self.SPC else self.SMP)

    def minimize(self, fitness_batch: FitnessBatch, dim: int, bounds, init=None, callback: Callback | None = None):
        """Minimise ``fitness_batch`` (``n × dim`` → ``n``) over the box ``bounds``.

        ``init`` optionally gives starting positions for the first cats.
        """
        rng = np.random.default_rng(self.random_state)
        low, high = _bounds(bounds, dim)
        width = high - low
        v_max = self.v_max * width
        n = self.n_cats
        cats = _initial(rng, n, low, high, init)
        velocity = rng.uniform(-v_max, v_max, size=(n, dim))
        fit = _evaluate(fitness_batch, cats)
        evaluations = n
        best = int(np.argmin(fit))
        best_x, best_f = cats[best].copy(), float(fit[best])
        history = [best_f]
        n_copies = self.SMP - 1 if self.SPC else self.SMP
        n_changed = max(1, int(round(self.CDC * dim)))
        n_trace = int(round(self.MR * n))
        done = 0
        n_seek = n - n_trace
        rows = np.arange(n_seek)
        for it in range(self.iterations):
            order = rng.permutation(n)  # MR·n cats, drawn at random, trace; the others seek
            trace_idx, seek_idx = order[:n_trace], order[n_trace:]
            copies = self._seeking_copies(rng, cats[seek_idx], n_copies, n_changed, width, low, high) if n_seek else None
            if n_trace:
                cats[trace_idx] = self._trace(rng, velocity, cats, trace_idx, best_x, v_max, low, high)

            # One batched evaluation of every new candidate of this iteration.
            batch = np.concatenate([copies.reshape(-1, dim), cats[trace_idx]], axis=0) if n_seek else cats[trace_idx]
            values = _evaluate(fitness_batch, batch)
            evaluations += batch.shape[0]
            fit[trace_idx] = values[n_seek * n_copies :]
            if n_seek:
                self._settle_seekers(rng, values[: n_seek * n_copies].reshape(n_seek, n_copies), copies, cats, fit,
                                     seek_idx, rows)

            i = int(np.argmin(fit))
            if fit[i] < best_f:
                best_x, best_f = cats[i].copy(), float(fit[i])
            history.append(best_f)
            done = it + 1
            if callback is not None and callback(done, best_x, best_f):
                break
        return OptimizeResult(best_x, best_f, done, evaluations, history)

    def _seeking_copies(self, rng, seekers: np.ndarray, n_copies: int, n_changed: int, width, low, high) -> np.ndarray:
        """Seeking mode: perturbed copies of each seeking cat (not fresh random points),
        ``seekers`` × ``n_copies`` × dim, inside the box."""
        n_seek, dim = seekers.shape
        copies = np.repeat(seekers[:, None, :], n_copies, axis=1)  # ns × copies × dim
        # CDC of the dimensions change, exactly n_changed per copy: those whose random
        # key is among the n_changed smallest of the copy.
        keys = rng.random((n_seek, n_copies, dim))
        if n_changed < dim:
            mask = keys <= np.partition(keys, n_changed - 1, axis=2)[:, :, n_changed - 1 : n_changed]
        else:
            mask = np.ones_like(keys, dtype=bool)
        if self.srd_scale == "value":
            step = np.abs(copies)
        else:
            step = np.empty_like(copies)
            step[...] = width
        step *= self.SRD
        # ± with equal probability: the sign comes from a second key.
        np.negative(step, out=step, where=rng.random((n_seek, n_copies, dim)) < 0.5)
        np.add(copies, step, out=copies, where=mask)
        np.minimum(copies, high, out=copies)
        np.maximum(copies, low, out=copies)
        return copies

    def _trace(self, rng, velocity, cats, trace_idx, best_x, v_max, low, high) -> np.ndarray:
        """Tracing mode: the tracing cats' new positions, moved towards the best cat with a
        clamped velocity (``velocity`` is updated in place)."""
        v = velocity[trace_idx] + rng.random((len(trace_idx), cats.shape[1])) * (self.c1 * (best_x - cats[trace_idx]))
        np.minimum(v, v_max, out=v)
        np.maximum(v, -v_max, out=v)
        velocity[trace_idx] = v
        moved = cats[trace_idx] + v
        np.minimum(moved, high, out=moved)
        np.maximum(moved, low, out=moved)
        return moved

    def _settle_seekers(self, rng, copy_fit, copies, cats, fit, seek_idx, rows) -> None:
        """Each seeking cat moves to one of its copies drawn by roulette (with SPC its own
        position is a candidate too); ``cats`` and ``fit`` are updated in place."""
        n_copies = copies.shape[1]
        if self.SPC:  # the cat's own position is one of the candidates
            copy_fit = np.concatenate([copy_fit, fit[seek_idx][:, None]], axis=1)
        choice = self._roulette(rng, copy_fit)
        own = choice == n_copies  # SPC: the cat stays where it is
        picked = copies[rows, np.minimum(choice, n_copies - 1)]
        cats[seek_idx[~own]] = picked[~own]
        fit[seek_idx] = copy_fit[rows, choice]

    @staticmethod
    def _roulette(rng, fitness: np.ndarray) -> np.ndarray:
        """Per row, an index drawn with P_i ∝ |FS_i − FS_max| / (FS_max − FS_min)
        (minimising: the worst has probability 0); a row of equal values is uniform."""
        finite = np.isfinite(fitness)
        if finite.all():
            worst = fitness.max(axis=1, keepdims=True)
            spread = worst - fitness.min(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                prob = (worst - fitness) / spread
        else:  # a non-finite fitness (an overflowing candidate) gets probability 0
            worst = np.where(finite, fitness, -np.inf).max(axis=1, keepdims=True)
            spread = worst - np.where(finite, fitness, np.inf).min(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                prob = np.where(finite, (worst - fitness) / spread, 0.0)
        flat = ~(spread > 0).ravel()
        prob[flat] = 1.0
        cumulative = np.cumsum(prob, axis=1)
        draw = rng.random((fitness.shape[0], 1)) * cumulative[:, -1:]
        return np.minimum((cumulative <= draw).sum(axis=1), fitness.shape[1] - 1)


class BiogeographyOptimizer:
    """Biogeography-based optimisation (Simon, IEEE TEVC 2008), minimising.

    Each generation the habitats (candidates) are sorted best first; habitat i
    (1-based) has species count S_i = P − i, immigration rate λ_i = I(1 − S_i/P) and
    emigration rate μ_i = E·S_i/P (linear migration model, I = E = 1). Every variable of
    habitat i is replaced, with probability λ_i, by the same variable of a habitat
    chosen by roulette on μ (from the population before this generation's migration).
    Then each variable mutates with probability ``mutation_probability`` to a uniform
    random value within the bounds. The ``elites`` best habitats of the previous
    generation replace the habitats that came from the worst ones, and duplicate habitats
    are replaced by random ones (Simon's ClearDups step); then the new population is
    evaluated in one call of the fitness function (all but the unchanged elites, whose
    fitness is known).

    Defaults: population 50 (Simon used 50), 100 generations, mutation probability
    0.01 (Simon's 0.01 per variable), 2 elites (Simon's "keep 2").
    """

    def __init__(
        self,
        population: int = 50,
        generations: int = 100,
        I: float = 1.0,  # noqa: E741 (Simon's name for the maximum immigration rate)
        E: float = 1.0,
        mutation_probability: float = 0.01,
        elites: int = 2,
        random_state: int | None = None,
    ):
        if population < 2 or generations < 1:
            raise ValueError(f"population must be ≥ 2 and generations ≥ 1, got {population}, {generations}")
        if not 0 <= elites < population:
            raise ValueError(f"elites must be in [0, population), got {elites}")
        if not 0.0 <= mutation_probability <= 1.0:
            raise ValueError(f"mutation_probability must be in [0, 1], got {mutation_probability}")
        if I < 0 or E <= 0:
            raise ValueError(f"I must be ≥ 0 and E > 0, got I={I}, E={E}")
        self.population, self.generations = int(population), int(generations)
        self.I, self.E = float(I), float(E)
        self.mutation_probability, self.elites = float(mutation_probability), int(elites)
        self.random_state = random_state

    @property
    def population_size(self) -> int:
        return self.population

    @property
    def evaluations_per_iteration(self) -> int:
        """Fitness evaluations of one generation: every habitat but the elites, whose
        fitness is known (unless a duplicate clearing replaced one)."""
        return self.population - self.elites

    def minimize(self, fitness_batch: FitnessBatch, dim: int, bounds, init=None, callback: Callback | None = None):
        """Minimise ``fitness_batch`` (``n × dim`` → ``n``) over the box ``bounds``."""
        rng = np.random.default_rng(self.random_state)
        low, high = _bounds(bounds, dim)
        P = self.population
        habitats = _initial(rng, P, low, high, init)
        cost = _evaluate(fitness_batch, habitats)
        evaluations = P
        order = np.argsort(cost, kind="stable")
        habitats, cost = habitats[order], cost[order]
        species = P - np.arange(1, P + 1)  # S_i = P − i, best first
        immigration = self.I * (1.0 - species / P)
        # Emigration μ_i = E·S_i/P. The roulette on μ draws habitat i with probability
        # S_i / Σ S: exactly a uniform draw among Σ S tickets, S_i of them naming habitat i
        # (a table lookup instead of a search in the cumulative distribution).
        tickets = np.repeat(np.arange(P), species)
        history = [float(cost[0])]
        done = 0
        for gen in range(self.generations):
            elite_x = habitats[: self.elites].copy()

            # Migration, per variable, from the population as it was before this step:
            # the immigrating variables (probability λ_i each) take the value of the same
            # variable in a source habitat drawn by roulette on μ.
            # Flat indices: np.take/put on them cost a third of 2-D fancy indexing, and
            # these few lines were half of a generation's time outside the fitness.
            moving = np.flatnonzero(rng.random((P, dim)) < immigration[:, None])
            source = tickets.take(rng.integers(0, tickets.size, size=moving.size))
            new = habitats.copy()
            new.ravel().put(moving, habitats.ravel().take(source * dim + moving % dim))

            # Mutation to a uniform random value, each variable with the same probability:
            # the number of mutations is drawn first, then their positions.
            count = rng.binomial(P * dim, self.mutation_probability)
            if count:
                where = rng.choice(P * dim, size=count, replace=False)
                r, c = np.divmod(where, dim)
                new[r, c] = rng.uniform(low[c], high[c])

            # Elitism as in Simon's code: the previous generation's best replace the
            # habitats that came from the worst ones, then duplicates are cleared (an
            # elite that is also still in the population loses only its repeat).
            if self.elites:
                new[P - self.elites :] = elite_x
            new = self._clear_duplicates(rng, new, low, high)
            if self.elites and np.array_equal(new[P - self.elites :], elite_x):
                # The elites are unchanged: their fitness is known, only the others are evaluated.
                new_cost = np.concatenate([_evaluate(fitness_batch, new[: P - self.elites]), cost[: self.elites]])
                evaluations += P - self.elites
            else:
                new_cost = _evaluate(fitness_batch, new)
                evaluations += P
            order = np.argsort(new_cost, kind="stable")
            habitats, cost = new[order], new_cost[order]
            history.append(float(cost[0]))
            done = gen + 1
            if callback is not None and callback(done, habitats[0].copy(), float(cost[0])):
                break
        return OptimizeResult(habitats[0].copy(), float(cost[0]), done, evaluations, history)

    @staticmethod
    def _clear_duplicates(rng, habitats: np.ndarray, low, high) -> np.ndarray:
        """Replace every repeat of an identical habitat by a uniform random habitat."""
        # Candidates share a random projection only if they are (almost surely) equal;
        # equal projections are then compared exactly.
        projection = habitats @ _projection_vector(habitats.shape[1])
        order = np.argsort(projection, kind="stable")
        same = np.flatnonzero(projection[order][1:] == projection[order][:-1])
        repeats = [int(order[i + 1]) for i in same if np.array_equal(habitats[order[i]], habitats[order[i + 1]])]
        repeats = np.asarray(sorted(set(repeats)), dtype=np.int64)
        if repeats.size:
            habitats = habitats.copy()
            habitats[repeats] = rng.uniform(low, high, size=(repeats.size, habitats.shape[1]))
        return habitats


OPTIMISERS = {"cso": CatSwarmOptimizer, "bbo": BiogeographyOptimizer}
