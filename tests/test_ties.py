"""How a result reads: trials with equal values all on the front, the cheapest of equally good
ones best, and a parameter count shown in full."""

from __future__ import annotations

import archtune
from archtune.config import build_experiment
from archtune.report import pick_trial
from archtune.search import Driver


def _run(sizes: list[int], copies: int = 1) -> tuple[Driver, archtune.TuneResult]:
    experiment = build_experiment(
        {
            "name": "ties",
            "objective": "objectives:tied_accuracy",
            "space": {
                "size": {"type": "choice", "options": sizes},
                "copy": {"type": "choice", "options": list(range(copies))},
            },
            "objectives": {"val_accuracy": "max", "params": "min"},
            "budget": {"trials": len(sizes) * copies},
            "sampler": "grid",
            "scheduler": "none",
            "storage": None,
            "seed": 0,
        },
        source="test",
    )
    driver = Driver(experiment, resume=False)
    return driver, driver.run()


def test_the_progress_counts_the_front_as_the_result_does() -> None:
    driver, result = _run([100], copies=3)  # three trials, the same values
    assert len(result.best_trials) == 3
    assert driver.stats.best == "3 on the Pareto front"


def test_of_equally_accurate_trials_the_cheapest_is_the_best() -> None:
    _, result = _run([300, 100, 200])
    best = pick_trial(result)
    assert best.metrics["params"] == 100
    assert [t.number for t in result.best_trials] == [best.number]


def test_a_parameter_count_is_shown_in_full() -> None:
    _, result = _run([10243])
    html = result._repr_html_()
    assert "10,243" in html
    assert "1.024e+04" not in html
