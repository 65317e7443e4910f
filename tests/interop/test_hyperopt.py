"""archtune.interop.hyperopt: Hyperopt spaces to archtune, and fmin on archtune's engine."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

import optuna  # noqa: E402
from hyperopt import hp  # noqa: E402
from hyperopt.pyll import as_apply, scope  # noqa: E402
from hyperopt.pyll_utils import _expr_to_config  # noqa: E402
from hyperopt_fns import bad_status, fail_below, nested_loss, reporting  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from archtune import ConfigError, NullReporter, ObjectiveError  # noqa: E402
from archtune.interop import ConversionWarning  # noqa: E402
from archtune.interop import hyperopt as ah  # noqa: E402
from archtune.interop._hyperopt_objective import HyperoptObjective, StatusFail  # noqa: E402
from archtune.interop._hyperopt_space import convert_hyperopt  # noqa: E402
from archtune.space import Space  # noqa: E402

LOG = math.log


# -- one expression of each kind -----------------------------------------------------------

CONVERSIONS: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "choice",
        hp.choice("p", ["relu", "tanh", None]),
        {"type": "choice", "options": ["relu", "tanh", None]},
    ),
    ("uniform", hp.uniform("p", -1, 2), {"type": "float", "low": -1.0, "high": 2.0}),
    (
        "quniform",
        hp.quniform("p", 0, 10, 2.5),
        {"type": "float", "low": 0.0, "high": 10.0, "step": 2.5},
    ),
    (
        "loguniform",
        hp.loguniform("p", LOG(1e-4), LOG(1e-1)),
        {"type": "float", "low": pytest.approx(1e-4), "high": pytest.approx(1e-1), "log": True},
    ),
    (
        "qloguniform q=1",
        hp.qloguniform("p", LOG(8), LOG(512), 1),
        {"type": "int", "low": 8, "high": 512, "log": True},
    ),
    (
        "qloguniform q=4",
        hp.qloguniform("p", LOG(8), LOG(512), 4),
        {"type": "float", "low": pytest.approx(8.0), "high": pytest.approx(512.0), "log": True},
    ),
    ("randint upper", hp.randint("p", 5), {"type": "int", "low": 0, "high": 4}),
    ("randint low high", hp.randint("p", 3, 9), {"type": "int", "low": 3, "high": 8}),
    ("uniformint", hp.uniformint("p", 16, 256), {"type": "int", "low": 16, "high": 256}),
    (
        "int(quniform)",
        scope.int(hp.quniform("p", 16, 256, 16)),
        {"type": "int", "low": 16, "high": 256, "step": 16},
    ),
]

APPROXIMATED: list[tuple[str, Any, dict[str, Any]]] = [
    ("normal", hp.normal("p", 1, 2), {"type": "float", "low": -5.0, "high": 7.0}),
    (
        "qnormal",
        hp.qnormal("p", 0, 1, 0.5),
        {"type": "float", "low": -3.0, "high": 3.0, "step": 0.5},
    ),
    (
        "lognormal",
        hp.lognormal("p", 0, 1),
        {
            "type": "float",
            "low": pytest.approx(math.exp(-3)),
            "high": pytest.approx(math.exp(3)),
            "log": True,
        },
    ),
    (
        "qlognormal",
        hp.qlognormal("p", 2, 0.5, 1),
        {"type": "int", "low": 2, "high": 33, "log": True},
    ),
    (
        "pchoice",
        hp.pchoice("p", [(0.2, "a"), (0.8, "b")]),
        {"type": "choice", "options": ["a", "b"]},
    ),
]


@pytest.mark.parametrize(
    ("kind", "expr", "expected"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS]
)
def test_each_expression_converts_exactly(kind: str, expr: Any, expected: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exact conversion never warns
        space = ah.from_hyperopt({"p": expr, "constant": 7})
    assert list(space) == ["p"]
    assert space["p"].to_dict() == expected


@pytest.mark.parametrize(
    ("kind", "expr", "expected"), APPROXIMATED, ids=[c[0] for c in APPROXIMATED]
)
def test_approximated_distributions_warn_once_naming_the_label(
    kind: str, expr: Any, expected: dict[str, Any]
) -> None:
    with pytest.warns(ConversionWarning) as caught:
        space = ah.from_hyperopt({"p": expr})
    assert space["p"].to_dict() == expected
    assert len(caught) == 1
    assert "'p'" in str(caught[0].message)
    assert f"hp.{kind}" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller's line


def test_constants_are_part_of_the_point_not_the_space() -> None:
    space = {"epochs": 10, "pair": (1, "a"), "sum": scope.add(1, 2), "lr": hp.uniform("lr", 0, 1)}
    converted = convert_hyperopt(space)
    assert list(converted.space) == ["lr"]
    assert converted.point({"lr": 0.5}) == hyperopt.space_eval(space, {"lr": 0.5})
    assert converted.point({"lr": 0.5})["sum"] == 3


def test_a_bare_expression_is_a_space_too() -> None:
    converted = convert_hyperopt(hp.uniform("x", -10, 10))  # Hyperopt's first example
    assert converted.space["x"].to_dict() == {"type": "float", "low": -10.0, "high": 10.0}
    assert converted.point({"x": 1.5}) == 1.5
    choice = convert_hyperopt(hp.choice("c", [{"a": 1}, hp.uniform("y", 0, 1)]))
    assert choice.point({"c": 1, "y": 0.25}) == 0.25
    assert choice.used({"c": 1, "y": 0.25}) == {"c": 1, "y": 0.25}


def test_a_space_without_a_label_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"hyperopt: the space searches nothing"):
        ah.from_hyperopt({"epochs": 10})


# -- conditional spaces ---------------------------------------------------------------------


def three_levels() -> dict[str, Any]:
    """Three nested levels of hp.choice, a label shared by two branches, every kind."""
    shared = hp.uniform("dropout", 0.0, 0.5)
    return {
        "lr": hp.loguniform("lr", LOG(1e-4), LOG(1e-1)),
        "model": hp.choice(
            "model",
            [
                {"kind": "linear", "l2": hp.lognormal("l2", -4, 1)},
                {
                    "kind": "mlp",
                    "units": hp.qloguniform("units", LOG(16), LOG(256), 8),
                    "dropout": shared,
                    "block": hp.choice(
                        "block",
                        [
                            {"type": "plain"},
                            {
                                "type": "residual",
                                "norm": hp.choice("norm", ["batch", "layer", None]),
                                "depth": hp.randint("depth", 1, 4),
                                "act": hp.pchoice("act", [(0.7, "relu"), (0.3, "gelu")]),
                            },
                            (
                                "conv",
                                hp.uniformint("kernel", 1, 7),
                                hp.qnormal("shift", 0, 1, 0.25),
                            ),
                        ],
                    ),
                },
                {"kind": "cnn", "filters": hp.quniform("filters", 8, 64, 8), "dropout": shared},
            ],
        ),
        "batch": hp.choice("batch", [32, 64, 128]),
        "epochs": 5,
    }


def test_three_level_nested_choices_become_when_conditions() -> None:
    with pytest.warns(ConversionWarning):
        space = ah.from_hyperopt(three_levels())
    assert space["model"].to_dict() == {"type": "choice", "options": [0, 1, 2]}
    assert space["l2"].when == {"model": (0,)}
    assert space["units"].when == {"model": (1,)}
    assert space["dropout"].when == {"model": (1, 2)}  # one label, two branches
    assert space["block"].when == {"model": (1,)}
    assert space["norm"].when == {"block": (1,)}
    assert space["kernel"].when == {"block": (2,)}
    assert space["norm"].to_dict()["options"] == ["batch", "layer", None]
    assert not space.is_active("norm", {"model": 1, "block": 0})
    assert space.is_active("norm", {"model": 1, "block": 1})
    assert not space.is_active("norm", {"model": 2})  # its parent is inactive
    assert space["batch"].to_dict() == {"type": "choice", "options": [32, 64, 128]}
    assert Space.from_yaml(space.to_yaml()) == space


def test_a_label_in_every_branch_of_its_choice_has_the_choices_own_condition() -> None:
    x = hp.uniform("x", 0, 1)
    space = ah.from_hyperopt(
        {"a": hp.choice("a", [{"b": hp.choice("b", [{"x": x}, {"x": x, "y": 1}])}, {}])}
    )
    assert space["x"].when == {"a": (0,)}  # both branches of b: as active as b itself


def _in_support(node: Any, value: Any) -> bool:
    """Whether Hyperopt's distribution ``node`` can return ``value``."""
    args = {k: v.obj for k, v in node.arg.items() if hasattr(v, "obj")}
    name = node.name
    if name == "randint":
        low, high = (0, args["low"]) if "high" not in args else (args["low"], args["high"])
        return isinstance(value, int) and low <= value < high
    if name == "categorical":
        return isinstance(value, int) and 0 <= value < len(node.arg["p"].pos_args)
    if name in ("normal", "lognormal"):
        return math.isfinite(value) and (name == "normal" or value > 0)
    q = args.get("q")
    if q is not None:
        k = value / q
        if abs(k - round(k)) > 1e-9:
            return False
        if name.startswith("qnormal") or name.startswith("qlognormal"):
            return True
        low, high = args["low"], args["high"]
        if name == "qloguniform":
            low, high = math.exp(low), math.exp(high)
        return round(low / q) - 1e-9 <= k <= round(high / q) + 1e-9
    if name == "loguniform":
        return math.exp(args["low"]) * (1 - 1e-12) <= value <= math.exp(args["high"]) * (1 + 1e-12)
    return args["low"] <= value <= args["high"]


def _holds(conditions: set[tuple[Any, ...]], labels: dict[str, Any]) -> bool:
    return any(all(labels.get(c.name) == c.val for c in conj) for conj in conditions)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**31 - 1))
def test_every_sampled_configuration_is_a_point_hyperopt_could_sample(seed: int) -> None:
    """Hyperopt's own view (expr_to_config, space_eval) of archtune's samples."""
    space = three_levels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConversionWarning)
        converted = convert_hyperopt(space)
    hps: dict[str, Any] = {}
    # Hyperopt's public expr_to_config fails on hp.pchoice (its _remove_allpaths reads p as a
    # literal); the walk it wraps gives the same conditions, as disjunctions of conjunctions.
    _expr_to_config(as_apply(space), (), hps)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(3):
        trial = study.ask()
        config = converted.space.sample(trial)
        study.tell(trial, 0.0)
        labels = converted.used(config)
        # exactly the labels Hyperopt's conditions make active
        assert set(labels) == {k for k, v in hps.items() if _holds(v["conditions"], labels)}
        for label, value in labels.items():
            assert _in_support(hps[label]["node"], value), (label, value)
        # and the point is the one Hyperopt builds from them
        assert converted.point(config) == hyperopt.space_eval(space, labels)


# -- what cannot be converted ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {"y": scope.add(hp.uniform("x", 0, 1), 1)},
            "hyperopt: 'x' is used inside scope.add(...), which archtune cannot convert; "
            "search 'x' itself and apply add to its value in your fn",
        ),
        (
            {"y": hp.uniform("y", 0, hp.uniform("top", 1, 2))},
            "hyperopt: 'y' (hp.uniform) has its high set by another parameter ('top'); archtune "
            "needs fixed bounds: give 'y' fixed ones and combine the two values in your fn",
        ),
        (
            {"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 2)},
            "hyperopt: label 'x' names two different expressions (hp.uniform and hp.uniform); "
            "give each its own label",
        ),
    ],
    ids=["arithmetic", "dependent bound", "duplicate label"],
)
def test_unconvertible_expressions_are_one_line_errors_naming_the_label(
    space: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ah.from_hyperopt(space)
    assert str(caught.value) == message


# -- the objective, in this process ----------------------------------------------------------


def test_the_objective_turns_hyperopt_results_into_metrics() -> None:
    converted = convert_hyperopt({"x": hp.uniform("x", -1, 1)})
    assert HyperoptObjective(fail_below, converted)({"x": 0.5}) == {"loss": 0.0}
    with pytest.raises(StatusFail, match=r"fn returned status 'fail': x=-0\.50 is negative"):
        HyperoptObjective(fail_below, converted)({"x": -0.5})
    with pytest.raises(ObjectiveError, match="status must be one of 'ok', 'fail'"):
        HyperoptObjective(bad_status, converted)({"x": 0.5})


def test_report_outside_a_trial_does_nothing() -> None:
    assert reporting({"x": 0.3}) == pytest.approx(1.0 / 9)
    reporter = NullReporter()
    objective = HyperoptObjective(reporting, convert_hyperopt({"x": hp.uniform("x", 0, 1)}))
    objective({"x": 0.3}, reporter)
    assert [step for step, _ in reporter.history] == list(range(1, 10))


# -- fmin through archtune's engine ----------------------------------------------------------


@pytest.mark.integration
def test_fmin_returns_hyperopts_convention_and_fills_trials() -> None:
    space = {
        "lr": hp.loguniform("lr", LOG(1e-4), LOG(1e-1)),
        "model": hp.choice(
            "model",
            [{"kind": "linear"}, {"kind": "mlp", "units": hp.uniformint("units", 16, 256)}],
        ),
    }
    trials = ah.Trials()
    best = ah.fmin(
        nested_loss,
        space,
        algo=ah.tpe.suggest,
        max_evals=25,
        trials=trials,
        rstate=np.random.default_rng(0),
    )
    assert len(trials.trials) == 25
    assert best == trials.argmin  # Hyperopt's own reading of the filled trials agrees
    assert best["model"] in (0, 1)
    assert isinstance(best["model"], int)
    assert ("units" in best) == (best["model"] == 1)
    losses = trials.losses()
    assert min(losses) == nested_loss(hyperopt.space_eval(space, best))["loss"]
    assert all(t["result"]["status"] == "ok" for t in trials.trials)
    point = ah.fmin(
        nested_loss, space, max_evals=5, return_argmin=False, rstate=np.random.default_rng(1)
    )
    assert point["model"]["kind"] in ("linear", "mlp")  # space_eval's form


@pytest.mark.integration
def test_status_fail_is_a_failed_trial() -> None:
    trials = ah.Trials()
    best = ah.fmin(
        fail_below,
        {"x": hp.uniform("x", -1, 1)},
        algo=ah.rand.suggest,
        max_evals=12,
        trials=trials,
        seed=3,
        max_consecutive_failures=12,
    )
    statuses = trials.statuses()
    assert "fail" in statuses
    assert "ok" in statuses
    failed = [t for t in trials.trials if t["result"]["status"] == "fail"]
    assert all("is negative" in t["result"]["failure"] for t in failed)
    assert all(t["misc"]["vals"]["x"][0] < 0 for t in failed)
    assert best["x"] >= 0


@pytest.mark.integration
def test_fmin_stops_trials_early_when_fn_reports() -> None:
    trials = ah.Trials()
    ah.fmin(
        reporting,
        {"x": hp.uniform("x", 0, 1)},
        max_evals=14,
        trials=trials,
        seed=0,
        sampler="random",
        scheduler={"name": "asha", "min_steps": 1, "eta": 3, "max_steps": 9},
    )
    stopped = [t for t in trials.trials if t["result"].get("archtune_status") == "stopped"]
    assert stopped, "ASHA stopped no trial"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss_threshold": 0.1}, "fmin: loss_threshold is not supported by archtune's fmin"),
        ({"max_evals": None}, "fmin: max_evals must be an integer >= 1 (or set timeout)"),
        ({"algo": print}, "fmin: algo must be one of Hyperopt's tpe.suggest"),
        ({"rstate": 3}, "fmin: rstate must be a numpy.random.Generator"),
        ({"objectives": {"x": "max"}}, "fmin: objectives is always {'loss': 'min'}"),
    ],
    ids=["loss_threshold", "max_evals", "algo", "rstate", "objectives"],
)
def test_fmin_rejects_what_it_does_not_support(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"max_evals": 3} | kwargs
    with pytest.raises(ConfigError) as caught:
        ah.fmin(fail_below, {"x": hp.uniform("x", 0, 1)}, **arguments)
    assert str(caught.value).startswith(message)


def test_fmin_refuses_a_trials_object_that_already_holds_trials() -> None:
    trials = ah.Trials()
    hyperopt.fmin(
        fail_below,
        {"x": hp.uniform("x", 0, 1)},
        algo=hyperopt.rand.suggest,
        max_evals=2,
        trials=trials,
        show_progressbar=False,
    )
    with pytest.raises(ConfigError, match="trials must be empty, got one holding 2 trials"):
        ah.fmin(fail_below, {"x": hp.uniform("x", 0, 1)}, max_evals=2, trials=trials)


@pytest.mark.integration
def test_fmin_runs_on_two_workers_stores_and_resumes(tmp_path: Any) -> None:
    space = {"x": hp.uniform("x", -1, 1)}
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    first = ah.fmin(
        fail_below,
        space,
        max_evals=6,
        seed=0,
        n_workers=2,
        storage=storage,
        study_name="s",
        max_consecutive_failures=6,
    )
    trials = ah.Trials()
    best = ah.fmin(
        fail_below,
        space,
        max_evals=10,
        trials=trials,
        seed=0,
        n_workers=2,
        storage=storage,
        study_name="s",
        resume=True,
        max_consecutive_failures=10,
    )
    assert len(trials.trials) == 10  # the six stored trials and four more
    assert best == trials.argmin
    assert trials.argmin["x"] >= 0
    assert (best["x"] - 0.5) ** 2 <= (first["x"] - 0.5) ** 2


@pytest.mark.integration
def test_points_to_evaluate_are_tried_first_in_hyperopts_convention() -> None:
    space = {
        "lr": hp.loguniform("lr", LOG(1e-4), LOG(1e-1)),
        "model": hp.choice(
            "model",
            [{"kind": "linear"}, {"kind": "mlp", "units": hp.uniformint("units", 16, 256)}],
        ),
    }
    points = [{"lr": 0.01, "model": 1, "units": 96.0}, {"lr": 0.001, "model": 0}]
    trials = ah.Trials()
    best = ah.fmin(
        nested_loss, space, max_evals=4, trials=trials, points_to_evaluate=points, seed=0
    )
    first, second = (t["misc"]["vals"] for t in trials.trials[:2])
    assert {k: v[0] for k, v in first.items() if v} == points[0]
    assert {k: v[0] for k, v in second.items() if v} == points[1]
    assert best == points[0]  # the optimum of nested_loss


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"lr": 0.01, "model": 1}, "fmin: points_to_evaluate[0] must give 'units', which the "),
        ({"lr": 0.01, "model": 2}, "fmin: points_to_evaluate[0].model must be a branch index"),
        ({"lr": 5.0, "model": 0}, "fmin: points_to_evaluate[0].lr must lie in {'type': 'float'"),
    ],
    ids=["missing", "index", "range"],
)
def test_points_to_evaluate_are_checked(point: dict[str, Any], message: str) -> None:
    space = {
        "lr": hp.loguniform("lr", LOG(1e-4), LOG(1e-1)),
        "model": hp.choice("model", [{}, {"units": hp.uniformint("units", 16, 256)}]),
    }
    with pytest.raises(ConfigError) as caught:
        ah.fmin(nested_loss, space, max_evals=2, points_to_evaluate=[point])
    assert str(caught.value).startswith(message)
