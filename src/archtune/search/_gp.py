"""The Gaussian-process model behind archtune's ``light-gp`` sampler, in NumPy and SciPy.

A zero-mean GP on rank-transformed outputs: Matern-5/2 kernel with one length scale per input
(categories compared by Hamming distance), a noise term, length scales and noise fitted by
maximum marginal likelihood with weak priors (L-BFGS-B), and expected improvement.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "GP",
    "expected_improvement",
    "gaussian_ranks",
    "length_scale_centre",
    "prior_log_params",
]

_JITTER = 1e-6


#: The length scales' prior centre in spaces of up to :data:`_TUNED_INPUTS` inputs.
_LENGTH_SCALE = 0.5
#: The most inputs of the spaces the centre was chosen on (the tabular suites: 5 to 9).
_TUNED_INPUTS = 9
#: The noise prior's centre.
_NOISE = 1e-2


def length_scale_centre(n_inputs: int) -> float:
    """The centre of the length scales' log-normal prior for ``n_inputs`` inputs.

    The distance between two random configurations grows as the square root of the number of
    inputs, so with a fixed length scale a larger space makes every untried configuration look
    unrelated to every tried one: the model's mean falls back to the prior and its uncertainty
    to the maximum, and the acquisition then chooses by the objective's shape alone (with
    accuracy against size, the smallest networks, whatever they scored). Above the spaces the
    centre was chosen on, it grows as that square root (as Hvarfner, Hellsten and Nardi, 2024,
    argue for BO in many dimensions), which keeps the typical distance what it was there.
    """
    return _LENGTH_SCALE * math.sqrt(max(1.0, n_inputs / _TUNED_INPUTS))


def prior_log_params(n_inputs: int) -> np.ndarray:
    """The priors' centres in logs, the length scales' then the noise's: where a fit starts."""
    scale = math.log(length_scale_centre(n_inputs))
    return np.concatenate([np.full(n_inputs, scale), [math.log(_NOISE)]])


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


def gaussian_ranks(y: np.ndarray) -> np.ndarray:
    """Normal quantiles of the ranks of ``y`` (ties share a rank): a copula transform."""
    from scipy.special import ndtri

    order = np.argsort(y, kind="mergesort")
    ranks = np.empty(len(y))
    ranks[order] = np.arange(1, len(y) + 1)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    ranks = np.bincount(inverse, weights=ranks)[inverse] / counts[inverse]
    return np.asarray(ndtri((ranks - 0.5) / len(y)), dtype=float)


class GP:
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
        offset = log_params - prior_log_params(len(log_params) - 1)
        centre, noise = offset[:-1], float(offset[-1])
        value += 0.5 * float(centre @ centre) / 4.0 + 0.5 * noise**2 / 9.0
        grad = np.concatenate([grad_scales + centre / 4.0, [grad_noise + noise / 9.0]])
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


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement below ``best`` (minimisation)."""
    from scipy.special import ndtr

    z = (best - mean) / std
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return np.asarray(std * (z * ndtr(z) + pdf), dtype=float)
