"""A light Gaussian-process sampler for one objective, for the first few hundred trials.

Optuna's ``GPSampler`` ranks near the top on tabular HPO benchmarks but spends 10-50 s per
100 trials on this machine (it refits its kernel by gradient descent in torch and optimises the
acquisition with many restarts at every trial). This sampler keeps what makes a GP good on
these problems and drops what makes it slow:

- inputs scaled to [0, 1] (log scale where the parameter is), categories compared by Hamming
  distance; a Matern-5/2 kernel with one length scale per parameter and a noise term;
- outputs replaced by the normal quantiles of their ranks, so a few diverged trials with huge
  losses do not flatten the model and only the order of results matters;
- length scales and noise refitted by maximum marginal likelihood (L-BFGS-B, in NumPy and
  SciPy) only every ``refit_every`` trials, warm-started from the last fit;
- expected improvement maximised over a finite candidate set: random configurations plus every
  one-step neighbour of the best configurations (the next or previous value of one parameter,
  another category), never a configuration already tried;
- trials still running are "believed" at the model's prediction (kriging believer), so parallel
  workers and the driver's trial asked ahead do not get the same proposal.

The first ``n_startup_trials`` come from Optuna's seeded ``RandomSampler`` (as TPE's do), as
does every parameter outside the common search space (conditional ones).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

__all__ = ["LightGPSampler"]

_JITTER = 1e-6


class _Encoding:
    """Maps configurations of a search space to points of [0, 1]^d and back."""

    def __init__(self, space: dict[str, BaseDistribution]) -> None:
        self.names = sorted(space)
        self.dists = [space[n] for n in self.names]
        self.is_cat = np.array([isinstance(d, CategoricalDistribution) for d in self.dists])

    def encode(self, params: dict[str, Any]) -> np.ndarray:
        return np.array(
            [self._encode_one(d, params[n]) for n, d in zip(self.names, self.dists, strict=True)]
        )

    @staticmethod
    def _encode_one(dist: BaseDistribution, value: Any) -> float:
        if isinstance(dist, CategoricalDistribution):
            return float(dist.to_internal_repr(value))
        assert isinstance(dist, IntDistribution | FloatDistribution)
        low, high, v = float(dist.low), float(dist.high), float(value)
        if dist.log:
            low, high, v = math.log(low), math.log(high), math.log(v)
        return 0.0 if high == low else (v - low) / (high - low)

    def decode(self, point: np.ndarray) -> dict[str, Any]:
        return {
            n: self._decode_one(d, x)
            for n, d, x in zip(self.names, self.dists, point, strict=True)
        }

    @staticmethod
    def _decode_one(dist: BaseDistribution, x: float) -> Any:
        if isinstance(dist, CategoricalDistribution):
            return dist.to_external_repr(round(x))
        assert isinstance(dist, IntDistribution | FloatDistribution)
        low, high = float(dist.low), float(dist.high)
        if dist.log:
            value = math.exp(math.log(low) + x * (math.log(high) - math.log(low)))
        else:
            value = low + x * (high - low)
        if isinstance(dist, IntDistribution):
            step = dist.step
            return int(
                min(dist.high, max(dist.low, dist.low + round((value - dist.low) / step) * step))
            )
        if dist.step is not None:
            value = low + round((value - low) / dist.step) * dist.step
        return float(min(high, max(low, value)))

    def snap(self, points: np.ndarray) -> np.ndarray:
        """Move points to the nearest values the parameters can take (grids, categories)."""
        out: np.ndarray = np.clip(points, 0.0, 1.0)
        for i, grid in enumerate(self.grids):
            if self.is_cat[i]:
                out[:, i] = np.round(points[:, i])
            elif grid is not None:
                out[:, i] = grid[np.argmin(np.abs(out[:, i, None] - grid[None, :]), axis=1)]
        return out

    @functools.cached_property
    def grids(self) -> list[np.ndarray | None]:
        """For each numeric parameter with finitely many values (up to 1,000), those values."""
        grids: list[np.ndarray | None] = []
        for dist in self.dists:
            values: Sequence[float] | None = None
            if isinstance(dist, IntDistribution) and (dist.high - dist.low) // dist.step < 1000:
                values = range(dist.low, dist.high + 1, dist.step)
            elif isinstance(dist, FloatDistribution) and dist.step is not None:
                count = round((dist.high - dist.low) / dist.step) + 1
                values = (
                    [dist.low + k * dist.step for k in range(count)] if count <= 1000 else None
                )
            grids.append(
                None if values is None else np.array([self._encode_one(dist, v) for v in values])
            )
        return grids


def _distances(a: np.ndarray, b: np.ndarray, scales: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Scaled distances between the rows of ``a`` and ``b`` (categories: 0 or 1 apart)."""
    num = ~is_cat
    sq = np.zeros((len(a), len(b)))
    if num.any():
        an, bn = a[:, num] / scales[num], b[:, num] / scales[num]
        sq += np.sum(an * an, axis=1)[:, None] + np.sum(bn * bn, axis=1)[None, :] - 2.0 * an @ bn.T
    for i in np.flatnonzero(is_cat):
        sq += (a[:, i, None] != b[None, :, i]) / scales[i] ** 2
    return np.sqrt(np.maximum(sq, 0.0))


def _matern52(r: np.ndarray) -> np.ndarray:
    s = math.sqrt(5.0) * r
    return (1.0 + s + s * s / 3.0) * np.exp(-s)


def _gaussian_ranks(y: np.ndarray) -> np.ndarray:
    """Normal quantiles of the ranks of ``y`` (ties share a rank): a copula transform."""
    from scipy.special import ndtri

    order = np.argsort(y, kind="mergesort")
    ranks = np.empty(len(y))
    ranks[order] = np.arange(1, len(y) + 1)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    ranks = np.bincount(inverse, weights=ranks)[inverse] / counts[inverse]
    return np.asarray(ndtri((ranks - 0.5) / len(y)), dtype=float)


class _GP:
    """A zero-mean GP on standardised outputs with fitted length scales and noise."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, is_cat: np.ndarray, log_params: np.ndarray
    ) -> None:
        self.x, self.y, self.is_cat = x, y, is_cat
        diff = x[:, None, :] - x[None, :, :]
        self._sq = np.where(is_cat, (np.abs(diff) > 0.5).astype(float), diff**2)  # n x n x d
        self.set(log_params)

    def _kernel(self, log_params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The covariance matrix with noise, and the scaled distances."""
        r = np.sqrt(np.maximum(self._sq @ np.exp(-2.0 * log_params[:-1]), 0.0))
        k = _matern52(r)
        k[np.diag_indices_from(k)] += math.exp(log_params[-1]) + _JITTER
        return k, r

    def set(self, log_params: np.ndarray) -> None:
        self.log_params = np.asarray(log_params, dtype=float)
        k, _ = self._kernel(self.log_params)
        self.chol = np.linalg.cholesky(k)
        self.alpha = _cho_solve(self.chol, self.y)

    def neg_log_likelihood(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log marginal likelihood with weak priors, and its gradient."""
        k, r = self._kernel(log_params)
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(log_params)
        alpha = _cho_solve(chol, self.y)
        value = 0.5 * float(self.y @ alpha) + float(np.sum(np.log(np.diag(chol))))
        w = _cho_inverse(chol) - np.outer(alpha, alpha)
        s5r = math.sqrt(5.0) * r
        common = (5.0 / 3.0) * (1.0 + s5r) * np.exp(-s5r)  # dk/dlog(l_i) = common * sq_i / l_i^2
        inv_sq = np.exp(-2.0 * log_params[:-1])
        grad_scales = 0.5 * np.einsum("ij,ijd->d", w * common, self._sq) * inv_sq
        grad_noise = 0.5 * float(np.trace(w)) * math.exp(log_params[-1])
        # Weak priors keep length scales and noise sensible with few points.
        centre = log_params[:-1] - math.log(0.5)
        value += 0.5 * float(centre @ centre) / 4.0
        value += 0.5 * (log_params[-1] - math.log(1e-2)) ** 2 / 9.0
        grad = np.concatenate(
            [grad_scales + centre / 4.0, [grad_noise + (log_params[-1] - math.log(1e-2)) / 9.0]]
        )
        return value, grad

    def fit(self) -> None:
        from scipy.optimize import minimize

        bounds = [(math.log(0.01), math.log(20.0))] * (len(self.log_params) - 1)
        bounds.append((math.log(1e-6), math.log(1.0)))
        result = minimize(
            self.neg_log_likelihood,
            self.log_params,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 25},
        )
        self.set(result.x if np.isfinite(result.fun) else self.log_params)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scales = np.exp(self.log_params[:-1])
        k = _matern52(_distances(points, self.x, scales, self.is_cat))
        mean = k @ self.alpha
        v = np.linalg.solve(self.chol, k.T)
        var = np.maximum(1.0 - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)


def _cho_inverse(chol: np.ndarray) -> np.ndarray:
    """The inverse of ``chol @ chol.T`` (LAPACK's dpotri)."""
    from scipy.linalg.lapack import dpotri

    inverse, _ = dpotri(chol, lower=True)
    return np.asarray(np.tril(inverse) + np.tril(inverse, -1).T, dtype=float)


def _cho_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    return np.asarray(cho_solve((chol, True), b), dtype=float)


def _expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement below ``best`` (minimisation)."""
    from scipy.special import ndtr

    z = (best - mean) / std
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return np.asarray(std * (z * ndtr(z) + pdf), dtype=float)


class LightGPSampler(optuna.samplers.BaseSampler):
    """GP-based Bayesian optimisation cheap enough to default to (see the module docstring).

    Args:
        seed: Seeds the random startup, the candidates and the independent sampler.
        n_startup_trials: Random trials before the model is used.
        n_candidates: Random candidates scored per trial (neighbours of the best are added).
        refit_every: Trials between two fits of length scales and noise.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 256,
        refit_every: int = 5,
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._n_startup = n_startup_trials
        self._n_candidates = n_candidates
        self._refit_every = refit_every
        self._search_space = IntersectionSearchSpace()
        self._log_params: dict[tuple[str, ...], np.ndarray] = {}
        self._fitted_at: dict[tuple[str, ...], int] = {}
        self._encodings: dict[tuple[tuple[str, str], ...], _Encoding] = {}
        self._encoded: dict[int, np.ndarray] = {}

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if len(study.directions) > 1:
            return {}
        space = self._search_space.calculate(study)
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
        trials = study.get_trials(deepcopy=False)
        complete = [
            t
            for t in trials
            if t.state == TrialState.COMPLETE
            and t.values is not None
            and all(n in t.params for n in search_space)
        ]
        if len(complete) < self._n_startup:
            return {}
        encoding = self._encoding(search_space)
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        x = np.array([self._encode(encoding, t) for t in complete])
        y = _gaussian_ranks(sign * np.array([t.values[0] for t in complete]))
        key = tuple(encoding.names)
        log_params = self._log_params.get(key)
        if log_params is None:
            log_params = np.concatenate([np.full(len(key), math.log(0.5)), [math.log(1e-2)]])
        gp = _GP(x, y, encoding.is_cat, log_params)
        every = max(self._refit_every, len(complete) // 8)  # fits get rarer as data grows
        if len(complete) - self._fitted_at.get(key, -every) >= every:
            gp.fit()
            self._log_params[key] = gp.log_params
            self._fitted_at[key] = len(complete)
        seen = {p.tobytes() for p in x}
        pending = [
            encoding.encode(t.params)
            for t in trials
            if t.state == TrialState.RUNNING
            and t.number != trial.number
            and all(n in t.params for n in search_space)
        ]
        pruned = [
            encoding.encode(t.params)
            for t in trials
            if t.state in (TrialState.PRUNED, TrialState.FAIL)
            and all(n in t.params for n in search_space)
        ]
        seen |= {p.tobytes() for p in (*pending, *pruned)}
        if pending:  # believe running trials at the model's mean: proposals spread out
            believed, _ = gp.predict(np.array(pending))
            gp = _GP(
                np.vstack([x, pending]),
                np.concatenate([y, believed]),
                encoding.is_cat,
                gp.log_params,
            )
        best = float(np.min(gp.y))
        candidates = self._candidates(encoding, x, gp, seen)
        if len(candidates) == 0:
            return {}
        mean, std = gp.predict(candidates)
        ei = _expected_improvement(mean, std, best)
        return encoding.decode(candidates[int(np.argmax(ei))])

    def _encoding(self, search_space: dict[str, BaseDistribution]) -> _Encoding:
        key = tuple(sorted((n, repr(d)) for n, d in search_space.items()))
        if self._encodings.get(key) is None:  # a new space: start again
            self._encodings = {key: _Encoding(search_space)}
            self._encoded = {}
        return self._encodings[key]

    def _encode(self, encoding: _Encoding, trial: FrozenTrial) -> np.ndarray:
        point = self._encoded.get(trial.number)
        if point is None:
            point = self._encoded[trial.number] = encoding.encode(trial.params)
        return point

    def _candidates(
        self, encoding: _Encoding, x: np.ndarray, gp: _GP, seen: set[bytes]
    ) -> np.ndarray:
        d = len(encoding.names)
        random = self._rng.random((self._n_candidates, d))
        for i, dist in enumerate(encoding.dists):
            if isinstance(dist, CategoricalDistribution):
                random[:, i] = self._rng.integers(len(dist.choices), size=self._n_candidates)
        top = gp.x[np.argsort(gp.y)[:5]]
        neighbours = [n for point in top for n in self._neighbours(encoding, point)]
        points = encoding.snap(np.vstack([random, *neighbours]) if neighbours else random)
        unique = {p.tobytes(): p for p in points}
        for key in seen:
            unique.pop(key, None)
        return np.array(list(unique.values())) if unique else np.empty((0, d))

    def _neighbours(self, encoding: _Encoding, point: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for i, (dist, grid) in enumerate(zip(encoding.dists, encoding.grids, strict=True)):
            if isinstance(dist, CategoricalDistribution):
                for c in range(len(dist.choices)):
                    if c != round(point[i]):
                        n = point.copy()
                        n[i] = c
                        out.append(n)
            elif grid is not None:
                j = int(np.argmin(np.abs(grid - point[i])))
                for k in (j - 1, j + 1):
                    if 0 <= k < len(grid):
                        n = point.copy()
                        n[i] = grid[k]
                        out.append(n)
            else:
                for delta in (-0.05, 0.05):
                    n = point.copy()
                    n[i] = min(1.0, max(0.0, point[i] + delta))
                    out.append(n)
        return out

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._random.after_trial(study, trial, state, values)
