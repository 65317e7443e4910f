"""The finalists' search over the ladder: where each round's fine-tunes go."""

from __future__ import annotations

from archtune.arch import builtin_network
from archtune.shrinking import LadderPoint
from archtune.shrinking._finals import next_picks


def _ladder(short: list[float]) -> list[LadderPoint]:
    net = builtin_network("mlp-32-32")
    return [
        LadderPoint(trial=i, network=net, model="", val_accuracy=acc, cost=1000 / 1.4**i, epochs=0)
        for i, acc in enumerate(short)
    ]


SHORT = [0.96, 0.95, 0.95, 0.94, 0.93, 0.91, 0.90, 0.88, 0.80, 0.60]


def test_the_first_round_spreads_its_picks() -> None:
    ladder = _ladder(SHORT)
    assert next_picks(ladder, -1, len(ladder), 2, {}, 0.955) == [3, 6]
    assert next_picks(ladder, -1, len(ladder), 1, {}, 0.955) == [5]
    assert next_picks(ladder, 3, 4, 2, {}, 0.955) == []  # nothing in doubt


def test_later_rounds_bracket_the_predicted_boundary() -> None:
    """Fine-tuning recovered 3 points at step 3 and 4 points at step 6: step 5 is predicted
    within (0.91 + ~0.037 >= 0.945) and step 6 measured not, so 5 and its neighbour go next."""
    ladder = _ladder(SHORT)
    measured = {3: 0.97, 6: 0.94}
    picks = next_picks(ladder, 3, 6, 2, measured, 0.945)
    assert picks == [4, 5]
    assert next_picks(ladder, 3, 6, 1, measured, 0.945) == [5]


def test_nothing_predicted_within_tries_the_dearest_in_doubt() -> None:
    ladder = _ladder(SHORT)
    measured = {6: 0.90}  # far below: everything cheaper than the baseline is in doubt
    assert next_picks(ladder, -1, 6, 1, measured, 0.99) == [0]
