"""A light Gaussian-process sampler for the spaces archtune builds: conditional, mixed,
one objective or several, from the first trials on.

Optuna's ``GPSampler`` ranks near the top on tabular HPO benchmarks but spends 10-50 s per
100 trials on this machine, and models neither conditional parameters nor, cheaply, several
objectives. This sampler keeps what makes a GP good and drops what makes it slow:

- configurations encoded on [0, 1]^d by :class:`~archtune.search._encoding.Encoding` (log scale
  where the parameter is, categories by Hamming distance, inactive conditional parameters at
  a value of their own), so the space's ``when`` structure is modelled, not sampled at random;
- a Matern-5/2 GP (:mod:`archtune.search._gp`) on the normal quantiles of the outputs' ranks,
  its length scales and noise refitted only every few trials, warm-started; with more than
  ``max_points`` trials it is fitted on the best third and the most recent ones, so there is
  no trial count at which it must give way;
- several objectives are scalarised as ParEGO does: each proposal draws random weights and
  minimises their augmented Chebyshev combination of the objectives' ranks, so successive
  proposals aim at different parts of the front;
- expected improvement maximised over random consistent configurations, every one-step
  neighbour of the best ones and, with several objectives or in a conditional space, random
  local moves (one to three parameters) around them;
  never a configuration already tried; running trials "believed" at the model's mean;
- with two objectives of which one is a cost known before training (``params`` or ``flops``
  from the configuration alone), each candidate's cost is computed exactly and only the
  trained score is modelled; the acquisition is then the expected gain in the front's
  hypervolume (:mod:`archtune.search._front_gain`) and candidates are moved from every member
  of the front, or cross one member's size with another's recipe
  (:mod:`archtune.search._front_moves`), so each proposal aims where the front can still
  move, at its known size;
- without a starting configuration the start-up's draws are a seeded Latin hypercube, not
  independent draws: each parameter's range is covered evenly by the first trials, which in a
  real-training search are most of the budget;
- a study that starts from a known good configuration (built-in training queues the family's
  default network) spends half of its start-up trials on local moves around the best trial so
  far: near a known good network before far from it;
- constraints on a cost known before training (``params <= 10000``) are kept exactly: every
  candidate, and every random draw of the start-up, is checked before it is proposed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from archtune.search import _attrs as attrs
from archtune.search._encoding import Encoding, distributions_of, space_of
from archtune.search._front_gain import KnownCost, expected_front_gain, front_indices
from archtune.search._front_moves import cost_free_columns, crossovers
from archtune.search._gp import GP, expected_improvement, gaussian_ranks, prior_log_params
from archtune.space import Space

__all__ = ["LightGPSampler", "parego_scalarise"]

#: How many of the best points are moved from (neighbours and local moves).
_TOP = 5
#: Candidate local moves around the best trial for one start-up proposal.
_STARTUP_MOVES = 16
#: The weight of the sum in ParEGO's augmented Chebyshev scalarisation.
_RHO = 0.05
#: The most front members moved from per proposal with a known cost.
_FRONT_TOP = 10
#: Batches of random candidates tried for a draw that keeps the constraints (a tight bound
#: keeps one draw in a hundred or fewer; a check costs a fraction of a millisecond).
_DRAW_BATCHES = 8


def parego_scalarise(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ParEGO's augmented Chebyshev scalarisation of ``values`` (trials x objectives, each to
    be minimised), on each objective's ranks scaled to [0, 1] so no unit dominates."""
    n = len(values)
    if n == 1:
        return np.zeros(1)
    ranks = np.argsort(np.argsort(values, axis=0, kind="mergesort"), axis=0) / (n - 1)
    weighted = ranks * weights[None, :]
    return np.asarray(weighted.max(axis=1) + _RHO * weighted.sum(axis=1), dtype=float)


def _has_start(trials: Sequence[FrozenTrial]) -> bool:
    """Whether the study queued a starting configuration (built-in training's default
    network): its start-up then moves around the best trial instead of following a design."""
    return any(t.user_attrs.get(attrs.TRIAL_START) for t in trials)


class LightGPSampler(optuna.samplers.BaseSampler):
    """GP-based Bayesian optimisation cheap enough to default to (see the module docstring).

    Args:
        seed: Seeds the start-up, the weights, the candidates and the independent sampler.
        space: The archtune space the trials sample (its conditions are modelled); without
            one, the parameters every trial has are modelled and the others sampled at random.
        n_startup_trials: Trials before the model is used (a Latin hypercube; with a starting
            configuration, local moves around the best trial and random draws in turn).
        n_candidates: Random candidates scored per trial (neighbours of the best are added).
        refit_every: Trials between two fits of length scales and noise.
        max_points: The most trials one fit uses (the best third and the most recent).
        known_cost: With two objectives, the one known before training: proposals then
            maximise the expected hypervolume gain at each candidate's exact cost.
        keeps: The study's constraints on costs known before training, as a test of a
            configuration: every proposal keeps them, the start-up's random draws included.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        space: Space | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 256,
        refit_every: int = 5,
        max_points: int = 300,
        known_cost: KnownCost | None = None,
        keeps: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._space = space
        self._n_startup = n_startup_trials
        self._n_candidates = n_candidates
        self._refit_every = refit_every
        self._max_points = max_points
        self._intersection = IntersectionSearchSpace()
        self._encoding: Encoding | None = None if space is None else Encoding(space)
        self._distributions = None if space is None else distributions_of(space)
        self._encoding_key: str | None = None
        self._log_params: np.ndarray | None = None
        self._fitted_at = -1
        self._encoded: dict[int, np.ndarray] = {}
        self._known = known_cost
        self._keeps = keeps
        self._free: np.ndarray | None = None  # the coordinates the known cost ignores
        self._design_seed = seed
        self._design: tuple[Encoding, np.ndarray] | None = None  # the start-up's draws

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._distributions is not None:
            return self._distributions
        space = self._intersection.calculate(study)
        return {n: d for n, d in space.items() if not d.single()}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        encoding = self._encoding_for(search_space)
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
        if self._space is None:
            complete = [t for t in complete if all(n in t.params for n in search_space)]
        points = [self._encode(encoding, t) for t in complete]
        complete = [t for t, p in zip(complete, points, strict=True) if p is not None]
        if not complete:
            design = self._design_point(encoding, trial, started=_has_start(trials))
            return self._draw(encoding, set(), design)
        x = np.array([p for p in points if p is not None])
        y = self._scores(study, complete)
        seen = {p.tobytes() for p in x}
        for other in trials:
            if other.state in (TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING):
                point = self._encode(encoding, other, cache=False)
                if point is not None and other.number != trial.number:
                    seen.add(point.tobytes())
        if len(complete) < self._n_startup:
            return self._startup(trials, trial, encoding, x, y, seen)
        if self._known is not None and len(study.directions) == 2:
            return self._front_proposal(study, trials, trial, encoding, complete, x, seen)
        keep = self._window(y)
        if len(keep) < len(y):
            x, y = x[keep], gaussian_ranks(y[keep])
        gp = self._fit(encoding, encoding.for_model(x), y)
        pending = [
            point
            for t in trials
            if t.state == TrialState.RUNNING
            and t.number != trial.number
            and (self._space is not None or all(n in t.params for n in search_space))
            and (point := self._encode(encoding, t, cache=False)) is not None
        ]
        raw = x  # the points as encoded (inactive numbers marked), beside the GP's view
        if pending:  # believe running trials at the model's mean: proposals spread out
            raw = np.vstack([x, pending])
            believed, _ = gp.predict(encoding.for_model(np.array(pending)))
            gp = GP(
                encoding.for_model(raw),
                np.concatenate([y, believed]),
                encoding.is_cat,
                gp.log_params,
            )
        top = raw[np.argsort(gp.y)[:_TOP]]
        candidates = self._candidates(encoding, top, seen, local=len(study.directions) > 1)
        if len(candidates) == 0:
            return self._draw(encoding, seen)
        mean, std = gp.predict(encoding.for_model(candidates))
        ei = expected_improvement(mean, std, float(np.min(gp.y)))
        return encoding.decode(candidates[int(np.argmax(ei))])

    # -- the pieces of a proposal -----------------------------------------------------------
    def _encoding_for(self, search_space: dict[str, BaseDistribution]) -> Encoding:
        if self._space is not None:
            assert self._encoding is not None
            return self._encoding
        key = repr(sorted((n, repr(d)) for n, d in search_space.items()))
        if key != self._encoding_key:  # a new space: start again
            self._encoding = Encoding(space_of(search_space))
            self._encoding_key, self._encoded, self._log_params = key, {}, None
        assert self._encoding is not None
        return self._encoding

    def _encode(
        self, encoding: Encoding, trial: FrozenTrial, *, cache: bool = True
    ) -> np.ndarray | None:
        """The trial's point; ``None`` for a configuration outside the space (a study resumed
        with another space, a value enqueued by hand), which the model then leaves out."""
        point = self._encoded.get(trial.number)
        if point is None:
            try:
                point = encoding.encode(trial.params)
            except (ValueError, TypeError, ArithmeticError):
                return None
            if cache:
                self._encoded[trial.number] = point
        return point

    def _scores(self, study: optuna.Study, complete: list[FrozenTrial]) -> np.ndarray:
        """One number per trial to minimise: the objective, or a ParEGO scalarisation."""
        signs = np.array(
            [-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in study.directions]
        )
        values = np.array([t.values for t in complete], dtype=float) * signs[None, :]
        if values.shape[1] == 1:
            return gaussian_ranks(values[:, 0])
        weights = self._rng.dirichlet(np.ones(values.shape[1]))
        return gaussian_ranks(parego_scalarise(values, weights))

    def _startup(
        self,
        trials: list[FrozenTrial],
        trial: FrozenTrial,
        encoding: Encoding,
        x: np.ndarray,
        y: np.ndarray,
        seen: set[bytes],
    ) -> dict[str, Any]:
        """Random trials, or with a starting configuration every other one a local move
        around the best trial so far (``{}``: Optuna's seeded random sampler decides)."""
        started = _has_start(trials)
        if not started or trial.number % 2 == 0:
            design = self._design_point(encoding, trial, started=started)
            return self._draw(encoding, seen, design)
        moves = encoding.perturb(x[int(np.argmin(y))], self._rng, _STARTUP_MOVES)
        fresh = self._kept(encoding, moves, seen)
        return encoding.decode(fresh[0]) if len(fresh) else self._draw(encoding, seen)

    def _design_point(
        self, encoding: Encoding, trial: FrozenTrial, *, started: bool
    ) -> np.ndarray | None:
        """The start-up design's point for ``trial`` (``None``: a random draw instead).

        A study without starting points draws its start-up from a seeded Latin hypercube of
        ``n_startup_trials`` points, one per trial number, so the start-up covers every
        parameter's range evenly (ten independent draws can put seven learning rates in the
        lowest of three decades). With starting points half the start-up moves around the best
        trial and the draws are a few, too few for strata to matter: they stay random
        (docs/samplers.md measures both); ``started`` says the study has them.
        """
        if started or trial.number >= self._n_startup:
            return None
        if self._design is None or self._design[0] is not encoding:
            rng = np.random.default_rng(self._design_seed)
            self._design = encoding, encoding.latin_hypercube(self._n_startup, rng)
        return encoding.encode(encoding.decode(self._design[1][trial.number]))

    def _draw(
        self, encoding: Encoding, seen: set[bytes], design: np.ndarray | None = None
    ) -> dict[str, Any]:
        """A start-up configuration: the ``design`` point where it is new and keeps the
        constraints, else a random one (``{}``: Optuna's seeded random sampler draws it); with
        constraints, one that keeps them (one that breaks them costs no training, but under a
        tight bound most draws would, and the start-up would be spent on them)."""
        if design is not None:
            fresh = self._kept(encoding, design[None, :], seen)
            if len(fresh):
                return encoding.decode(fresh[0])
        if self._keeps is None:
            return {}
        for _ in range(_DRAW_BATCHES):
            draws = self._kept(encoding, encoding.random(self._n_candidates, self._rng), seen)
            if len(draws):
                return encoding.decode(draws[0])
        return {}

    def _kept(self, encoding: Encoding, points: np.ndarray, seen: set[bytes]) -> np.ndarray:
        """The ``points`` not tried yet that keep the study's constraints (``keeps``)."""
        kept = [
            p
            for p in points
            if p.tobytes() not in seen and (self._keeps is None or self._keeps(encoding.decode(p)))
        ]
        return np.array(kept) if kept else np.empty((0, len(encoding.names)))

    def _window(self, y: np.ndarray) -> np.ndarray:
        """The trials a fit uses, at most ``max_points``: the best third, and the most recent
        for the rest."""
        if len(y) <= self._max_points:
            return np.arange(len(y))
        best = np.argsort(y, kind="stable")[: self._max_points // 3]
        chosen = set(best.tolist())
        rest = [i for i in range(len(y) - 1, -1, -1) if i not in chosen]
        return np.sort(np.concatenate([best, rest[: self._max_points - len(best)]]))

    def _front_proposal(
        self,
        study: optuna.Study,
        trials: list[FrozenTrial],
        trial: FrozenTrial,
        encoding: Encoding,
        complete: list[FrozenTrial],
        x: np.ndarray,
        seen: set[bytes],
    ) -> dict[str, Any]:
        """With a cost known before training: the candidate with the largest expected gain in
        the front's hypervolume, each candidate at its exact cost (log scale) and the trained
        objective modelled by the GP (running trials believed at the model's mean)."""
        known = self._known
        assert known is not None
        trained = 1 - known.objective
        sign = -1.0 if study.directions[trained] == optuna.study.StudyDirection.MAXIMIZE else 1.0
        y = gaussian_ranks(sign * np.array([t.values[trained] for t in complete], dtype=float))
        cost = np.log(np.maximum([t.values[known.objective] for t in complete], 1.0))
        keep = self._window(y)
        gp = self._fit(encoding, encoding.for_model(x[keep]), y[keep])
        pending: list[np.ndarray] = []
        pending_cost: list[float] = []
        for other in trials:
            if other.state != TrialState.RUNNING or other.number == trial.number:
                continue
            point = self._encode(encoding, other, cache=False)
            value = known.of(other.params) if point is not None else None
            if point is not None and value is not None:
                pending.append(point)
                pending_cost.append(math.log(max(value, 1.0)))
        if pending:
            believed, _ = gp.predict(encoding.for_model(np.array(pending)))
            gp = GP(
                encoding.for_model(np.vstack([x[keep], pending])),
                np.concatenate([y[keep], believed]),
                encoding.is_cat,
                gp.log_params,
            )
            x = np.vstack([x, pending])
            y = np.concatenate([y, believed])
            cost = np.concatenate([cost, pending_cost])
        front = front_indices(cost, y)
        members = front
        if len(members) > _FRONT_TOP:  # spread along the front
            members = members[np.linspace(0, len(members) - 1, _FRONT_TOP).round().astype(int)]
        candidates = self._candidates(encoding, x[members], seen, local=True)
        if self._free is None:
            self._free = cost_free_columns(encoding, x[members[:3]], known.of, self._rng)
        crossed = self._kept(
            encoding, crossovers(encoding, x[members], self._free, self._rng), seen
        )
        shrunk = self._kept(encoding, self._shrink_moves(encoding, x[members]), seen)
        candidates = np.vstack([candidates, crossed, shrunk])
        costs = np.array(
            [np.nan if (c := known.of(encoding.decode(p))) is None else c for p in candidates]
        )
        feasible = ~np.isnan(costs)
        if not feasible.any():
            return self._draw(encoding, seen)
        candidates = candidates[feasible]
        cand_cost = np.log(np.maximum(costs[feasible], 1.0))
        mean, std = gp.predict(encoding.for_model(candidates))
        gain = expected_front_gain(
            mean,
            std,
            cand_cost,
            cost[front],
            y[front],
            ref_cost=float(max(cost.max(), cand_cost.max())) + 0.1,
            ref_score=float(y.max()) + 0.1,
        )
        return encoding.decode(candidates[int(np.argmax(gain))])

    def _shrink_moves(self, encoding: Encoding, members: np.ndarray) -> np.ndarray:
        """The members moved down their family's shrink ladder (``KnownCost.smaller``)."""
        smaller = self._known.smaller if self._known is not None else None
        if smaller is None:
            return np.empty((0, len(encoding.names)))
        rows = []
        for point in members:
            for config in smaller(encoding.decode(point)):
                with contextlib.suppress(ValueError, TypeError, ArithmeticError):
                    rows.append(encoding.encode(config))
        return np.array(rows).reshape(-1, len(encoding.names))

    def _fit(self, encoding: Encoding, x: np.ndarray, y: np.ndarray) -> GP:
        log_params = self._log_params
        if log_params is None or len(log_params) != x.shape[1] + 1:
            log_params = prior_log_params(x.shape[1])
            self._fitted_at = -1
        gp = GP(x, y, encoding.is_cat, log_params)
        n = len(self._encoded)
        every = max(self._refit_every, n // 8)  # fits get rarer as data grows
        if self._fitted_at < 0 or n - self._fitted_at >= every:
            gp.fit()
            self._log_params, self._fitted_at = gp.log_params, n
        return gp

    def _candidates(
        self, encoding: Encoding, top: np.ndarray, seen: set[bytes], *, local: bool
    ) -> np.ndarray:
        """Random points, the neighbours of ``top`` and local moves around it; unseen only, and
        keeping the constraints (``keeps``).

        With several objectives, or in a conditional space (a network and its recipe), each
        top point also gets as many random local moves as the space has parameters. With
        several objectives the top points change with each proposal's weights, so the moves
        walk along the front (from a good network toward a smaller one); in a conditional
        space random candidates rarely lie near the best points, and a move of one to three
        parameters keeps the rest of a good configuration. For one objective in the
        unconditional spaces of the tabular suites local moves were no better than random
        candidates (docs/samplers.md), so they are left out there.
        """
        parts = [encoding.random(self._n_candidates, self._rng)]
        moves = len(encoding.names) if encoding.conditional or local else 0
        for point in top:
            parts.append(encoding.neighbours(point, self._rng))
            if moves:
                parts.append(encoding.perturb(point, self._rng, moves))
        unique = {p.tobytes(): p for p in np.vstack(parts)}
        return self._kept(encoding, np.array(list(unique.values())), seen)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._random.after_trial(study, trial, state, values)
