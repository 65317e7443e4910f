"""The guard against misleading early rungs: measure, as trials complete, whether a rung's
ranking agrees with the final one, and stop using rungs whose ranking does not.

On some learning-curve benchmarks the ranking after one epoch is inversely related to the final
ranking; successive halving that trusts it ends worse than no early stopping. The guard keeps a
few *sentinel* trials unstopped (the first ``eta``, then every trial whose number is a multiple
of the current spacing, ``sentinel_every`` at first), so it sees, without selection bias, the
value at each rung and the final value of the same trials. When at least ``min_pairs`` of them
have completed and the rank correlation (Kendall's tau) at a rung is below ``min_agreement``,
that rung is disabled: no trial is stopped there any more, which raises the effective minimum
fidelity to the next rung that agrees.

Sentinels are insurance, and at small budgets they cost about a third of the epochs, so they
get rarer as the evidence that the rungs rank well grows. Each time :meth:`RungGuard.trusts`
judges a rung it records the rung's tau. While every rung judged so far has a tau of at least
``confident_agreement``, the spacing doubles for every ``min_pairs`` completed sentinels since
the last time a rung fell below it (5, then 10 from the 5th, 20 from the 10th, capped at
``max_sentinel_every``); as soon as a judged rung's tau is below ``confident_agreement`` (a
disabled rung's stays so) the spacing returns to ``sentinel_every`` and the count starts again.
Whether a trial is a sentinel is decided once, the first time it is asked (trials report in any
order when workers run in parallel), so no trial changes status midway; the decision depends on
the trial's number and on other trials, never on its own values. ``max_sentinels`` caps the
sentinels decided so far; a cap below ``min_pairs`` (a budget too small for the guard to ever
judge a rung) leaves no sentinels.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from archtune.search._ranking import front_ranks, kendall_tau
from archtune.search._scheduler_base import StudyView

__all__ = ["RungGuard"]

logger = logging.getLogger("archtune")


@dataclass
class RungGuard:
    """Decides which rungs may stop trials, and which trials are sentinels.

    Attributes:
        eta: The schedulers' reduction factor (the first ``eta`` trials are sentinels).
        sentinel_every: The spacing of sentinels after those while the rungs are not yet
            known to rank well: every this-many-th trial.
        min_pairs: Completed sentinel trials needed before judging a rung, and the further
            ones that double the spacing while every judged rung ranks well.
        min_agreement: The lowest Kendall tau at which a rung is trusted.
        enabled: ``False`` turns the guard off (every rung is trusted, no sentinels).
        max_sentinels: see below; :func:`~archtune.search.make_scheduler` sets it from a
            budget of steps so that sentinels, which always run to the end, take at most a
            quarter of it. A cap below ``min_pairs`` means no sentinels at all: so few could
            never judge a rung, and would only cost their epochs.
        confident_agreement: The Kendall tau every judged rung must reach for the spacing of
            sentinels to grow.
        max_sentinel_every: The largest spacing of sentinels.

    Example:
        >>> guard = RungGuard(eta=3, sentinel_every=5)
        >>> [n for n in range(16) if guard.is_sentinel(n)]
        [0, 1, 2, 5, 10, 15]
    """

    eta: int = 3
    sentinel_every: int = 5
    min_pairs: int = 5
    min_agreement: float = 0.3
    enabled: bool = True
    max_sentinels: int | None = None
    """At most this many sentinels (a budget of steps caps what the insurance may cost)."""
    confident_agreement: float = 0.6
    max_sentinel_every: int = 40
    disabled_rungs: dict[int, float] = field(default_factory=dict)
    """``{rung: tau}`` of the rungs found to disagree with the final ranking."""
    agreement: dict[int, float] = field(default_factory=dict)
    """``{rung: tau}`` of every rung judged, as last judged."""
    spacing: int = field(init=False)
    """The current spacing of sentinels: a trial whose number is a multiple of it is one."""
    n_sentinels: int = field(default=0, init=False)
    """The trials decided to be sentinels so far."""
    _decided: dict[int, bool] = field(default_factory=dict, init=False, repr=False)
    _most_pairs: int = field(default=0, init=False, repr=False)
    _confident_from: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sentinel_every < 1:
            raise ValueError(f"sentinel_every must be >= 1, got {self.sentinel_every!r}")
        if self.max_sentinel_every < self.sentinel_every:
            raise ValueError(
                "`sentinel_every <= max_sentinel_every` must hold, but got "
                f"sentinel_every={self.sentinel_every!r}, "
                f"max_sentinel_every={self.max_sentinel_every!r}"
            )
        self.spacing = self.sentinel_every

    def is_sentinel(self, number: int) -> bool:
        """Whether trial ``number`` runs to the end whatever its rung values.

        Decided the first time it is asked for ``number`` and the same ever after.
        """
        if not self.enabled:
            return False
        decided = self._decided.get(number)
        if decided is None:
            decided = self._decide(number)
            self._decided[number] = decided
        return decided

    def _decide(self, number: int) -> bool:
        if not (number < self.eta or number % self.spacing == 0):
            return False
        if self.max_sentinels is not None and (
            self.n_sentinels >= self.max_sentinels or self.max_sentinels < self.min_pairs
        ):
            return False  # capped; or a cap below min_pairs, which could never judge a rung
        self.n_sentinels += 1
        return True

    def trusts(
        self,
        study: StudyView,
        rung: int,
        metric: str,
        sign: float,
        others: Sequence[tuple[str, float]] = (),
    ) -> bool:
        """Whether ``rung`` may stop trials, judged on ``metric`` (sign: +1 max, -1 min).

        With ``others`` (the further objectives a scheduler ranks on, each with its sign, as
        MO-ASHA ranks on every objective and the cost), the agreement is that of the ranking
        the scheduler uses: each sentinel's non-dominated front at the rung against its front
        at the end, among the sentinels.
        """
        if not self.enabled:
            return True
        if rung in self.disabled_rungs:
            return False
        axes = [(metric, sign), *others]
        at_rung: list[list[float]] = []
        at_end: list[list[float]] = []
        for number, final in study.final.items():
            if not self.is_sentinel(number) or any(m not in final for m, _ in axes):
                continue
            values = [study.value_at(number, rung, m) for m, _ in axes]
            if all(v is not None for v in values):
                at_rung.append(
                    [s * float(v or 0.0) for v, (_, s) in zip(values, axes, strict=True)]
                )
                at_end.append([s * float(final[m]) for m, s in axes])
        if len(at_rung) < self.min_pairs:
            return True
        if others:
            ranks, final_ranks = front_ranks(at_rung), front_ranks(at_end)
        else:
            ranks, final_ranks = [p[0] for p in at_rung], [p[0] for p in at_end]
        if len(set(ranks)) == 1 and len(set(final_ranks)) == 1:
            return True  # all tied at the rung and at the end (one front): no evidence yet
        tau = kendall_tau(ranks, final_ranks)
        self._record(rung, tau, len(at_rung))
        if tau < self.min_agreement:
            self.disabled_rungs[rung] = tau
            logger.info(
                "guard: rung %d no longer stops trials: its ranking agrees poorly with the "
                "final one (Kendall tau %.2f over %d completed sentinel trials)",
                rung,
                tau,
                len(at_rung),
            )
            return False
        return True

    def _record(self, rung: int, tau: float, n_pairs: int) -> None:
        """Keep the rung's tau and set the spacing of sentinels from every rung's."""
        self.agreement[rung] = tau
        self._most_pairs = max(self._most_pairs, n_pairs)
        if any(t < self.confident_agreement for t in self.agreement.values()):
            self._confident_from = self._most_pairs  # the evidence so far no longer counts
            spacing = self.sentinel_every
        else:
            doublings = (self._most_pairs - self._confident_from) // self.min_pairs
            doublings = min(doublings, self.max_sentinel_every.bit_length())
            spacing = min(self.sentinel_every * 2**doublings, self.max_sentinel_every)
        if spacing != self.spacing:
            logger.info(
                "guard: a sentinel every %d trials from now on (Kendall tau of the rungs: %s, "
                "over %d completed sentinel trials)",
                spacing,
                ", ".join(f"{r}: {t:.2f}" for r, t in sorted(self.agreement.items())),
                self._most_pairs,
            )
            self.spacing = spacing
