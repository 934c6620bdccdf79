"""Model selection, owned by the engine: candidates in, one choice out, then the refit.

scikit-learn separates :class:`~sklearn.model_selection.GridSearchCV` from its estimators;
fer-bench does the same. A method says *what* can be chosen and *how* to train a choice:

- :meth:`Method.candidates(X_train, y_train, X_val, y_val, *, random_state)
  <fer_bench.registry.Method.candidates>` → ``[Candidate, ...]``: every candidate, in
  declared order (simplest first: fewer components, stronger regularisation, fewer
  iterations or epochs), each with its parameters, its validation accuracy and, where the
  training path gives it for free (the C path, optimiser checkpoints, the best epoch), the
  method fitted on the training group with those parameters (``Candidate.model``);
- :meth:`Method.train(params, X, y, *, random_state) <fer_bench.registry.Method.train>`
  → the method fitted on ``X, y`` with ``params`` fixed and no validation data.

This module alone chooses (:func:`choose`, the one tie rule :data:`TIE_RULE`), averages
the candidates over inner folds (:func:`average`, ``--selection inner-cv``) and refits
(:func:`refit`). :func:`fer_bench.folds.fit_predict_fold` calls it and stores what it
returns; nothing is read back from attributes of a fitted method.

Methods written for the earlier contract (``fit`` recording ``validation_scores_`` and
``chosen_``, ``refit`` reading ``chosen_``) keep working through one adapter,
:func:`legacy_selection` (and :func:`legacy_refit`); it is the only place that reads or
writes those attributes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The one tie rule of fer-bench, used for every choice made on validation data.
TIE_RULE = (
    "the candidate with the highest validation accuracy; ties go to the candidate with the lower "
    "secondary key when the method declares one (fine-tuning: the validation loss), then to the "
    "earliest candidate in the declared order, which every method lists simplest first (fewer "
    "components, stronger regularisation, fewer iterations or epochs)"
)


@dataclass
class Candidate:
    """One candidate of a method's selection.

    ``params``: the hyperparameters (``{"C": 10.0}``, ``{"epochs": 7}``), JSON-able;
    ``score``: validation accuracy, a fraction in [0, 1];
    ``tiebreak``: an optional secondary key, *lower wins* on equal ``score`` (a validation
    loss), named by ``tiebreak_name``; ``None`` when the method declares none;
    ``model``: the method fitted on the training group with ``params`` when the training
    path gave it for free, or ``build``: a function returning it from what the path already
    holds (called for the chosen candidate only); when neither, the engine trains it
    (:meth:`~fer_bench.registry.Method.train`) if it needs it;
    ``info``: facts about this candidate's training to store when it is chosen.
    """

    params: dict[str, Any]
    score: float
    tiebreak: float | None = None
    tiebreak_name: str | None = None
    model: Any = None
    build: Callable[[], Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def bare(self) -> Candidate:
        """This candidate without its model or builder (small, picklable)."""
        return Candidate(dict(self.params), self.score, self.tiebreak, self.tiebreak_name, info=dict(self.info))


@dataclass
class Selection:
    """What the engine chose for one fold: every candidate (in declared order), the chosen
    parameters and score, and the method fitted on the training group with them (``model``,
    ``None`` when nothing gave it). ``how`` says how the scores were obtained (``None``:
    the fold's own validation group; ``"inner-cv over K splits"``)."""

    candidates: list[Candidate]
    params: dict[str, Any] | None
    score: float | None
    model: Any = None
    how: str | None = None

    def record(self) -> dict[str, Any]:
        """The per-fold record of the choice (``fold_info``): ``chosen``, ``val_accuracy``
        (percent, the best candidate's), ``validation_scores`` (``[[params, percent]]``) and,
        when the method declares a secondary key, ``validation_tiebreak`` (its name and
        ``[[params, value]]``); empty when there was nothing to choose."""
        out: dict[str, Any] = {}
        if self.params is not None:
            out["chosen"] = self.params
        if self.candidates:
            out["val_accuracy"] = round(100 * max(c.score for c in self.candidates), 4)
            out["validation_scores"] = [[c.params, round(100 * c.score, 4)] for c in self.candidates]
            named = [c for c in self.candidates if c.tiebreak is not None]
            if named:  # the declared secondary key, stated and recorded with its values
                out["validation_tiebreak"] = {
                    "name": named[0].tiebreak_name, "lower_wins": True,
                    "values": [[c.params, None if c.tiebreak is None else round(c.tiebreak, 6)] for c in self.candidates],
                }
        return out


def choose(candidates: Sequence[Candidate]) -> int:
    """Index of the chosen candidate under :data:`TIE_RULE`: the highest ``score``; on
    equal scores the lower ``tiebreak`` when both declare one; then the earliest.
    Raises ``ValueError`` on an empty list."""
    if not candidates:
        raise ValueError("no candidate was scored")
    best = 0
    for i, c in enumerate(candidates):
        b = candidates[best]
        if c.score > b.score or (
            c.score == b.score and c.tiebreak is not None and b.tiebreak is not None and c.tiebreak < b.tiebreak
        ):
            best = i
    return best


def candidate_key(params: Mapping[str, Any]) -> str:
    """A canonical text form of a candidate's parameters, to match candidates across inner folds."""
    return json.dumps(dict(params), sort_keys=True, default=str)


def average(per_split: Sequence[Sequence[Candidate]]) -> list[Candidate]:
    """Each candidate's validation accuracy averaged over several splits (inner CV), in the
    first split's order; a candidate missing from any split is dropped. The averaged
    candidates carry no model (none was trained on the fold's own training group) and no
    secondary key (inner CV averages the accuracy only)."""
    if not per_split:
        return []
    tables = [{candidate_key(c.params): c.score for c in split} for split in per_split]
    out = []
    for c in per_split[0]:
        key = candidate_key(c.params)
        values = [t[key] for t in tables if key in t]
        if len(values) == len(tables):
            out.append(Candidate(dict(c.params), float(np.mean(values))))
    return out


def parameter_candidates(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in the order given (first key outermost, first values first)."""
    combos: list[dict[str, Any]] = [{}]
    for key, values in grid.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def validation_accuracy(model, X_val, y_val) -> float:
    """Accuracy (fraction in [0, 1]) of ``model.predict`` on the validation group (0 if empty)."""
    return float(np.mean(np.asarray(model.predict(X_val)) == np.asarray(y_val))) if len(y_val) else 0.0


def weight_key(model) -> str:
    """The ``fit`` keyword that passes sample weights to ``model`` (a Pipeline's last step)."""
    steps = getattr(model, "steps", None)
    return f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"


# -- the engine's steps ---------------------------------------------------------------------------
def unimplemented(function):
    """Marks a base class's placeholder (``Method.candidates``) so that :func:`uses_candidates`
    can tell a method's own implementation from it without importing the registry."""
    function.__fer_bench_placeholder__ = True
    return function


def uses_candidates(method) -> bool:
    """Whether ``method`` implements the candidates/train protocol (else the legacy
    ``fit``/``refit`` contract, through :func:`legacy_selection`)."""
    return not getattr(type(method).candidates, "__fer_bench_placeholder__", False)


def candidates_of(method, X_train, y_train, X_val, y_val, *, random_state: int) -> list[Candidate]:
    """The candidates of a fresh copy of ``method`` scored on one (train, validation) split."""
    if uses_candidates(method):
        return list(method.clone().candidates(X_train, y_train, X_val, y_val, random_state=random_state))
    return legacy_selection(method, X_train, y_train, X_val, y_val, random_state=random_state).candidates


def select(method, X_train, y_train, X_val, y_val, *, random_state: int) -> Selection:
    """Score every candidate of ``method`` on the validation group and choose one.

    Returns a :class:`Selection` whose ``model`` is the method fitted on the training group
    with the chosen parameters (trained here when the candidate did not come with it)."""
    if not uses_candidates(method):
        return legacy_selection(method, X_train, y_train, X_val, y_val, random_state=random_state)
    candidates = list(method.clone().candidates(X_train, y_train, X_val, y_val, random_state=random_state))
    if not candidates:
        model = method.clone().train({}, X_train, y_train, random_state=random_state)
        return Selection([], None, None, model)
    index = choose(candidates)
    chosen = candidates[index]
    model = chosen.model if chosen.model is not None else chosen.build() if chosen.build is not None else None
    candidates = [c.bare() for c in candidates]  # the others' models are not kept
    if model is None:
        model = method.clone().train(dict(chosen.params), X_train, y_train, random_state=random_state)
    if chosen.info:
        model.fit_info_ = {**chosen.info, **getattr(model, "fit_info_", {})}
    return Selection(candidates, dict(chosen.params), float(chosen.score), model)


def select_inner(method, features, labels, splits, *, random_state: int) -> Selection | None:
    """``--selection inner-cv``: every candidate scored on each inner (train, validation)
    split of index arrays, averaged (:func:`average`), and chosen (:func:`choose`);
    ``None`` when the method has nothing to choose. The selection has no ``model``: the
    chosen candidate must be refitted."""
    per_split = [candidates_of(method, features[tr], labels[tr], features[va], labels[va], random_state=random_state)
                 for tr, va in splits]
    averaged = average(per_split)
    if not averaged:
        return None
    chosen = averaged[choose(averaged)]
    return Selection(averaged, dict(chosen.params), float(chosen.score), None,
                     how=f"inner-cv over {len(splits)} splits")


def can_refit(method) -> bool:
    """Whether ``method`` can train a given candidate on new data (``train``, or a legacy ``refit``)."""
    return type(method).supports_refit()


def refit(method, selection: Selection, X, y, *, random_state: int):
    """The chosen candidate trained on ``X, y`` (training + validation groups), no
    validation data (Li 2021 §3.6). Starts from the selection's fitted model when there is
    one (its per-fold facts are kept), else from a fresh copy of ``method``."""
    model = selection.model if selection.model is not None else method.clone()
    if not uses_candidates(method):
        return legacy_refit(model, selection, X, y, random_state=random_state)
    return model.train(dict(selection.params or {}), X, y, random_state=random_state)


# -- the earlier contract -------------------------------------------------------------------------
def legacy_selection(method, X_train, y_train, X_val, y_val, *, random_state: int) -> Selection:
    """A method of the earlier contract: a fresh copy's ``fit`` chooses, recording
    ``validation_scores_ = [(params, accuracy), ...]`` and ``chosen_``; its choice is taken
    as it made it (the one tie rule applies to those averaged over inner folds)."""
    model = method.clone()
    model.fit(X_train, y_train, X_val, y_val, random_state=random_state)
    scores = list(getattr(model, "validation_scores_", None) or [])
    candidates = [Candidate(dict(c), float(s)) for c, s in scores]
    chosen = getattr(model, "chosen_", None)
    score = max((c.score for c in candidates), default=None)
    return Selection(candidates, None if chosen is None else dict(chosen), score, model)


def legacy_refit(model, selection: Selection, X, y, *, random_state: int):
    """``refit`` of an earlier-contract method, with ``chosen_`` and
    ``validation_scores_`` set from the engine's selection when it chose by inner CV."""
    if selection.how is not None:
        model.validation_scores_ = [(dict(c.params), c.score) for c in selection.candidates]
        model.chosen_ = dict(selection.params)
    return model.refit(X, y, random_state=random_state)


def fitted_copy(method, **state: Any):
    """A fresh copy of ``method`` with ``state`` set as attributes: a candidate's free model."""
    model = method.clone()
    for key, value in state.items():
        setattr(model, key, value)
    return model
