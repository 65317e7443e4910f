"""The guard against misleading early rungs: measure, as trials complete, whether a rung's
ranking agrees with the final one, and stop using rungs whose ranking does not.

On some learning-curve benchmarks the ranking after one epoch is inversely related to the final
ranking; successive halving that trusts it ends worse than no early stopping. The guard keeps a
few *sentinel* trials unstopped (the first ``eta`` and then every ``sentinel_every``-th), so it
sees, without selection bias, the value at each rung and the final value of the same trials.
When at least ``min_pairs`` of them have completed and the rank correlation (Kendall's tau) at a
rung is below ``min_agreement``, that rung is disabled: no trial is stopped there any more,
which raises the effective minimum fidelity to the next rung that agrees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from archtune.search._ranking import kendall_tau
from archtune.search._scheduler import StudyView

__all__ = ["RungGuard"]

logger = logging.getLogger("archtune")


@dataclass
class RungGuard:
    """Decides which rungs may stop trials, and which trials are sentinels.

    Attributes:
        eta: The schedulers' reduction factor (the first ``eta`` trials are sentinels).
        sentinel_every: Every this-many-th trial after those is a sentinel.
        min_pairs: Completed sentinel trials needed before judging a rung.
        min_agreement: The lowest Kendall tau at which a rung is trusted.
        enabled: ``False`` turns the guard off (every rung is trusted, no sentinels).
        max_sentinels: see below; :func:`~archtune.search.make_scheduler` sets it from a
            budget of steps so that sentinels, which always run to the end, take at most a
            quarter of it.
    """

    eta: int = 3
    sentinel_every: int = 5
    min_pairs: int = 5
    min_agreement: float = 0.3
    enabled: bool = True
    max_sentinels: int | None = None
    """At most this many sentinels (a budget of steps caps what the insurance may cost)."""
    disabled_rungs: dict[int, float] = field(default_factory=dict)
    """``{rung: tau}`` of the rungs found to disagree with the final ranking."""

    def is_sentinel(self, number: int) -> bool:
        """Whether trial ``number`` runs to the end whatever its rung values."""
        if not self.enabled or not self._pattern(number):
            return False
        if self.max_sentinels is None:
            return True
        return self._sentinels_before(number) < self.max_sentinels

    def _pattern(self, number: int) -> bool:
        return number < self.eta or number % self.sentinel_every == 0

    def _sentinels_before(self, number: int) -> int:
        """How many trial numbers below ``number`` follow the sentinel pattern (closed form)."""
        first = min(number, self.eta)
        every = self.sentinel_every
        # ``first`` numbers below eta, then the multiples of ``every`` in [first, number).
        return first + -(-number // every) - -(-first // every)

    def trusts(self, study: StudyView, rung: int, metric: str, sign: float) -> bool:
        """Whether ``rung`` may stop trials, judged on ``metric`` (sign: +1 max, -1 min)."""
        if not self.enabled:
            return True
        if rung in self.disabled_rungs:
            return False
        pairs = []
        for number, final in study.final.items():
            if not self.is_sentinel(number) or metric not in final:
                continue
            at_rung = study.value_at(number, rung, metric)
            if at_rung is not None:
                pairs.append((sign * at_rung, sign * float(final[metric])))
        if len(pairs) < self.min_pairs:
            return True
        tau = kendall_tau([p[0] for p in pairs], [p[1] for p in pairs])
        if tau < self.min_agreement:
            self.disabled_rungs[rung] = tau
            logger.info(
                "guard: rung %d no longer stops trials: its ranking agrees poorly with the "
                "final one (Kendall tau %.2f over %d completed sentinel trials)",
                rung,
                tau,
                len(pairs),
            )
            return False
        return True
